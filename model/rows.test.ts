// The decoder state keeps only live rows: InferenceModel.reorder gathers rows in place with the fewest copies
// (copyPlan), and a batch whose sentences finish at different steps gives each sentence exactly (tokens,
// scores, bit for bit) what it gets decoded alone, on the bundled model, greedy and beam 4; alignments, which
// are computed for the chosen hypothesis only, too.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { DECODE_DEFAULTS } from './decode.ts';
import { mulberry32 } from './params.ts';
import { copyPlan, InferenceModel, SCRATCH } from './runtime.ts';
import { parse } from './safetensors.ts';
import { BeamSearch, paperRules, type Hypothesis } from './search.ts';
import { SPECIAL_IDS, Tokenizer } from './tokenizer.ts';
import { createEngine, parseMeta } from './translator.ts';

const bundled = (f: string) => readFileSync(new URL(`../models/multi30k/${f}`, import.meta.url));
const meta = parseMeta(bundled('config.json').toString());
const tok = Tokenizer.fromJSON(bundled('tokenizer.json').toString());
const kernels = loadKernels('simd');
const model = new InferenceModel(kernels, new Arena(kernels), meta, parse(new Uint8Array(bundled('weights.safetensors'))));

// Runs a plan over a JS array the way reorder runs it over the cache's rows.
function applied(plan: Array<[number, number]>, rows: number[]): number[] {
  const out = rows.slice();
  let spare = NaN;
  for (const [dst, src] of plan) {
    const v = src === SCRATCH ? spare : out[src];
    if (dst === SCRATCH) spare = v;
    else out[dst] = v;
  }
  return out;
}

describe('copyPlan', () => {
  it('gathers rows in place, writing each changed row once and no other', () => {
    const rand = mulberry32(7);
    const pick = (n: number) => Math.floor(rand() * n);
    for (let trial = 0; trial < 2000; trial++) {
      const oldRows = 1 + pick(12);
      const R = 1 + pick(12);
      const parents = Array.from({ length: R }, (_, r) => (rand() < 0.1 ? -1 : rand() < 0.3 && r < oldRows ? r : pick(oldRows)));
      const rows = Array.from({ length: Math.max(R, oldRows) }, (_, i) => 100 + i);
      const plan = copyPlan(parents, oldRows);
      const got = applied(plan, rows).slice(0, R);
      const want = parents.map((p, r) => (p < 0 ? rows[r] : rows[p]));
      expect(got, `parents ${parents}`).toEqual(want);
      const writes = plan.filter(([d]) => d !== SCRATCH).map(([d]) => d);
      expect(new Set(writes).size).toBe(writes.length);
      expect(writes.sort((a, b) => a - b)).toEqual(parents.flatMap((p, r) => (p >= 0 && p !== r ? [r] : [])));
    }
  });

  it('copies nothing for kept rows; a beam step that shifts rows needs no spare; a swap needs one', () => {
    expect(copyPlan([0, 1, 2, 3], 4)).toEqual([]);
    expect(copyPlan([0, 0, 1, 2], 4)).toEqual([[3, 2], [2, 1], [1, 0]]);
    expect(copyPlan([1, 0], 2)).toEqual([[SCRATCH, 0], [0, 1], [1, SCRATCH]]);
    // The first step: one row per sentence widens to the beam; a finished sentence's rows leave.
    expect(applied(copyPlan([0, 0, 1, 1], 2), [7, 8, 0, 0])).toEqual([7, 7, 8, 8]);
    expect(applied(copyPlan([4, 5], 6), [0, 1, 2, 3, 4, 5])).toEqual([4, 5, 2, 3, 4, 5]);
  });
});

describe('InferenceModel.reorder', () => {
  it('moves each row\'s cached steps, the memory rows and source lengths of the sentences kept', () => {
    const C = meta.dModel;
    const srcs = [[5, 6, 2], [7, 8, 9, 2], [10, 2]];
    const S = 4;
    const mark = model.arena.mark();
    const src = new Int32Array(srcs.length * S);
    srcs.forEach((s, i) => src.set(s, i * S));
    const st = model.encode(src, Int32Array.from(srcs, (s) => s.length), S, 2, 8);
    expect([st.R, st.group]).toEqual([3, 1]);
    st.t = 3; // pretend three steps are cached: row r's step t holds r*10 + t everywhere
    const rowSize = st.Tmax * 2 * C;
    const cache = (l: number) => model.arena.f32view(st.selfKV[l], st.rows * rowSize);
    const memory = (l: number) => model.arena.f32view(st.crossKV[l], 3 * S * 2 * C);
    for (let l = 0; l < meta.decoderLayers; l++) for (let r = 0; r < 3; r++) for (let t = 0; t < 3; t++) cache(l).fill(r * 10 + t, r * rowSize + t * 2 * C, r * rowSize + (t + 1) * 2 * C);
    const mem0 = memory(0).slice();
    // Sentence 1 has finished; sentences 2 and 0 continue in that order, two hypotheses each.
    model.reorder(st, Int32Array.from([2, 2, 0, -1]), 2);
    expect([st.R, st.Bs, st.group]).toEqual([4, 2, 2]);
    expect(Array.from(model.arena.i32view(st.srcLen, 2))).toEqual([2, 3]);
    expect(memory(0).subarray(0, S * 2 * C)).toEqual(mem0.subarray(2 * S * 2 * C, 3 * S * 2 * C));
    expect(memory(0).subarray(S * 2 * C, 2 * S * 2 * C)).toEqual(mem0.subarray(0, S * 2 * C));
    for (let l = 0; l < meta.decoderLayers; l++) {
      const row = (r: number) => Array.from({ length: 3 }, (_, t) => cache(l)[r * rowSize + t * 2 * C + (l % (2 * C))]);
      expect([row(0), row(1), row(2)]).toEqual([[20, 21, 22], [20, 21, 22], [0, 1, 2]]);
    }
    model.arena.reset(mark);
  });
});

// Beam search over the given sources as one batch, with the decoder state's rows after each step.
function search(srcs: number[][], beam: number): { nbest: Hypothesis[][]; rows: number[]; steps: number } {
  const S = Math.max(...srcs.map((s) => s.length));
  const src = new Int32Array(srcs.length * S);
  srcs.forEach((s, i) => src.set(s, i * S));
  const maxSteps = srcs.map((s) => Math.min(s.length + DECODE_DEFAULTS.extraSteps, meta.maxLen - 1));
  const mark = model.arena.mark();
  const st = model.encode(src, Int32Array.from(srcs, (s) => s.length), S, beam, Math.max(...maxSteps) + 1);
  const bs = new BeamSearch(model, st, { beam, alpha: 0.6, maxSteps, rules: paperRules(SPECIAL_IDS) });
  const rows: number[] = [];
  while (!bs.finishedAll) (bs.step(), rows.push(bs.finishedAll ? 0 : st.R));
  model.arena.reset(mark);
  return { nbest: bs.nbest(), rows, steps: rows.length };
}

describe('a batch whose sentences finish at different steps', () => {
  const sentences = [
    'A dog runs.',
    'A little girl in a pink dress is climbing the stairs of a wooden playhouse while her brother watches.',
    'Two men.',
    'A man in a blue shirt is standing on a ladder cleaning windows.',
    'People.',
  ];
  const srcs = sentences.map((s) => [tok.langId('de'), ...tok.encode(s), SPECIAL_IDS.eos]);
  for (const beam of [1, 4]) {
    it(`beam ${beam}: each sentence's n-best (tokens, scores) is bit for bit what it gets alone, and finished rows leave`, () => {
      const batch = search(srcs, beam);
      const alone = srcs.map((s) => search([s], beam));
      expect(new Set(alone.map((a) => a.steps)).size, 'sentences end at different steps').toBeGreaterThan(2);
      alone.forEach((a, i) => {
        const got = batch.nbest[i].map((h) => [h.tokens, h.score, h.logProb]);
        expect(got, sentences[i]).toEqual(a.nbest[0].map((h) => [h.tokens, h.score, h.logProb]));
        batch.nbest[i].forEach((h, j) => (expect(Object.is(h.score, a.nbest[0][j].score)).toBe(true), expect(Object.is(h.logProb, a.nbest[0][j].logProb)).toBe(true)));
      });
      // After step k the state holds beam rows for each sentence still searching, no more.
      const live = (k: number) => alone.filter((a) => a.steps > k + 1).length;
      expect(batch.rows).toEqual(batch.rows.map((_, k) => (live(k) ? live(k) * beam : 0)));
    });
  }
});

describe('alignments of the chosen hypothesis only', () => {
  it('are, in a batch, bit for bit those of each sentence alone (beam 4, and reranked)', async () => {
    const engine = createEngine({ config: bundled('config.json').toString(), tokenizer: bundled('tokenizer.json').toString(), weights: new Uint8Array(bundled('weights.safetensors')) }, kernels);
    const texts = ['A dog runs.', 'A man in a blue shirt is standing on a ladder cleaning windows.', 'People.'];
    for (const extra of [{}, { rerank: true }]) {
      const o = { source: 'en', target: 'de', beam: 4, alignments: true, ...extra };
      const batch = await engine.translate(texts, o);
      const alone = await Promise.all(texts.map(async (t) => (await engine.translate([t], o))[0]));
      expect(batch).toEqual(alone);
      for (const r of batch) {
        expect(r.layers!.length).toBe(meta.decoderLayers);
        expect(r.alignment!.length).toBe(r.targetTokens!.length);
        for (const row of r.alignment!) expect(row.length).toBe(r.sourceTokens!.length);
      }
    }
  });
});
