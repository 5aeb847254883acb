// Shared helpers for kernel tests: every wasm flavour, a seeded RNG, and a comparison that reports
// the first mismatches and the max difference.
import { expect } from 'vitest';
import type { Flavor, Kernels } from './host.ts';
import { Arena } from './host.ts';
import { loadKernels } from './node.ts';
import { mulberry32 } from '../model/params.ts';

// Flavours this Node runs (relaxed needs Node 22+ or the flag; the project's npm scripts run Node 22).
export const FLAVORS: Flavor[] = ['scalar', 'simd', 'relaxed'];

export function withArena(flavor: Flavor): { kernels: Kernels; arena: Arena } {
  const kernels = loadKernels(flavor);
  return { kernels, arena: new Arena(kernels) };
}

// Mulberry32: small, fast, seeded; good enough for test data (the model's initialiser uses it too).
export const rng = mulberry32;

// n standard-normal-ish values (Box-Muller) times `scale`.
export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * scale;
  }
  return out;
}

// Asserts |a-b| <= tol * max(1, |b|) element-wise; on failure prints the first mismatches and the max diff.
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label = ''): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let maxDiff = 0;
  let maxAt = -1;
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const lim = tol * Math.max(1, Math.abs(expected[i]));
    if (!(d <= lim)) {
      if (bad.length < 5) bad.push(`[${i}] got ${actual[i]} want ${expected[i]}`);
      if (!(d <= maxDiff)) {
        maxDiff = d;
        maxAt = i;
      }
    }
  }
  if (bad.length) {
    expect.fail(`${label}: ${bad.join('; ')}; max diff ${maxDiff} at [${maxAt}]`);
  }
}

// Asserts exact equality (int8 codes, integer outputs), reporting the first mismatches.
export function expectEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, label = ''): void {
  expectClose(actual, expected, 0, label);
}
