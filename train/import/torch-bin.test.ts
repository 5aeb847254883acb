// The PyTorch checkpoint reader against what torch itself reads back (fixtures written by
// scripts/torch-fixture.py with Debian's python3-torch): dtypes, views with offsets and strides, tied
// tensors, parameters, 0-d and empty tensors; and one-line refusals of what it cannot or will not read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTorchCheckpoint } from './torch-bin.ts';

const dir = join(import.meta.dirname, 'fixtures');
const expected = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as Record<string, { dtype: string; shape: number[]; values: number[] }>;

describe('readTorchCheckpoint', () => {
  const got = readTorchCheckpoint(readFileSync(join(dir, 'state.bin')));

  it('reads every tensor torch reads, in order', () => {
    expect([...got.keys()]).toEqual(Object.keys(expected));
  });

  it.each(Object.keys(expected))('%s: dtype, shape and values as torch has them', (name) => {
    const t = got.get(name)!;
    const want = expected[name];
    expect(t.dtype).toBe(want.dtype);
    expect(t.shape).toEqual(want.shape);
    expect(t.values.length).toBe(want.values.length);
    // f32 of the stored value: exact for f32/f16/bf16/int, rounded for float64.
    want.values.forEach((v, i) => expect(t.values[i]).toBe(Math.fround(v)));
  });

  it('refuses a legacy checkpoint, a non-zip file, a truncated one and a pickle that calls code', () => {
    expect(() => readTorchCheckpoint(readFileSync(join(dir, 'legacy.bin')))).toThrow(/legacy \(torch < 1.6\) checkpoint/);
    expect(() => readTorchCheckpoint(new TextEncoder().encode('{"not": "torch"}'))).toThrow(/not a zip archive/);
    const bytes = readFileSync(join(dir, 'state.bin'));
    expect(() => readTorchCheckpoint(bytes.subarray(0, bytes.length - 100))).toThrow(/zip/);
    // The same archive with its pickle's OrderedDict global swapped for os.system.
    const evil = Buffer.from(bytes);
    const at = evil.indexOf('collections\nOrderedDict\n');
    expect(at).toBeGreaterThan(0);
    evil.write('os\nsystem\n\n\n\n\n\n\n\n\n\n\n\n\n', at, 'latin1');
    expect(() => readTorchCheckpoint(evil)).toThrow(/needs os.system, which a state dict does not \(refused\)/);
  });
});
