// The ONNX export runs in onnxruntime (onnxruntime-web's wasm backend, in Node) and gives the same next-token
// log-probabilities as our engine's f32 path, on micro models with random weights and two sentences of
// different lengths in one padded batch (padding masks, causal mask, both norm placements, both activations).
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { Arena } from '../../kernels/host.ts';
import { loadKernels } from '../../kernels/node.ts';
import { expectClose } from '../../kernels/testing.ts';
import { TOL } from '../../kernels/tolerances.ts';
import { PRESETS, type ModelConfig } from '../../model/config.ts';
import { initParams, mulberry32, paramLayout } from '../../model/params.ts';
import { InferenceModel } from '../../model/runtime.ts';
import { f32Tensor, parse, serialize, type Tensor } from '../../model/safetensors.ts';
import { decoderGraph, decoderMergedGraph, encoderGraph, positionalTable } from './export.ts';
import { encodeModel, DataType } from './proto.ts';

ort.env.wasm.numThreads = 1;

function randomWeights(config: ModelConfig, seed: number): Map<string, Tensor> {
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  // Non-trivial layer norms and biases, so a wrong one would show.
  const r = mulberry32(seed + 1);
  for (const t of layout.tensors) if (!t.linear) for (let i = 0; i < t.size; i++) flat[t.offset + i] += (r() - 0.5) * 0.2;
  const tensors = new Map<string, Tensor>();
  for (const t of layout.tensors) tensors.set(t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size)));
  return tensors;
}

// Source rows <2xx> x.. </s> of different lengths, padded with 0; teacher-forced targets <s> y...
const SRC = [
  [4, 9, 10, 11, 12, 13, 3],
  [5, 7, 3],
];
const TGT = [
  [2, 20, 21, 22, 23],
  [2, 30, 31, 3, 33],
];

// log softmax of the ONNX logits (B,T,V) and of the engine's incremental decoder, as (T,B,V) each.
async function both(config: ModelConfig, weights: Map<string, Tensor>): Promise<{ onnx: Float64Array; engine: Float64Array }> {
  const B = SRC.length;
  const S = Math.max(...SRC.map((s) => s.length));
  const T = TGT[0].length;
  const V = config.vocabSize;
  const ids = new BigInt64Array(B * S);
  const mask = new BigInt64Array(B * S);
  SRC.forEach((s, b) => s.forEach((x, j) => ((ids[b * S + j] = BigInt(x)), (mask[b * S + j] = 1n))));
  const enc = await ort.InferenceSession.create(encoderGraph(config, weights));
  const dec = await ort.InferenceSession.create(decoderGraph(config, weights));
  const srcMask = new ort.Tensor('int64', mask, [B, S]);
  const { last_hidden_state } = await enc.run({ input_ids: new ort.Tensor('int64', ids, [B, S]), attention_mask: srcMask });
  expect(last_hidden_state.dims).toEqual([B, S, config.dModel]);
  const tgt = new ort.Tensor('int64', BigInt64Array.from(TGT.flat(), BigInt), [B, T]);
  const { logits } = await dec.run({ input_ids: tgt, encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask });
  expect(logits.dims).toEqual([B, T, V]);
  const L = logits.data as Float32Array;

  const kernels = loadKernels('simd');
  const arena = new Arena(kernels);
  const model = new InferenceModel(kernels, arena, config, parse(serialize(weights)));
  const st = model.encode(Int32Array.from(ids, Number), Int32Array.from(SRC, (s) => s.length), S, 1, T + 1);
  const probs = arena.f32(B * V);
  const onnx = new Float64Array(T * B * V);
  const engine = new Float64Array(T * B * V);
  for (let t = 0; t < T; t++) {
    model.step(st, Int32Array.from(TGT, (row) => row[t]), probs);
    const p = arena.f32view(probs, B * V);
    for (let b = 0; b < B; b++) {
      const row = L.subarray((b * T + t) * V, (b * T + t + 1) * V);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
      for (let v = 0; v < V; v++) {
        onnx[(t * B + b) * V + v] = row[v] - lse;
        engine[(t * B + b) * V + v] = Math.log(p[b * V + v]);
      }
    }
  }
  return { onnx, engine };
}

describe('ONNX export', () => {
  const variants: Array<[string, Partial<ModelConfig>]> = [
    ['post-norm relu (the paper)', {}],
    ['pre-norm gelu', { preNorm: true, activation: 'gelu' }],
  ];
  for (const [label, over] of variants) {
    it(`onnxruntime gives the engine's log-probabilities: ${label}`, async () => {
      const config: ModelConfig = { ...PRESETS.micro, vocabSize: 50, dModel: 16, heads: 2, maxLen: 64, ...over };
      const { onnx, engine } = await both(config, randomWeights(config, 7));
      expectClose(onnx, engine, TOL.onnx_logprobs, label);
      // Random weights must still give a non-trivial distribution (not all equal), or the check is vacuous.
      expect(Math.max(...engine) - Math.min(...engine)).toBeGreaterThan(0.5);
    });
  }

  for (const [label, over] of variants) {
    it(`the KV-cached decoder (decoder_model_merged) step by step gives the full-sequence decoder's logits: ${label}`, async () => {
      const config: ModelConfig = { ...PRESETS.micro, vocabSize: 50, dModel: 16, heads: 2, maxLen: 64, decoderLayers: 2, ...over };
      const weights = randomWeights(config, 11);
      const B = SRC.length;
      const S = Math.max(...SRC.map((s) => s.length));
      const T = TGT[0].length;
      const { H, V } = { H: config.heads, V: config.vocabSize };
      const D = config.dModel / H;
      const ids = new BigInt64Array(B * S);
      const mask = new BigInt64Array(B * S);
      SRC.forEach((s, b) => s.forEach((x, j) => ((ids[b * S + j] = BigInt(x)), (mask[b * S + j] = 1n))));
      const srcMask = new ort.Tensor('int64', mask, [B, S]);
      const enc = await ort.InferenceSession.create(encoderGraph(config, weights));
      const { last_hidden_state } = await enc.run({ input_ids: new ort.Tensor('int64', ids, [B, S]), attention_mask: srcMask });
      const full = await ort.InferenceSession.create(decoderGraph(config, weights));
      const tgt = (from: number, to: number) => new ort.Tensor('int64', BigInt64Array.from(TGT.flatMap((r) => r.slice(from, to)), BigInt), [B, to - from]);
      const want = (await full.run({ input_ids: tgt(0, T), encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask })).logits.data as Float32Array;
      const merged = await ort.InferenceSession.create(decoderMergedGraph(config, weights));
      const empty = () => new ort.Tensor('float32', new Float32Array(0), [B, H, 0, D]);
      let past: Record<string, ort.Tensor> = {};
      for (let i = 0; i < config.decoderLayers; i++) for (const side of ['decoder', 'encoder']) for (const kv of ['key', 'value']) past[`past_key_values.${i}.${side}.${kv}`] = empty();
      for (let t = 0; t < T; t++) {
        const out = await merged.run({ input_ids: tgt(t, t + 1), encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask, ...past, use_cache_branch: new ort.Tensor('bool', [t > 0], [1]) });
        expect(out.logits.dims).toEqual([B, 1, V]);
        expect(out['present.0.decoder.key'].dims).toEqual([B, H, t + 1, D]);
        expect(out['present.0.encoder.key'].dims).toEqual([B, H, S, D]);
        const got = out.logits.data as Float32Array;
        for (let b = 0; b < B; b++) expectClose(got.subarray(b * V, (b + 1) * V), want.subarray((b * T + t) * V, (b * T + t + 1) * V), TOL.onnx_logprobs, `${label} step ${t} row ${b}`);
        past = Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('present.')).map(([k, v]) => [k.replace('present.', 'past_key_values.'), v]));
      }
      // With use_cache_branch the cross-attention keys/values come from the cache, not the memory: zeroed
      // ones change the logits.
      const zeroed = Object.fromEntries(Object.entries(past).map(([k, v]) => [k, k.includes('.encoder.') ? new ort.Tensor('float32', new Float32Array(v.data.length), v.dims) : v]));
      const stale = await merged.run({ input_ids: tgt(T - 1, T), encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask, ...zeroed, use_cache_branch: new ort.Tensor('bool', [true], [1]) });
      const fresh = await merged.run({ input_ids: tgt(T - 1, T), encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask, ...past, use_cache_branch: new ort.Tensor('bool', [true], [1]) });
      expect(Math.max(...(stale.logits.data as Float32Array).map((x, i) => Math.abs(x - (fresh.logits.data as Float32Array)[i])))).toBeGreaterThan(1e-3);
      // Without a cache, the whole prefix at once: the full-sequence decoder.
      const once = await merged.run({ input_ids: tgt(0, T), encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask, ...Object.fromEntries(Object.keys(past).map((k) => [k, empty()])), use_cache_branch: new ort.Tensor('bool', [false], [1]) });
      expectClose(once.logits.data as Float32Array, want, TOL.onnx_logprobs, `${label} uncached`);
      expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.5);
    });
  }

  it('the positional table is the kernel formula', () => {
    const pe = positionalTable(4, 6);
    expect(pe[0 * 6 + 1]).toBe(1); // cos(0)
    expect(pe[3 * 6 + 2]).toBeCloseTo(Math.sin(3 / 10000 ** (2 / 6)), 6);
  });

  it('writes protobuf onnxruntime accepts: a one-node graph with attributes and a negative int', async () => {
    const model = encodeModel({
      name: 't',
      nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], name: 'tr', attrs: { perm: [1, 0] } }, { op: 'Softmax', inputs: ['y'], outputs: ['z'], name: 'sm', attrs: { axis: -1 } }],
      initializers: [],
      inputs: [{ name: 'x', type: DataType.FLOAT, dims: [2, 'n'] }],
      outputs: [{ name: 'z', type: DataType.FLOAT, dims: ['n', 2] }],
    });
    const s = await ort.InferenceSession.create(model);
    const { z } = await s.run({ x: new ort.Tensor('float32', Float32Array.of(0, 1, 2, 0, 0, 0), [2, 3]) });
    expect(z.dims).toEqual([3, 2]);
    expectClose(z.data as Float32Array, [0.5, 0.5, 1 / (1 + Math.E ** -1), 1 / (1 + Math.E), 1 / (1 + Math.E ** -2), 1 / (1 + Math.E ** 2)], 1e-6);
  });
});
