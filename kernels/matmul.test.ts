import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { wasmPath } from './node.ts';
import * as ref from './ref/matmul.ts';
import { FLAVORS, expectClose, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

// Awkward sizes: not multiples of 4 or of any tile, 1-row inputs, and one shape spanning several blocks.
const MS = [1, 3, 5, 17];
const KS = [1, 7, 33, 130];
const NS = [1, 5, 9, 70];
const SHAPES: [number, number, number][] = [];
for (const M of MS) for (const K of KS) for (const N of NS) SHAPES.push([M, K, N]);
SHAPES.push([65, 257, 131]);
// weights over 1 MiB take the streaming path (each block touched first); M = 2 and 3 end in a pair and a single row
SHAPES.push([3, 130, 2100], [2, 530, 1025]);
// dweight in column blocks (504 rows at K = 130) over two row blocks, the last column block 3 rows
SHAPES.push([67, 130, 1011]);

function seedOf(M: number, K: number, N: number): number {
  return M * 1_000_003 + K * 1009 + N;
}

describe.each(FLAVORS)('matmul (%s)', (flavor) => {
  const { kernels, arena } = withArena(flavor);
  const { k } = kernels;

  it('forward matches the reference, with and without bias', () => {
    for (const [M, K, N] of SHAPES) {
      const mark = arena.mark();
      const s = seedOf(M, K, N);
      const inp = randn(M * K, s);
      const weight = randn(N * K, s + 1, 1 / Math.sqrt(K)); // initialisation scale: outputs of order 1
      const bias = randn(N, s + 2);
      const pInp = arena.putF32(inp);
      const pW = arena.putF32(weight);
      const pB = arena.putF32(bias);
      const pOut = arena.f32(M * N);
      const want = new Float64Array(M * N);
      k.matmul_forward(pOut, pInp, pW, pB, M, K, N);
      ref.matmul_forward(want, inp, weight, bias, M, K, N);
      expectClose(arena.f32view(pOut, M * N), want, TOL.matmul, `forward ${M}x${K}x${N} bias`);
      k.matmul_forward(pOut, pInp, pW, 0, M, K, N);
      ref.matmul_forward(want, inp, weight, null, M, K, N);
      expectClose(arena.f32view(pOut, M * N), want, TOL.matmul, `forward ${M}x${K}x${N} no bias`);
      arena.reset(mark);
    }
  });

  it('backward accumulates into the gradients; dinp and dbias pointers 0 skip them', () => {
    for (const [M, K, N] of SHAPES) {
      const mark = arena.mark();
      const s = seedOf(M, K, N) + 7;
      const inp = randn(M * K, s);
      const weight = randn(N * K, s + 1, 1 / Math.sqrt(K));
      const dout = randn(M * N, s + 2);
      const dinp0 = randn(M * K, s + 3);
      const dweight0 = randn(N * K, s + 4);
      const dbias0 = randn(N, s + 5);
      const pInp = arena.putF32(inp);
      const pW = arena.putF32(weight);
      const pDout = arena.putF32(dout);
      const pDinp = arena.putF32(dinp0);
      const pDw = arena.putF32(dweight0);
      const pDb = arena.putF32(dbias0);
      k.matmul_backward(pDinp, pDw, pDb, pDout, pInp, pW, M, K, N);
      const dinp = Float64Array.from(dinp0);
      const dweight = Float64Array.from(dweight0);
      const dbias = Float64Array.from(dbias0);
      ref.matmul_backward(dinp, dweight, dbias, dout, inp, weight, M, K, N);
      const label = `${M}x${K}x${N}`;
      expectClose(arena.f32view(pDinp, M * K), dinp, TOL.matmul, `dinp ${label}`);
      expectClose(arena.f32view(pDw, N * K), dweight, TOL.matmul, `dweight ${label}`);
      expectClose(arena.f32view(pDb, N), dbias, TOL.matmul, `dbias ${label}`);

      // skip dinp and dbias: dweight accumulates a second time, nothing else is touched
      const before = Float32Array.from(arena.f32view(pInp, M * K));
      const dinpAfter = arena.f32view(pDinp, M * K).slice();
      const dbiasAfter = arena.f32view(pDb, N).slice();
      k.matmul_backward(0, pDw, 0, pDout, pInp, pW, M, K, N);
      ref.matmul_backward(null, dweight, null, dout, inp, weight, M, K, N);
      expectClose(arena.f32view(pDw, N * K), dweight, 2 * TOL.matmul, `dweight twice ${label}`);
      expectClose(arena.f32view(pDinp, M * K), dinpAfter, 0, `dinp untouched ${label}`);
      expectClose(arena.f32view(pDb, N), dbiasAfter, 0, `dbias untouched ${label}`);
      expectClose(arena.f32view(pInp, M * K), before, 0, `inp untouched ${label}`);
      arena.reset(mark);
    }
  });

  it('gradients match central finite differences of L = sum(out * r)', () => {
    const [M, K, N] = [3, 5, 4];
    const inp = Float64Array.from(randn(M * K, 11));
    const weight = Float64Array.from(randn(N * K, 12));
    const bias = Float64Array.from(randn(N, 13));
    const r = randn(M * N, 14);
    const loss = () => {
      const out = new Float64Array(M * N);
      ref.matmul_forward(out, inp, weight, bias, M, K, N);
      return out.reduce((acc, o, i) => acc + o * r[i], 0);
    };
    const numeric = (x: Float64Array) => {
      const h = 1e-2;
      return Array.from(x, (_, i) => {
        const x0 = x[i];
        x[i] = x0 + h;
        const lp = loss();
        x[i] = x0 - h;
        const lm = loss();
        x[i] = x0;
        return (lp - lm) / (2 * h);
      });
    };
    const mark = arena.mark();
    const pDinp = arena.f32(M * K);
    const pDw = arena.f32(N * K);
    const pDb = arena.f32(N);
    k.zero_f32(pDinp, M * K);
    k.zero_f32(pDw, N * K);
    k.zero_f32(pDb, N);
    // dL/dout = r
    k.matmul_backward(pDinp, pDw, pDb, arena.putF32(r), arena.putF32(inp), arena.putF32(weight), M, K, N);
    expectClose(arena.f32view(pDinp, M * K), numeric(inp), TOL.gradcheck, 'dinp vs finite differences');
    expectClose(arena.f32view(pDw, N * K), numeric(weight), TOL.gradcheck, 'dweight vs finite differences');
    expectClose(arena.f32view(pDb, N), numeric(bias), TOL.gradcheck, 'dbias vs finite differences');
    arena.reset(mark);
  });

  it('forward leaves memory outside out untouched', () => {
    const [M, K, N] = [5, 33, 9];
    const mark = arena.mark();
    const pInp = arena.putF32(randn(M * K, 1));
    const pW = arena.putF32(randn(N * K, 2));
    const pOut = arena.f32(M * N + 16);
    const guard = new Float32Array(16).fill(-7);
    arena.f32view(pOut + 4 * M * N, 16).set(guard);
    k.matmul_forward(pOut, pInp, pW, 0, M, K, N);
    expectClose(arena.f32view(pOut + 4 * M * N, 16), guard, 0, 'guard after out');
    arena.reset(mark);
  });
});

// --- the SIMD builds really contain SIMD code ---

// Function bodies of a wasm binary: parses the section headers and the code section's entries.
function functionBodies(bytes: Uint8Array): Uint8Array[] {
  let p = 8; // magic + version
  const leb = () => {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return v;
    }
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const end = p + size;
    if (id === 10) {
      const bodies: Uint8Array[] = [];
      const count = leb();
      for (let i = 0; i < count; i++) {
        const n = leb();
        bodies.push(bytes.subarray(p, p + n));
        p += n;
      }
      return bodies;
    }
    p = end;
  }
  throw new Error('no code section');
}

// Number of function bodies containing the instruction 0xFD <opcode as LEB128>.
function bodiesWith(bodies: Uint8Array[], opcode: number): number {
  const seq = [0xfd];
  for (let v = opcode; ; ) {
    const b = v & 0x7f;
    v >>= 7;
    if (v === 0) {
      seq.push(b);
      break;
    }
    seq.push(b | 0x80);
  }
  return bodies.filter((body) => {
    outer: for (let i = 0; i + seq.length <= body.length; i++) {
      for (let j = 0; j < seq.length; j++) if (body[i + j] !== seq[j]) continue outer;
      return true;
    }
    return false;
  }).length;
}

const OP = {
  f32x4_add: 0xe4,
  f32x4_mul: 0xe6,
  i32x4_dot_i16x8_s: 0xba,
  f32x4_relaxed_madd: 0x105,
  i16x8_relaxed_dot_i8x16_i7x16_s: 0x112,
};

describe('wasm builds', () => {
  const bodies = (flavor: 'scalar' | 'simd' | 'relaxed') => functionBodies(new Uint8Array(readFileSync(wasmPath(flavor))));

  it('the simd build has SIMD matmul code (f32x4 mul/add, i32x4.dot_i16x8_s), the scalar build none', () => {
    const simd = bodies('simd');
    expect(bodiesWith(simd, OP.f32x4_mul)).toBeGreaterThan(0);
    expect(bodiesWith(simd, OP.f32x4_add)).toBeGreaterThan(0);
    expect(bodiesWith(simd, OP.i32x4_dot_i16x8_s)).toBeGreaterThan(0);
    expect(bodiesWith(simd, OP.f32x4_relaxed_madd)).toBe(0);
    const scalar = bodies('scalar');
    for (const op of Object.values(OP)) expect(bodiesWith(scalar, op)).toBe(0);
  });

  it('the relaxed build uses relaxed_madd and relaxed_dot_i8x16_i7x16_s', () => {
    const relaxed = bodies('relaxed');
    expect(bodiesWith(relaxed, OP.f32x4_relaxed_madd)).toBeGreaterThan(0);
    expect(bodiesWith(relaxed, OP.i16x8_relaxed_dot_i8x16_i7x16_s)).toBeGreaterThan(0);
  });

  it('randomized shapes agree across flavours', () => {
    // the flavours differ only in summation order: a last cross-check on shapes drawn at random
    const r = rng(2024);
    const all = FLAVORS.map((f) => withArena(f));
    for (let t = 0; t < 10; t++) {
      const [M, K, N] = [1 + Math.floor(r() * 40), 1 + Math.floor(r() * 300), 1 + Math.floor(r() * 90)];
      const inp = randn(M * K, t);
      const weight = randn(N * K, t + 100, 1 / Math.sqrt(K));
      const outs = all.map(({ kernels, arena }) => {
        const pOut = arena.f32(M * N);
        kernels.k.matmul_forward(pOut, arena.putF32(inp), arena.putF32(weight), 0, M, K, N);
        return arena.f32view(pOut, M * N).slice();
      });
      for (let i = 1; i < outs.length; i++) expectClose(outs[i], outs[0], TOL.matmul, `${FLAVORS[i]} vs ${FLAVORS[0]} ${M}x${K}x${N}`);
    }
  });
});
