// npm run fuzz [-- --requests 10000 --concurrency 16 --seed 1 --timeout 60 --url http://127.0.0.1:8787]
// Generated requests against a local `npm start` (loopback only): random methods, paths, headers and JSON
// bodies (wrong types, huge values, unicode, lone surrogates, missing and extra fields, broken JSON). Checks
// that the app never answers 5xx, never hangs (no answer within --timeout seconds), and that every error is
// JSON { error: { code, message } } (a stream's error event too). Each request claims its own client
// address, so the per-address rate limit does not turn the run into 429s. Prints the first failures and a
// JSON summary as the last line; exits 1 on any failure. Same --seed, same requests.
import { parseArgs } from 'node:util';
import { mulberry32 } from '../model/params.ts';
import { isDevProxyRestart, localBase } from './local-dev.ts';

const { values: opt } = parseArgs({
  options: {
    requests: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '60' },
    url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8787'}` },
  },
});
const base = localBase(opt.url);
const rand = mulberry32(Number(opt.seed));
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const chance = (p: number) => rand() < p;

const METHODS = ['GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const PATHS = [
  '/v1/translate', '/v1/translate', '/v1/translate', '/v1/languages', '/v1/models', '/v1/models/multi30k',
  '/v1/models/multi30k/x/config.json', '/v1/models/../../etc/passwd', '/healthz', '/openapi.json', '/docs', '/',
  '/index.html', '/app.js', '/style.css', '/v1/', '/v1', '/v2/translate', '/%ff%fe', '/v1/translate/extra',
  '/v1/translate?x=1&x=2', '//v1//translate', '/\u00e9t\u00e9', '/v1/models/%2e%2e/%2e%2e',
];
const UNICODE = ['Ein Hund läuft.', '🐕‍🦺 runs 🏃🏽‍♀️.', 'مرحبا بالعالم.', 'e\u0301\u0301\u0301', 'zero\u200bwidth\u200d', '漢字かな交じり文。', '\u202eRTL override', 'Ω≈ç√∫˜µ≤≥÷', '\ufeffBOM', '\u0000\u0001\u0007 control'];
const SENTENCE = ['A dog runs.', 'Two men play football in the park.', 'A woman in a red dress, smiling; then laughing: loudly.', 'Ein Mann fährt Fahrrad.'];

function text(): unknown {
  switch (int(12)) {
    case 0: return pick(UNICODE);
    case 1: return 'a'.repeat(pick([4999, 5000, 5001, 20000]));
    case 2: return Array.from({ length: pick([63, 64, 65, 500]) }, () => pick(SENTENCE));
    case 3: return pick([42, null, true, {}, { text: 'x' }, [1, 2], [[['deep']]], '', ' \n\t ']);
    case 4: return Array.from({ length: int(300) }, () => pick(SENTENCE)).join(' '); // heavy, may hit MAX_WORK
    case 5: return 'word '.repeat(300 + int(600)); // one long sentence: split into pieces
    case 6: return '€'.repeat(int(2000)); // byte tokens, one unbroken word
    case 7: return [pick(SENTENCE), 7, null];
    default: return chance(0.5) ? pick(SENTENCE) : [pick(SENTENCE), pick(UNICODE)];
  }
}

function translateBody(): Record<string, unknown> {
  const body: Record<string, unknown> = {
    text: text(),
    source: pick(['en', 'en', 'de', 'auto', 'fr', '', 'EN', 'x'.repeat(40), 5, null]),
    target: pick(['de', 'de', 'en', 'en', 'cs', '', null, ['de']]),
  };
  if (chance(0.5)) body.beam = pick([1, 2, 4, 8, 0, -1, 9, 1.5, '4', 1e308, null, 2 ** 31]);
  if (chance(0.2)) body.rerank = pick([true, false, 'yes', 1]);
  if (chance(0.2)) body.alignments = pick([true, false, 'true', 0]);
  if (chance(0.15)) body.stream = pick([true, false, 'no']);
  if (chance(0.1)) body.model = pick(['multi30k', 'nope', '', 7]);
  if (chance(0.1)) body[pick(['__proto__', 'constructor', 'extra', '\u0000'])] = { polluted: true };
  if (chance(0.15)) delete body[pick(['text', 'source', 'target'])];
  return body;
}

function body(): BodyInit | undefined {
  switch (int(10)) {
    case 0: return undefined;
    case 1: return '{"text": "unterminated';
    case 2: return new Uint8Array([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // invalid UTF-8
    case 3: return '{"text": "\\ud800 lone", "source": "en", "target": "de"}';
    case 4: return JSON.stringify(pick([[], 'string', 12, null, { a: { b: { c: {} } } }]));
    case 5: return '['.repeat(5000) + ']'.repeat(5000);
    default: return JSON.stringify(translateBody());
  }
}

function request(i: number): { method: string; path: string; init: RequestInit } {
  const headers: Record<string, string> = { 'CF-Connecting-IP': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
  if (chance(0.4)) { // the route that does the work: a well-formed request line, a fuzzed body
    headers['Content-Type'] = 'application/json';
    if (chance(0.1)) headers.Accept = 'text/event-stream';
    return { method: 'POST', path: '/v1/translate', init: { method: 'POST', headers, body: chance(0.8) ? JSON.stringify(translateBody()) : body() } };
  }
  const method = pick(METHODS);
  const path = chance(0.05) ? `/${'x'.repeat(int(5000))}` : pick(PATHS);
  if (chance(0.8)) headers['Content-Type'] = pick(['application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json', 'multipart/form-data; boundary=x']);
  if (chance(0.2)) headers.Authorization = pick(['Bearer', 'Bearer x', 'Basic Zm9vOmJhcg==', `Bearer ${'k'.repeat(10000)}`]);
  if (chance(0.15)) headers.Accept = pick(['text/event-stream', 'application/json', '*/*']);
  const init: RequestInit = { method, headers };
  if (method !== 'GET' && method !== 'HEAD') init.body = body();
  return { method, path, init };
}

const failures: string[] = [];
const statuses: Record<string, number> = {};
let done = 0, hangs = 0, fiveHundreds = 0, notJson = 0, devReloads = 0;

async function check(i: number): Promise<void> {
  const { method, path, init } = request(i);
  const what = `#${i} ${method} ${path.slice(0, 60)}`;
  const timeout = AbortSignal.timeout(Number(opt.timeout) * 1000);
  let status = 'network';
  try {
    const res = await fetch(base.origin + path, { ...init, signal: timeout, redirect: 'manual' });
    status = String(res.status);
    const body = await res.text();
    if (isDevProxyRestart(res.status, body)) {
      devReloads++; // reported, not failed
    } else if (res.status >= 500) {
      fiveHundreds++;
      failures.push(`${what}: ${res.status} ${body.slice(0, 200)}`);
    } else if (res.status >= 400 && method !== 'HEAD' && !isErrorJson(res, body)) {
      notJson++;
      failures.push(`${what}: ${res.status} is not JSON {error:{code,message}}: ${JSON.stringify(body.slice(0, 200))}`);
    } else if ((res.headers.get('content-type') ?? '').includes('text/event-stream') && /event: error\ndata: .*"code":"internal"/.test(body)) {
      fiveHundreds++;
      failures.push(`${what}: stream error event: ${body.slice(body.indexOf('event: error'), 300)}`);
    }
  } catch (e) {
    if (timeout.aborted) {
      hangs++;
      status = 'hang';
      failures.push(`${what}: no answer in ${opt.timeout} s`);
    } else {
      status = 'network';
      failures.push(`${what}: ${(e as Error).message} ${String((e as { cause?: unknown }).cause ?? '')}`);
    }
  }
  statuses[status] = (statuses[status] ?? 0) + 1;
  if (++done % 1000 === 0) console.error(`${done} requests, ${failures.length} failures`);
}

function isErrorJson(res: Response, body: string): boolean {
  if (!(res.headers.get('content-type') ?? '').includes('application/json')) return false;
  try {
    const e = JSON.parse(body)?.error;
    return typeof e?.code === 'string' && typeof e?.message === 'string';
  } catch {
    return false;
  }
}

const total = Number(opt.requests);
let next = 0;
const start = performance.now();
await Promise.all(Array.from({ length: Number(opt.concurrency) }, async () => {
  while (next < total) await check(next++);
}));
const seconds = Math.round((performance.now() - start) / 100) / 10;
for (const f of failures.slice(0, 20)) console.error(f);
const summary = { url: base.origin, requests: done, seconds, statuses, app_5xx: fiveHundreds, hangs, dev_reloads: devReloads, non_json_errors: notJson, failures: failures.length };
console.log(JSON.stringify(summary));
process.exit(failures.length > 0 ? 1 : 0);
