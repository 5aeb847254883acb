// npm run bench:request [-- --work 200000 --shapes long,tiny --models multi30k --pairs en-de,fr-de]: the
// slowest requests the API admits, and the memory they take, in Node on the bundled models and the same wasm
// as the worker (workerd's clock stands still during compute, TOOLCHAIN.md). Routes measured: each bundled
// model on its first direction, and one pivot per pair of leg models (model/routing.ts over all of them),
// or the --pairs given. For each route, shape of hostile text and beam, builds one request whose work
// (model/texts.ts workOf: decoder row-steps) is just under --work (default: MAX_WORK of worker/env.ts) and
// within MAX_TEXTS x MAX_CHARS, translates it as the worker does (chunks of CHUNK_WORK, yielding between
// them; a pivot's second leg takes the first one's output), and prints the wall time, the slowest chunk (how
// long another request can wait), ms per 1k work, and memory: the route's engines' wasm memory (each engine
// has its own, as in the worker; it never shrinks, so it is the peak), and the peaks of the JS heap and of
// ArrayBuffers outside wasm (the model files while loading), sampled at load and around every engine call.
// What a Worker isolate holds is about their sum, against its 128 MB. Run with --expose-gc (the npm script
// does) to start each route from a collected heap. Last line: one JSON object, per route the peaks and the
// worst case, and all_models_mib: every measured model's engine at its peak plus the largest JS memory.
//
// --opus: the same on a random int8 model of the OPUS-MT shape (model/config.ts OPUS_MT, 74M parameters;
// written once to $TMPDIR/edge-mt-bench/opus-mt-shape by train/micro-model.ts). Its random weights never end a
// sentence, so every piece decodes to its bound: --texts N measures the first N texts of each request (the
// pieces are as long as in the full one, so the memory peak is the same: each batch is cut to the scratch
// budget, model/decode.ts). --speed: first the speed of one 13-word sentence, greedy and beam 4, in wall
// and CPU ms per sentence and per decoder step (CPU time holds when other processes share the cores).
// Loading: the weights are read in 1 MiB chunks straight into wasm memory (train/model-dir.ts openModelDir),
// or whole first with --whole; loaded.load_peak_mib is the most wasm + JS heap + ArrayBuffers seen meanwhile.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Kernels } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import type { Engine, TranslateOptions } from '../model/engine.ts';
import { type Route, type RoutableModel, allPairs, findRoute } from '../model/routing.ts';
import { type TextPlan, planTexts, translatePlans, workOf } from '../model/texts.ts';
import { createEngine } from '../model/translator.ts';
import { opusMtModelDir } from '../train/micro-model.ts';
import { openModelDir, readModelDir } from '../train/model-dir.ts';
import { BUNDLED_MODELS_DIR, bundledModels } from '../train/paths.ts';
import { settings } from '../worker/env.ts';

const limits = settings(undefined);
const { values: opt } = parseArgs({
  options: {
    work: { type: 'string', default: String(limits.maxWork) },
    shapes: { type: 'string', default: 'short,tiny,long,bytes' },
    beams: { type: 'string', default: '1,4,8' },
    models: { type: 'string' }, // comma-separated bundled models (default: all)
    'models-dir': { type: 'string', default: BUNDLED_MODELS_DIR },
    pairs: { type: 'string' }, // e.g. en-de,fr-de, routed over the models
    opus: { type: 'boolean', default: false }, // a random model of the OPUS-MT shape instead of the bundled ones
    texts: { type: 'string' }, // at most this many texts of each request
    speed: { type: 'boolean', default: false }, // first, ms per sentence of one 13-word sentence, greedy and beam 4
    whole: { type: 'boolean', default: false }, // read each weights file whole before loading it (not in chunks)
  },
});
const maxWork = Number(opt.work);
const beams = opt.beams.split(',').map(Number);

// Texts of MAX_CHARS characters, each a different way to make the model work hard.
const words = 'man woman dog child street red ball water mountain bicycle running looking playing'.split(' ');
const pick = (i: number) => words[(i * 7919) % words.length];
const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
const SHAPES: Record<string, (t: number) => string> = {
  // Multi30k-like sentences: the normal case, for comparison.
  short: (t) => fill((i) => `A ${pick(i + t)} and a ${pick(i + t + 3)} are ${pick(i + t + 5)} near the ${pick(i + t + 1)}. `),
  // One-word sentences: each is charged its tokens + 2 + extraSteps (model/decode.ts), the most per character.
  tiny: (t) => fill((i) => `${cap(pick(i + t))}. `),
  // No punctuation: split at whitespace into pieces of the model's whole length (maxLen - 1 steps each).
  long: (t) => fill((i) => `${pick(i + t)} `),
  // Characters outside the alphabet: a few byte tokens each.
  bytes: (t) => fill((i) => `${String.fromCodePoint(0x1f600 + ((i + t) % 64))}${i % 9 === 8 ? ' ' : ''}`),
};

function fill(part: (i: number) => string): string {
  let s = '';
  for (let i = 0; [...s].length < limits.maxChars; i++) s += part(i);
  return [...s].slice(0, limits.maxChars).join('').trim();
}

// ---- memory -----------------------------------------------------------------------------------------

const MiB = 2 ** 20;
let peakHeap = 0;
let peakArrayBuffers = 0;
function sampleMemory(): void {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers); // wasm memories count in `external`, not here
}
function resetPeaks(): void {
  (globalThis as { gc?: () => void }).gc?.();
  peakHeap = peakArrayBuffers = 0;
  sampleMemory();
}

// ---- routes -------------------------------------------------------------------------------------------

const models = opt.opus ? [opusModel()] : bundledModels(opt['models-dir']).filter((m) => !opt.models || opt.models.split(',').includes(m.name));
if (!models.length) throw new Error(`no bundled model${opt.models ? ` named ${opt.models}` : ''} in ${opt['models-dir']}`);
const routable: RoutableModel[] = models.map((m) => ({ name: m.name, directions: JSON.parse(readFileSync(join(m.dir, 'config.json'), 'utf8')).directions }));

function routesToMeasure(): Array<{ label: string; route: Route }> {
  const label = (r: Route) => r.legs.map((l) => `${l.source}-${l.target}@${l.model}`).join(' + ');
  if (opt.pairs) {
    return opt.pairs.split(',').map((p) => {
      const [s, t] = p.split('-');
      const route = findRoute(routable, s, t);
      if (!route) throw new Error(`no route for ${p} over ${routable.map((m) => m.name).join(', ')}`);
      return { label: label(route), route };
    });
  }
  // Each model alone on its first direction, then the first pivot of each pair of leg models.
  const out = routable.map((m) => findRoute([m], ...m.directions[0])!).map((route) => ({ label: label(route), route }));
  const seen = new Set<string>();
  for (const { route } of allPairs(routable)) {
    const key = route.legs.map((l) => l.model).join('+');
    if (route.pivot && !seen.has(key)) {
      seen.add(key);
      out.push({ label: label(route), route });
    }
  }
  return out;
}

// Fresh engines for a route, one per model (its own kernels and memory, as the worker loads them), their
// calls timed (every engine call is a chunk: model/texts.ts translate, or translateStream for one long piece)
// and sampled for memory.
let chunkMs: number[] = [];
let peakLoad = 0;
function* sampled(weights: Uint8Array | Iterable<Uint8Array>, sample: () => void): Generator<Uint8Array> {
  for (const chunk of weights instanceof Uint8Array ? [weights] : weights) {
    sample();
    yield chunk;
  }
}
function loadEngines(route: Route): Map<string, { engine: Engine; kernels: Kernels }> {
  const engines = new Map<string, { engine: Engine; kernels: Kernels }>();
  for (const { model } of route.legs) {
    if (engines.has(model)) continue;
    const kernels = loadKernels();
    const dir = models.find((m) => m.name === model)!.dir;
    // What the process holds while loading: wasm memories so far, the JS heap and ArrayBuffers (the file,
    // when read whole), sampled at every chunk the weights are read by.
    const sampleLoad = () => {
      sampleMemory();
      const m = process.memoryUsage();
      const wasm = [...engines.values()].reduce((sum, e) => sum + e.kernels.memory.buffer.byteLength, kernels.memory.buffer.byteLength);
      peakLoad = Math.max(peakLoad, wasm + m.heapUsed + m.arrayBuffers);
    };
    const files = opt.whole ? readModelDir(dir) : openModelDir(dir);
    const engine = createEngine({ ...files, weights: sampled(files.weights, sampleLoad) }, kernels);
    sampleLoad(); // the files' bytes are still referenced here, as in the worker right after a load
    const timed = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
      sampleMemory();
      const t0 = performance.now();
      try {
        return await f(...a);
      } finally {
        chunkMs.push(performance.now() - t0);
        sampleMemory();
      }
    };
    engine.translate = timed(engine.translate.bind(engine));
    engine.translateStream = timed(engine.translateStream.bind(engine));
    engines.set(model, { engine, kernels });
  }
  return engines;
}

// As many texts (then sentences of the last) as fit the work limit on the first leg's engine.
function request(engine: Engine, shape: string, options: TranslateOptions): { plans: TextPlan[]; work: number } {
  const plans: TextPlan[] = [];
  for (let t = 0; t < Math.min(limits.maxTexts, Number(opt.texts ?? Infinity)); t++) {
    const [plan] = planTexts(engine, [SHAPES[shape](t)], options);
    if (workOf([...plans, plan], engine, options) <= maxWork) {
      plans.push(plan);
      continue;
    }
    while (plan.pieces.length && workOf([...plans, plan], engine, options) > maxWork) plan.pieces.pop();
    if (plan.pieces.length) plans.push(plan);
    break;
  }
  return { plans, work: workOf(plans, engine, options) };
}

function opusModel(): { name: string; dir: string } {
  return { name: 'opus-mt-shape', dir: opusMtModelDir(loadKernels()) };
}

// ms per sentence of one 13-word sentence, alone, greedy and beam 4: wall clock and this process's CPU time,
// and per decoder step (the output's tokens and </s>, from the alignments of one more call; a random model
// decodes to its length bound, a trained one stops near the source length).
async function sentenceSpeed(engine: Engine, source: string, target: string, repeats = 3): Promise<Record<string, number>> {
  const sentence = 'A man in a blue shirt is standing on a ladder cleaning the windows.';
  const out: Record<string, number> = {};
  for (const beam of [1, 4]) {
    const options: TranslateOptions = { source, target, beam };
    const [aligned] = await engine.translate([sentence], { ...options, alignments: true }); // and V8 tier-up
    const steps = aligned.targetTokens!.length;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) await engine.translate([sentence], options);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000 / repeats;
    Object.assign(out, {
      [`beam${beam}_steps`]: steps, [`beam${beam}_ms`]: round((performance.now() - t0) / repeats),
      [`beam${beam}_cpu_ms`]: round(cpuMs), [`beam${beam}_cpu_ms_per_step`]: round(cpuMs / steps),
    });
  }
  return out;
}

const rows: Array<Record<string, unknown>> = [];
const summaries: Array<Record<string, unknown>> = [];
const wasmPerModel = new Map<string, number>(); // the most wasm memory each model's engine reached
let peakJs = 0; // the most JS heap + ArrayBuffers of any route
for (const { label, route } of routesToMeasure()) {
  resetPeaks();
  peakLoad = 0;
  const engines = loadEngines(route);
  const legEngine = (i: number) => engines.get(route.legs[i].model)!.engine;
  const wasmMiB = () => round([...engines.values()].reduce((sum, e) => sum + e.kernels.memory.buffer.byteLength, 0) / MiB);
  const loaded = { wasm_mib: wasmMiB(), js_heap_mib: round(peakHeap / MiB), array_buffers_mib: round(peakArrayBuffers / MiB), load_peak_mib: round(peakLoad / MiB) };
  console.error(JSON.stringify({ route: label, loaded }));
  const first = route.legs[0];
  const warm: TranslateOptions = { source: first.source, target: first.target, beam: 4 };
  await translatePlans(legEngine(0), planTexts(legEngine(0), ['A dog runs in the park.'], warm), warm); // V8 tier-up
  const speed = opt.speed ? await sentenceSpeed(legEngine(0), first.source, first.target) : undefined;
  if (speed) console.error(JSON.stringify({ route: label, sentence_13_words: speed }));
  const routeRows: Array<Record<string, unknown>> = [];
  for (const shape of opt.shapes.split(',')) {
    for (const beam of beams) {
      for (const rerank of beam === Math.max(...beams) && !opt.opus ? [false, true] : [false]) {
        const options = (i: number): TranslateOptions => ({ source: route.legs[i].source, target: route.legs[i].target, beam, ...(rerank ? { rerank: true } : {}) });
        const t0 = performance.now();
        const { plans, work } = request(legEngine(0), shape, options(0));
        const planMs = performance.now() - t0;
        chunkMs = [];
        peakHeap = 0;
        const t1 = performance.now();
        let out = await translatePlans(legEngine(0), plans, options(0));
        for (let i = 1; i < route.legs.length; i++) {
          out = await translatePlans(legEngine(i), planTexts(legEngine(i), out.map((r) => r.translation), options(i)), options(i));
        }
        const ms = performance.now() - t1;
        const row = {
          route: label, shape, beam, rerank, texts: plans.length, work,
          plan_ms: Math.round(planMs), seconds: round(ms / 1000), slowest_chunk_ms: Math.round(Math.max(...chunkMs)),
          ms_per_1k_work: round((ms / work) * 1000), wasm_mib: wasmMiB(), js_heap_mib: round(peakHeap / MiB),
        };
        routeRows.push(row);
        console.error(JSON.stringify(row));
      }
    }
  }
  rows.push(...routeRows);
  const peak = {
    wasm_mib: wasmMiB(),
    js_heap_mib: Math.max(loaded.js_heap_mib, ...routeRows.map((r) => r.js_heap_mib as number)),
    array_buffers_mib: round(peakArrayBuffers / MiB),
  };
  const summary = { route: label, ...(speed ? { sentence_13_words: speed } : {}), loaded, peak: { ...peak, total_mib: round(peak.wasm_mib + peak.js_heap_mib + peak.array_buffers_mib) }, worst: slowest(routeRows) };
  summaries.push(summary);
  for (const [name, e] of engines) wasmPerModel.set(name, Math.max(wasmPerModel.get(name) ?? 0, e.kernels.memory.buffer.byteLength / MiB));
  peakJs = Math.max(peakJs, peak.js_heap_mib + peak.array_buffers_mib);
  console.error(JSON.stringify(summary));
}
// Every measured model in memory at once (the worker keeps engines up to MODEL_MEMORY_BYTES of weights),
// each at its peak, plus the largest JS heap and ArrayBuffers seen: a bound for one isolate.
const allModels = round([...wasmPerModel.values()].reduce((a, b) => a + b, 0) + peakJs);
console.log(JSON.stringify({
  max_work: maxWork, routes: summaries, all_models_mib: allModels, worst: slowest(rows), slowest_chunk_ms: Math.max(...rows.map((r) => r.slowest_chunk_ms as number)),
}));

function slowest(rs: Array<Record<string, unknown>>) {
  return rs.reduce((a, b) => ((b.seconds as number) > (a.seconds as number) ? b : a));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
