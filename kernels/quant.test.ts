import { describe, expect, it } from 'vitest';
import * as mm from './ref/matmul.ts';
import * as ref from './ref/quant.ts';
import { FLAVORS, expectClose, expectEqual, randn, withArena } from './testing.ts';

const MS = [1, 3, 5, 17];
const KS = [1, 7, 33, 130];
const NS = [1, 5, 9, 70];
const SHAPES: [number, number, number][] = [];
for (const M of MS) for (const K of KS) for (const N of NS) SHAPES.push([M, K, N]);
SHAPES.push([65, 257, 131]);
// Row-block tiles (relaxed build: rows in pairs of blocks of 4, columns in fours) next to the dot tiles that take
// the rows after the last multiple of 8: M around multiples of 8, K off multiples of 4 and 16, N odd.
for (const M of [8, 12, 15, 16, 23, 41]) for (const K of [4, 13, 16, 30, 64, 66]) for (const N of [3, 4, 13]) SHAPES.push([M, K, N]);
SHAPES.push([40, 128, 385]); // the bundled model's widths
SHAPES.push([3, 1030, 1100]); // int8 weights over 1 MiB take the streaming path (each block touched first)

// Rows of various scales, with a zero row and exact ties mixed in.
function activations(M: number, K: number, seed: number): Float32Array {
  const x = randn(M * K, seed);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) x[m * K + k] *= 0.1 + m;
  if (M > 2) x.fill(0, K, 2 * K); // row 1 is all zeros
  return x;
}

describe('q8 format (reference)', () => {
  it('rounds half to even', () => {
    expect([2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.4999, 126.5].map(ref.round_ties_even)).toEqual([2, 4, -2, -4, 0, -0, 1, 126]);
  });
});

describe.each(FLAVORS)('quant (%s)', (flavor) => {
  const { kernels, arena } = withArena(flavor);
  const { k } = kernels;
  const bits: ref.ActBits = k.features() & 2 ? 7 : 8; // the relaxed build quantizes activations to 7 bits

  it('byte layout: row-major int8 codes, one f32 scale per row, ties to even, zero row', () => {
    // K = 19: 16 values go through the SIMD loop, 3 through the scalar tail; ties in both parts.
    // row 0: max 127 -> scale 1, codes = round_ties_even(x)
    // row 1: max 63.5 -> scale 0.5, codes = round_ties_even(2x)
    // row 2: zeros -> scale 0, codes 0
    const row0 = [127, 2.5, 3.5, -2.5, -3.5, 0.5, -0.5, 1.5, -127, 0, 1.49, -1.51, 100.2, 5, -6, 7, 2.5, -3.5, 126.5];
    const row1 = [63.5, 1.25, 1.75, -1.25, -1.75, 0.25, 0, -63.5, 10, 0.74, 0.76, 3, -3, 2, 1, 0.5, 1.25, 1.75, 63.25];
    const row2 = new Array(19).fill(0);
    const want0 = [127, 2, 4, -2, -4, 0, 0, 2, -127, 0, 1, -2, 100, 5, -6, 7, 2, -4, 126];
    const want1 = [127, 2, 4, -2, -4, 0, 0, -127, 20, 1, 2, 6, -6, 4, 2, 1, 2, 4, 126];
    const M = 3;
    const K = 19;
    const mark = arena.mark();
    const pInp = arena.putF32([...row0, ...row1, ...row2]);
    const pQ = arena.alloc(M * K + 13); // odd size: codes are packed bytes, no padding
    const pS = arena.f32(M);
    arena.u8view(pQ, M * K + 13).fill(0xaa);
    k.quantize_rows_q8(pQ, pS, pInp, M, K);
    const bytes = Array.from(arena.u8view(pQ, M * K + 13));
    const codes = [...want0, ...want1, ...row2];
    expect(bytes.slice(0, M * K)).toEqual(codes.map((c) => c & 0xff)); // two's complement bytes, row-major
    expect(bytes.slice(M * K)).toEqual(new Array(13).fill(0xaa)); // nothing written past M*K
    expect(Array.from(new Uint32Array(arena.f32view(pS, M).slice().buffer))).toEqual(
      Array.from(new Uint32Array(new Float32Array([1, 0.5, 0]).buffer)), // bit patterns of the f32 scales
    );
    // and the reference agrees byte for byte
    const rq = new Int8Array(M * K);
    const rs = new Float32Array(M);
    ref.quantize_rows_q8(rq, rs, [...row0, ...row1, ...row2], M, K);
    expect(Array.from(rq)).toEqual(codes);
    expect(Array.from(rs)).toEqual([1, 0.5, 0]);
    arena.reset(mark);
  });

  it('quantize, dequantize and row sums match the reference exactly', () => {
    for (const [M, K] of [[1, 1], [3, 7], [5, 33], [17, 130], [4, 257]]) {
      const mark = arena.mark();
      const x = activations(M, K, M * 31 + K);
      const pX = arena.putF32(x);
      const pQ = arena.alloc(M * K);
      const pS = arena.f32(M);
      const pD = arena.f32(M * K);
      const pSum = arena.i32(M);
      k.quantize_rows_q8(pQ, pS, pX, M, K);
      k.dequantize_rows_q8(pD, pQ, pS, M, K);
      k.q8_row_sums(pSum, pQ, M, K);
      const q = new Int8Array(M * K);
      const s = new Float32Array(M);
      const d = new Float32Array(M * K);
      const sums = new Int32Array(M);
      ref.quantize_rows_q8(q, s, x, M, K);
      ref.dequantize_rows_q8(d, q, s, M, K);
      ref.q8_row_sums(sums, q, M, K);
      expectEqual(arena.i8view(pQ, M * K), q, `codes ${M}x${K}`);
      expectEqual(arena.f32view(pS, M), s, `scales ${M}x${K}`);
      expectEqual(arena.f32view(pD, M * K), d, `dequantized ${M}x${K}`);
      expectEqual(arena.i32view(pSum, M), sums, `row sums ${M}x${K}`);
      // round trip: |x - dequant(quant(x))| <= scale / 2
      for (let i = 0; i < M * K; i++) expect(Math.abs(x[i] - d[i])).toBeLessThanOrEqual(s[Math.floor(i / K)] / 2 + 1e-7);
      arena.reset(mark);
    }
  });

  it(`matmul_q8_forward (${bits}-bit activations) equals the reference bit for bit, bias on and off`, () => {
    for (const [M, K, N] of SHAPES) {
      const mark = arena.mark();
      const seed = M * 1_000_003 + K * 1009 + N;
      const x = activations(M, K, seed);
      if (M > 3 && K > 1) {
        // row 3: scale exactly 1 (max |x| = qmax) and halves in between, so every code is a tie to round to even
        const qmax = bits === 8 ? 127 : 63;
        for (let k = 0; k < K; k++) x[3 * K + k] = k === 0 ? qmax : ((k * 7) % 41) - 20.5;
      }
      const w = randn(N * K, seed + 1);
      const bias = randn(N, seed + 2);
      // weights through the kernels: codes, scales, row sums
      const pWq = arena.alloc(N * K);
      const pWs = arena.f32(N);
      const pWsum = arena.i32(N);
      k.quantize_rows_q8(pWq, pWs, arena.putF32(w), N, K);
      k.q8_row_sums(pWsum, pWq, N, K);
      const wq = arena.i8view(pWq, N * K).slice();
      const ws = arena.f32view(pWs, N).slice();
      const scratchBytes = M * (K + 16) + 4 * M;
      const pScratch = arena.alloc(scratchBytes + 64);
      const pX = arena.putF32(x);
      const pB = arena.putF32(bias);
      const pOut = arena.f32(M * N);
      arena.u8view(pScratch + scratchBytes, 64).fill(0x5c);
      const want = new Float32Array(M * N);
      for (const withBias of [true, false]) {
        k.matmul_q8_forward(pOut, pScratch, pX, pWq, pWs, pWsum, withBias ? pB : 0, M, K, N);
        ref.matmul_q8_forward(want, x, wq, ws, withBias ? bias : null, M, K, N, bits);
        expectEqual(arena.f32view(pOut, M * N), want, `q8 ${M}x${K}x${N} bias ${withBias}`);
      }
      expect(Array.from(arena.u8view(pScratch + scratchBytes, 64))).toEqual(new Array(64).fill(0x5c)); // scratch bound
      arena.reset(mark);
    }
  });

  it('integer accumulators are exact: activations with scale 1 and weight scales 1 give the integer dot', () => {
    // each activation row holds integers with max |x| = qmax, so its scale is exactly 1 and codes = x
    const qmax = bits === 8 ? 127 : 63;
    const [M, K, N] = [5, 130, 9];
    const x = new Float32Array(M * K);
    const wq = new Int8Array(N * K);
    let s = 12345;
    const next = () => (s = (s * 1103515245 + 12345) % 2147483648);
    for (let i = 0; i < x.length; i++) x[i] = (next() % (2 * qmax + 1)) - qmax;
    for (let m = 0; m < M; m++) x[m * K + (m % K)] = m % 2 ? -qmax : qmax;
    for (let i = 0; i < wq.length; i++) wq[i] = (next() % 255) - 127;
    const mark = arena.mark();
    const pWq = arena.alloc(N * K);
    arena.i8view(pWq, N * K).set(wq);
    const pWs = arena.putF32(new Float32Array(N).fill(1));
    const pWsum = arena.i32(N);
    k.q8_row_sums(pWsum, pWq, N, K);
    const pOut = arena.f32(M * N);
    k.matmul_q8_forward(pOut, arena.alloc(M * (K + 16) + 4 * M), arena.putF32(x), pWq, pWs, pWsum, 0, M, K, N);
    const acc = new Float64Array(M * N);
    const ascale = new Float64Array(M);
    ref.q8_accumulators(acc, ascale, x, wq, M, K, N, bits);
    expect(Array.from(ascale)).toEqual(new Array(M).fill(1));
    // the integer dot in f64, straight from the codes (= x here)
    const dot = new Float64Array(M * N);
    mm.matmul_forward(dot, x, wq, null, M, K, N);
    expectEqual(acc, dot, 'reference accumulators');
    expectEqual(arena.f32view(pOut, M * N), dot, 'kernel accumulators');
    arena.reset(mark);
  });

  it('approximates the f32 matmul (error from the activation and weight grids)', () => {
    const [M, K, N] = [17, 130, 70];
    const x = activations(M, K, 5);
    const w = randn(N * K, 6, 0.1);
    const mark = arena.mark();
    const pWq = arena.alloc(N * K);
    const pWs = arena.f32(N);
    const pWsum = arena.i32(N);
    k.quantize_rows_q8(pWq, pWs, arena.putF32(w), N, K);
    k.q8_row_sums(pWsum, pWq, N, K);
    const pOut = arena.f32(M * N);
    k.matmul_q8_forward(pOut, arena.alloc(M * (K + 16) + 4 * M), arena.putF32(x), pWq, pWs, pWsum, 0, M, K, N);
    const exact = new Float64Array(M * N);
    mm.matmul_forward(exact, x, w, null, M, K, N);
    const got = arena.f32view(pOut, M * N);
    let err = 0;
    let mag = 0;
    for (let i = 0; i < M * N; i++) {
      err += (got[i] - exact[i]) ** 2;
      mag += exact[i] ** 2;
    }
    // relative RMS error: about 1% with 8-bit activations, 2% with 7-bit ones
    expect(Math.sqrt(err / mag)).toBeLessThan(bits === 8 ? 0.015 : 0.03);
    arena.reset(mark);
  });
});

describe('q8 activation precision', () => {
  it('the relaxed build (7-bit activations) differs from the 8-bit path; each matches its own reference', () => {
    const [M, K, N] = [3, 64, 8];
    const x = activations(M, K, 99);
    const w = randn(N * K, 100);
    const outs = (['simd', 'relaxed'] as const).map((flavor) => {
      const { kernels, arena } = withArena(flavor);
      const { k } = kernels;
      const pWq = arena.alloc(N * K);
      const pWs = arena.f32(N);
      const pWsum = arena.i32(N);
      k.quantize_rows_q8(pWq, pWs, arena.putF32(w), N, K);
      k.q8_row_sums(pWsum, pWq, N, K);
      const pOut = arena.f32(M * N);
      k.matmul_q8_forward(pOut, arena.alloc(M * (K + 16) + 4 * M), arena.putF32(x), pWq, pWs, pWsum, 0, M, K, N);
      return { out: arena.f32view(pOut, M * N).slice(), wq: arena.i8view(pWq, N * K).slice(), ws: arena.f32view(pWs, N).slice() };
    });
    const [simd, relaxed] = outs;
    expectEqual(relaxed.wq, simd.wq, 'weights are quantized the same way in both builds');
    const r8 = new Float32Array(M * N);
    const r7 = new Float32Array(M * N);
    ref.matmul_q8_forward(r8, x, simd.wq, simd.ws, null, M, K, N, 8);
    ref.matmul_q8_forward(r7, x, simd.wq, simd.ws, null, M, K, N, 7);
    expectEqual(simd.out, r8, 'simd = 8-bit reference');
    expectEqual(relaxed.out, r7, 'relaxed = 7-bit reference');
    expect(Array.from(relaxed.out)).not.toEqual(Array.from(simd.out));
    expectClose(relaxed.out, simd.out, 0.1, 'the two paths stay close');
  });
});
