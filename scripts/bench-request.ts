// npm run bench:request [-- --work 200000 --shapes long,tiny]: the slowest requests the API admits, in
// Node on the bundled model and the same wasm as the worker (workerd's clock stands still during compute,
// TOOLCHAIN.md). For each shape of hostile text and beam, builds one request whose work (model/texts.ts
// workOf: decoder row-steps) is just under --work (default: MAX_WORK of worker/env.ts) and within
// MAX_TEXTS x MAX_CHARS, translates it as the worker does (chunks of CHUNK_WORK, yielding between them),
// and prints the wall time, the slowest chunk (how long another request can wait) and ms per 1k work.
// Last line: one JSON object with the worst case.
import { parseArgs } from 'node:util';
import { loadKernels } from '../kernels/node.ts';
import type { TranslateOptions } from '../model/engine.ts';
import { type TextPlan, planTexts, translatePlans, workOf } from '../model/texts.ts';
import { createEngine } from '../model/translator.ts';
import { readModelDir } from '../train/model-dir.ts';
import { defaultModelDir } from '../train/paths.ts';
import { settings } from '../worker/env.ts';

const limits = settings(undefined);
const { values: opt } = parseArgs({
  options: {
    work: { type: 'string', default: String(limits.maxWork) },
    shapes: { type: 'string', default: 'short,tiny,long,bytes' },
    beams: { type: 'string', default: '1,4,8' },
  },
});
const maxWork = Number(opt.work);

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

const model = readModelDir(defaultModelDir());
const engine = createEngine(model, loadKernels());
// Every engine call is a chunk (model/texts.ts: translate, or translateStream for one long piece).
let chunkMs: number[] = [];
const timed = <A extends unknown[], R>(f: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
  const t0 = performance.now();
  try {
    return await f(...a);
  } finally {
    chunkMs.push(performance.now() - t0);
  }
};
engine.translate = timed(engine.translate.bind(engine));
engine.translateStream = timed(engine.translateStream.bind(engine));

// As many texts (then sentences of the last) as fit the work limit.
function request(shape: string, options: TranslateOptions): { plans: TextPlan[]; work: number } {
  const plans: TextPlan[] = [];
  for (let t = 0; t < limits.maxTexts; t++) {
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

const warm: TranslateOptions = { source: 'en', target: 'de', beam: 4 };
await translatePlans(engine, planTexts(engine, ['A dog runs in the park.'], warm), warm); // V8 tier-up
const rows: Array<Record<string, unknown>> = [];
for (const shape of opt.shapes.split(',')) {
  for (const beam of opt.beams.split(',').map(Number)) {
    for (const rerank of beam === Math.max(...opt.beams.split(',').map(Number)) ? [false, true] : [false]) {
      const options: TranslateOptions = { source: 'en', target: 'de', beam, ...(rerank ? { rerank: true } : {}) };
      const t0 = performance.now();
      const { plans, work } = request(shape, options);
      const planMs = performance.now() - t0;
      chunkMs = [];
      const t1 = performance.now();
      await translatePlans(engine, plans, options);
      const ms = performance.now() - t1;
      const row = {
        shape, beam, rerank, texts: plans.length, work,
        plan_ms: Math.round(planMs), seconds: round(ms / 1000), slowest_chunk_ms: Math.round(Math.max(...chunkMs)),
        ms_per_1k_work: round((ms / work) * 1000),
      };
      rows.push(row);
      console.error(JSON.stringify(row));
    }
  }
}
const worst = rows.reduce((a, b) => ((b.seconds as number) > (a.seconds as number) ? b : a));
const slowestChunk = Math.max(...rows.map((r) => r.slowest_chunk_ms as number));
console.log(JSON.stringify({ max_work: maxWork, worst, slowest_chunk_ms: slowestChunk }));

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
