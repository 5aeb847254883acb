import { describe, expect, it } from 'vitest';
import * as ref from './ref/layernorm.ts';
import { FLAVORS, expectClose, expectEqual, randn, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

const NS = [1, 3, 5, 17, 1031];
const CS = [1, 3, 7, 130];

// Rows with an offset and a spread, so a one-pass variance would lose digits.
function inputs(N: number, C: number, seed: number) {
  const inp = randn(N * C, seed, 2).map((x) => x + 3);
  const weight = randn(C, seed + 1).map((x) => 1 + 0.5 * x);
  const bias = randn(C, seed + 2, 0.5);
  return { inp, weight, bias };
}

// L = sum(out * r) through the f64 reference forward
function loss(inp: ArrayLike<number>, weight: ArrayLike<number>, bias: ArrayLike<number>, r: ArrayLike<number>, N: number, C: number): number {
  const out = new Float64Array(N * C);
  ref.layernorm_forward(out, null, null, inp, weight, bias, N, C);
  let L = 0;
  for (let i = 0; i < out.length; i++) L += out[i] * r[i];
  return L;
}

// Central differences of `loss` with respect to every entry of `x` (perturbed in place, in f64).
function numericGrad(x: Float64Array, L: () => number, h = 1e-3): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = x0 + h;
    const lp = L();
    x[i] = x0 - h;
    const lm = L();
    x[i] = x0;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

describe.each(FLAVORS)('layernorm (%s)', (flavor) => {
  const { kernels, arena } = withArena(flavor);
  const { k } = kernels;

  it('forward matches the reference; mean/rstd pointers 0 skip only the cache', () => {
    for (const N of NS) {
      for (const C of CS) {
        const mark = arena.mark();
        const { inp, weight, bias } = inputs(N, C, N * 131 + C);
        const pInp = arena.putF32(inp);
        const pW = arena.putF32(weight);
        const pB = arena.putF32(bias);
        const pOut = arena.f32(N * C);
        const pOut0 = arena.f32(N * C);
        const pMean = arena.f32(N);
        const pRstd = arena.f32(N);
        k.layernorm_forward(pOut, pMean, pRstd, pInp, pW, pB, N, C);
        k.layernorm_forward(pOut0, 0, 0, pInp, pW, pB, N, C);
        const out = new Float64Array(N * C);
        const mean = new Float64Array(N);
        const rstd = new Float64Array(N);
        ref.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
        const label = `${flavor} N=${N} C=${C}`;
        expectClose(arena.f32view(pOut, N * C), out, TOL.layernorm, `${label} out`);
        expectClose(arena.f32view(pMean, N), mean, TOL.layernorm, `${label} mean`);
        expectClose(arena.f32view(pRstd, N), rstd, TOL.layernorm, `${label} rstd`);
        expectEqual(arena.f32view(pOut0, N * C), arena.f32view(pOut, N * C), `${label} out without cache`);
        arena.reset(mark);
      }
    }
  });

  it('backward matches the reference and accumulates into non-zero gradients', () => {
    for (const N of NS) {
      for (const C of CS) {
        const mark = arena.mark();
        const { inp, weight, bias } = inputs(N, C, N * 71 + C);
        const dout = randn(N * C, N + C + 5);
        const dinp0 = randn(N * C, 11);
        const dw0 = randn(C, 12);
        const db0 = randn(C, 13);
        const pInp = arena.putF32(inp);
        const pW = arena.putF32(weight);
        const pB = arena.putF32(bias);
        const pOut = arena.f32(N * C);
        const pMean = arena.f32(N);
        const pRstd = arena.f32(N);
        const pDout = arena.putF32(dout);
        const pDinp = arena.putF32(dinp0);
        const pDw = arena.putF32(dw0);
        const pDb = arena.putF32(db0);
        k.layernorm_forward(pOut, pMean, pRstd, pInp, pW, pB, N, C);
        k.layernorm_backward(pDinp, pDw, pDb, pDout, pInp, pW, pMean, pRstd, N, C);
        const out = new Float64Array(N * C);
        const mean = new Float64Array(N);
        const rstd = new Float64Array(N);
        ref.layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
        const dinp = Float64Array.from(dinp0);
        const dw = Float64Array.from(dw0);
        const db = Float64Array.from(db0);
        ref.layernorm_backward(dinp, dw, db, dout, inp, weight, mean, rstd, N, C);
        const label = `${flavor} N=${N} C=${C}`;
        expectClose(arena.f32view(pDinp, N * C), dinp, TOL.layernorm, `${label} dinp`);
        expectClose(arena.f32view(pDw, C), dw, TOL.grad_rowsum, `${label} dweight`);
        expectClose(arena.f32view(pDb, C), db, TOL.grad_rowsum, `${label} dbias`);
        arena.reset(mark);
      }
    }
  });

  it('backward agrees with finite differences of the reference forward', () => {
    for (const [N, C] of [[1, 1], [2, 3], [3, 5], [2, 9]]) {
      const mark = arena.mark();
      const { inp, weight, bias } = inputs(N, C, 1000 + N * 10 + C);
      const r = randn(N * C, 77 + C);
      const pInp = arena.putF32(inp);
      const pW = arena.putF32(weight);
      const pB = arena.putF32(bias);
      const pOut = arena.f32(N * C);
      const pMean = arena.f32(N);
      const pRstd = arena.f32(N);
      const pDout = arena.putF32(r);
      const pDinp = arena.putF32(new Float32Array(N * C));
      const pDw = arena.putF32(new Float32Array(C));
      const pDb = arena.putF32(new Float32Array(C));
      k.layernorm_forward(pOut, pMean, pRstd, pInp, pW, pB, N, C);
      k.layernorm_backward(pDinp, pDw, pDb, pDout, pInp, pW, pMean, pRstd, N, C);
      const x = Float64Array.from(inp);
      const w = Float64Array.from(weight);
      const b = Float64Array.from(bias);
      const L = () => loss(x, w, b, r, N, C);
      const label = `${flavor} N=${N} C=${C}`;
      expectClose(arena.f32view(pDinp, N * C), numericGrad(x, L), TOL.gradcheck, `${label} dinp`);
      expectClose(arena.f32view(pDw, C), numericGrad(w, L), TOL.gradcheck, `${label} dweight`);
      expectClose(arena.f32view(pDb, C), numericGrad(b, L), TOL.gradcheck, `${label} dbias`);
      arena.reset(mark);
    }
  });

  it('normalizes each row to zero mean and unit variance when w = 1, b = 0', () => {
    const N = 3;
    const C = 64;
    const inp = randn(N * C, 5, 10).map((v) => v + 100);
    const pInp = arena.putF32(inp);
    const pW = arena.putF32(new Float32Array(C).fill(1));
    const pB = arena.putF32(new Float32Array(C));
    const pOut = arena.f32(N * C);
    k.layernorm_forward(pOut, 0, 0, pInp, pW, pB, N, C);
    const out = arena.f32view(pOut, N * C);
    for (let n = 0; n < N; n++) {
      const row = Array.from(out.subarray(n * C, (n + 1) * C));
      const m = row.reduce((s, v) => s + v, 0) / C;
      const v = row.reduce((s, x) => s + (x - m) ** 2, 0) / C;
      expect(Math.abs(m)).toBeLessThan(1e-5);
      expect(Math.abs(v - 1)).toBeLessThan(1e-3); // eps 1e-5 against a variance of ~100
    }
  });
});
