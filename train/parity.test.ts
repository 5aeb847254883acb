// The model is written once (model/transformer.ts) and run by three executors; here they must agree. On
// random micro models of each variant, the next-token log-probabilities of three padded sentence pairs of
// different lengths: the training graph's forward (dropout off, no label smoothing) == teacher forcing
// (InferenceModel.forced) == incremental decoding step by step with the KV cache (InferenceModel.step).
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { TOL } from '../kernels/tolerances.ts';
import { PRESETS, TRAIN_DEFAULTS, targetVocab, type ModelConfig } from '../model/config.ts';
import { mulberry32, paramLayout } from '../model/params.ts';
import { quantizeTensors } from '../model/quant.ts';
import { InferenceModel } from '../model/runtime.ts';
import { parse, serialize, type Tensor } from '../model/safetensors.ts';
import { MODEL_VARIANTS, randomParams, variantConfig } from '../model/testing.ts';
import { positionTable } from '../model/transformer.ts';
import { collate } from './data.ts';
import { TrainGraph, type Batch } from './graph.ts';

// Three pairs: source <2xx> x.. </s> and target tokens, of different lengths (padding on both sides).
function parityBatch(config: ModelConfig): Batch {
  const r = mulberry32(17);
  const ids = (n: number, V: number) => Int32Array.from({ length: n }, () => 4 + Math.floor(r() * (V - 4)));
  return collate([7, 3, 5].map((n, i) => ({ src: ids(n, config.vocabSize), tgt: ids([4, 6, 2][i], targetVocab(config)) })));
}

// log softmax of each row of logits (M, V), in f64
function logSoftmax(logits: ArrayLike<number>, M: number, V: number): Float64Array {
  const out = new Float64Array(M * V);
  for (let m = 0; m < M; m++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[m * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[m * V + v] - max);
    for (let v = 0; v < V; v++) out[m * V + v] = logits[m * V + v] - max - Math.log(sum);
  }
  return out;
}

// The training graph's log-probabilities (B*T, V_target) of `batch` (dropout off, no label smoothing).
function trainingLogProbs(config: ModelConfig, flat: Float32Array, batch: Batch): Float64Array {
  const kernels = loadKernels('simd');
  const arena = new Arena(kernels);
  const layout = paramLayout(config);
  const params = arena.putF32(flat);
  const graph = new TrainGraph(kernels, arena, layout, { ...TRAIN_DEFAULTS, labelSmoothing: 0 }, params, arena.f32(layout.total));
  graph.dropout = false;
  graph.forward(batch, 1);
  return logSoftmax(graph.logits(), batch.B * batch.T, targetVocab(config));
}

// Incremental decoding, one position of every row a step: log-probabilities (B*T, V_target) in the
// training graph's row order.
function stepLogProbs(model: InferenceModel, batch: Batch): Float64Array {
  const { B, S, T } = batch;
  const V = targetVocab(model.config);
  const { arena } = model;
  const mark = arena.mark();
  const st = model.encode(batch.src, batch.srcLen, S, 1, T);
  const probs = arena.f32(B * V);
  const out = new Float64Array(B * T * V);
  for (let t = 0; t < T; t++) {
    model.step(st, Int32Array.from({ length: B }, (_, b) => batch.tgtIn[b * T + t]), probs);
    const p = arena.f32view(probs, B * V);
    for (let b = 0; b < B; b++) for (let v = 0; v < V; v++) out[(b * T + t) * V + v] = Math.log(p[b * V + v]);
  }
  arena.reset(mark);
  return out;
}

// Rows (b, t) with t < the target length (positions past it are padding, masked differently by design).
function validRows(batch: Batch): number[] {
  const rows: number[] = [];
  for (let b = 0; b < batch.B; b++) for (let t = 0; t < batch.tgtLen[b]; t++) rows.push(b * batch.T + t);
  return rows;
}

// max |a - b| / max(1, |b|) over the valid rows' entries (the measure expectClose uses)
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>, rows: number[], V: number): number {
  let worst = 0;
  for (const r of rows) for (let v = r * V; v < (r + 1) * V; v++) worst = Math.max(worst, Math.abs(a[v] - b[v]) / Math.max(1, Math.abs(b[v])));
  return worst;
}

function engine(config: ModelConfig, tensors: Map<string, Tensor>): InferenceModel {
  const kernels = loadKernels('simd');
  return new InferenceModel(kernels, new Arena(kernels), config, parse(serialize(tensors)));
}

describe('training, teacher forcing and incremental decoding agree', () => {
  for (const [label, over] of MODEL_VARIANTS) {
    it(label, () => {
      const config = variantConfig(over);
      const { flat, tensors } = randomParams(config, 7);
      const batch = parityBatch(config);
      const V = targetVocab(config);
      const rows = validRows(batch);
      const train = trainingLogProbs(config, flat, batch);
      // Random weights must give a non-trivial distribution, or the comparison is vacuous.
      expect(Math.max(...train) - Math.min(...train)).toBeGreaterThan(0.5);

      const model = engine(config, tensors);
      const steps = stepLogProbs(model, batch);
      expect(maxDiff(steps, train, rows, V), 'incremental decoding vs training').toBeLessThanOrEqual(TOL.model_logprobs);

      const st = model.encode(batch.src, batch.srcLen, batch.S, 1, 1);
      const forced = model.forced(st, batch.tgtIn, batch.tgtOut, batch.T);
      const atTarget = (lp: Float64Array) => Float64Array.from(forced, (_, r) => lp[r * V + Math.max(batch.tgtOut[r], 0)]);
      expect(maxDiff(forced, atTarget(train), rows, 1), 'teacher forcing vs training').toBeLessThanOrEqual(TOL.model_logprobs);
    });
  }

  it('int8 weights: every linear and embedding table (lm_head, tgt_embed too) is int8, biases stay f32, log-probabilities stay close', () => {
    const config = variantConfig(MODEL_VARIANTS[2][1]);
    const { tensors } = randomParams(config, 7);
    const q = quantizeTensors(config, tensors, loadKernels('simd'));
    for (const name of ['embed.weight', 'tgt_embed.weight', 'lm_head.weight']) expect(q.get(name)!.dtype, name).toBe('I8');
    expect(q.get('final_logits_bias')!.dtype).toBe('F32');
    const batch = parityBatch(config);
    const model = engine(config, q);
    expect(model.quantized).toBe(true);
    expect(maxDiff(stepLogProbs(model, batch), stepLogProbs(engine(config, tensors), batch), validRows(batch), targetVocab(config))).toBeLessThanOrEqual(TOL.int8_logprobs);
  });
});

describe('positionTable', () => {
  it("'halves' is HF Marian's table: sines of the paper's frequencies in [0, ceil(C/2)), cosines after", () => {
    for (const C of [8, 9]) {
      const T = 5;
      const interleaved = new Float32Array(T * C);
      for (let t = 0; t < T; t++) for (let j = 0; j < C; j += 2) {
        interleaved[t * C + j] = Math.sin(t / 10000 ** (j / C));
        if (j + 1 < C) interleaved[t * C + j + 1] = Math.cos(t / 10000 ** (j / C));
      }
      const halves = positionTable(interleaved.slice(), { ...PRESETS.micro, dModel: C, positions: 'halves' });
      const half = Math.ceil(C / 2);
      // HF: position_enc[pos, j] = pos / 10000^(2 (j // 2) / C); sin of the even columns, then cos of the odd ones
      for (let t = 0; t < T; t++) for (let j = 0; j < C; j++) {
        const want = j < half ? Math.sin(t / 10000 ** ((2 * j) / C)) : Math.cos(t / 10000 ** ((2 * (j - half)) / C));
        expect(halves[t * C + j]).toBeCloseTo(want, 6);
      }
      expect(positionTable(interleaved.slice(), { ...PRESETS.micro, dModel: C })).toEqual(interleaved);
    }
  });
});
