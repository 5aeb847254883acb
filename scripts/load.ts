// npm run load [-- --concurrency 8 --total 200 --seconds 60 --url http://127.0.0.1:8787 --same --worst]
// N concurrent POST /v1/translate against a local `npm start`; prints requests/s, p50/p99 latency and the
// error count, with a JSON summary as the last line. Exits 1 when any request failed.
// Texts differ per request and per run unless --same (which measures the edge cache instead of the model).
// --worst keeps one more request in flight the whole run: the heaviest the API admits (MAX_TEXTS texts of
// MAX_CHARS byte-token characters at beam 1, as many as MAX_WORK allows: the slowest shape of
// npm run bench:request), sized here with the bundled model's tokenizer exactly as the worker charges it.
// Its latency is reported apart; p50/p99 are the small requests'. Each lane is its own client address.
// API_KEY in the environment is sent as a Bearer key.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DECODE_DEFAULTS, mergeDecode } from '../model/decode.ts';
import type { Engine, TranslateOptions } from '../model/engine.ts';
import { planTexts, workOf } from '../model/texts.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { defaultModelDir } from '../train/paths.ts';
import { settings } from '../worker/env.ts';
import { isDevProxyRestart, localBase } from './local-dev.ts';

const { values: opt } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '8' },
    total: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8787'}` },
    source: { type: 'string', default: 'en' },
    target: { type: 'string', default: 'de' },
    beam: { type: 'string', default: '4' },
    same: { type: 'boolean', default: false },
    worst: { type: 'boolean', default: false },
  },
});

const base = localBase(opt.url);
const concurrency = Math.max(1, Number(opt.concurrency));
const total = Math.max(1, Number(opt.total));
const deadline = performance.now() + Number(opt.seconds) * 1000;

const SENTENCES = [
  'A man in an orange hat starring at something.',
  'Two young children are playing in the sand.',
  'A group of people stand in front of an igloo.',
  'A little girl climbs into a wooden playhouse.',
  'Several men in hard hats are operating a giant pulley system.',
  'A dog runs through the grass with a ball in its mouth.',
];
const headers: Record<string, string> = { 'Content-Type': 'application/json' };
if (process.env.API_KEY) headers.Authorization = `Bearer ${process.env.API_KEY}`;

const health = await fetch(new URL('/healthz', base)).then((r) => r.json()).catch((e: Error) => ({ error: e.message }));
console.error(`healthz: ${JSON.stringify(health)}`);

const run = Date.now() % 100_000; // in every text: an earlier run's translations are in the edge cache
const latencies: number[] = [];
const worstMs: number[] = [];
const statuses: Record<string, number> = {};
let errors = 0;
let devProxy = 0; // wrangler dev's own 503s (scripts/local-dev.ts), listed apart from the app's errors
let issued = 0;

async function send(body: object, lane: number): Promise<number> {
  const t0 = performance.now();
  let status = 'network';
  try {
    const res = await fetch(new URL('/v1/translate', base), {
      method: 'POST',
      headers: { ...headers, 'CF-Connecting-IP': `10.1.${lane >> 8}.${lane & 255}` },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    status = isDevProxyRestart(res.status, text) ? 'dev_proxy_503' : String(res.status);
    if (status === 'dev_proxy_503') devProxy++;
    else if (!res.ok && errors++ < 5) console.error(`${res.status}: ${text.slice(0, 200)}`);
  } catch {
    errors++;
  }
  statuses[status] = (statuses[status] ?? 0) + 1;
  return performance.now() - t0;
}

async function lane(n: number): Promise<void> {
  while (issued < total && performance.now() < deadline) {
    const i = issued++;
    const text = opt.same ? SENTENCES[0] : `${SENTENCES[i % SENTENCES.length]} It happened ${i} times in ${run}.`;
    latencies.push(await send({ text, source: opt.source, target: opt.target, beam: Number(opt.beam) }, n));
  }
}

// The heaviest request admitted, a different one each time (the edge cache would answer a repeat).
function worstRequest(k: number): { body: object; work: number } {
  const limits = settings(undefined);
  const dir = defaultModelDir();
  const config = JSON.parse(readFileSync(`${dir}/config.json`, 'utf8'));
  const tok = Tokenizer.fromJSON(readFileSync(`${dir}/tokenizer.json`, 'utf8'));
  const engine = { maxSourceTokens: config.maxLen - 2, countTokens: (s: string) => tok.encode(s).length, decodeOptions: (o) => mergeDecode(DECODE_DEFAULTS, o) } as Engine;
  const options: TranslateOptions = { source: opt.source, target: opt.target, beam: 1 };
  const chars = (t: number) => Array.from({ length: limits.maxChars }, (_, i) => (i % 9 === 8 ? ' ' : String.fromCodePoint(0x1f600 + ((i + t + k + run) % 64)))).join('').trim();
  const texts: string[] = [];
  for (let t = 0; t < limits.maxTexts && workOf(planTexts(engine, [...texts, chars(t)], options), engine, options) <= limits.maxWork; t++) texts.push(chars(t));
  return { body: { text: texts, ...options }, work: workOf(planTexts(engine, texts, options), engine, options) };
}

async function worstLane(): Promise<void> {
  for (let k = 0; performance.now() < deadline && (issued < total || k === 0); k++) {
    const { body, work } = worstRequest(k);
    if (k === 0) console.error(`worst-case request: ${(body as { text: string[] }).text.length} texts, work ${work} of MAX_WORK ${settings(undefined).maxWork}`);
    worstMs.push(await send(body, 4095));
  }
}

const start = performance.now();
await Promise.all([...Array.from({ length: concurrency }, (_, n) => lane(n)), ...(opt.worst ? [worstLane()] : [])]);
const seconds = (performance.now() - start) / 1000;

latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0);
const summary = {
  url: base.origin,
  concurrency,
  requests: latencies.length,
  errors,
  dev_proxy_503: devProxy,
  statuses,
  seconds: round(seconds),
  requests_per_second: round(latencies.length / seconds),
  p50_ms: round(pct(50)),
  p99_ms: round(pct(99)),
  ...(opt.worst ? { worst_requests: worstMs.length, worst_ms: worstMs.map(round) } : {}),
};
console.error(`${summary.requests} requests in ${summary.seconds} s: ${summary.requests_per_second} req/s, p50 ${summary.p50_ms} ms, p99 ${summary.p99_ms} ms, ${errors} errors, ${devProxy} dev-proxy 503s`);
console.log(JSON.stringify(summary));
process.exit(errors > 0 ? 1 : 0);

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
