// The demo page: translate as you type through the edge API (streamed) or the in-browser engine, and show
// the encoder-decoder attention of the result. Both selects offer every language the API lists (direct or
// through English) and the source "Detect language"; in the browser, the Catalog downloads the model(s) a
// direction needs and then works offline. body[data-state] tells where it is (the e2e test reads it):
// starting, ready, pending, loading, translating, done, error.
import { Catalog, type CatalogTranslation, EngineError } from '../browser/index.ts';
import { ApiError, Client } from '../client/index.ts';
import type { Languages, SentenceAlignment, StreamEvent, TranslateParams } from '../client/types.ts';
import { drawHeatmap, type Layout } from './heatmap.ts';

const $ = <T>(id: string) => document.getElementById(id) as unknown as T;
const els = {
  source: $<HTMLSelectElement>('source'),
  target: $<HTMLSelectElement>('target'),
  beam: $<HTMLSelectElement>('beam'),
  rerank: $<HTMLInputElement>('rerank'),
  swap: $<HTMLButtonElement>('swap'),
  input: $<HTMLTextAreaElement>('input'),
  output: $<HTMLDivElement>('output'),
  count: $<HTMLSpanElement>('count'),
  status: $<HTMLSpanElement>('status'),
  model: $<HTMLDivElement>('model'),
  message: $<HTMLDivElement>('message'),
  progress: $<HTMLDivElement>('progress'),
  sentence: $<HTMLSelectElement>('sentence'),
  head: $<HTMLSelectElement>('head'),
  stretch: $<HTMLInputElement>('stretch'),
  hint: $<HTMLParagraphElement>('hint'),
  pickers: $<HTMLDivElement>('pickers'),
  empty: $<HTMLParagraphElement>('empty'),
  canvas: $<HTMLCanvasElement>('heatmap'),
  cell: $<HTMLDivElement>('cell'),
  apikey: $<HTMLInputElement>('apikey'),
};

type EngineKind = 'api' | 'browser';
const KEY_STORE = 'edge-mt.apikey';
const DEBOUNCE_MS = 350;
const RETRY_LANGUAGES_MS = 15_000;
const languageName = (() => {
  const names = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'language' }) : null;
  return (code: string) => {
    try {
      return names?.of(code) ?? code;
    } catch {
      return code;
    }
  };
})();

const AUTO = 'auto';

let client = makeClient();
let listing: Languages = { languages: [], directions: [], models: [] };
let engine: EngineKind = 'api';
let local: Catalog | null = null;
let opening: Promise<Catalog> | null = null;
let seq = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let controller: AbortController | null = null;
let alignments: SentenceAlignment[] = [];
let layout: Layout | null = null;

function makeClient(): Client {
  // Few, short retries: a person is waiting. Once the model is in the browser it answers when the network is down.
  return new Client({ apiKey: localStorage.getItem(KEY_STORE) || undefined, retries: 2, backoffMs: 400, maxDelayMs: 5000, fallback: local ?? undefined });
}

const setState = (s: string) => (document.body.dataset.state = s);

function showMessage(kind: 'error' | 'info' | null, text = '') {
  els.message.hidden = kind === null;
  els.message.className = `message ${kind ?? ''}`;
  els.message.textContent = text;
}

function explain(e: unknown): string {
  if (e instanceof ApiError) {
    switch (e.code) {
      case 'model_unavailable':
        return 'No model is being served yet: train one with `mt train`, then `mt push` and `mt deploy` it (see the README). This page checks again every 15 seconds.';
      case 'unauthorized':
        return 'This API needs a key: enter it under "API key" at the bottom of the page.';
      case 'rate_limited':
        return `Too many requests; try again in ${e.retryAfter ?? 60} seconds.`;
      case 'network_error':
        return 'Cannot reach the translation API. Check the connection; once a direction\'s model is loaded "In this browser", it works offline.';
      default:
        return `${e.message} (${e.code}, HTTP ${e.status})`;
    }
  }
  if (e instanceof EngineError) return `In-browser engine: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

// ---- languages --------------------------------------------------------------------------------------

async function loadLanguages(): Promise<void> {
  try {
    listing = await client.languages();
    if (engine === 'api') els.model.textContent = listing.models.map((m) => `${m.name} · ${m.version ?? '?'}`).join(', ');
    fillLanguages();
    showMessage(null);
    setState('ready');
    schedule(0);
  } catch (e) {
    showMessage('error', explain(e));
    setState('error');
    if (e instanceof ApiError && ['model_unavailable', 'network_error', 'rate_limited'].includes(e.code)) setTimeout(loadLanguages, RETRY_LANGUAGES_MS);
  }
}

// The listed directions from `source` ("auto": from any language) into `target` (any when omitted).
const routes = (source: string, target?: string) =>
  listing.directions.filter((d) => (source === AUTO || d.source === source) && (target === undefined || d.target === target));

// Whether every model of a direction's legs serves the leg's reverse too (what reranking and swapping need).
const reversible = (d: Languages['directions'][number]) => {
  const legs = d.pivot ? [[d.source, d.pivot], [d.pivot, d.target]] : [[d.source, d.target]];
  return legs.every(([s, t], i) => listing.models.find((m) => m.name === d.models[i])?.directions.some((x) => x.source === t && x.target === s));
};

function fillLanguages(): void {
  const fill = (sel: HTMLSelectElement, codes: string[], preferred: string) => {
    const keep = codes.includes(sel.value) ? sel.value : codes.includes(preferred) ? preferred : codes[0];
    sel.replaceChildren(...codes.map((c) => new Option(c === AUTO ? 'Detect language' : `${languageName(c)} (${c})`, c)));
    if (keep) sel.value = keep;
    sel.disabled = codes.length === 0;
  };
  const sources = [...new Set(listing.directions.map((d) => d.source))].sort();
  fill(els.source, sources.length ? [AUTO, ...sources] : [], 'en');
  fill(els.target, [...new Set(routes(els.source.value).map((d) => d.target))].sort(), 'de');
  const chosen = routes(els.source.value, els.target.value);
  els.rerank.disabled = !chosen.length || !chosen.every(reversible);
  els.swap.disabled = els.source.value === AUTO || !routes(els.target.value, els.source.value).length;
  const from = els.source.value;
  els.input.placeholder = from === AUTO || !from ? 'Type text to translate…' : `Type ${languageName(from)} text to translate…`;
}

// ---- translation ------------------------------------------------------------------------------------

function schedule(delay = DEBOUNCE_MS): void {
  clearTimeout(timer);
  timer = setTimeout(run, delay);
}

// The in-browser Catalog of the models the API serves: a model downloads when a direction first needs it.
function ensureCatalog(): Promise<Catalog> {
  if (opening) return opening;
  opening = (async () => {
    const c = await Catalog.fromApi(client, {
      workerUrl: '/engine.worker.js',
      wasmBase: '/wasm/',
      langidUrl: '/langid.json',
      onProgress: (p) => {
        setState('loading');
        showProgress(p.model, p.loaded, p.total);
      },
    });
    local = c;
    client = makeClient(); // now with the local fallback
    if (!listing.directions.length) {
      listing = c.languages();
      fillLanguages();
    }
    return c;
  })();
  opening.catch(() => (opening = null));
  return opening;
}

async function run(): Promise<void> {
  const id = ++seq;
  controller?.abort();
  const ctl = (controller = new AbortController());
  const text = els.input.value;
  if (!text.trim()) {
    els.output.textContent = '';
    els.status.textContent = '\u00a0';
    setAlignments([]);
    setState('done');
    return;
  }
  let out = '';
  try {
    if (engine === 'browser') {
      await ensureCatalog();
      if (id !== seq) return;
    }
    if (!els.source.value || !els.target.value) return; // languages not known yet: loadLanguages() runs again
    const chosen = routes(els.source.value, els.target.value);
    // Alignments relate a sentence to its translation: only a direct model has them (the API refuses them
    // through a pivot).
    const params: TranslateParams = {
      source: els.source.value, target: els.target.value, beam: Number(els.beam.value),
      alignments: chosen.length > 0 && chosen.every((d) => d.route === 'direct'),
      ...(els.rerank.checked && !els.rerank.disabled ? { rerank: true } : {}),
    };
    const events: AsyncIterable<StreamEvent> = engine === 'browser' ? local!.stream(text, params) : client.stream(text, params, { signal: ctl.signal });
    setState('translating');
    els.status.textContent = 'Translating…';
    const started = performance.now();
    for await (const ev of events) {
      if (id !== seq) return; // newer input took over
      if (ev.type === 'token') {
        if (ev.index === 0) els.output.textContent = out += ev.piece;
        continue;
      }
      const r = ev.result as CatalogTranslation;
      hideProgress();
      els.output.textContent = r.translation;
      setAlignments(r.alignments ?? [], r.pivot);
      const where = engine === 'browser' ? `in this browser (${local?.flavor === 'relaxed' ? 'relaxed SIMD' : 'SIMD'} wasm)` : 'edge API';
      const how = [r.detected ? `detected ${languageName(r.detected.language)}` : '', r.pivot ? `via ${languageName(r.pivot)}` : ''].filter(Boolean);
      els.status.textContent = [where, ...how, r.model, r.version, `${Math.round(performance.now() - started)} ms`].join(' · ');
      if (engine === 'browser') els.model.textContent = `${r.model} · ${r.version} · in browser`;
      showMessage(null);
      setState('done');
    }
  } catch (e) {
    hideProgress();
    if (id !== seq || (e instanceof Error && e.name === 'AbortError')) return;
    els.status.textContent = '\u00a0';
    showMessage('error', explain(e));
    setState('error');
  }
}

function showProgress(model: string, loaded: number, total?: number): void {
  els.progress.hidden = false;
  const frac = total ? Math.min(1, loaded / total) : 0;
  (els.progress.firstElementChild as HTMLElement).style.width = `${(frac * 100).toFixed(1)}%`;
  const mb = (n: number) => (n / 1e6).toFixed(n < 1e7 ? 2 : 1);
  els.progress.querySelector('.label')!.textContent = `Downloading the model ${model} into this browser: ${mb(loaded)}${total ? ` of ${mb(total)}` : ''} MB`;
}

const hideProgress = () => (els.progress.hidden = true);

// ---- attention heatmap ------------------------------------------------------------------------------

const NO_ATTENTION = 'Translate something to see where the decoder looks: one row per target token, one column per source token.';

// `pivot`: the translation went through that language, so no attention relates the source to it.
function setAlignments(a: SentenceAlignment[], pivot?: string): void {
  alignments = a;
  els.empty.textContent = pivot ? `No attention to show: this direction goes through ${languageName(pivot)}, in two models.` : NO_ATTENTION;
  const keepSentence = Math.min(Number(els.sentence.value) || 0, Math.max(0, a.length - 1));
  els.sentence.replaceChildren(...a.map((s, i) => new Option(`${i + 1}. ${s.source.length > 48 ? s.source.slice(0, 47) + '…' : s.source}`, String(i))));
  els.sentence.value = String(keepSentence);
  els.sentence.closest('label')!.hidden = a.length < 2;
  els.pickers.hidden = els.hint.hidden = a.length === 0;
  els.empty.hidden = a.length > 0;
  fillHeads();
  renderHeatmap();
}

function fillHeads(): void {
  const a = alignments[Number(els.sentence.value) || 0];
  const keep = els.head.value;
  const opts = [new Option('last layer · mean of heads', 'avg')];
  const layers = a?.layers ?? [];
  layers.forEach((heads, l) => {
    opts.push(new Option(`layer ${l + 1} · mean of heads`, `${l}:mean`));
    heads.forEach((_, h) => opts.push(new Option(`layer ${l + 1} · head ${h + 1}`, `${l}:${h}`)));
  });
  els.head.replaceChildren(...opts);
  els.head.value = opts.some((o) => o.value === keep) ? keep : 'avg';
  els.head.disabled = layers.length === 0;
  els.hint.textContent = layers.length
    ? 'Rows are target tokens, columns source tokens: how much the decoder attended to each source token while writing each target token.'
    : 'Rows are target tokens, columns source tokens: last decoder layer, averaged over heads.';
}

function weights(a: SentenceAlignment, pick: string): number[][] {
  if (pick === 'avg' || !a.layers) return a.alignment;
  const [l, h] = pick.split(':');
  const heads = a.layers[Number(l)];
  if (h !== 'mean') return heads[Number(h)];
  return heads[0].map((row, t) => row.map((_, s) => heads.reduce((x, hd) => x + hd[t][s], 0) / heads.length));
}

function renderHeatmap(): void {
  const a = alignments[Number(els.sentence.value) || 0];
  els.cell.textContent = '\u00a0';
  if (!a || !a.alignment.length) {
    els.canvas.width = els.canvas.height = 0;
    els.canvas.style.width = els.canvas.style.height = '0px';
    layout = null;
    return;
  }
  const width = els.canvas.parentElement!.clientWidth;
  layout = drawHeatmap(els.canvas, { sourceTokens: a.sourceTokens, targetTokens: a.targetTokens, weights: weights(a, els.head.value) }, width, els.stretch.checked);
}

els.canvas.addEventListener('mousemove', (e) => {
  const a = alignments[Number(els.sentence.value) || 0];
  const hit = layout?.cellAt(e.offsetX, e.offsetY);
  if (!a || !hit) return void (els.cell.textContent = '\u00a0');
  const w = weights(a, els.head.value)[hit.t][hit.s];
  els.cell.textContent = `${a.targetTokens[hit.t]}  ←  ${a.sourceTokens[hit.s]}   ${w.toFixed(3)}`;
});

// ---- wiring -----------------------------------------------------------------------------------------

const countChars = () => (els.count.textContent = String([...els.input.value].length));

els.input.addEventListener('input', () => {
  countChars();
  setState('pending');
  schedule();
});
// Any change of what to translate sets the page pending at once (then translates), as typing does.
for (const sel of [els.source, els.target, els.beam, els.rerank]) {
  sel.addEventListener('change', () => {
    if (sel === els.source || sel === els.target) fillLanguages();
    setState('pending');
    schedule(0);
  });
}
els.swap.addEventListener('click', () => {
  const [s, t] = [els.source.value, els.target.value];
  els.source.value = t;
  fillLanguages();
  els.target.value = s;
  fillLanguages(); // rerank and swap depend on the new pair
  if (els.output.textContent) els.input.value = els.output.textContent;
  countChars();
  setState('pending');
  schedule(0);
});
els.sentence.addEventListener('change', () => {
  fillHeads();
  renderHeatmap();
});
els.head.addEventListener('change', renderHeatmap);
els.stretch.addEventListener('change', renderHeatmap);
document.querySelectorAll<HTMLInputElement>('input[name=engine]').forEach((radio) =>
  radio.addEventListener('change', () => {
    engine = radio.value as EngineKind;
    document.body.dataset.engine = engine;
    setState('pending');
    schedule(0);
  }),
);
els.apikey.value = localStorage.getItem(KEY_STORE) ?? '';
els.apikey.addEventListener('change', () => {
  localStorage.setItem(KEY_STORE, els.apikey.value.trim());
  client = makeClient();
  void loadLanguages();
});
let resizeTimer: ReturnType<typeof setTimeout> | undefined;
addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(renderHeatmap, 100);
});

document.body.dataset.engine = engine;
countChars();
void loadLanguages();
