// The search step's share after the output projection, old path against the fused kernel, interleaved
// (`node kernels/bench/search.bench.ts` after `node kernels/build.mjs`):
//   old:   softmax_forward writes the (R,V) probabilities, then per row a JS scan for the top 2*beam and
//          Math.log of each (model/search.ts before logsoftmax_topk);
//   fused: logsoftmax_topk writes only the (R,K) indices and log-probabilities.
// Both end with the candidates' scores in a JS array, as BeamSearch.step builds them. The logits are the
// bundled model's (log-probabilities of its third greedy step on Multi30k-like sentences), V = 8000.
import { availableParallelism, loadavg } from 'node:os';
import { Arena, bestFlavor } from '../host.ts';
import { loadKernels } from '../node.ts';
import { DECODE_DEFAULTS } from '../../model/decode.ts';
import { InferenceModel } from '../../model/runtime.ts';
import { parse } from '../../model/safetensors.ts';
import { SPECIAL_IDS, Tokenizer } from '../../model/tokenizer.ts';
import { readModelDir } from '../../train/model-dir.ts';
import { defaultModelDir } from '../../train/paths.ts';
import { SAMPLES, measure } from './common.ts';

const flavor = bestFlavor();
const kernels = loadKernels(flavor);
const arena = new Arena(kernels);
const { k } = kernels;
const files = readModelDir(defaultModelDir());
const model = new InferenceModel(kernels, arena, files.meta, parse(files.weights));
const V = files.meta.vocabSize;
const ROWS = DECODE_DEFAULTS.maxRows; // the engine's rows: 8 sentences x beam 4, or 32 sentences greedy

// Real logits: 32 sentences, three greedy steps; the third step's log-probabilities (logits up to a shift).
function realLogits(): Float32Array {
  const tok = Tokenizer.fromJSON(files.tokenizer);
  const words = 'a man woman dog child in the red blue shirt is playing with ball on street two people walk near water'.split(' ');
  const sents = Array.from({ length: ROWS }, (_, i) => Array.from({ length: 6 + (i % 7) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ') + ' .');
  const ids = sents.map((s) => [tok.langId('de'), ...tok.encode(s), tok.eosId]);
  const S = Math.max(...ids.map((x) => x.length));
  const src = new Int32Array(ROWS * S);
  ids.forEach((x, i) => src.set(x, i * S));
  const mark = arena.mark();
  const st = model.encode(src, Int32Array.from(ids, (x) => x.length), S, 1, 8);
  const probs = arena.f32(ROWS * V);
  let tokens = new Int32Array(ROWS).fill(SPECIAL_IDS.bos);
  for (let t = 0; t < 3; t++) {
    model.step(st, tokens, probs);
    const p = arena.f32view(probs, ROWS * V);
    tokens = Int32Array.from({ length: ROWS }, (_, r) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (p[r * V + v] > p[r * V + best]) best = v;
      return best;
    });
  }
  const out = Float32Array.from(arena.f32view(probs, ROWS * V), (p) => Math.max(Math.log(p), -100));
  arena.reset(mark);
  return out;
}

// model/search.ts's former topK: indices of the k largest values (ties: lower index first).
function topK(row: Float32Array, kk: number): number[] {
  const idx: number[] = [];
  const val: number[] = [];
  for (let v = 0; v < row.length; v++) {
    const x = row[v];
    if (idx.length === kk && x <= val[kk - 1]) continue;
    let i = idx.length < kk ? idx.length : kk - 1;
    while (i > 0 && val[i - 1] < x) {
      idx[i] = idx[i - 1];
      val[i] = val[i - 1];
      i--;
    }
    idx[i] = v;
    val[i] = x;
  }
  return idx;
}

const logitsHost = realLogits();
const logits = arena.putF32(logitsHost);
const probs = arena.f32(ROWS * V);
const idx = arena.i32(ROWS * 32);
const logp = arena.f32(ROWS * 32);
let sink = 0;

function oldStep(R: number, K: number): void {
  k.softmax_forward(probs, logits, R, V);
  const p = arena.f32view(probs, R * V);
  const cand: Array<{ score: number; token: number; j: number }> = [];
  for (let r = 0; r < R; r++) {
    const row = p.subarray(r * V, (r + 1) * V);
    for (const tok of topK(row, K)) cand.push({ score: Math.log(row[tok]), token: tok, j: r });
  }
  sink += cand.length;
}

function fusedStep(R: number, K: number): void {
  k.logsoftmax_topk(idx, logp, 0, logits, R, V, K);
  const ti = arena.i32view(idx, R * K);
  const tl = arena.f32view(logp, R * K);
  const cand: Array<{ score: number; token: number; j: number }> = [];
  for (let r = 0; r < R; r++) for (let c = r * K; c < (r + 1) * K && ti[c] >= 0; c++) cand.push({ score: tl[c], token: ti[c], j: r });
  sink += cand.length;
}

// Same choices first: the fused step must pick the old step's tokens on these logits.
for (const K of [1, 2, 8]) {
  k.softmax_forward(probs, logits, ROWS, V);
  const p = arena.f32view(probs, ROWS * V);
  k.logsoftmax_topk(idx, logp, 0, logits, ROWS, V, K);
  const got = arena.i32view(idx, ROWS * K);
  for (let r = 0; r < ROWS; r++) {
    const want = topK(p.subarray(r * V, (r + 1) * V), K);
    if (want.some((t, c) => t !== got[r * K + c])) throw new Error(`row ${r} K ${K}: old ${want}, fused ${Array.from(got.subarray(r * K, r * K + K))}`);
  }
}
for (let i = 0; i < 300; i++) {
  oldStep(ROWS, 8);
  fusedStep(ROWS, 8);
}

console.log(`search step after the output projection, V = ${V}, ${flavor} build; median of ${SAMPLES} interleaved samples`);
console.log(`load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores (other processes make timings noisy)`);
const cases: Array<[string, number, number]> = [
  ['beam 4, 8 sentences', ROWS, 8],
  ['beam 4, 1 sentence', 4, 8],
  ['greedy, 32 sentences', ROWS, 2],
  ['greedy, 1 sentence', 1, 2],
  ['greedy, 32 sentences, K = 1', ROWS, 1],
];
const ratios: Record<string, number> = {};
for (const [what, R, K] of cases) {
  const [old, fused] = await measure([
    { name: 'old', async: false, call: () => oldStep(R, K) },
    { name: 'fused', async: false, call: () => fusedStep(R, K) },
  ]);
  const us = (ms: number) => `${(ms * 1000).toFixed(1).padStart(7)} us`;
  const ratio = old.median / fused.median;
  ratios[`R${R}_K${K}`] = Number(ratio.toFixed(2));
  console.log(`${what.padEnd(28)} R ${String(R).padStart(2)} K ${K}: old ${us(old.median)} | fused ${us(fused.median)} | x${ratio.toFixed(2)} (min/min x${(old.min / fused.min).toFixed(2)})`);
}
console.log(JSON.stringify(ratios), sink > 0 ? '' : '!');
