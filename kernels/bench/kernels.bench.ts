// Kernel benchmark (`npm run bench:kernels`): our wasm kernels against onnxruntime-web's wasm backend
// (1 thread, SIMD), in one process so both see the same machine load. Shapes are the ones the model runs:
// decoding (M = beams x sentences rows) and training (M = 512 rows), d_model/d_ff sizes and the 8000-word
// output projection. Every timing is the median of interleaved samples after a warm-up (V8 tiers wasm
// up from Liftoff to TurboFan after the first calls, which run 3-6x slower).
//
// Peers, all fed the same f32 inputs (ORT's times include its per-run overhead, printed as "ORT floor"):
//   f32:  ours matmul_forward (relaxed build)        vs ORT MatMul with a constant (K,N) weight
//   q8:   ours matmul_q8_forward, f32 in -> f32 out  vs ORT DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul
//         (what onnxruntime's quantize_dynamic emits; ORT fuses it). The table also shows ORT's bare
//         MatMulInteger on pre-quantized uint8 input with int32 output (less work than ours), for reference.
//         q8 simd = baseline-SIMD build (8-bit activations), q8 relaxed = relaxed build (7-bit activations).
//   attn: ours attention_forward (also writes the probabilities) vs the faster of ORT's
//         com.microsoft MultiHeadAttention and a MatMul -> Mul -> Softmax -> MatMul graph.
// ORT 1.30's wasm binary has no relaxed-SIMD instructions: every ORT peer runs baseline-SIMD kernels.
// The last line is one JSON object of speed ratios (ORT time / our time; > 1 means we are faster).
import { availableParallelism, loadavg } from 'node:os';
import * as ort from 'onnxruntime-web';
import { Arena, type Kernels } from '../host.ts';
import { loadKernels } from '../node.ts';
import { DT, attrInt, model, node, tensor, valueInfo } from './onnx.ts';
import { SAMPLES, measure, rand, type Runner, type Timing } from './common.ts';

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;
ort.env.logLevel = 'error';

const started = performance.now();
// BENCH_ONLY=attention (or f32, q8; comma-separated) runs only those sections
const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim()).filter(Boolean) ?? [];
const runs = (section: string) => only.length === 0 || only.includes(section);

// --- data ---

function transpose<T extends Float32Array | Int8Array>(a: T, rows: number, cols: number, make: (n: number) => T): T {
  const out = make(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

async function session(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
}

// --- our kernels: one instance per build, warmed on small shapes so every kernel is tiered up ---

const relaxed = loadKernels('relaxed');
const simd = loadKernels('simd');

function warm(kern: Kernels): void {
  const a = new Arena(kern);
  const [M, K, N] = [8, 64, 64];
  const inp = a.putF32(rand(M * K));
  const w = a.putF32(rand(N * K));
  const out = a.f32(M * N);
  const wq = a.alloc(N * K);
  const ws = a.f32(N);
  const wsum = a.i32(N);
  const scratch = a.alloc(M * (K + 16) + 4 * M);
  kern.k.quantize_rows_q8(wq, ws, w, N, K);
  kern.k.q8_row_sums(wsum, wq, N, K);
  for (let i = 0; i < 300; i++) {
    kern.k.matmul_forward(out, inp, w, 0, M, K, N);
    kern.k.matmul_forward(out, inp, w, 0, 1, K, N);
    kern.k.matmul_q8_forward(out, scratch, inp, wq, ws, wsum, 0, M, K, N);
    kern.k.matmul_q8_forward(out, scratch, inp, wq, ws, wsum, 0, 1, K, N);
  }
}
warm(relaxed);
warm(simd);

// --- cases ---

interface Row {
  key: string;
  what: string;
  ours: Timing;
  ort: Timing;
  flops: number;
  note?: string;
}
const rows: Row[] = [];

function report(r: Row): void {
  rows.push(r);
  const gf = (ms: number) => (r.flops / ms / 1e6).toFixed(1).padStart(6);
  const ms = (t: Timing) => `${t.median.toFixed(3).padStart(8)} ms ${gf(t.median)} GF/s`;
  const ratio = `x${(r.ort.median / r.ours.median).toFixed(2)} (min/min x${(r.ort.min / r.ours.min).toFixed(2)})`;
  console.log(`${r.what.padEnd(34)} ours ${ms(r.ours)} | ORT ${ms(r.ort)} | ${ratio}${r.note ? `  ${r.note}` : ''}`);
}

async function f32Case(phase: string, M: number, K: number, N: number): Promise<void> {
  const a = new Arena(relaxed);
  const x = rand(M * K);
  const w = rand(N * K, 0.05);
  const inp = a.putF32(x);
  const pw = a.putF32(w);
  const out = a.f32(M * N);
  const s = await session(
    model({
      nodes: [node('MatMul', ['A', 'B'], ['Y'])],
      initializers: [tensor('B', DT.FLOAT, [K, N], transpose(w, N, K, (n) => new Float32Array(n)))],
      inputs: [valueInfo('A', DT.FLOAT, [M, K])],
      outputs: [valueInfo('Y', DT.FLOAT, [M, N])],
    }),
  );
  const feeds = { A: new ort.Tensor('float32', x, [M, K]) };
  const [ours, theirs] = await measure([
    { name: 'ours', async: false, call: () => relaxed.k.matmul_forward(out, inp, pw, 0, M, K, N) },
    { name: 'ort', async: true, call: () => s.run(feeds) },
  ]);
  await s.release();
  report({ key: `f32_${phase}_m${M}_k${K}_n${N}`, what: `f32  ${phase} ${M}x${K}x${N}`, ours, ort: theirs, flops: 2 * M * K * N });
}

async function q8Case(phase: string, M: number, K: number, N: number): Promise<void> {
  const x = rand(M * K);
  const w = rand(N * K, 0.05);
  // our weights: q8 rows, scales, row sums (identical codes in both builds)
  const setup = (kern: Kernels) => {
    const a = new Arena(kern);
    const inp = a.putF32(x);
    const wq = a.alloc(N * K);
    const ws = a.f32(N);
    const wsum = a.i32(N);
    kern.k.quantize_rows_q8(wq, ws, a.putF32(w), N, K);
    kern.k.q8_row_sums(wsum, wq, N, K);
    const scratch = a.alloc(M * (K + 16) + 4 * M);
    const out = a.f32(M * N);
    return { a, inp, wq, ws, wsum, scratch, out };
  };
  const S = setup(simd);
  const R = setup(relaxed);
  const wq = S.a.i8view(S.wq, N * K).slice();
  const wscale = S.a.f32view(S.ws, N).slice();
  const B = tensor('B', DT.INT8, [K, N], transpose(wq, N, K, (n) => new Int8Array(n)));
  // ORT dynamic quantization: f32 in, f32 out
  const dyn = await session(
    model({
      nodes: [
        node('DynamicQuantizeLinear', ['A'], ['Aq', 'as', 'az']),
        node('MatMulInteger', ['Aq', 'B', 'az'], ['Yi']),
        node('Cast', ['Yi'], ['Yf'], [attrInt('to', DT.FLOAT)]),
        node('Mul', ['as', 'bs'], ['s']),
        node('Mul', ['Yf', 's'], ['Y']),
      ],
      initializers: [B, tensor('bs', DT.FLOAT, [N], wscale)],
      inputs: [valueInfo('A', DT.FLOAT, [M, K])],
      outputs: [valueInfo('Y', DT.FLOAT, [M, N])],
    }),
  );
  // ORT bare MatMulInteger: uint8 in (zero point 128), int32 out
  const bare = await session(
    model({
      nodes: [node('MatMulInteger', ['A', 'B', 'az'], ['Y'])],
      initializers: [B, tensor('az', DT.UINT8, [], new Uint8Array([128]))],
      inputs: [valueInfo('A', DT.UINT8, [M, K])],
      outputs: [valueInfo('Y', DT.INT32, [M, N])],
    }),
  );
  const fx = { A: new ort.Tensor('float32', x, [M, K]) };
  const ux = { A: new ort.Tensor('uint8', Uint8Array.from(x, (v) => 128 + Math.round(v * 100)), [M, K]) };
  const [oursS, oursR, ortDyn, ortBare] = await measure([
    { name: 'simd', async: false, call: () => simd.k.matmul_q8_forward(S.out, S.scratch, S.inp, S.wq, S.ws, S.wsum, 0, M, K, N) },
    { name: 'relaxed', async: false, call: () => relaxed.k.matmul_q8_forward(R.out, R.scratch, R.inp, R.wq, R.ws, R.wsum, 0, M, K, N) },
    { name: 'ort dyn', async: true, call: () => dyn.run(fx) },
    { name: 'ort bare', async: true, call: () => bare.run(ux) },
  ]);
  await dyn.release();
  await bare.release();
  const note = `(bare MatMulInteger ${ortBare.median.toFixed(3)} ms: simd x${(ortBare.median / oursS.median).toFixed(2)}, relaxed x${(ortBare.median / oursR.median).toFixed(2)})`;
  const flops = 2 * M * K * N;
  report({ key: `q8_simd_${phase}_m${M}_k${K}_n${N}`, what: `q8 simd    ${phase} ${M}x${K}x${N}`, ours: oursS, ort: ortDyn, flops });
  report({ key: `q8_relaxed_${phase}_m${M}_k${K}_n${N}`, what: `q8 relaxed ${phase} ${M}x${K}x${N}`, ours: oursR, ort: ortDyn, flops, note });
}

async function attentionCase(phase: string, B: number, T: number, S: number, H: number, D: number): Promise<void> {
  const C = H * D;
  const a = new Arena(relaxed);
  const q = rand(B * T * C);
  const kk = rand(B * S * C);
  const v = rand(B * S * C);
  const pq = a.putF32(q);
  const pk = a.putF32(kk);
  const pv = a.putF32(v);
  const out = a.f32(B * T * C);
  const att = a.f32(B * H * T * S);
  // ORT 1: com.microsoft MultiHeadAttention on (B,T,C) / (B,S,C)
  const mha = await session(
    model({
      nodes: [node('MultiHeadAttention', ['q', 'k', 'v'], ['y'], [attrInt('num_heads', H)], 'com.microsoft')],
      initializers: [],
      inputs: [valueInfo('q', DT.FLOAT, [B, T, C]), valueInfo('k', DT.FLOAT, [B, S, C]), valueInfo('v', DT.FLOAT, [B, S, C])],
      outputs: [valueInfo('y', DT.FLOAT, [B, T, C])],
      opsets: [['', 17], ['com.microsoft', 1]],
    }),
  ).catch(() => null);
  // ORT 2: per-head tensors (B,H,T,D), keys pre-transposed (B,H,D,S)
  const plain = await session(
    model({
      nodes: [
        node('MatMul', ['q', 'kt'], ['s0']),
        node('Mul', ['s0', 'scale'], ['s1']),
        node('Softmax', ['s1'], ['p'], [attrInt('axis', -1)]),
        node('MatMul', ['p', 'v'], ['y']),
      ],
      initializers: [tensor('scale', DT.FLOAT, [], new Float32Array([1 / Math.sqrt(D)]))],
      inputs: [valueInfo('q', DT.FLOAT, [B, H, T, D]), valueInfo('kt', DT.FLOAT, [B, H, D, S]), valueInfo('v', DT.FLOAT, [B, H, S, D])],
      outputs: [valueInfo('y', DT.FLOAT, [B, H, T, D])],
    }),
  );
  const mhaFeeds = {
    q: new ort.Tensor('float32', q, [B, T, C]),
    k: new ort.Tensor('float32', kk, [B, S, C]),
    v: new ort.Tensor('float32', v, [B, S, C]),
  };
  const plainFeeds = {
    q: new ort.Tensor('float32', q, [B, H, T, D]),
    kt: new ort.Tensor('float32', kk, [B, H, D, S]),
    v: new ort.Tensor('float32', v, [B, H, S, D]),
  };
  const runners: Runner[] = [
    { name: 'ours', async: false, call: () => relaxed.k.attention_forward(out, att, pq, pk, pv, 0, 0, B, T, S, H, D, C, C, 0, 1) },
    { name: 'ort plain', async: true, call: () => plain.run(plainFeeds) },
  ];
  if (mha) runners.push({ name: 'ort mha', async: true, call: () => mha.run(mhaFeeds) });
  const [ours, ortPlain, ortMha] = await measure(runners);
  await plain.release();
  await mha?.release();
  const note = `(ORT MultiHeadAttention ${ortMha ? `${ortMha.median.toFixed(3)} ms` : 'unavailable'}, MatMul+Softmax graph ${ortPlain.median.toFixed(3)} ms)`;
  const flops = 4 * B * H * T * S * D;
  const best = ortMha && ortMha.median < ortPlain.median ? ortMha : ortPlain;
  report({ key: `attn_${phase}_b${B}_t${T}_s${S}_h${H}_d${D}`, what: `attn ${phase} B${B} T${T} S${S} H${H} D${D}`, ours, ort: best, flops, note });
}

// ORT's fixed cost per run: a 1x4x4 MatMul
async function ortFloor(): Promise<Timing> {
  const s = await session(
    model({
      nodes: [node('MatMul', ['A', 'B'], ['Y'])],
      initializers: [tensor('B', DT.FLOAT, [4, 4], rand(16))],
      inputs: [valueInfo('A', DT.FLOAT, [1, 4])],
      outputs: [valueInfo('Y', DT.FLOAT, [1, 4])],
    }),
  );
  const feeds = { A: new ort.Tensor('float32', rand(4), [1, 4]) };
  const [t] = await measure([{ name: 'floor', async: true, call: () => s.run(feeds) }]);
  await s.release();
  return t;
}

const DECODE_M = [1, 4, 16];
const DECODE_KN: [number, number][] = [[256, 1024], [512, 512], [1024, 512], [512, 8000]];
const TRAIN_KN: [number, number][] = [[256, 1024], [512, 512], [1024, 512], [256, 8000]];

console.log(`kernels vs onnxruntime-web ${ort.env.versions.web ?? ''} (wasm, 1 thread, SIMD); median of ${SAMPLES} interleaved samples`);
console.log(`load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores (other processes make timings noisy)`);
console.log(`ORT floor (1x4x4 MatMul run): ${((await ortFloor()).median * 1000).toFixed(1)} us per session.run`);
if (runs('f32')) {
  console.log('--- f32 matmul: out = inp @ W^T');
  for (const M of DECODE_M) for (const [K, N] of DECODE_KN) await f32Case('decode', M, K, N);
  for (const [K, N] of TRAIN_KN) await f32Case('train', 512, K, N);
}
if (runs('q8')) {
  console.log('--- int8 matmul (activations quantized per row on the fly)');
  for (const M of DECODE_M) for (const [K, N] of DECODE_KN) await q8Case('decode', M, K, N);
  for (const [K, N] of TRAIN_KN) await q8Case('train', 512, K, N);
}
if (runs('attention')) {
  console.log('--- attention');
  if (typeof relaxed.k.attention_forward === 'function') {
    await attentionCase('decode', 4, 1, 32, 8, 64);
    await attentionCase('decode', 16, 1, 64, 4, 32);
    await attentionCase('train', 16, 32, 32, 8, 64);
    await attentionCase('train', 64, 16, 16, 4, 32);
  } else {
    console.log('attention_forward is not built yet: skipped');
  }
}
const ratios = rows.map((r) => r.ort.median / r.ours.median);
const geo = Math.exp(ratios.reduce((s, x) => s + Math.log(x), 0) / ratios.length);
console.log(`${rows.length} cases, geometric mean x${geo.toFixed(2)}, min x${Math.min(...ratios).toFixed(2)}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(JSON.stringify(Object.fromEntries(rows.map((r) => [`${r.key}_vs_ort`, Number((r.ort.median / r.ours.median).toFixed(2))]))));
