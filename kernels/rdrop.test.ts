import { describe, expect, it } from 'vitest';
import { symkl_backward, symkl_forward } from './ref/rdrop.ts';
import { expectClose, FLAVORS, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

// [N pairs, V]: odd vocabularies for the scalar tail, 8000 for the real size
const SHAPES: [number, number][] = [[1, 1], [3, 3], [2, 4], [7, 5], [3, 17], [4, 33], [2, 1000], [3, 8000]];

// logits (2N,V): the second pass is the first plus noise of size `spread` (two dropout passes of one model)
function pairLogits(N: number, V: number, seed: number, spread = 1, scale = 3): Float32Array {
  const a = randn(N * V, seed, scale);
  const noise = randn(N * V, seed + 1, spread);
  const x = new Float32Array(2 * N * V);
  x.set(a);
  for (let i = 0; i < N * V; i++) x[N * V + i] = a[i] + noise[i];
  return x;
}
function targetsOf(N: number, V: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, (_, n) => (N > 1 && n === 1 ? -1 : Math.floor(r() * V)));
}

describe('R-Drop symmetric KL', () => {
  it('forward matches the reference (losses, total), pad rows 0, every flavour', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of SHAPES) {
        for (const spread of [0.3, 3]) {
          const mark = arena.mark();
          const x = pairLogits(N, V, N * 13 + V, spread);
          const y = targetsOf(N, V, N + V);
          const ref = symkl_forward(x, y, N, V);
          const losses = arena.putF32(new Float32Array(N).fill(NaN));
          const total = kernels.k.symkl_forward(losses, arena.f32(4 * N), arena.putF32(x), arena.putI32(y), N, V);
          const label = `${f} ${N}x${V} spread ${spread}`;
          expectClose(arena.f32view(losses, N), ref.losses, TOL.crossentropy, `${label} losses`);
          expectClose([total], [ref.total], TOL.crossentropy, `${label} total`);
          if (N > 1) expect(arena.f32view(losses, N)[1], `${label} pad row`).toBe(0);
          if (V > 1) expect(ref.total, `${label}: the check is not vacuous`).toBeGreaterThan(0);
          arena.reset(mark);
        }
      }
    }
  });

  it('backward adds the reference gradient onto what dlogits holds, pad rows untouched', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of SHAPES) {
        const mark = arena.mark();
        const x = pairLogits(N, V, N * 5 + V, 1);
        const y = targetsOf(N, V, N * 3 + V);
        const base = randn(2 * N * V, N + 2 * V, 0.01);
        const logits = arena.putF32(x);
        const targets = arena.putI32(y);
        const stats = arena.f32(4 * N);
        kernels.k.symkl_forward(arena.f32(N), stats, logits, targets, N, V);
        const d = arena.putF32(base);
        kernels.k.symkl_backward(d, stats, logits, targets, N, V, 0.25);
        const grad = symkl_backward(x, y, N, V, 0.25);
        const want = Float64Array.from(grad, (g, i) => base[i] + g);
        expectClose(arena.f32view(d, 2 * N * V), want, TOL.crossentropy, `${f} ${N}x${V} dlogits`);
        arena.reset(mark);
      }
    }
  });

  it('two identical passes give loss 0 and gradient 0', () => {
    const N = 3, V = 41;
    const a = randn(N * V, 7, 3);
    const x = new Float32Array(2 * N * V);
    x.set(a);
    x.set(a, N * V);
    const y = targetsOf(N, V, 8);
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const logits = arena.putF32(x);
      const targets = arena.putI32(y);
      const stats = arena.f32(4 * N);
      expect(kernels.k.symkl_forward(arena.f32(N), stats, logits, targets, N, V)).toBe(0);
      const d = arena.putF32(new Float32Array(2 * N * V));
      kernels.k.symkl_backward(d, stats, logits, targets, N, V, 1);
      expect(Array.from(arena.f32view(d, 2 * N * V)).every((g) => g === 0), f).toBe(true);
    }
  });

  it('the reference gradient and the kernels match finite differences of the f64 loss', () => {
    const N = 3, V = 6, h = 1e-4;
    const x = Float64Array.from(pairLogits(N, V, 42, 1));
    const y = targetsOf(N, V, 43);
    const fd = Float64Array.from(x, (xi, i) => {
      x[i] = xi + h;
      const lp = symkl_forward(x, y, N, V).total;
      x[i] = xi - h;
      const lm = symkl_forward(x, y, N, V).total;
      x[i] = xi;
      return (lp - lm) / (2 * h);
    });
    expect(fd.some((g) => Math.abs(g) > 1e-2)).toBe(true);
    expectClose(symkl_backward(x, y, N, V, 1), fd, 1e-6, 'reference vs finite differences');
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const logits = arena.putF32(x);
      const targets = arena.putI32(y);
      const stats = arena.f32(4 * N);
      kernels.k.symkl_forward(arena.f32(N), stats, logits, targets, N, V);
      const d = arena.putF32(new Float32Array(2 * N * V));
      kernels.k.symkl_backward(d, stats, logits, targets, N, V, 1);
      expectClose(arena.f32view(d, 2 * N * V), fd, TOL.crossentropy, `${f} finite differences`);
    }
  });

  it('huge logits (1e4) and underflowing probabilities stay finite and match the reference', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of [[2, 17], [2, 8000]] as const) {
        const x = pairLogits(N, V, V + 1, 1, 1e4);
        // the last pair: a huge common offset with a small spread, which the log-sum-exp must cancel
        const small = pairLogits(1, V, V + 3, 0.5);
        for (let v = 0; v < V; v++) {
          x[(N - 1) * V + v] = 1e4 + small[v];
          x[(2 * N - 1) * V + v] = 1e4 + small[V + v];
        }
        const y = Int32Array.from({ length: N }, () => 0);
        const ref = symkl_forward(x, y, N, V);
        const losses = arena.f32(N);
        const stats = arena.f32(4 * N);
        const logits = arena.putF32(x);
        const targets = arena.putI32(y);
        const total = kernels.k.symkl_forward(losses, stats, logits, targets, N, V);
        const label = `${f} ${N}x${V} logits ~1e4`;
        expect(Number.isFinite(total), label).toBe(true);
        // ~1e4-sized logits: f32 log-probabilities carry ~1e-3 absolute error, so compare loosely
        expectClose(arena.f32view(losses, N), ref.losses, 1e-2, `${label} losses`);
        const d = arena.putF32(new Float32Array(2 * N * V));
        kernels.k.symkl_backward(d, stats, logits, targets, N, V, 1);
        expect(Array.from(arena.f32view(d, 2 * N * V)).every(Number.isFinite), label).toBe(true);
      }
    }
  });
});
