// npm run load [-- --concurrency 8 --total 200 --seconds 60 --url http://127.0.0.1:8787 --same]
// N concurrent POST /v1/translate against a local `npm start`; prints requests/s, p50/p99 latency and the
// error count, with a JSON summary as the last line. Exits 1 when any request failed.
// Texts differ per request unless --same (which measures the edge cache instead of the model).
// API_KEY in the environment is sent as a Bearer key.
import { parseArgs } from 'node:util';

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
  },
});

const base = new URL(opt.url);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname)) {
  console.error(`refusing to load-test ${base.host}: this script only targets a local server (127.0.0.1)`);
  process.exit(2);
}
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

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let errors = 0;
let issued = 0;

async function one(i: number): Promise<void> {
  const text = opt.same ? SENTENCES[0] : `${SENTENCES[i % SENTENCES.length]} It happened ${i} times.`;
  const t0 = performance.now();
  let status = 'network';
  try {
    const res = await fetch(new URL('/v1/translate', base), {
      method: 'POST',
      headers,
      body: JSON.stringify({ text, source: opt.source, target: opt.target, beam: Number(opt.beam) }),
    });
    await res.arrayBuffer();
    status = String(res.status);
    if (!res.ok) errors++;
  } catch {
    errors++;
  }
  latencies.push(performance.now() - t0);
  statuses[status] = (statuses[status] ?? 0) + 1;
}

async function lane(): Promise<void> {
  while (issued < total && performance.now() < deadline) await one(issued++);
}

const start = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
const seconds = (performance.now() - start) / 1000;

latencies.sort((a, b) => a - b);
const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : 0);
const summary = {
  url: base.origin,
  concurrency,
  requests: latencies.length,
  errors,
  statuses,
  seconds: round(seconds),
  requests_per_second: round(latencies.length / seconds),
  p50_ms: round(pct(50)),
  p99_ms: round(pct(99)),
};
console.error(`${summary.requests} requests in ${summary.seconds} s: ${summary.requests_per_second} req/s, p50 ${summary.p50_ms} ms, p99 ${summary.p99_ms} ms, ${errors} errors`);
console.log(JSON.stringify(summary));
process.exit(errors > 0 ? 1 : 0);

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
