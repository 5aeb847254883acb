// The Engine: tokenizer + weights in wasm memory + beam search, behind the interface every host uses.
// Text -> subwords (with the target-language tag) -> encoder -> incremental decoder -> subwords -> text.
import { Arena, align, type Kernels } from '../kernels/host.ts';
import { checkConfig, type ModelConfig } from './config.ts';
import { DECODE_DEFAULTS, mergeDecode, type Decode, type DecodeConfig } from './decode.ts';
import { UnsupportedError, serves, type Engine, type ModelInfo, type SentenceResult, type TranslateOptions } from './engine.ts';
import { parameterCount } from './params.ts';
import { checkParts, isNonNegative, partTensors, type PartSpec } from './parts.ts';
import { InferenceModel, type DecoderState } from './runtime.ts';
import type { SafeTensors } from './safetensors.ts';
import { readWeights, readWeightsAsync, type WeightChunks } from './weights-reader.ts';
import { forcedLogProbs, pickReranked } from './rerank.ts';
import { BeamSearch, stepBound, type Hypothesis } from './search.ts';
import { modelVocab, type Generation, type ModelVocab } from './vocab.ts';

// config.json of a model folder: the model shape plus what the service reports about it.
export interface ModelMeta extends ModelConfig {
  name: string;
  version?: string;
  directions: Array<[string, string]>;
  created?: string;
  bleu?: Record<string, number>;
  // Length penalty alpha of beam search when a request sets none (model/decode.ts), tuned on the validation
  // set and recorded by `mt eval --alpha A --record` with the BLEU it gave.
  alpha?: number;
  // Weight of the reverse direction's score when reranking the n-best (model/rerank.ts), per direction
  // ("en-de": 0.5), tuned on the validation set and recorded by `mt eval --rerank --rerank-weight W --record`.
  rerank?: Record<string, number>;
  // Separate weight sets per direction (model/parts.ts); absent: one set serves every direction.
  parts?: PartSpec[];
  // An imported model's Hugging Face generation settings (model/vocab.ts): search then follows generate().
  generation?: Generation;
}

// The model's decoding defaults for a direction: DECODE_DEFAULTS with what config.json tuned for it, the
// length penalty (its part's, else the model's) and the reranking weight, and an imported model's beam
// (its num_beams, within maxBeam).
export function decodeConfigFor(meta: ModelMeta, source: string, target: string): DecodeConfig {
  const part = meta.parts?.find((p) => serves(p.directions, source, target));
  return {
    ...DECODE_DEFAULTS,
    beam: Math.min(meta.generation?.numBeams ?? DECODE_DEFAULTS.beam, DECODE_DEFAULTS.maxBeam),
    alpha: part?.alpha ?? meta.alpha ?? DECODE_DEFAULTS.alpha,
    rerankWeight: meta.rerank?.[`${source}-${target}`] ?? DECODE_DEFAULTS.rerankWeight,
  };
}

export interface ModelFiles<W extends WeightChunks = Uint8Array> {
  config: ModelMeta | string;
  tokenizer: object | string;
  weights: W; // weights.safetensors, whole or as chunks (model/weights-reader.ts)
}

export function parseMeta(config: ModelMeta | string): ModelMeta {
  const meta = (typeof config === 'string' ? JSON.parse(config) : config) as ModelMeta;
  checkConfig(meta);
  if (!Array.isArray(meta.directions) || !meta.directions.length) throw new Error('config.directions must list [source, target] pairs');
  if (meta.alpha !== undefined && !isNonNegative(meta.alpha)) {
    throw new Error(`config.alpha must be a number >= 0, got ${JSON.stringify(meta.alpha)}`);
  }
  checkParts(meta.parts, meta.directions);
  checkRerank(meta);
  return meta;
}

function checkRerank(meta: ModelMeta): void {
  if (meta.rerank === undefined) return;
  if (typeof meta.rerank !== 'object' || meta.rerank === null || Array.isArray(meta.rerank)) throw new Error('config.rerank must map directions to weights');
  for (const [dir, w] of Object.entries(meta.rerank)) {
    const [s, t] = dir.split('-');
    if (!serves(meta.directions, s, t) || !serves(meta.directions, t, s)) {
      throw new Error(`config.rerank["${dir}"]: reranking needs a model serving ${dir} and its reverse`);
    }
    if (!isNonNegative(w)) throw new Error(`config.rerank["${dir}"] must be a number >= 0, got ${JSON.stringify(w)}`);
  }
}

// The weights go straight into wasm memory (model/weights-reader.ts): from a buffer or a synchronous source
// here, from a stream in loadEngine; config.json and the tokenizer are checked before any weight is read.
export function createEngine(files: ModelFiles<Uint8Array | Iterable<Uint8Array>>, kernels: Kernels): Engine {
  const [meta, tok, arena] = prepare(files, kernels);
  return new Translator(meta, tok, arena, readWeights(arena, files.weights));
}

export async function loadEngine(files: ModelFiles<WeightChunks>, kernels: Kernels): Promise<Engine> {
  const [meta, tok, arena] = prepare(files, kernels);
  return new Translator(meta, tok, arena, await readWeightsAsync(arena, files.weights));
}

function prepare(files: ModelFiles<WeightChunks>, kernels: Kernels): [ModelMeta, ModelVocab, Arena] {
  const meta = parseMeta(files.config);
  return [meta, modelVocab(meta, files.tokenizer), new Arena(kernels)];
}

// One weight set and the directions it serves.
interface Part {
  directions: Array<[string, string]>;
  model: InferenceModel;
}

class Translator implements Engine {
  readonly info: ModelInfo;
  private tok: ModelVocab;
  private meta: ModelMeta;
  private parts: Part[];
  private maxLen: number;
  private arena: Arena;
  private base: number;
  private queue: Promise<unknown> = Promise.resolve();
  // True while a streamed decode is paused between two steps, its arena state stable: the only time other
  // code runs during it.
  private paused = false;
  readonly maxSourceTokens: number;

  // `weights` are resident in `arena` already, from its start.
  constructor(meta: ModelMeta, tok: ModelVocab, arena: Arena, weights: SafeTensors) {
    const kernels = arena.kernels;
    this.meta = meta;
    this.tok = tok;
    this.arena = arena;
    this.parts = meta.parts
      ? meta.parts.map((p) => ({
          directions: p.directions,
          model: new InferenceModel(kernels, this.arena, meta, { ...weights, tensors: partTensors(weights.tensors, p.prefix) }),
        }))
      : [{ directions: meta.directions, model: new InferenceModel(kernels, this.arena, meta, weights) }];
    this.maxLen = meta.maxLen;
    this.maxSourceTokens = this.longestSource();
    this.base = this.arena.mark();
    this.info = {
      name: meta.name,
      version: meta.version ?? 'local',
      languages: this.tok.languages,
      directions: meta.directions,
      parameters: this.parts.reduce((n, p) => n + parameterCount(p.model.layout), 0),
      bytes: this.base - align(arena.kernels.heapBase, 64), // the file's tensors, row sums, positional tables
      created: meta.created,
      bleu: meta.bleu,
    };
  }

  countTokens(sentence: string): number {
    return this.tok.encode(sentence).length;
  }

  decodeOptions(options: TranslateOptions): Decode {
    return mergeDecode(decodeConfigFor(this.meta, options.source, options.target), options);
  }

  // A call made while a stream is paused runs at once, on top of the stream's state (a stack: it resets the
  // arena to where it began), when its sentences fit the scratch room the stream leaves; so one long
  // sentence holds short requests up for one decoder step, not its whole decode. It runs in the caller's
  // turn, not queued for the stream to run: workerd cancels a request that waits on another's promise.
  translate(sentences: string[], options: TranslateOptions): Promise<SentenceResult[]> {
    if (this.paused) {
      try {
        const room = this.decodeOptions(options).scratchBytes - (this.arena.mark() - this.base);
        if (this.fits(sentences, options, room)) return Promise.resolve(this.nested(() => this.translateNow(sentences, options, room)));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.exclusive(async () => this.translateNow(sentences, options));
  }

  // Whether a call can run within `room` arena bytes exactly as it would alone: no reranking (its reverse
  // pass has no bound here) and every sentence alone within room at its full output bound (a batch is cut
  // to fit room; the output bound is never lowered for it).
  private fits(sentences: string[], options: TranslateOptions, room: number): boolean {
    const { tag, part, reverse, d } = this.check(options);
    return !reverse && sentences.every((s) => this.batchBytes(part, [this.sourceIds(s, tag)], d, options) <= room);
  }

  // Runs fn with the arena's current top as the base it resets to, then frees what it took.
  private nested<T>(fn: () => T): T {
    const base = this.base;
    this.base = this.arena.mark();
    try {
      return fn();
    } finally {
      this.arena.reset(this.base);
      this.base = base;
    }
  }

  // `room`: the arena bytes above the base the call may use (its scratch budget, or less under a paused
  // stream: the caller has checked that every sentence alone fits it).
  private translateNow(sentences: string[], options: TranslateOptions, room?: number): SentenceResult[] {
    const { tag, part, reverse, d } = this.check(options);
    room ??= d.scratchBytes;
    const reranker = reverse && d.rerankWeight > 0 ? reverse : undefined; // weight 0 would keep the beam's choice
    const out: SentenceResult[] = sentences.map(() => ({ text: '' }));
    const todo = sentences.map((s, i) => ({ i, ids: this.sourceIds(s, tag), nbest: [] as Hypothesis[], bound: 0 })).filter((x) => x.ids.length > 2);
    // Similar lengths together: less padding.
    todo.sort((a, b) => a.ids.length - b.ids.length);
    // Batches of at most maxRows rows whose memory fits the scratch budget.
    const perBatch = Math.max(1, Math.floor(d.maxRows / d.beam));
    const fits = (b: number, e: number) => e - b <= perBatch && this.batchBytes(part, todo.slice(b, e).map((x) => x.ids), d, options) <= room;
    const chunks: Array<typeof todo> = [];
    for (let b = 0, e: number; b < todo.length; b = e) {
      for (e = b + 1; e < todo.length && fits(b, e + 1); e++);
      const chunk = todo.slice(b, e);
      chunks.push(chunk);
      const search = this.start(part, chunk.map((x) => x.ids), d, options, room);
      while (!search.finishedAll) search.step();
      chunk.forEach((x, j) => (x.bound = search.maxSteps[j]));
      if (reranker) search.nbest().forEach((hs, j) => (chunk[j].nbest = hs));
      else search.results().forEach((h, j) => (chunk[j].nbest = [h]));
      this.arena.reset(this.base);
    }
    if (reranker) this.rerank(todo, reranker, d, options.source);
    // The chosen hypotheses' attention, replayed per search batch (one row per sentence fits where beam did).
    const attention = new Map<number, Float32Array[]>();
    if (options.alignments) for (const c of chunks) this.attention(part, c.map((x) => x.ids), c.map((x) => x.nbest[0]), c.length).forEach((a, k) => attention.set(c[k].i, a));
    for (const x of todo) out[x.i] = this.result(part, x.nbest[0], x.ids, x.bound, attention.get(x.i));
    return out;
  }

  // Puts the reranked choice first in each sentence's n-best: every candidate y of source x is scored
  // as a source, <2src> y </s>, whose target is x, by the reverse direction's weights.
  private rerank(todo: Array<{ ids: number[]; nbest: Hypothesis[] }>, reverse: Part, d: Decode, source: string): void {
    const tag = this.tok.prefix(source);
    const pairs = todo.flatMap((x) => x.nbest.map((h) => ({ src: [...tag, ...h.tokens.slice(0, this.maxLen - 2), this.tok.rules.eos], tgt: x.ids.slice(tag.length, -1) })));
    try {
      const logp = forcedLogProbs(reverse.model, pairs, d.maxRows, this.tok.specials);
      let k = 0;
      for (const x of todo) {
        const rev = logp.slice(k, (k += x.nbest.length));
        x.nbest = [pickReranked(x.nbest, rev, x.ids.length - 1, d.alpha, d.rerankWeight)];
      }
    } finally {
      this.arena.reset(this.base);
    }
  }

  translateStream(sentence: string, options: TranslateOptions, onToken: (piece: string) => void): Promise<SentenceResult> {
    return this.exclusive(async () => {
      const { tag, part, reverse, d } = this.check(options);
      // A reranked choice is known only once the whole n-best is: it arrives as one piece.
      if (reverse) {
        const [result] = this.translateNow([sentence], options);
        if (result.text) onToken(result.text);
        return result;
      }
      const ids = this.sourceIds(sentence, tag);
      if (ids.length <= 2) return { text: '' };
      try {
        const search = this.start(part, [ids], d, options);
        let sent = '';
        const emit = (text: string) => {
          if (text.length > sent.length && text.startsWith(sent)) {
            onToken(text.slice(sent.length));
            sent = text;
          }
        };
        while (!search.finishedAll) {
          search.step();
          // Text every live beam agrees on will not change: stream it; hold back a partial UTF-8 character.
          const prefix = commonPrefix(search.liveTokens(0)).filter((t) => t !== this.tok.rules.eos);
          const text = this.tok.decode(prefix);
          if (!search.finishedAll && !text.endsWith('\uFFFD')) emit(text.replace(/\s+$/, ''));
          this.paused = true;
          await new Promise((r) => setTimeout(r, 0));
          this.paused = false;
        }
        const [best] = search.results();
        const bound = search.maxSteps[0];
        this.arena.reset(this.base);
        const result = this.result(part, best, ids, bound, options.alignments ? this.attention(part, [ids], [best], 1)[0] : undefined);
        emit(result.text);
        return result;
      } finally {
        this.paused = false;
        this.arena.reset(this.base);
      }
    });
  }

  // Runs calls one at a time: they share the arena.
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  // The request checked against the model (languages, direction, reranking) and merged with its DecodeConfig.
  private check(o: TranslateOptions): { tag: number[]; part: Part; reverse?: Part; d: Decode } {
    const langs = this.tok.languages;
    for (const l of [o.source, o.target]) {
      if (!langs.includes(l)) throw new UnsupportedError('unsupported_language', `unknown language "${l}"; supported: ${langs.join(', ')}`);
    }
    const part = this.parts.find((p) => serves(p.directions, o.source, o.target));
    if (!part) {
      const dirs = this.info.directions.map(([s, t]) => `${s}-${t}`).join(', ');
      throw new UnsupportedError('unsupported_direction', `direction ${o.source}-${o.target} is not supported; supported: ${dirs}`);
    }
    const d = this.decodeOptions(o);
    let reverse: Part | undefined;
    if (d.rerank) {
      reverse = this.parts.find((p) => serves(p.directions, o.target, o.source));
      if (!reverse) throw new UnsupportedError('rerank_unavailable', `reranking ${o.source}-${o.target} needs the reverse direction ${o.target}-${o.source}, which this model does not serve`);
    }
    return { tag: this.tok.prefix(o.target), part, reverse, d };
  }

  // <2xx> x1..xn </s> (the tag as model/vocab.ts says), truncated to the model's positions.
  private sourceIds(text: string, tag: number[]): number[] {
    const body = this.tok.encode(text).slice(0, this.maxSourceTokens);
    return [...tag, ...body, this.tok.rules.eos];
  }

  // The arena bytes a batch of these sources takes at its peak.
  private batchBytes({ model }: Part, srcs: number[][], d: Decode, o: TranslateOptions, Tmax = Math.max(...srcs.map((s) => this.maxSteps(s, d))) + 1): number {
    return model.batchBytes(srcs.length, Math.max(...srcs.map((s) => s.length)), d.beam, Tmax, !!o.alignments);
  }

  // The most source tokens a piece may have: all the model's positions, or fewer when one sentence of that
  // length at the model's default beam would not fit the scratch budget (planTexts splits longer ones).
  private longestSource(): number {
    const d = this.decodeOptions({ source: this.meta.directions[0][0], target: this.meta.directions[0][1] });
    const fits = (n: number) => this.parts.every((p) => this.batchBytes(p, [new Array(n + 2).fill(0)], d, { source: '', target: '' }) <= d.scratchBytes);
    let lo = 1;
    for (let hi = this.maxLen - 2; lo < hi; ) {
      const mid = Math.ceil((lo + hi) / 2);
      if (fits(mid)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private start(part: Part, srcs: number[][], d: Decode, o: TranslateOptions, room = d.scratchBytes): BeamSearch {
    let maxSteps = srcs.map((s) => this.maxSteps(s, d));
    // A sentence alone over the scratch budget (a wider beam than the default, or alignments) gets a lower
    // output bound instead of more memory.
    let Tmax = Math.max(...maxSteps) + 1;
    while (Tmax > 2 && this.batchBytes(part, srcs, d, o, Tmax) > room) Tmax--;
    maxSteps = maxSteps.map((m) => Math.min(m, Tmax - 1));
    const st = encodeBatch(part.model, srcs, d.beam, Tmax);
    return new BeamSearch(part.model, st, { beam: d.beam, alpha: d.alpha, maxSteps, rules: this.tok.rules });
  }

  // The most tokens the decoder writes for source ids `src` (tag and </s> included), within the model's
  // positions and an imported model's max_length (model/search.ts bounds it so too).
  private maxSteps(src: number[], d: Decode): number {
    return stepBound(Math.min(src.length + d.extraSteps, this.maxLen - 1), this.tok.rules);
  }

  // The encoder-decoder attention of each chosen hypothesis (of srcs[k]), its decoding replayed on one
  // row per sentence, `rows` at a time (InferenceModel.attention): per target token, </s> included when it
  // ended, an (L,H,|x|) array. Only these are kept: the search itself keeps no attention.
  private attention({ model }: Part, srcs: number[][], hyps: Hypothesis[], rows: number): Float32Array[][] {
    const out: Float32Array[][] = [];
    for (let b = 0; b < srcs.length; b += rows) {
      const inputs = hyps.slice(b, b + rows).map((h) => [this.tok.rules.start, ...h.tokens].slice(0, h.tokens.length + (h.ended ? 1 : 0)));
      try {
        const st = encodeBatch(model, srcs.slice(b, b + rows), 1, Math.max(1, ...inputs.map((x) => x.length)));
        out.push(...model.attention(st, inputs));
      } finally {
        this.arena.reset(this.base);
      }
    }
    return out;
  }

  // `bound`: the output bound the search held this sentence to (BeamSearch.maxSteps).
  private result(part: Part, h: Hypothesis, src: number[], bound: number, attention?: Float32Array[]): SentenceResult {
    const r: SentenceResult = { text: this.tok.decode(h.tokens) };
    // A hypothesis ended by </s> has fewer tokens than steps (</s> is not among them); one that reached
    // the bound without it has as many: the search stopped it, not the model.
    if (h.tokens.length >= bound) r.lengthLimited = true;
    if (attention) {
      const c = part.model.config;
      const S = src.length;
      r.sourceTokens = this.tok.sourceTokens(src);
      // One attention row per decoded token, </s> included when the hypothesis finished.
      r.targetTokens = [...this.tok.targetTokens(h.tokens), ...(h.ended ? ['</s>'] : [])];
      r.layers = Array.from({ length: c.decoderLayers }, (_, l) =>
        Array.from({ length: c.heads }, (_, hd) => attention.map((a) => Array.from(a.subarray((l * c.heads + hd) * S, (l * c.heads + hd + 1) * S)))),
      );
      const last = r.layers[c.decoderLayers - 1];
      r.alignment = last[0].map((row, t) => row.map((_, s) => last.reduce((a, head) => a + head[t][s], 0) / c.heads));
    }
    return r;
  }
}

// Sources of different lengths padded into one batch and encoded, with room for Tmax steps of `group`
// hypotheses per sentence.
function encodeBatch(model: InferenceModel, srcs: number[][], group: number, Tmax: number): DecoderState {
  const S = Math.max(...srcs.map((s) => s.length));
  const src = new Int32Array(srcs.length * S);
  srcs.forEach((s, i) => src.set(s, i * S));
  return model.encode(src, Int32Array.from(srcs, (s) => s.length), S, group, Tmax);
}

function commonPrefix(seqs: number[][]): number[] {
  if (!seqs.length) return [];
  const out: number[] = [];
  for (let i = 0; i < seqs[0].length; i++) {
    const t = seqs[0][i];
    if (seqs.some((s) => s[i] !== t)) break;
    out.push(t);
  }
  return out;
}
