import { describe, expect, it } from 'vitest';
import * as ref from './ref/optim.ts';
import { FLAVORS, expectClose, randn, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

const NS = [1, 3, 5, 17, 1031];
const f = Math.fround;

describe.each(FLAVORS)('adam (%s)', (flavor) => {
  const { kernels, arena } = withArena(flavor);
  const { k } = kernels;

  it('three steps match the f64 reference (paper betas, with and without weight decay)', () => {
    for (const N of NS) {
      for (const wd of [0, 0.01]) {
        const mark = arena.mark();
        const lr = f(1e-3);
        const [b1, b2, eps] = [f(0.9), f(0.98), f(1e-9)];
        const p0 = randn(N, N);
        const pP = arena.putF32(p0);
        const pG = arena.f32(N);
        const pM = arena.putF32(new Float32Array(N));
        const pV = arena.putF32(new Float32Array(N));
        const params = Float64Array.from(p0);
        const m = new Float64Array(N);
        const v = new Float64Array(N);
        for (let t = 1; t <= 3; t++) {
          const g = randn(N, 100 * t + N, 0.1);
          g[0] = 0; // a parameter with no gradient only decays
          arena.f32view(pG, N).set(g);
          k.adam_update(pP, pG, pM, pV, N, lr, b1, b2, eps, f(wd), t);
          ref.adam_update(params, g, m, v, N, lr, b1, b2, eps, f(wd), t);
        }
        const label = `${flavor} N=${N} wd=${wd}`;
        expectClose(arena.f32view(pM, N), m, TOL.adam, `${label} m`);
        expectClose(arena.f32view(pV, N), v, TOL.adam, `${label} v`);
        expectClose(arena.f32view(pP, N), params, TOL.adam, `${label} params`);
        arena.reset(mark);
      }
    }
  });

  it('the first bias-corrected step moves each parameter by lr against the sign of its gradient', () => {
    const N = 37;
    const lr = f(0.01);
    const p0 = randn(N, 1);
    const g = randn(N, 2, 1e-3); // any scale: bias correction makes the step independent of |g| (while |g| >> eps)
    const pP = arena.putF32(p0);
    k.adam_update(pP, arena.putF32(g), arena.putF32(new Float32Array(N)), arena.putF32(new Float32Array(N)), N, lr, 0.9, 0.999, 1e-12, 0, 1);
    const p = arena.f32view(pP, N);
    for (let i = 0; i < N; i++) expect(p[i] - p0[i]).toBeCloseTo(-lr * Math.sign(g[i]), 5);
  });
});
