import { describe, expect, it } from 'vitest';
import * as ref from './ref/activations.ts';
import { FLAVORS, expectClose, expectEqual, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

const NS = [1, 3, 4, 5, 8, 17, 1031];

// randn plus the values where GELU's and SiLU's exp saturates or clamps, and signed zeros
function geluInputs(N: number, seed: number): Float32Array {
  const x = randn(N, seed, 3);
  const special = [0, -0, 1e-3, -1e-3, 1e-30, 5, -5, 10, -10, 20, -20, 60, -60];
  for (let i = 0; i < Math.min(N, special.length); i++) x[(i * 7) % N] = special[i];
  return x;
}

describe.each(FLAVORS)('activations (%s)', (flavor) => {
  const { kernels, arena } = withArena(flavor);
  const { k } = kernels;

  it('relu, residual, add, scale, mul equal the reference exactly (one f32 rounding each)', () => {
    for (const N of NS) {
      const mark = arena.mark();
      const a = randn(N, N);
      const b = randn(N, N + 1);
      a[0] = -0;
      const pA = arena.putF32(a);
      const pB = arena.putF32(b);
      const pOut = arena.f32(N);
      const want = new Float32Array(N);
      const label = `${flavor} N=${N}`;

      k.relu_forward(pOut, pA, N);
      ref.relu_forward(want, a, N);
      expectEqual(arena.f32view(pOut, N), want, `${label} relu`);

      k.residual_forward(pOut, pA, pB, N);
      ref.residual_forward(want, a, b, N);
      expectEqual(arena.f32view(pOut, N), want, `${label} residual`);

      k.add_inplace(pOut, pA, N);
      ref.add_inplace(want, a, N);
      expectEqual(arena.f32view(pOut, N), want, `${label} add_inplace`);

      k.scale_inplace(pOut, 0.37, N);
      ref.scale_inplace(want, Math.fround(0.37), N);
      expectEqual(arena.f32view(pOut, N), want, `${label} scale_inplace`);

      k.mul_forward(pOut, pA, pB, N);
      ref.mul_forward(want, a, b, N);
      expectEqual(arena.f32view(pOut, N), want, `${label} mul`);

      // relu_backward accumulates into a non-zero dinp
      const dinp0 = randn(N, 99);
      const pDinp = arena.putF32(dinp0);
      k.relu_backward(pDinp, pB, pA, N);
      const dinp = Float32Array.from(dinp0);
      ref.relu_backward(dinp, b, a, N);
      expectEqual(arena.f32view(pDinp, N), dinp, `${label} relu_backward`);
      arena.reset(mark);
    }
  });

  for (const name of ['gelu', 'gelu_erf', 'silu'] as const) {
    it(`${name} forward and backward match the f64 reference`, () => {
      for (const N of [...NS, 4099]) {
        const mark = arena.mark();
        const x = geluInputs(N, 7 * N);
        const dout = randn(N, 3 * N);
        const dinp0 = randn(N, 5 * N);
        const pX = arena.putF32(x);
        const pOut = arena.f32(N);
        const pDout = arena.putF32(dout);
        const pDinp = arena.putF32(dinp0);
        k[`${name}_forward`](pOut, pX, N);
        k[`${name}_backward`](pDinp, pDout, pX, N);
        const out = new Float64Array(N);
        const dinp = Float64Array.from(dinp0);
        ref[`${name}_forward`](out, x, N);
        ref[`${name}_backward`](dinp, dout, x, N);
        expectClose(arena.f32view(pOut, N), out, TOL.elementwise, `${flavor} N=${N} ${name}`);
        expectClose(arena.f32view(pDinp, N), dinp, TOL.elementwise, `${flavor} N=${N} ${name}_backward`);
        arena.reset(mark);
      }
    });
  }

  it('gelu, silu and relu backward agree with finite differences of the reference forward', () => {
    const N = 17;
    const h = 1e-3;
    // keep |x| > 0.05 so relu's kink is never inside [x-h, x+h]
    const x = Float64Array.from(randn(N, 42, 2), (v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    const r = randn(N, 43);
    const pX = arena.putF32(x);
    const pR = arena.putF32(r);
    const f64 = (fn: (o: Float64Array, i: Float64Array, n: number) => void, v: number) => {
      const o = new Float64Array(1);
      fn(o, Float64Array.of(v), 1);
      return o[0];
    };
    for (const [name, fwd, bwd] of [
      ['gelu', ref.gelu_forward, k.gelu_backward],
      ['gelu_erf', ref.gelu_erf_forward, k.gelu_erf_backward],
      ['silu', ref.silu_forward, k.silu_backward],
      ['relu', ref.relu_forward, k.relu_backward],
    ] as const) {
      const pDinp = arena.putF32(new Float32Array(N));
      bwd(pDinp, pR, pX, N);
      // L = sum(f(x) * r) is separable: dL/dx_i = r_i f'(x_i)
      const numeric = Array.from(x, (v, i) => ((f64(fwd, v + h) - f64(fwd, v - h)) / (2 * h)) * r[i]);
      expectClose(arena.f32view(pDinp, N), numeric, TOL.gradcheck, `${flavor} ${name} gradcheck`);
    }
  });

  it('gelu_erf: the reference erfc against C erfc (Python math.erfc)', () => {
    for (const [a, want] of [[0, 1], [0.5, 0.4795001221869535], [1, 0.15729920705028513], [2, 0.004677734981047265], [2.5, 4.069520174449589e-4], [3, 2.2090496998585438e-5], [5, 1.5374597944280351e-12]]) {
      expect(Math.abs(ref.erfc(a) - want) / want, `erfc(${a})`).toBeLessThan(1e-13);
    }
  });

  it('sum_squares is accurate over 1e6 elements', () => {
    for (const N of [...NS, 1_000_003]) {
      const mark = arena.mark();
      const x = randn(N, N, 3);
      const p = arena.putF32(x);
      const got = k.sum_squares(p, N);
      const want = ref.sum_squares(x, N);
      expect(Math.abs(got - want) / want, `${flavor} N=${N}`).toBeLessThan(1e-12);
      arena.reset(mark);
    }
  });

  it('dropout equals the reference bit for bit; p = 0 keeps everything', () => {
    for (const N of NS) {
      for (const [p, seed] of [[0, 1], [0.1, 1234], [0.5, -7], [0.9, 2 ** 31 - 1]]) {
        const mark = arena.mark();
        const x = randn(N, N + seed);
        const pX = arena.putF32(x);
        const pOut = arena.f32(N);
        const pMask = arena.f32(N);
        k.dropout_forward(pOut, pMask, pX, N, p, seed);
        const out = new Float32Array(N);
        const mask = new Float32Array(N);
        ref.dropout_forward(out, mask, x, N, p, seed);
        const label = `${flavor} N=${N} p=${p} seed=${seed}`;
        expectEqual(arena.f32view(pMask, N), mask, `${label} mask`);
        expectEqual(arena.f32view(pOut, N), out, `${label} out`);
        if (p === 0) {
          expectEqual(arena.f32view(pMask, N), new Float32Array(N).fill(1), `${label} mask all 1`);
          expectEqual(arena.f32view(pOut, N), x, `${label} out == inp`);
        }
        // backward: dinp = dout * mask
        const pD = arena.f32(N);
        k.mul_forward(pD, pX, pMask, N);
        expectEqual(arena.f32view(pD, N), out, `${label} backward via mul_forward`);
        arena.reset(mark);
      }
    }
  });

  it('dropout statistics: drop fraction near p; masks repeat per seed and differ across seeds', () => {
    const N = 100_000;
    const mark = arena.mark();
    const pX = arena.putF32(new Float32Array(N).fill(1));
    const pOut = arena.f32(N);
    const masks: Float32Array[] = [];
    for (const [p, seed] of [[0.1, 17], [0.5, 17], [0.1, 17], [0.1, 18]]) {
      const pMask = arena.f32(N);
      k.dropout_forward(pOut, pMask, pX, N, p, seed);
      const mask = Float32Array.from(arena.f32view(pMask, N));
      const keep = Math.fround(1 / Math.fround(1 - Math.fround(p)));
      let dropped = 0;
      let other = 0;
      for (let i = 0; i < N; i++) {
        if (mask[i] === 0) dropped++;
        else if (mask[i] !== keep) other++;
      }
      expect(other, 'kept entries are 1/(1-p)').toBe(0);
      expect(Math.abs(dropped / N - p), `p=${p} seed=${seed}`).toBeLessThan(0.02);
      masks.push(mask);
    }
    expectEqual(masks[2], masks[0], 'same seed, same mask');
    // independent masks at p = 0.1 disagree on ~2 p (1-p) = 18% of positions
    let differ = 0;
    for (let i = 0; i < N; i++) if (masks[3][i] !== masks[0][i]) differ++;
    expect(Math.abs(differ / N - 0.18)).toBeLessThan(0.02);
    arena.reset(mark);
  });
});

describe('dropout hash', () => {
  it('is uniform on [0, 1) to within 1% per decile', () => {
    const r = rng(3);
    const seed = Math.floor(r() * 2 ** 31);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[Math.floor(ref.dropout_uniform(seed, i) * 10)]++;
    for (const c of counts) expect(Math.abs(c / 100_000 - 0.1)).toBeLessThan(0.01);
  });
});

describe.each(['gelu', 'gelu_erf', 'silu'] as const)('%s across flavours', (name) => {
  it('gives bit-identical results in every flavour (same exp polynomial in SIMD and tail, no fused ops)', () => {
    const N = 1031;
    const x = geluInputs(N, 8);
    const results = FLAVORS.map((flavor) => {
      const { kernels, arena } = withArena(flavor);
      const pX = arena.putF32(x);
      const pOut = arena.f32(N);
      const pD = arena.putF32(new Float32Array(N));
      kernels.k[`${name}_forward`](pOut, pX, N);
      kernels.k[`${name}_backward`](pD, arena.putF32(new Float32Array(N).fill(1)), pX, N);
      return [Float32Array.from(arena.f32view(pOut, N)), Float32Array.from(arena.f32view(pD, N))];
    });
    for (const [out, d] of results.slice(1)) {
      expectEqual(out, results[0][0], `${name}_forward vs scalar`);
      expectEqual(d, results[0][1], `${name}_backward vs scalar`);
    }
  });
});
