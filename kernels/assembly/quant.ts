// int8 weights for inference (the decoder's linear layers and the output projection).
//
// THE q8 FORMAT, defined here once (kernels/ref/quant.ts mirrors it; kernels/quant.test.ts checks the bytes):
//   - a block is one row: a matrix (R,K) of f32 becomes R*K int8 codes, row-major, no padding (byte r*K + k),
//     and R f32 scales (one per row, a separate array);
//   - symmetric, no zero point: scale = max|x| / 127 computed in f32; a row of zeros gets scale 0, codes 0;
//   - q = round_ties_to_even(x / scale) (f32 division), clamped to [-127, 127] (never -128);
//   - x is approximately q * scale (dequantize_rows_q8).
// Weights (N,K) are quantized once per row = per output feature; wsum (N) i32 holds each row's code sum.
//
// matmul_q8_forward quantizes the activations on the fly, one scale per row, into the scratch area, and
// accumulates exact integer dot products in i32 (|acc| <= 127*127*K, safe for K < 133,000):
//   out[m,n] = f32(acc[m,n]) * ascale[m] * wscale[n] + bias[n]   (f32 ops in this order: bit-exact vs the reference)
// Two integer paths, chosen at compile time:
//   - baseline SIMD (and scalar): activations are 8-bit like the weights (scale = max|x|/127);
//     int8 -> int16 widening loads and i32x4.dot_i16x8_s;
//   - relaxed SIMD: i16x8.relaxed_dot_i8x16_i7x16_s, deterministic only when its second operand is in 0..127,
//     so activations use 7 BITS: scale = max|x|/63, q7 = round_ties_to_even(x/scale) in [-63, 63], stored
//     as u = q7 + 64 in [1, 127]. Then sum_k w*q7 = sum_k w*u - 64 * wsum[n], exactly.
//     Its outputs therefore differ from the 8-bit path (coarser activations); each path is exact against
//     its own reference variant. Pairs of products fit i16 (|.| <= 2*127*127), and the i16 pair sums are
//     widened by i32x4.dot_i16x8_s with a ones vector held in a register: V8 lowers the fused
//     i32x4.relaxed_dot_i8x16_i7x16_add_s to the same pmaddubsw + pmaddwd on x64 CPUs without AVX-VNNI,
//     but rebuilds the ones constant at every use (measured 20% slower).
// Scratch layout (>= M*(K+16) + 4*M bytes): M rows of codes with stride Kp = K rounded up to 16, then M f32
// activation scales.
//
// Tiles are dot-product tiles of 2 activation rows x 4 weight rows (8 i32x4 accumulators), like the f32
// matmul: with 15 xmm registers in V8, 8 accumulators + 6 rows + 1 constant fit (bigger tiles spill).

import { STREAM_BYTES, touch } from './prefetch';
import { gather4_i8, hsum, hsum4 } from './simd';
import { row_dequant_q8 } from './vmath';

const ROW_BLOCK_BYTES: i32 = 131072; // weight rows per block: about 128 KiB stays in L2 for all activation rows

// Quantizes one row of K floats at src into K codes at dst: scale = max|x| / qmax, code =
// clamp(round_ties_even(x / scale), -qmax, qmax) + offset. Returns the scale (0 for a zero row, codes = offset).
function quantize_row(dst: usize, src: usize, K: i32, qmax: f32, offset: i32): f32 {
  const kb = <usize>K << 2;
  let amax: f32 = 0;
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let v = f32x4.splat(0);
    for (; k + 16 <= kb; k += 16) v = f32x4.max(v, f32x4.abs(v128.load(src + k)));
    v = f32x4.max(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    amax = max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1));
  }
  for (; k < kb; k += 4) amax = max(amax, abs(load<f32>(src + k)));
  const scale: f32 = amax / qmax;
  if (scale == 0) {
    memory.fill(dst, <u8>offset, <usize>K);
    return 0;
  }
  let i: usize = 0;
  const n = <usize>K;
  if (ASC_FEATURE_SIMD) {
    const s = f32x4.splat(scale);
    const hi = f32x4.splat(qmax);
    const lo = f32x4.splat(-qmax);
    const off = i32x4.splat(offset);
    for (; i + 16 <= n; i += 16) {
      const p = src + (i << 2);
      // pmax/pmin are compare-selects: a NaN stays NaN and trunc_sat makes it 0, as in the scalar tail
      const q0 = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.div(v128.load(p), s)), lo), hi)), off);
      const q1 = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.div(v128.load(p, 16), s)), lo), hi)), off);
      const q2 = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.div(v128.load(p, 32), s)), lo), hi)), off);
      const q3 = i32x4.add(i32x4.trunc_sat_f32x4_s(f32x4.pmin(f32x4.pmax(f32x4.nearest(f32x4.div(v128.load(p, 48), s)), lo), hi)), off);
      v128.store(dst + i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
    }
  }
  for (; i < n; i++) {
    let v = nearest<f32>(load<f32>(src + (i << 2)) / scale);
    v = v < -qmax ? -qmax : v;
    v = v > qmax ? qmax : v;
    store<i8>(dst + i, v == v ? <i32>v + offset : offset);
  }
  return scale;
}

// q (M,K) int8 | scale (M) f32 | inp (M,K) f32: the q8 format above
export function quantize_rows_q8(q: usize, scale: usize, inp: usize, M: i32, K: i32): void {
  for (let m = 0; m < M; m++) {
    store<f32>(scale + (<usize>m << 2), quantize_row(q + <usize>m * <usize>K, inp + ((<usize>m * <usize>K) << 2), K, 127, 0));
  }
}

// out (M,K) f32 = q (M,K) int8 * scale (M)
export function dequantize_rows_q8(out: usize, q: usize, scale: usize, M: i32, K: i32): void {
  const n = <usize>K;
  for (let m = 0; m < M; m++) row_dequant_q8(out + ((<usize>m * n) << 2), q + <usize>m * n, K, load<f32>(scale + (<usize>m << 2)));
}

// wsum (N) i32 = sum over k of wq (N,K) int8
export function q8_row_sums(wsum: usize, wq: usize, N: i32, K: i32): void {
  const n = <usize>K;
  for (let r = 0; r < N; r++) {
    const src = wq + <usize>r * n;
    let s: i32 = 0;
    let k: usize = 0;
    if (ASC_FEATURE_SIMD) {
      let v = i32x4.splat(0);
      for (; k + 16 <= n; k += 16) v = i32x4.add(v, i32x4.extadd_pairwise_i16x8_s(i16x8.extadd_pairwise_i8x16_s(v128.load(src + k))));
      s = hsum<i32>(v);
    }
    for (; k < n; k++) s += <i32>load<i8>(src + k);
    store<i32>(wsum + (<usize>r << 2), s);
  }
}

// out (M,N) f32 = dequant(quant(inp) @ wq^T) + bias | scratch >= M*(K+16) + 4*M bytes | inp (M,K) f32
// | wq (N,K) int8, wscale (N) f32, wsum (N) i32 (from q8_row_sums; read by the relaxed path) | bias (N), 0 = none
export function matmul_q8_forward(out: usize, scratch: usize, inp: usize, wq: usize, wscale: usize, wsum: usize, bias: usize, M: i32, K: i32, N: i32): void {
  const stride = <usize>((K + 15) & ~15);
  const ascale = scratch + <usize>M * stride;
  for (let m = 0; m < M; m++) {
    const dst = scratch + <usize>m * stride;
    const src = inp + ((<usize>m * <usize>K) << 2);
    const s = ASC_FEATURE_RELAXED_SIMD ? quantize_row(dst, src, K, 63, 64) : quantize_row(dst, src, K, 127, 0);
    store<f32>(ascale + (<usize>m << 2), s);
  }
  const kb = <usize>K;
  const ob = <usize>N << 2;
  const NB = max(4, (ROW_BLOCK_BYTES / max(K, 1)) & ~3);
  const big = <u64>N * <u64>kb > STREAM_BYTES;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const n1 = min(N, n0 + NB);
    const n4 = ASC_FEATURE_SIMD ? n0 + ((n1 - n0) & ~3) : n0;
    if (ASC_FEATURE_SIMD && big && M > 1) touch(wq + <usize>n0 * kb, <usize>(n1 - n0) * kb);
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const a = scratch + <usize>m * stride;
      const o = out + <usize>m * ob;
      const as = ascale + (<usize>m << 2);
      let n = n0;
      for (; n < n4; n += 4) q8_tile(o + (<usize>n << 2), a, stride, wq + <usize>n * kb, as, n, wscale, wsum, bias, K, N, 2, 4);
      for (; n < n1; n++) q8_tile(o + (<usize>n << 2), a, stride, wq + <usize>n * kb, as, n, wscale, wsum, bias, K, N, 2, 1);
    }
    if (m < M) {
      const a = scratch + <usize>m * stride;
      const o = out + <usize>m * ob;
      const as = ascale + (<usize>m << 2);
      let n = n0;
      for (; n < n4; n += 4) q8_tile(o + (<usize>n << 2), a, stride, wq + <usize>n * kb, as, n, wscale, wsum, bias, K, N, 1, 4);
      for (; n < n1; n++) q8_tile(o + (<usize>n << 2), a, stride, wq + <usize>n * kb, as, n, wscale, wsum, bias, K, N, 1, 1);
    }
  }
}

// One MR x NR tile of out (MR in {1,2}, NR in {1,4}; NR = 4 only with SIMD): activation codes at a, a + astride
// | weight rows at w + j*K | as = &ascale[m] | n = first output column.
@inline function q8_tile(o: usize, a: usize, astride: usize, w: usize, as: usize, n: i32, wscale: usize, wsum: usize, bias: usize, K: i32, N: i32, MR: i32, NR: i32): void {
  const kb = <usize>K;
  const a1 = a + astride;
  const w1 = w + kb;
  const w2 = w1 + kb;
  const w3 = w2 + kb;
  let k: usize = 0;
  // scalar sums for NR = 1 (the K tail, or everything in the scalar build)
  let t0: i32 = 0;
  let t1: i32 = 0;
  if (ASC_FEATURE_SIMD) {
    let c00 = i32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
    let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    if (ASC_FEATURE_RELAXED_SIMD) {
      // codes u in [1,127] are the second (unsigned-safe) operand; see the format comment for the ones vector
      const ones = i16x8.splat(1);
      for (; k + 16 <= kb; k += 16) {
        const x0 = v128.load(a + k);
        let x1 = x0;
        if (MR == 2) x1 = v128.load(a1 + k);
        let y = v128.load(w + k);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
        if (MR == 2) c10 = i32x4.add(c10, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
        if (NR == 4) {
          y = v128.load(w1 + k);
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
          if (MR == 2) c11 = i32x4.add(c11, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
          y = v128.load(w2 + k);
          c02 = i32x4.add(c02, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
          if (MR == 2) c12 = i32x4.add(c12, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
          y = v128.load(w3 + k);
          c03 = i32x4.add(c03, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
          if (MR == 2) c13 = i32x4.add(c13, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
        }
      }
      if (k + 8 <= kb) {
        // 8 more: zero-filled upper halves add nothing
        const x0 = v128.load64_zero(a + k);
        let x1 = x0;
        if (MR == 2) x1 = v128.load64_zero(a1 + k);
        let y = v128.load64_zero(w + k);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
        if (MR == 2) c10 = i32x4.add(c10, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
        if (NR == 4) {
          y = v128.load64_zero(w1 + k);
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
          if (MR == 2) c11 = i32x4.add(c11, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
          y = v128.load64_zero(w2 + k);
          c02 = i32x4.add(c02, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
          if (MR == 2) c12 = i32x4.add(c12, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
          y = v128.load64_zero(w3 + k);
          c03 = i32x4.add(c03, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x0), ones));
          if (MR == 2) c13 = i32x4.add(c13, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(y, x1), ones));
        }
        k += 8;
      }
    } else {
      // int8 -> int16 widening loads, then pairwise products summed into i32
      for (; k + 8 <= kb; k += 8) {
        const x0 = v128.load8x8_s(a + k);
        let x1 = x0;
        if (MR == 2) x1 = v128.load8x8_s(a1 + k);
        let y = v128.load8x8_s(w + k);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, y));
        if (MR == 2) c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, y));
        if (NR == 4) {
          y = v128.load8x8_s(w1 + k);
          c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, y));
          if (MR == 2) c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, y));
          y = v128.load8x8_s(w2 + k);
          c02 = i32x4.add(c02, i32x4.dot_i16x8_s(x0, y));
          if (MR == 2) c12 = i32x4.add(c12, i32x4.dot_i16x8_s(x1, y));
          y = v128.load8x8_s(w3 + k);
          c03 = i32x4.add(c03, i32x4.dot_i16x8_s(x0, y));
          if (MR == 2) c13 = i32x4.add(c13, i32x4.dot_i16x8_s(x1, y));
        }
      }
    }
    if (NR == 4) {
      let r0 = hsum4<i32>(c00, c01, c02, c03);
      let r1 = hsum4<i32>(c10, c11, c12, c13);
      for (; k < kb; k++) {
        const x0 = ASC_FEATURE_RELAXED_SIMD ? <i32>load<u8>(a + k) : <i32>load<i8>(a + k);
        const x1 = ASC_FEATURE_RELAXED_SIMD ? <i32>load<u8>(a1 + k) : <i32>load<i8>(a1 + k);
        const y = gather4_i8(w + k, kb);
        r0 = i32x4.add(r0, i32x4.mul(i32x4.splat(x0), y));
        if (MR == 2) r1 = i32x4.add(r1, i32x4.mul(i32x4.splat(x1), y));
      }
      if (ASC_FEATURE_RELAXED_SIMD) {
        const corr = i32x4.shl(v128.load(wsum + (<usize>n << 2)), 6); // 64 * wsum[n..n+3]
        r0 = i32x4.sub(r0, corr);
        r1 = i32x4.sub(r1, corr);
      }
      const ws = v128.load(wscale + (<usize>n << 2));
      const b = bias ? v128.load(bias + (<usize>n << 2)) : f32x4.splat(0);
      let f0 = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(r0), v128.load32_splat(as)), ws);
      v128.store(o, bias ? f32x4.add(f0, b) : f0);
      if (MR == 2) {
        let f1 = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(r1), v128.load32_splat(as, 4)), ws);
        v128.store(o + (<usize>N << 2), bias ? f32x4.add(f1, b) : f1);
      }
      return;
    }
    t0 = hsum<i32>(c00);
    t1 = hsum<i32>(c10);
  }
  // NR == 1 (and the scalar build): scalar tail over the remaining k
  for (; k < kb; k++) {
    const y = <i32>load<i8>(w + k);
    t0 += (ASC_FEATURE_RELAXED_SIMD ? <i32>load<u8>(a + k) : <i32>load<i8>(a + k)) * y;
    if (MR == 2) t1 += (ASC_FEATURE_RELAXED_SIMD ? <i32>load<u8>(a1 + k) : <i32>load<i8>(a1 + k)) * y;
  }
  if (ASC_FEATURE_RELAXED_SIMD) {
    const corr = load<i32>(wsum + (<usize>n << 2)) << 6; // 64 * wsum[n]
    t0 -= corr;
    t1 -= corr;
  }
  const ws = load<f32>(wscale + (<usize>n << 2));
  const b: f32 = bias ? load<f32>(bias + (<usize>n << 2)) : 0;
  const f0 = <f32>t0 * load<f32>(as) * ws;
  store<f32>(o, bias ? f0 + b : f0);
  if (MR == 2) {
    const f1 = <f32>t1 * load<f32>(as, 4) * ws;
    store<f32>(o + (<usize>N << 2), bias ? f1 + b : f1);
  }
}
