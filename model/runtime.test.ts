// Inference weights in wasm memory: an int8 file stays int8 there, the embedding table included (its rows
// are dequantized as the decoder gathers them; kernels/embedding.test.ts checks that gather equals the
// f32 table's bit for bit, and model/search.test.ts that the bundled model's translations did not change).
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { readModelDir } from '../train/model-dir.ts';
import { defaultModelDir } from '../train/paths.ts';
import type { ModelConfig } from './config.ts';
import { InferenceModel } from './runtime.ts';
import { parse, serialize, type SafeTensors } from './safetensors.ts';
import { BeamSearch } from './search.ts';
import { MODEL_VARIANTS, randomParams, variantConfig } from './testing.ts';

describe('InferenceModel memory', () => {
  it('keeps no f32 copy of an int8 embedding: resident weights are about the file size, not 4*V*C more', () => {
    const files = readModelDir(defaultModelDir());
    const kernels = loadKernels('simd');
    const model = new InferenceModel(kernels, new Arena(kernels), files.meta, parse(files.weights));
    const { vocabSize: V, dModel: C, maxLen } = files.meta;
    expect(model.quantized).toBe(true);
    // file bytes + the positional table + i32 row sums of every linear + alignment, far below 4*V*C
    const extra = model.weightBytes - files.weights.byteLength - maxLen * C * 4;
    expect(extra, `${extra} bytes beyond the file and PE`).toBeLessThan(V * C);
  });
});

// batchBytes bounds what encode + search take of the arena (the engine cuts batches with it): checked
// against the arena's real peak over one step, on the bundled int8 model and on f32 variants, for batch
// shapes from one short sentence to many long ones, beams 1 to 8, with and without alignments.
describe('InferenceModel.batchBytes', () => {
  const kernels = loadKernels('simd');
  const bundled = readModelDir(defaultModelDir());
  const models: Array<[string, ModelConfig, SafeTensors]> = [
    ['bundled int8', bundled.meta, parse(bundled.weights)],
    ...MODEL_VARIANTS.map(([name, over]): [string, ModelConfig, SafeTensors] => {
      const config = variantConfig(over);
      return [name, config, parse(serialize(randomParams(config, 3).tensors))];
    }),
  ];
  const shapes = [[1, 3, 1], [1, 60, 4], [8, 20, 4], [3, 62, 8], [32, 9, 1]]; // sentences, tokens, beam
  for (const [name, config, weights] of models) {
    it(`${name}: an upper bound on the real peak, and within 2x of it`, () => {
      const arena = new Arena(kernels);
      const model = new InferenceModel(kernels, arena, config, weights);
      const base = arena.mark();
      for (const [Bs, S, beam] of shapes) {
        for (const alignments of [false, true]) {
          const Tmax = Math.min(S + 50, config.maxLen);
          arena.peak = base;
          const src = new Int32Array(Bs * S).map((_, i) => 5 + (i % 7));
          const st = model.encode(src, new Int32Array(Bs).fill(S), S, beam, Tmax);
          const rules = { start: 2, eos: 3, banned: [0], renormalize: false, scorer: 'hf' as const, earlyStopping: true, forcedEos: false };
          new BeamSearch(model, st, { beam, alpha: 0.6, maxSteps: new Array(Bs).fill(Tmax - 1), rules }).step();
          arena.reset(base);
          if (alignments) {
            // The chosen hypotheses' attention is replayed on one row per sentence (Translator.attention).
            model.attention(model.encode(src, new Int32Array(Bs).fill(S), S, 1, Tmax), Array.from({ length: Bs }, () => [2, 5, 6]));
            arena.reset(base);
          }
          const real = arena.peak - base;
          const bound = model.batchBytes(Bs, S, beam, Tmax, alignments);
          const what = `${Bs} x ${S} tokens, beam ${beam}${alignments ? ', alignments' : ''}: bound ${bound}, real ${real}`;
          expect(bound, what).toBeGreaterThanOrEqual(real);
          expect(bound, what).toBeLessThan(2 * real + 65536);
        }
      }
    });
  }
});
