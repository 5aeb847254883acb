// Kernel benchmark (`npm run bench:kernels`; `-- --quick` takes 5 samples instead of 21, `--samples N` any):
// our wasm kernels against onnxruntime-web's wasm backend (1 thread, SIMD), in one process, interleaved, at the
// shapes the served models run. Every linear layer of each bundled model (models/*/config.json, through
// model/params.ts's layout) and of the OPUS-MT shape (d_model 512, d_ff 2048, 8 heads, V 58101), at the
// encoder's M (16 sentences x 20 tokens: self-attention, feed-forward, the cross-attention keys and values of
// the memory) and at decoding M (1, 4, 32, 128 rows: self-attention, cross-attention query and output,
// feed-forward, the output projection), then attention. Each timing is the median of interleaved samples
// after a warm-up (V8 tiers wasm up from Liftoff to TurboFan after the first calls, which run 3-6x slower);
// the minimum is printed beside it (a busy machine slows medians most).
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
// `--before DIR` also times matmul_q8_forward of another build (DIR/kernels.simd.wasm, DIR/kernels.relaxed.wasm,
// e.g. main's) in the same rounds: the "before" columns. BENCH_ONLY=f32,q8,attention runs only those sections.
// The last line is one JSON object of speed ratios ours/peer (ORT time / our time; > 1 means we are faster).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { OPUS_MT, type ModelConfig } from '../../model/config.ts';
import { paramLayout, type TensorSpec } from '../../model/params.ts';
import { Arena, instantiate, type Flavor, type Kernels } from '../host.ts';
import { loadKernels } from '../node.ts';
import { DT, attrInt, model, node, tensor, valueInfo } from './onnx.ts';
import { SAMPLES, measure, rand, type Runner, type Timing } from './common.ts';

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;
ort.env.logLevel = 'error';

const started = performance.now();
const args = process.argv.slice(2);
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const samples = Number(flag('--samples') ?? (args.includes('--quick') ? 5 : SAMPLES));
const beforeDir = flag('--before');
const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim()).filter(Boolean) ?? [];
const runs = (section: string) => only.length === 0 || only.includes(section);

const ENCODER_M = 16 * 20; // 16 sentences of 20 tokens
const DECODE_M = [1, 4, 32, 128]; // rows: beams x sentences

// --- the served shapes ---

interface Linear {
  phase: 'enc' | 'dec';
  M: number;
  K: number;
  N: number;
  layers: string; // which linears have this shape
}

// (M,K,N) of every linear of one config, at the encoder's M and each decoding M; layers of one shape merged.
function servedLinears(config: ModelConfig): Linear[] {
  const L = paramLayout(config);
  const enc = L.encoder[0];
  const dec = L.decoder[0];
  const phases: [Linear['phase'], number[], [string, TensorSpec][]][] = [
    ['enc', [ENCODER_M], [['self qkv', enc.self.qkv_w], ['self out', enc.self.out_w], ['ffn1', enc.ffn.fc1_w], ['ffn2', enc.ffn.fc2_w], ['cross kv', dec.cross.kv_w!]]],
    ['dec', DECODE_M, [['self qkv', dec.self.qkv_w], ['self out', dec.self.out_w], ['cross q', dec.cross.qkv_w], ['cross out', dec.cross.out_w],
      ['ffn1', dec.ffn.fc1_w], ['ffn2', dec.ffn.fc2_w], ['logits', L.embed]]],
  ];
  const out: Linear[] = [];
  for (const [phase, Ms, linears] of phases) {
    const byShape = new Map<string, string[]>();
    for (const [name, t] of linears) {
      const key = `${t.shape[1]}x${t.shape[0]}`;
      byShape.set(key, [...(byShape.get(key) ?? []), name]);
    }
    for (const M of Ms) {
      for (const [key, names] of byShape) {
        const [K, N] = key.split('x').map(Number);
        out.push({ phase, M, K, N, layers: names.join(', ') });
      }
    }
  }
  return out;
}

function bundledConfigs(): [string, ModelConfig][] {
  const dir = fileURLToPath(new URL('../../models/', import.meta.url));
  return readdirSync(dir)
    .filter((d) => existsSync(join(dir, d, 'config.json')))
    .map((d) => [d, JSON.parse(readFileSync(join(dir, d, 'config.json'), 'utf8')) as ModelConfig]);
}

const MODELS: [string, ModelConfig][] = [...bundledConfigs(), ['opus-mt', OPUS_MT]];

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
const load = (flavor: Flavor) => instantiate(new WebAssembly.Module(readFileSync(join(beforeDir!, `kernels.${flavor}.wasm`))), flavor);
const before = beforeDir ? { simd: load('simd'), relaxed: load('relaxed') } : undefined;

function warm(kern: Kernels): void {
  const a = new Arena(kern);
  const [M, K, N] = [40, 64, 64];
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
    for (const m of [1, 2, 8, M]) {
      kern.k.matmul_forward(out, inp, w, 0, m, K, N);
      kern.k.matmul_q8_forward(out, scratch, inp, wq, ws, wsum, 0, m, K, N);
    }
  }
}
for (const kern of [relaxed, simd, before?.relaxed, before?.simd]) if (kern) warm(kern);

// --- cases ---

interface Row {
  key: string;
  what: string;
  ours: Timing;
  ort: Timing;
  ops: number;
  note?: string;
}
const rows: Row[] = [];

const gops = (ops: number, ms: number) => (ops / ms / 1e6).toFixed(1).padStart(6);

function report(r: Row): void {
  rows.push(r);
  const ms = (t: Timing) => `${t.median.toFixed(3).padStart(8)} ms ${gops(r.ops, t.median)} G/s`;
  const ratio = `x${(r.ort.median / r.ours.median).toFixed(2)} (min/min x${(r.ort.min / r.ours.min).toFixed(2)})`;
  console.log(`${r.what.padEnd(44)} ours ${ms(r.ours)} | ORT ${ms(r.ort)} | ${ratio}${r.note ? `  ${r.note}` : ''}`);
}

const label = (model: string, s: Linear) => `${model} ${s.phase} ${s.M}x${s.K}x${s.N}`;
const key = (model: string, s: Linear) => `${model}_${s.phase}_m${s.M}_k${s.K}_n${s.N}`;

async function f32Case(name: string, s: Linear): Promise<void> {
  const { M, K, N } = s;
  const a = new Arena(relaxed);
  const x = rand(M * K);
  const w = rand(N * K, 0.05);
  const inp = a.putF32(x);
  const pw = a.putF32(w);
  const out = a.f32(M * N);
  const sess = await session(
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
    { name: 'ort', async: true, call: () => sess.run(feeds) },
  ], samples);
  await sess.release();
  report({ key: `f32_${key(name, s)}`, what: `f32  ${label(name, s)}`, ours, ort: theirs, ops: 2 * M * K * N, note: s.layers });
}

interface Q8Setup {
  run: () => void;
  wq: Int8Array;
  wscale: Float32Array;
}

// our int8 linear on one build: weights quantized by the kernels (identical codes in every build)
function q8Setup(kern: Kernels, x: Float32Array, w: Float32Array, M: number, K: number, N: number): Q8Setup {
  const a = new Arena(kern);
  const inp = a.putF32(x);
  const wq = a.alloc(N * K);
  const ws = a.f32(N);
  const wsum = a.i32(N);
  kern.k.quantize_rows_q8(wq, ws, a.putF32(w), N, K);
  kern.k.q8_row_sums(wsum, wq, N, K);
  const scratch = a.alloc(M * (K + 16) + 4 * M);
  const out = a.f32(M * N);
  return {
    run: () => kern.k.matmul_q8_forward(out, scratch, inp, wq, ws, wsum, 0, M, K, N),
    wq: a.i8view(wq, N * K).slice(),
    wscale: a.f32view(ws, N).slice(),
  };
}

async function q8Case(name: string, s: Linear): Promise<void> {
  const { M, K, N } = s;
  const x = rand(M * K);
  const w = rand(N * K, 0.05);
  const S = q8Setup(simd, x, w, M, K, N);
  const R = q8Setup(relaxed, x, w, M, K, N);
  const B = tensor('B', DT.INT8, [K, N], transpose(S.wq, N, K, (n) => new Int8Array(n)));
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
      initializers: [B, tensor('bs', DT.FLOAT, [N], S.wscale)],
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
  const runners: Runner[] = [
    { name: 'simd', async: false, call: S.run },
    { name: 'relaxed', async: false, call: R.run },
    { name: 'ort dyn', async: true, call: () => dyn.run(fx) },
    { name: 'ort bare', async: true, call: () => bare.run(ux) },
  ];
  if (before) {
    runners.push({ name: 'before simd', async: false, call: q8Setup(before.simd, x, w, M, K, N).run });
    runners.push({ name: 'before relaxed', async: false, call: q8Setup(before.relaxed, x, w, M, K, N).run });
  }
  const [oursS, oursR, ortDyn, ortBare, befS, befR] = await measure(runners, samples);
  await dyn.release();
  await bare.release();
  const ops = 2 * M * K * N;
  const vs = (t: Timing, then?: Timing) => then ? `before ${then.median.toFixed(3)} ms ${gops(ops, then.median)} G/s: x${(then.median / t.median).toFixed(2)} (min/min x${(then.min / t.min).toFixed(2)}); ` : '';
  report({ key: `q8_simd_${key(name, s)}`, what: `q8 simd    ${label(name, s)}`, ours: oursS, ort: ortDyn, ops, note: `${vs(oursS, befS)}${s.layers}` });
  report({
    key: `q8_relaxed_${key(name, s)}`, what: `q8 relaxed ${label(name, s)}`, ours: oursR, ort: ortDyn, ops,
    note: `${vs(oursR, befR)}bare MatMulInteger ${ortBare.median.toFixed(3)} ms: x${(ortBare.median / oursR.median).toFixed(2)}`,
  });
}

async function attentionCase(name: string, phase: string, B: number, T: number, S: number, H: number, D: number): Promise<void> {
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
  const [ours, ortPlain, ortMha] = await measure(runners, samples);
  await plain.release();
  await mha?.release();
  const note = `(ORT MultiHeadAttention ${ortMha ? `${ortMha.median.toFixed(3)} ms` : 'unavailable'}, MatMul+Softmax graph ${ortPlain.median.toFixed(3)} ms)`;
  const best = ortMha && ortMha.median < ortPlain.median ? ortMha : ortPlain;
  report({ key: `attn_${name}_${phase}_b${B}_t${T}_s${S}_h${H}_d${D}`, what: `attn ${name} ${phase} B${B} T${T} S${S} H${H} D${D}`, ours, ort: best, ops: 4 * B * H * T * S * D, note });
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
  const [t] = await measure([{ name: 'floor', async: true, call: () => s.run(feeds) }], samples);
  await s.release();
  return t;
}

console.log(`kernels vs onnxruntime-web ${ort.env.versions.web ?? ''} (wasm, 1 thread, SIMD); median of ${samples} interleaved samples${before ? `; before = ${beforeDir}` : ''}`);
console.log(`load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores (other processes make timings noisy)`);
console.log(`models: ${MODELS.map(([n, c]) => `${n} (d_model ${c.dModel}, d_ff ${c.dFF}, ${c.heads} heads, V ${c.vocabSize})`).join(', ')}`);
console.log(`ORT floor (1x4x4 MatMul run): ${((await ortFloor()).median * 1000).toFixed(1)} us per session.run`);
for (const [name, config] of MODELS) {
  const linears = servedLinears(config);
  if (runs('f32')) {
    console.log(`--- ${name}: f32 matmul, out = inp @ W^T`);
    for (const s of linears) await f32Case(name, s);
  }
  if (runs('q8')) {
    console.log(`--- ${name}: int8 matmul (activations quantized per row on the fly)`);
    for (const s of linears) await q8Case(name, s);
  }
  if (runs('attention')) {
    console.log(`--- ${name}: attention`);
    const D = config.dModel / config.heads;
    await attentionCase(name, 'enc', 16, 20, 20, config.heads, D); // encoder self-attention
    for (const B of [4, 32]) await attentionCase(name, 'dec', B, 1, 20, config.heads, D); // a decoding step's cross-attention
  }
}
const ratios = rows.map((r) => r.ort.median / r.ours.median);
const geo = Math.exp(ratios.reduce((s, x) => s + Math.log(x), 0) / ratios.length);
console.log(`${rows.length} cases, geometric mean x${geo.toFixed(2)}, min x${Math.min(...ratios).toFixed(2)}, ${rows.filter((r) => r.ort.median / r.ours.median >= 1.5).length} at >= x1.5, ${((performance.now() - started) / 1000).toFixed(0)} s`);
console.log(JSON.stringify(Object.fromEntries(rows.map((r) => [`${r.key}_vs_ort_web`, Number((r.ort.median / r.ours.median).toFixed(2))]))));
