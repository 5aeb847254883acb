// npm run bench:workerd [-- --opus] [--repeats 2]: ms per sentence of one 13-word sentence, greedy and
// beam 4, served by the worker in workerd (`wrangler dev`, offline, its own local R2 in
// $TMPDIR/edge-mt-bench/r2, seeded with the model once; wrangler's output goes to wrangler.log there), and
// workerd's memory. workerd's clock stands still during compute (TOOLCHAIN.md),
// so time is taken from outside: wall ms per request, and workerd's CPU ms from /proc (which holds when
// other processes share the cores); memory is workerd's resident set (VmRSS, and its peak VmHWM) before
// the model loads, after, and after the requests. Model: the bundled multi30k, or with --opus a random
// int8 model of the OPUS-MT shape (train/micro-model.ts). Last line: one JSON object.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadKernels } from '../kernels/node.ts';
import { offlineEnv, root } from '../registry/local-r2.ts';
import { seedLocalModels } from '../registry/seed.ts';
import { opusMtModelDir } from '../train/micro-model.ts';
import { defaultModelDir } from '../train/paths.ts';

const { values: opt } = parseArgs({
  options: {
    opus: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '2' },
    port: { type: 'string', default: '8797' },
  },
});
const modelDir = opt.opus ? opusMtModelDir(loadKernels()) : defaultModelDir();
const model = modelDir.split('/').pop()!;
const base = `http://127.0.0.1:${opt.port}`;
const persist = join(tmpdir(), 'edge-mt-bench', 'r2');
for (const line of await seedLocalModels([modelDir], { persistTo: persist })) console.error(line);

const log = openSync(join(tmpdir(), 'edge-mt-bench', 'wrangler.log'), 'w');
const child = spawn(join(root, 'node_modules/.bin/wrangler'), ['dev', '--ip', '127.0.0.1', '--port', opt.port, '--persist-to', persist], {
  cwd: root, env: offlineEnv, stdio: ['ignore', log, log], detached: true,
});
const stop = () => {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stop);

// ---- workerd, seen from /proc ----------------------------------------------------------------------

// wrangler dev runs two workerd processes: the worker's is the one holding the most memory.
const TICK_MS = 10; // USER_HZ = 100 on Linux
function workerdPid(): number | undefined {
  let best: { pid: number; rss: number } | undefined;
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (!stat.includes('(workerd)') || Number(fields[2]) !== child.pid) continue; // field 5: process group
      const rss = Number(fields[21]); // field 24: resident pages
      if (!best || rss > best.rss) best = { pid: Number(p), rss };
    } catch {
      // gone meanwhile
    }
  }
  return best?.pid;
}
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime
}
function memoryMiB(pid: number): { rss_mib: number; peak_rss_mib: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { rss_mib: round(kb('VmRSS') / 1024), peak_rss_mib: round(kb('VmHWM') / 1024) };
}

// One request, timed; a workerd that restarted under it (the dev proxy's 503: it died, e.g. over its
// memory) is counted, and the request sent again to the new one.
let restarts = 0;
async function translate(text: string, beam: number): Promise<{ ms: number; cpu: number; rss_mib: number }> {
  for (;;) {
    const pid = workerdPid()!;
    const c0 = cpuMs(pid);
    const t0 = performance.now();
    const res = await fetch(`${base}/v1/translate`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, source: 'en', target: 'de', model, beam }),
    });
    const body = await res.text();
    if (res.status === 503 && body.includes('restarted')) {
      restarts++;
      console.error(`workerd restarted (${JSON.stringify(memoryMiB(workerdPid()!))}); sending again`);
      continue;
    }
    if (!res.ok) throw new Error(`${res.status} ${body}`);
    return { ms: Math.round(performance.now() - t0), cpu: cpuMs(pid) - c0, rss_mib: memoryMiB(pid).rss_mib };
  }
}

// ---- run --------------------------------------------------------------------------------------------

const deadline = Date.now() + 600_000;
for (;;) {
  if (Date.now() > deadline) throw new Error('wrangler dev did not answer /healthz within 10 minutes');
  try {
    if ((await fetch(`${base}/healthz`)).status < 500 && workerdPid()) break;
  } catch {
    // not listening yet
  }
  await new Promise((r) => setTimeout(r, 1000));
}
const pid = workerdPid()!;
const before = memoryMiB(pid);
// Each request a different sentence, in this run and across runs (the edge cache, kept in local R2's folder,
// answers a repeated one without translating): 13 words, one of them a number.
const first = Date.now() % 100_000;
const sentence = (i: number) => `A man in a blue shirt is standing on a ladder cleaning ${first + i} windows.`;
const load = await translate(sentence(1000), 1); // loads the model (and V8 tier-up)
const loaded = memoryMiB(pid);
const out: Record<string, unknown> = { model, load_ms: Math.round(load.ms), load_cpu_ms: load.cpu };
let n = 0;
for (const beam of [1, 4]) {
  await translate(sentence(n++), beam); // tier-up
  const runs = [];
  for (let i = 0; i < Number(opt.repeats); i++) runs.push(await translate(sentence(n++), beam));
  out[`beam${beam}_ms`] = round(runs.reduce((a, r) => a + r.ms, 0) / runs.length);
  out[`beam${beam}_cpu_ms`] = round(runs.reduce((a, r) => a + r.cpu, 0) / runs.length);
  console.error(JSON.stringify({ beam, runs }));
}
console.log(JSON.stringify({ ...out, restarts, memory: { before_load: before, loaded, after: memoryMiB(workerdPid()!) } }));
process.exit(0);

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
