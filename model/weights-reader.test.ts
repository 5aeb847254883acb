// Weights read chunk by chunk into wasm memory: the same tensors as parse() of the whole file, whatever the
// chunk boundaries (inside the length, the header, a tensor), the same translations, and a cut file refused
// with parse()'s error.
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { quantizeTensors } from './quant.ts';
import { parse, serialize } from './safetensors.ts';
import { MODEL_VARIANTS, randomParams, variantConfig } from './testing.ts';
import { readWeights, readWeightsAsync } from './weights-reader.ts';

const kernels = loadKernels('simd');
const config = variantConfig(MODEL_VARIANTS[0][1]);
const file = serialize(quantizeTensors(config, randomParams(config, 5).tensors, kernels));

function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  const buf = new Uint8Array(size); // reused, as a file read through one buffer is
  for (let at = 0; at < bytes.byteLength; at += size) {
    const n = Math.min(size, bytes.byteLength - at);
    buf.set(bytes.subarray(at, at + n));
    yield buf.subarray(0, n);
  }
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('WeightsReader', () => {
  const want = parse(file);
  for (const size of [1, 7, 4096, file.byteLength]) {
    it(`chunks of ${size} bytes: every tensor as parse() reads it, resident in wasm memory`, () => {
      const got = readWeights(new Arena(kernels), chunks(file, size));
      expect([...got.tensors.keys()]).toEqual([...want.tensors.keys()]);
      for (const [name, t] of want.tensors) {
        const g = got.tensors.get(name)!;
        expect([g.dtype, g.shape]).toEqual([t.dtype, t.shape]);
        expect(g.ptr).toBeGreaterThan(0);
        expect(Buffer.compare(g.data, t.data), name).toBe(0);
      }
    });
  }

  it('an async source reads the same bytes', async () => {
    async function* slow() {
      yield* chunks(file, 1000);
    }
    const got = await readWeightsAsync(new Arena(kernels), slow());
    for (const [name, t] of want.tensors) expect(Buffer.compare(got.tensors.get(name)!.data, t.data), name).toBe(0);
  });

  it("a cut file is refused with parse()'s error, wherever it is cut", () => {
    const header = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
    for (const cut of [0, 5, 8, header - 1, header, header + 1, file.byteLength - 1]) {
      const part = file.slice(0, cut);
      const expected = errorOf(() => parse(part));
      expect(expected).toMatch(/^safetensors: /);
      expect(errorOf(() => readWeights(new Arena(kernels), chunks(part, 333))), `cut at ${cut}`).toBe(expected);
    }
  });
});
