import { describe, expect, it } from 'vitest';
import { crossentropy_backward, crossentropy_forward, logsoftmax_topk, softmax_forward } from './ref/softmax.ts';
import { expectClose, expectEqual, FLAVORS, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

const SHAPES: [number, number][] = [[1, 1], [3, 3], [2, 4], [7, 5], [3, 17], [4, 33], [2, 1000], [3, 8000]];

// logits with varied scales per row, plus targets with a pad row (-1) wherever N > 1
function makeLogits(N: number, V: number, seed: number, scale = 3): Float32Array {
  return randn(N * V, seed, scale);
}
function makeTargets(N: number, V: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, (_, n) => (N > 1 && n === 1 ? -1 : Math.floor(r() * V)));
}

describe('exp', () => {
  it('vectorized exp is within 1e-6 relative of Math.exp over [-87.3, 88], every flavour', () => {
    const n = 200_003; // odd: exercises the scalar tail too
    const xs = new Float32Array(n);
    for (let i = 0; i < n; i++) xs[i] = -87.3 + (175.3 * i) / (n - 1);
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const inp = arena.putF32(xs);
      const out = arena.f32(n);
      kernels.k.exp_forward(out, inp, n);
      const y = arena.f32view(out, n);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < n; i++) {
        const want = Math.exp(xs[i]);
        const rel = Math.abs(y[i] - want) / want;
        if (!(rel <= worst)) {
          worst = rel;
          at = xs[i];
        }
      }
      expect(worst, `${f}: worst relative error ${worst} at x = ${at}`).toBeLessThan(1e-6);
    }
  });

  it('exp(0) = 1, and underflow and -inf flush to 0 without NaN', () => {
    const xs = [0, -88, -100, -1e4, -Infinity, -87.5, 1, -1, 0, 0, 0];
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const inp = arena.putF32(xs);
      const out = arena.f32(xs.length);
      kernels.k.exp_forward(out, inp, xs.length);
      const y = Array.from(arena.f32view(out, xs.length));
      expect(y[0]).toBe(1);
      expect(y.slice(1, 6)).toEqual([0, 0, 0, 0, 0]);
      expect(y[6]).toBeCloseTo(Math.E, 5);
      expect(y[7]).toBeCloseTo(1 / Math.E, 6);
    }
  });
});

describe('softmax', () => {
  it('matches the reference and rows sum to 1, every flavour, also in place', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of SHAPES) {
        const mark = arena.mark();
        const x = makeLogits(N, V, N * 100 + V);
        const ref = softmax_forward(x, N, V);
        const logits = arena.putF32(x);
        const probs = arena.putF32(new Float32Array(N * V).fill(NaN));
        kernels.k.softmax_forward(probs, logits, N, V);
        const p = arena.f32view(probs, N * V);
        expectClose(p, ref, TOL.softmax, `${f} softmax ${N}x${V}`);
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let v = 0; v < V; v++) s += p[n * V + v];
          expect(Math.abs(s - 1), `${f} row ${n} of ${N}x${V} sums to ${s}`).toBeLessThan(1e-5);
        }
        kernels.k.softmax_forward(logits, logits, N, V); // in place
        expectClose(arena.f32view(logits, N * V), ref, TOL.softmax, `${f} softmax in place ${N}x${V}`);
        arena.reset(mark);
      }
    }
  });
});

describe('crossentropy', () => {
  it('forward matches the reference (losses, probs, total) with and without label smoothing', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of SHAPES) {
        for (const eps of [0, 0.1]) {
          const mark = arena.mark();
          const x = makeLogits(N, V, N * 7 + V);
          const y = makeTargets(N, V, N + V);
          const ref = crossentropy_forward(x, y, N, V, eps);
          const losses = arena.putF32(new Float32Array(N).fill(NaN));
          const probs = arena.putF32(new Float32Array(N * V).fill(NaN));
          const total = kernels.k.crossentropy_forward(losses, probs, arena.putF32(x), arena.putI32(y), N, V, eps);
          const label = `${f} ${N}x${V} eps ${eps}`;
          expectClose(arena.f32view(losses, N), ref.losses, TOL.crossentropy, `${label} losses`);
          expectClose(arena.f32view(probs, N * V), ref.probs, TOL.softmax, `${label} probs`);
          expectClose([total], [ref.total], TOL.crossentropy, `${label} total`);
          arena.reset(mark);
        }
      }
    }
  });

  it('with eps = 0 the loss is -log p[target]', () => {
    const N = 5, V = 37;
    const x = makeLogits(N, V, 5);
    const y = makeTargets(N, V, 6);
    const p = softmax_forward(x, N, V);
    const want = Array.from(y, (t, n) => (t < 0 ? 0 : -Math.log(p[n * V + t])));
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const losses = arena.f32(N);
      const probs = arena.f32(N * V);
      const total = kernels.k.crossentropy_forward(losses, probs, arena.putF32(x), arena.putI32(y), N, V, 0);
      expectClose(arena.f32view(losses, N), want, TOL.crossentropy, `${f} -log p`);
      expectClose([total], [want.reduce((a, b) => a + b)], TOL.crossentropy, `${f} total`);
    }
  });

  it('backward matches the reference, zeroes pad rows, and works in place (dlogits == probs)', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of SHAPES) {
        for (const eps of [0, 0.1]) {
          const mark = arena.mark();
          const x = makeLogits(N, V, N * 3 + V);
          const y = makeTargets(N, V, N * 5 + V);
          const scale = 1 / Math.max(1, y.filter((t) => t >= 0).length);
          const probs = arena.f32(N * V);
          const targets = arena.putI32(y);
          kernels.k.crossentropy_forward(arena.f32(N), probs, arena.putF32(x), targets, N, V, eps);
          const p = arena.f32view(probs, N * V).slice();
          const want = crossentropy_backward(p, y, N, V, eps, Math.fround(scale));
          const dlogits = arena.putF32(new Float32Array(N * V).fill(NaN));
          kernels.k.crossentropy_backward(dlogits, probs, targets, N, V, eps, scale);
          const label = `${f} ${N}x${V} eps ${eps}`;
          expectClose(arena.f32view(dlogits, N * V), want, TOL.crossentropy, `${label} dlogits`);
          kernels.k.crossentropy_backward(probs, probs, targets, N, V, eps, scale);
          expectClose(arena.f32view(probs, N * V), want, TOL.crossentropy, `${label} in place`);
          arena.reset(mark);
        }
      }
    }
  });

  it('backward (scale 1) matches finite differences of the summed f64 loss through the logits', () => {
    const N = 3, V = 5, eps = 0.1, h = 1e-3;
    const x = Float64Array.from(makeLogits(N, V, 42));
    const y = makeTargets(N, V, 43);
    const fd = Float64Array.from(x, (xi, i) => {
      x[i] = xi + h;
      const lp = crossentropy_forward(x, y, N, V, eps).total;
      x[i] = xi - h;
      const lm = crossentropy_forward(x, y, N, V, eps).total;
      x[i] = xi;
      return (lp - lm) / (2 * h);
    });
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const probs = arena.f32(N * V);
      const targets = arena.putI32(y);
      kernels.k.crossentropy_forward(arena.f32(N), probs, arena.putF32(x), targets, N, V, eps);
      kernels.k.crossentropy_backward(probs, probs, targets, N, V, eps, 1);
      expectClose(arena.f32view(probs, N * V), fd, TOL.crossentropy, `${f} finite differences`);
    }
  });

  it('huge logits (1e4) give finite losses, probs and gradients that match the f64 reference', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of [[4, 17], [3, 8000]] as const) {
        for (const eps of [0, 0.1]) {
          const x = makeLogits(N, V, V + 1, 1e4);
          // the last row: a huge common offset with a small spread, which max-subtraction must cancel
          const small = makeLogits(1, V, V + 3);
          for (let v = 0; v < V; v++) x[(N - 1) * V + v] = 1e4 + small[v];
          const y = makeTargets(N, V, V + 2);
          const ref = crossentropy_forward(x, y, N, V, eps);
          const losses = arena.f32(N);
          const probs = arena.f32(N * V);
          const targets = arena.putI32(y);
          const total = kernels.k.crossentropy_forward(losses, probs, arena.putF32(x), targets, N, V, eps);
          const label = `${f} ${N}x${V} eps ${eps} logits ~1e4`;
          expect(Number.isFinite(total), label).toBe(true);
          expectClose(arena.f32view(losses, N), ref.losses, TOL.crossentropy, `${label} losses`);
          expectClose(arena.f32view(probs, N * V), ref.probs, TOL.softmax, `${label} probs`);
          kernels.k.crossentropy_backward(probs, probs, targets, N, V, eps, 0.5);
          const d = arena.f32view(probs, N * V);
          expect(d.every(Number.isFinite), label).toBe(true);
          expectClose(d, crossentropy_backward(ref.probs, y, N, V, eps, 0.5), TOL.crossentropy, `${label} dlogits`);
        }
      }
    }
  });
});

describe('logsoftmax_topk', () => {
  // Logits on a coarse grid (many ties), some -inf (masked), a row of -inf only and a constant row.
  function awkwardLogits(N: number, V: number, seed: number): Float32Array {
    const x = makeLogits(N, V, seed);
    const r = rng(seed + 1);
    for (let i = 0; i < x.length; i++) x[i] = r() < 0.1 ? -Infinity : Math.round(x[i] * 2) / 2;
    if (N > 1) x.fill(-Infinity, V, 2 * V);
    if (N > 2) x.fill(0.5, 2 * V, 3 * V);
    return x;
  }

  it('matches the reference (indices exactly, ties to the lower index; log-probs; lse) on awkward shapes, every flavour', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      for (const [N, V] of [...SHAPES, [4, 8003]] as [number, number][]) {
        for (const k of [1, 2, 5, 8, 32]) {
          for (const x of [awkwardLogits(N, V, N * 11 + V + k), makeLogits(N, V, N * 13 + V + k)]) {
            const mark = arena.mark();
            const ref = logsoftmax_topk(x, N, V, k);
            const idx = arena.putI32(new Int32Array(N * k).fill(-7));
            const logp = arena.putF32(new Float32Array(N * k).fill(NaN));
            const lse = arena.putF32(new Float32Array(N).fill(NaN));
            kernels.k.logsoftmax_topk(idx, logp, lse, arena.putF32(x), N, V, k);
            const label = `${f} ${N}x${V} k ${k}`;
            expectEqual(arena.i32view(idx, N * k), ref.idx, `${label} idx`);
            const got = arena.f32view(logp, N * k);
            // -inf where the reference has -inf (expectClose cannot subtract infinities)
            expect(Array.from(got, (v) => v === -Infinity), `${label} -inf slots`).toEqual(Array.from(ref.logp, (v) => v === -Infinity));
            const fin = (a: ArrayLike<number>) => Array.from(a).map((v) => (v === -Infinity ? 0 : v));
            expectClose(fin(got), fin(ref.logp), TOL.logprobs, `${label} logp`);
            expectClose(fin(arena.f32view(lse, N)), fin(ref.lse), TOL.logprobs, `${label} lse`);
            kernels.k.logsoftmax_topk(idx, logp, 0, arena.putF32(x), N, V, k); // lse optional
            expectEqual(arena.i32view(idx, N * k), ref.idx, `${label} idx without lse`);
            arena.reset(mark);
          }
        }
      }
    }
  });

  it('picks the same tokens, in the same order, as the top-k of softmax probabilities when logits are distinct', () => {
    const N = 3, V = 8000, k = 8;
    const x = makeLogits(N, V, 99);
    const p = softmax_forward(x, N, V);
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const idx = arena.i32(N * k);
      const logp = arena.f32(N * k);
      kernels.k.logsoftmax_topk(idx, logp, 0, arena.putF32(x), N, V, k);
      const got = arena.i32view(idx, N * k);
      for (let n = 0; n < N; n++) {
        const want = Array.from({ length: V }, (_, v) => v).sort((a, b) => p[n * V + b] - p[n * V + a] || a - b).slice(0, k);
        expect(Array.from(got.subarray(n * k, n * k + k)), `${f} row ${n}`).toEqual(want);
        expectClose(arena.f32view(logp, N * k).subarray(n * k, n * k + k), want.map((v) => Math.log(p[n * V + v])), TOL.logprobs, `${f} row ${n} log p`);
      }
    }
  });
});
