// The ONNX graphs' mechanics in onnxruntime (onnxruntime-web's wasm backend, in Node): the KV-cached
// decoder's cache, the positional table, the protobuf writer. That every graph computes the model's
// log-probabilities, for every variant, is train/parity.test.ts's check.
import * as ort from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { expectClose } from '../../kernels/testing.ts';
import { TOL } from '../../kernels/tolerances.ts';
import { PRESETS, type ModelConfig } from '../../model/config.ts';
import { randomParams } from '../../model/testing.ts';
import { decoderGraph, decoderMergedGraph, encoderGraph, positionalTable } from './export.ts';
import { encodeModel, DataType } from './proto.ts';

ort.env.wasm.numThreads = 1;

// Source rows <2xx> x.. </s> of different lengths, padded with 0; teacher-forced targets <s> y...
const SRC = [
  [4, 9, 10, 11, 12, 13, 3],
  [5, 7, 3],
];
const TGT = [
  [2, 20, 21, 22, 23],
  [2, 30, 31, 3, 33],
];

describe('ONNX export', () => {
  it('decoder_model_merged: with use_cache_branch the cross-attention keys/values come from the cache; without a cache the whole prefix at once gives the full decoder', async () => {
    const config: ModelConfig = { ...PRESETS.micro, vocabSize: 50, dModel: 16, heads: 2, maxLen: 64 };
    const weights = randomParams(config, 11).tensors;
    const B = SRC.length;
    const S = Math.max(...SRC.map((s) => s.length));
    const T = TGT[0].length;
    const H = config.heads;
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
    const run = (from: number, to: number, cache: Record<string, ort.Tensor>, useCache: boolean) =>
      merged.run({ input_ids: tgt(from, to), encoder_hidden_states: last_hidden_state, encoder_attention_mask: srcMask, ...cache, use_cache_branch: new ort.Tensor('bool', [useCache], [1]) });
    for (let t = 0; t < T - 1; t++) {
      const out = await run(t, t + 1, past, t > 0);
      expect(out['present.0.decoder.key'].dims).toEqual([B, H, t + 1, D]);
      expect(out['present.0.encoder.key'].dims).toEqual([B, H, S, D]);
      past = Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('present.')).map(([k, v]) => [k.replace('present.', 'past_key_values.'), v]));
    }
    // Zeroed cross-attention keys/values in the cache change the logits: they are read from there.
    const zeroed = Object.fromEntries(Object.entries(past).map(([k, v]) => [k, k.includes('.encoder.') ? new ort.Tensor('float32', new Float32Array(v.data.length), v.dims) : v]));
    const [stale, fresh] = [await run(T - 1, T, zeroed, true), await run(T - 1, T, past, true)];
    expect(Math.max(...(stale.logits.data as Float32Array).map((x, i) => Math.abs(x - (fresh.logits.data as Float32Array)[i])))).toBeGreaterThan(1e-3);
    // Without a cache, the whole prefix at once: the full-sequence decoder.
    const once = await run(0, T, Object.fromEntries(Object.keys(past).map((k) => [k, empty()])), false);
    expectClose(once.logits.data as Float32Array, want, TOL.onnx_logprobs, 'uncached');
    expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.5);
  });

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
