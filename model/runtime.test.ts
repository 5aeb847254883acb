// Inference weights in wasm memory: an int8 file stays int8 there, the embedding table included (its rows
// are dequantized as the decoder gathers them; kernels/embedding.test.ts checks that gather equals the
// f32 table's bit for bit, and model/search.test.ts that the bundled model's translations did not change).
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { readModelDir } from '../train/model-dir.ts';
import { defaultModelDir } from '../train/paths.ts';
import { InferenceModel } from './runtime.ts';
import { parse } from './safetensors.ts';

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
