import { describe, expect, it } from 'vitest';
import * as ref from './ref/embedding.ts';
import { FLAVORS, expectClose, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

const NS = [1, 3, 5, 17, 1031];
const CS = [1, 3, 7, 130];
const V = 11; // fewer rows than tokens: ids repeat

function ids(N: number, max: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: N }, () => Math.floor(r() * max));
}

describe.each(FLAVORS)('embedding (%s)', (flavor) => {
  const { kernels, arena } = withArena(flavor);
  const { k } = kernels;

  it('positional_encoding is the paper formula, odd C included', () => {
    for (const C of [...CS, 8, 512]) {
      const T = 64;
      const mark = arena.mark();
      const pPe = arena.f32(T * C);
      k.positional_encoding(pPe, T, C);
      const pe = arena.f32view(pPe, T * C);
      const want = new Float64Array(T * C);
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < C; j++) {
          const i2 = j - (j % 2); // 2i
          const a = t / Math.pow(10000, i2 / C);
          want[t * C + j] = j % 2 === 0 ? Math.sin(a) : Math.cos(a);
        }
      }
      expectClose(pe, want, TOL.embedding, `${flavor} C=${C} pe`);
      for (let j = 0; j < C; j++) expect(pe[j]).toBe(j % 2 === 0 ? 0 : 1); // t = 0
      arena.reset(mark);
    }
  });

  it('forward matches the reference, with and without positions', () => {
    for (const N of NS) {
      for (const C of CS) {
        const mark = arena.mark();
        const T = 9;
        const scale = Math.fround(Math.sqrt(C));
        const id = ids(N, V, N * 7 + C);
        const pos = ids(N, T, N * 13 + C);
        const wte = randn(V * C, N + C);
        const pe = new Float32Array(T * C);
        ref.positional_encoding(pe, T, C);
        const pIds = arena.putI32(id);
        const pPos = arena.putI32(pos);
        const pWte = arena.putF32(wte);
        const pPe = arena.putF32(pe);
        const pOut = arena.f32(N * C);
        const label = `${flavor} N=${N} C=${C}`;

        k.embedding_forward(pOut, pIds, pPos, pWte, pPe, N, C, scale);
        const want = new Float64Array(N * C);
        ref.embedding_forward(want, id, pos, wte, pe, N, C, scale);
        expectClose(arena.f32view(pOut, N * C), want, TOL.embedding, `${label} with pe`);

        k.embedding_forward(pOut, pIds, 0, pWte, 0, N, C, scale);
        ref.embedding_forward(want, id, null, wte, null, N, C, scale);
        expectClose(arena.f32view(pOut, N * C), want, TOL.embedding, `${label} without pe`);
        arena.reset(mark);
      }
    }
  });

  it('the int8 gather equals dequantize_rows_q8 then embedding_forward bit for bit, and the reference', () => {
    for (const N of NS) {
      for (const C of [...CS, 9, 16, 128]) {
        const mark = arena.mark();
        const T = 9;
        const scale = Math.fround(Math.sqrt(C));
        const id = ids(N, V, N * 11 + C);
        const pos = ids(N, T, N * 17 + C);
        const pWq = arena.alloc(V * C);
        const pWs = arena.f32(V);
        k.quantize_rows_q8(pWq, pWs, arena.putF32(randn(V * C, N * 3 + C)), V, C);
        const pe = new Float32Array(T * C);
        ref.positional_encoding(pe, T, C);
        const pIds = arena.putI32(id);
        const pPos = arena.putI32(pos);
        const pPe = arena.putF32(pe);
        const pWte = arena.f32(V * C);
        k.dequantize_rows_q8(pWte, pWq, pWs, V, C);
        const [pGot, pWant] = [arena.f32(N * C), arena.f32(N * C)];
        const label = `${flavor} N=${N} C=${C}`;
        const want = new Float64Array(N * C);
        for (const withPe of [true, false]) {
          k.embedding_q8_forward(pGot, pIds, withPe ? pPos : 0, pWq, pWs, withPe ? pPe : 0, N, C, scale);
          k.embedding_forward(pWant, pIds, withPe ? pPos : 0, pWte, withPe ? pPe : 0, N, C, scale);
          expect(Array.from(arena.f32view(pGot, N * C)), `${label} pe ${withPe}: as the f32 table`).toEqual(Array.from(arena.f32view(pWant, N * C)));
          ref.embedding_q8_forward(want, id, withPe ? pos : null, arena.i8view(pWq, V * C), arena.f32view(pWs, V), withPe ? pe : null, N, C, scale);
          expectClose(arena.f32view(pGot, N * C), want, TOL.embedding, `${label} pe ${withPe}: reference`);
        }
        arena.reset(mark);
      }
    }
  });

  it('backward accumulates repeated ids into a non-zero dwte', () => {
    for (const N of NS) {
      for (const C of CS) {
        const mark = arena.mark();
        const scale = Math.fround(Math.sqrt(C));
        const id = ids(N, V, N * 3 + C);
        const dout = randn(N * C, N * 5 + C);
        const dwte0 = randn(V * C, 17);
        const pIds = arena.putI32(id);
        const pDout = arena.putF32(dout);
        const pDwte = arena.putF32(dwte0);
        k.embedding_backward(pDwte, pDout, pIds, N, C, scale);
        const want = Float64Array.from(dwte0);
        ref.embedding_backward(want, dout, id, N, C, scale);
        expectClose(arena.f32view(pDwte, V * C), want, TOL.grad_rowsum, `${flavor} N=${N} C=${C} dwte`);
        arena.reset(mark);
      }
    }
  });

  it('backward agrees with finite differences of the reference forward', () => {
    const N = 6;
    const C = 5;
    const T = 4;
    const scale = Math.fround(Math.sqrt(C));
    const id = Int32Array.of(2, 0, 2, 3, 2, 0); // id 2 three times, id 1 never
    const pos = Int32Array.of(0, 1, 2, 3, 0, 1);
    const wte = Float64Array.from(randn(4 * C, 5));
    const pe = new Float64Array(T * C);
    ref.positional_encoding(pe, T, C);
    const r = randn(N * C, 6);
    const pDwte = arena.putF32(new Float32Array(4 * C));
    k.embedding_backward(pDwte, arena.putF32(r), arena.putI32(id), N, C, scale);
    const L = () => {
      const out = new Float64Array(N * C);
      ref.embedding_forward(out, id, pos, wte, pe, N, C, scale);
      return out.reduce((s, v, i) => s + v * r[i], 0);
    };
    const h = 1e-3;
    const numeric = new Float64Array(wte.length);
    for (let i = 0; i < wte.length; i++) {
      const w0 = wte[i];
      wte[i] = w0 + h;
      const lp = L();
      wte[i] = w0 - h;
      const lm = L();
      wte[i] = w0;
      numeric[i] = (lp - lm) / (2 * h);
    }
    expectClose(arena.f32view(pDwte, 4 * C), numeric, TOL.gradcheck, `${flavor} dwte gradcheck`);
    expect(Array.from(arena.f32view(pDwte + 4 * C, C))).toEqual(new Array(C).fill(0)); // unused row 1
  });
});
