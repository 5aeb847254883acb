// int8 weights for inference (the linear layers and the output projection).
//
// THE q8 FORMAT, defined here once (kernels/ref/quant.ts mirrors it; kernels/quant.test.ts checks the bytes):
//   - a block is one row: a matrix (R,K) of f32 becomes R*K int8 codes, row-major, no padding (byte r*K + k),
//     and R f32 scales (one per row, a separate array);
//   - symmetric, no zero point: scale = max|x| / 127 computed in f32; a row of zeros gets scale 0, codes 0;
//   - q = round_ties_to_even(x / scale) (f32 division), clamped to [-127, 127] (never -128);
//   - x is approximately q * scale (dequantize_rows_q8).
// Weights (N,K) are quantized once per row = per output feature; wsum (N) i32 holds each row's code sum.
//
// matmul_q8_forward quantizes the activations once per call, one scale per row, into the scratch area, and
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
//
// Tiles (8 i32x4 accumulators: with 15 xmm registers in V8, more spill):
//   - dot tiles, 2 activation rows x 4 weight rows: each accumulator sums one (row, column) pair over K,
//     lanes summed once at the end. Every row in the baseline build; in the relaxed build the rows past the
//     last multiple of 8 (all of them when M < 8: decoding a sentence or two).
//   - row-block tiles (relaxed, the encoder and batched decoding): activations are quantized once into
//     blocks of 4 rows interleaved 4 bytes at a time (one v128 = 4 codes of each of 4 rows), so one
//     relaxed dot of a block vector with a weight row's 4 codes splatted gives the 4 rows' partial sums of
//     that column: a tile of 2 blocks x 4 columns reuses each loaded weight word across 8 rows, and its
//     accumulators already hold output columns (a 4x4 transpose, no lane sums: they weigh most at K = 128..256).
//     The baseline build has no such tile: widening a splatted weight pair costs more than it saves.
// No K tails: each row of codes starts with s zero pad bytes, s = (-K) mod the step (16 or 8 bytes for dot
// tiles, 4 for row blocks), and weight rows are read from s bytes before their start, so every loop runs
// whole steps over K + s bytes. A zero code (u = 0 in the relaxed build, not a valid 7-bit code) times the
// previous row's bytes adds nothing, and reading before the first row stays inside the heap.
// Scratch layout (>= M*(K+16) + 4*M bytes): M rows of codes with stride Kp = K rounded up to 16 (row-block
// rows inside their block's 4*Kp bytes), then M f32 activation scales.

import { STREAM_BYTES, touch } from './prefetch';
import { hsum, hsum4 } from './simd';
import { row_dequant_q8 } from './vmath';

const ROW_BLOCK_BYTES: i32 = 131072; // weight rows per block: about 128 KiB stays in L2 for all activation rows
const STEP: usize = ASC_FEATURE_RELAXED_SIMD ? 16 : 8; // bytes of a row per dot-tile step
const ROUND: f32 = 12582912.0; // 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer, ties to even
const ROUND_BITS: i32 = 0x4b400000; // its bit pattern: ROUND + v has the bits ROUND_BITS + v

// Four codes as i32 lanes: clamp(x / s) to [lo, hi] (integers, so clamping then rounding equals rounding then
// clamping), NaN lanes to 0 (as the scalar code), rounded ties-to-even by adding ROUND, whose bits then give
// the integer: minus (ROUND_BITS - offset) it is code + offset. Fewer instructions than nearest + trunc_sat.
@inline function code4(x: v128, s: v128, lo: v128, hi: v128, magic: v128, base: v128): v128 {
  const c = f32x4.pmin(f32x4.pmax(f32x4.div(x, s), lo), hi);
  return i32x4.sub(f32x4.add(v128.and(c, f32x4.eq(c, c)), magic), base);
}

// One code: clamp(round_ties_even(x / scale), -qmax, qmax) + offset, NaN -> offset.
@inline function code1(x: f32, scale: f32, qmax: f32, offset: i32): i32 {
  let v = nearest<f32>(x / scale);
  v = v < -qmax ? -qmax : v;
  v = v > qmax ? qmax : v;
  return v == v ? <i32>v + offset : offset;
}

// Where code position p (pad included) of a row goes: byte p of a plain row, or byte p % 4 of 16-byte group
// p / 4 in a row block (the row's lane offset is in dst).
@inline function code_at(dst: usize, p: usize, blocked: bool): usize {
  return blocked ? dst + ((p >> 2) << 4) + (p & 3) : dst + p;
}

// max |x| over one row of K floats; NaN if any is NaN (the scalar max propagates it)
@inline function row_absmax(src: usize, K: i32): f32 {
  const kb = <usize>K << 2;
  let amax: f32 = 0;
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    // pmax (one instruction, four independent chains) and a separate NaN flag, rather than the NaN-propagating
    // max, whose instruction sequence every step of a single chain waits for
    let m0 = f32x4.splat(0), m1 = m0, m2 = m0, m3 = m0, nan = m0;
    for (; k + 64 <= kb; k += 64) {
      const x0 = v128.load(src + k);
      const x1 = v128.load(src + k, 16);
      const x2 = v128.load(src + k, 32);
      const x3 = v128.load(src + k, 48);
      m0 = f32x4.pmax(m0, f32x4.abs(x0));
      m1 = f32x4.pmax(m1, f32x4.abs(x1));
      m2 = f32x4.pmax(m2, f32x4.abs(x2));
      m3 = f32x4.pmax(m3, f32x4.abs(x3));
      nan = v128.or(nan, v128.or(v128.or(f32x4.ne(x0, x0), f32x4.ne(x1, x1)), v128.or(f32x4.ne(x2, x2), f32x4.ne(x3, x3))));
    }
    for (; k + 16 <= kb; k += 16) {
      const x = v128.load(src + k);
      m0 = f32x4.pmax(m0, f32x4.abs(x));
      nan = v128.or(nan, f32x4.ne(x, x));
    }
    let m = f32x4.pmax(f32x4.pmax(m0, m1), f32x4.pmax(m2, m3));
    m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
    m = f32x4.pmax(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
    amax = v128.any_true(nan) ? NaN : f32x4.extract_lane(m, 0);
  }
  for (; k < kb; k += 4) amax = max(amax, abs(load<f32>(src + k)));
  return amax;
}

// Quantizes one row of K floats at src: scale = max|x| / qmax, code = clamp(round_ties_even(x / scale), -qmax,
// qmax) + offset (all codes = offset for a zero row), written at positions shift..shift+K-1 after `shift`
// zero pad bytes, in a plain row or a row block (`blocked`, a constant). Returns the scale.
@inline function quantize_row(dst: usize, src: usize, K: i32, qmax: f32, offset: i32, shift: i32, blocked: bool): f32 {
  const scale: f32 = row_absmax(src, K) / qmax;
  const n = <usize>K;
  const s = <usize>shift;
  for (let p: usize = 0; p < s; p++) store<u8>(code_at(dst, p, blocked), 0);
  if (scale == 0) {
    if (blocked) for (let k: usize = 0; k < n; k++) store<u8>(code_at(dst, k + s, true), <u8>offset);
    else memory.fill(dst + s, <u8>offset, n);
    return 0;
  }
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    // in a row block, 16 codes fill 4 whole groups once their first position is a multiple of 4
    const k0: usize = blocked ? min<usize>((4 - s) & 3, n) : 0;
    for (; k < k0; k++) store<i8>(code_at(dst, k + s, blocked), code1(load<f32>(src + (k << 2)), scale, qmax, offset));
    const sv = f32x4.splat(scale);
    const hi = f32x4.splat(qmax);
    const lo = f32x4.splat(-qmax);
    const magic = f32x4.splat(ROUND);
    const base = i32x4.splat(ROUND_BITS - offset);
    for (; k + 16 <= n; k += 16) {
      const p = src + (k << 2);
      const q0 = code4(v128.load(p), sv, lo, hi, magic, base);
      const q1 = code4(v128.load(p, 16), sv, lo, hi, magic, base);
      const q2 = code4(v128.load(p, 32), sv, lo, hi, magic, base);
      const q3 = code4(v128.load(p, 48), sv, lo, hi, magic, base);
      const v = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
      if (blocked) {
        const a = dst + ((k + s) << 2);
        v128.store32_lane(a, v, 0);
        v128.store32_lane(a, v, 1, 16);
        v128.store32_lane(a, v, 2, 32);
        v128.store32_lane(a, v, 3, 48);
      } else {
        v128.store(dst + k + s, v);
      }
    }
  }
  for (; k < n; k++) store<i8>(code_at(dst, k + s, blocked), code1(load<f32>(src + (k << 2)), scale, qmax, offset));
  return scale;
}

// q (M,K) int8 | scale (M) f32 | inp (M,K) f32: the q8 format above
export function quantize_rows_q8(q: usize, scale: usize, inp: usize, M: i32, K: i32): void {
  for (let m = 0; m < M; m++) {
    store<f32>(scale + (<usize>m << 2), quantize_row(q + <usize>m * <usize>K, inp + ((<usize>m * <usize>K) << 2), K, 127, 0, 0, false));
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
  if (ASC_FEATURE_SIMD) {
    forward_simd(out, scratch, inp, wq, wscale, wsum, bias, M, K, N);
    return;
  }
  const kb = <usize>K;
  const ob = <usize>N << 2;
  const ascale = scratch + <usize>M * kb;
  for (let m = 0; m < M; m++) {
    const a = scratch + <usize>m * kb;
    const as = quantize_row(a, inp + ((<usize>m * kb) << 2), K, 127, 0, 0, false);
    store<f32>(ascale + (<usize>m << 2), as);
    for (let n = 0; n < N; n++) {
      const w = wq + <usize>n * kb;
      let acc: i32 = 0;
      for (let k: usize = 0; k < kb; k++) acc += <i32>load<i8>(a + k) * <i32>load<i8>(w + k);
      q8_store1(out + <usize>m * ob + (<usize>n << 2), acc, 0, ascale + (<usize>m << 2), wscale, bias, n);
    }
  }
}

function forward_simd(out: usize, scratch: usize, inp: usize, wq: usize, wscale: usize, wsum: usize, bias: usize, M: i32, K: i32, N: i32): void {
  const kp = <usize>((K + 15) & ~15);
  const ascale = scratch + <usize>M * kp;
  const kb = <usize>K;
  const ob = <usize>N << 2;
  const qmax: f32 = ASC_FEATURE_RELAXED_SIMD ? 63 : 127;
  const offset: i32 = ASC_FEATURE_RELAXED_SIMD ? 64 : 0;
  const M8 = ASC_FEATURE_RELAXED_SIMD ? M & ~7 : 0; // rows in row blocks, taken in pairs of blocks
  const sb = (-K) & 3; // row blocks' pad
  const sd = (-K) & (<i32>STEP - 1); // plain rows' pad
  for (let m = 0; m < M; m++) {
    const src = inp + ((<usize>m * kb) << 2);
    const s = m < M8
      ? quantize_row(scratch + <usize>(m & ~3) * kp + (<usize>(m & 3) << 2), src, K, qmax, offset, sb, true)
      : quantize_row(scratch + <usize>m * kp, src, K, qmax, offset, sd, false);
    store<f32>(ascale + (<usize>m << 2), s);
  }
  const NB = max(4, (ROW_BLOCK_BYTES / max(K, 1)) & ~3);
  const big = <u64>N * <u64>kb > STREAM_BYTES;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const n1 = min(N, n0 + NB);
    if (big && M > 1) touch(wq + <usize>n0 * kb, <usize>(n1 - n0) * kb);
    let m = 0;
    if (ASC_FEATURE_RELAXED_SIMD) {
      for (; m < M8; m += 8) block_cols(out + <usize>m * ob, ob, scratch + <usize>m * kp, kp, wq, K, sb, ascale + (<usize>m << 2), wscale, wsum, bias, n0, n1);
    }
    for (; m + 2 <= M; m += 2) dot_cols(out + <usize>m * ob, ob, scratch + <usize>m * kp, kp, wq, K, sd, ascale + (<usize>m << 2), wscale, wsum, bias, n0, n1, 2);
    if (m < M) dot_cols(out + <usize>m * ob, ob, scratch + <usize>m * kp, kp, wq, K, sd, ascale + (<usize>m << 2), wscale, wsum, bias, n0, n1, 1);
  }
}

// --- shared by both tile forms ---

// acc + the dot products of one step of byte pairs (16 in the relaxed build, 8 widened to i16 in the
// baseline): i32 lane j gains the sum of its 4 (or 2) products of w and x.
@inline function q8_mac(acc: v128, w: v128, x: v128, ones: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(w, x), ones));
  return i32x4.add(acc, i32x4.dot_i16x8_s(w, x));
}

// a step of codes for q8_mac: 16 bytes (relaxed) or 8 bytes widened to i16 (baseline)
@inline function q8_load(p: usize): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? v128.load(p) : v128.load8x8_s(p);
}

// 64 * wsum[n..n+3], the relaxed path's zero-point correction (0 in the baseline)
@inline function q8_corr4(wsum: usize, n: i32): v128 {
  return ASC_FEATURE_RELAXED_SIMD ? i32x4.shl(v128.load(wsum + (<usize>n << 2)), 6) : i32x4.splat(0);
}

@inline function q8_corr1(wsum: usize, n: i32): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? load<i32>(wsum + (<usize>n << 2)) << 6 : 0;
}

// out[m, n..n+3] = f32(acc - corr) * ascale[m] * wscale[n..n+3] + bias[n..n+3], the reference's f32 order
// | o = &out[m, n] | as = &ascale[m] | ws, b = wscale, bias at n (b unused when there is no bias)
@inline function q8_store4(o: usize, acc: v128, corr: v128, as: usize, ws: v128, b: v128, bias: usize): void {
  const f = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(acc, corr)), v128.load32_splat(as)), ws);
  v128.store(o, bias ? f32x4.add(f, b) : f);
}

// out[m, n] = f32(acc - corr) * ascale[m] * wscale[n] + bias[n]
@inline function q8_store1(o: usize, acc: i32, corr: i32, as: usize, wscale: usize, bias: usize, n: i32): void {
  const f = <f32>(acc - corr) * load<f32>(as) * load<f32>(wscale + (<usize>n << 2));
  store<f32>(o, bias ? f + load<f32>(bias + (<usize>n << 2)) : f);
}

// --- dot tiles: MR plain rows of codes x columns n0..n1 ---

// MR rows (MR in {1, 2}) at a (stride kp) against weight rows n0..n1, 4 at a time then one
@inline function dot_cols(o: usize, ob: usize, a: usize, kp: usize, wq: usize, K: i32, sd: i32, as: usize,
  wscale: usize, wsum: usize, bias: usize, n0: i32, n1: i32, MR: i32): void {
  let n = n0;
  for (; n + 4 <= n1; n += 4) dot_tile(o, ob, a, kp, wq, K, sd, as, wscale, wsum, bias, n, MR, 4);
  for (; n < n1; n++) dot_tile(o, ob, a, kp, wq, K, sd, as, wscale, wsum, bias, n, MR, 1);
}

// One MR x NR tile (NR in {1, 4}) at columns n..n+NR: steps of STEP bytes over the K + sd padded codes,
// weight rows read from sd bytes before their start.
@inline function dot_tile(o: usize, ob: usize, a: usize, kp: usize, wq: usize, K: i32, sd: i32, as: usize,
  wscale: usize, wsum: usize, bias: usize, n: i32, MR: i32, NR: i32): void {
  const kb = <usize>K;
  const kr = kb + <usize>sd;
  const a1 = a + kp;
  const w0 = wq + <usize>n * kb - <usize>sd;
  const w1 = w0 + kb;
  const w2 = w1 + kb;
  const w3 = w2 + kb;
  const ones = i16x8.splat(1);
  let c00 = i32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  for (let k: usize = 0; k < kr; k += STEP) {
    const x0 = q8_load(a + k);
    let x1 = x0;
    if (MR == 2) x1 = q8_load(a1 + k);
    let y = q8_load(w0 + k);
    c00 = q8_mac(c00, y, x0, ones);
    if (MR == 2) c10 = q8_mac(c10, y, x1, ones);
    if (NR == 4) {
      y = q8_load(w1 + k);
      c01 = q8_mac(c01, y, x0, ones);
      if (MR == 2) c11 = q8_mac(c11, y, x1, ones);
      y = q8_load(w2 + k);
      c02 = q8_mac(c02, y, x0, ones);
      if (MR == 2) c12 = q8_mac(c12, y, x1, ones);
      y = q8_load(w3 + k);
      c03 = q8_mac(c03, y, x0, ones);
      if (MR == 2) c13 = q8_mac(c13, y, x1, ones);
    }
  }
  const on = o + (<usize>n << 2);
  if (NR == 4) {
    const corr = q8_corr4(wsum, n);
    const ws = v128.load(wscale + (<usize>n << 2));
    const b = bias ? v128.load(bias + (<usize>n << 2)) : ws;
    q8_store4(on, hsum4<i32>(c00, c01, c02, c03), corr, as, ws, b, bias);
    if (MR == 2) q8_store4(on + ob, hsum4<i32>(c10, c11, c12, c13), corr, as + 4, ws, b, bias);
  } else {
    const corr = q8_corr1(wsum, n);
    q8_store1(on, hsum<i32>(c00), corr, as, wscale, bias, n);
    if (MR == 2) q8_store1(on + ob, hsum<i32>(c10), corr, as + 4, wscale, bias, n);
  }
}

// --- row-block tiles (relaxed build): two blocks of 4 rows x columns n0..n1 ---
// (A single block would load a weight word per 4 dots, not per 8: rows past the last pair of blocks take
// the dot tiles, which load 6 vectors per 8 dots as a pair of blocks does.)

// the 8 rows of blocks at a and a + 4*kp against weight rows n0..n1, 4 at a time then one. Not inlined: the
// function with the dot tiles' loops stays small (V8 allocates registers per function).
function block_cols(o: usize, ob: usize, a: usize, kp: usize, wq: usize, K: i32, sb: i32, as: usize,
  wscale: usize, wsum: usize, bias: usize, n0: i32, n1: i32): void {
  let n = n0;
  for (; n + 4 <= n1; n += 4) block_tile(o, ob, a, kp, wq, K, sb, as, wscale, wsum, bias, n, 4);
  for (; n < n1; n++) block_tile(o, ob, a, kp, wq, K, sb, as, wscale, wsum, bias, n, 1);
}

// One 8 x NC tile (NC in {1, 4}): per group of 4 codes, one vector of each block (4 rows) and one splatted
// weight word per column. Accumulator c_bj holds column n+j of block b's 4 rows.
@inline function block_tile(o: usize, ob: usize, a: usize, kp: usize, wq: usize, K: i32, sb: i32, as: usize,
  wscale: usize, wsum: usize, bias: usize, n: i32, NC: i32): void {
  const kb = <usize>K;
  const a1 = a + (kp << 2);
  const groups = (kb + <usize>sb) >> 2;
  const ones = i16x8.splat(1);
  let c00 = i32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  let w = wq + <usize>n * kb - <usize>sb;
  let ap: usize = 0;
  for (let g: usize = 0; g < groups; g++, ap += 16, w += 4) {
    const x0 = v128.load(a + ap);
    const x1 = v128.load(a1 + ap);
    let y = v128.load32_splat(w);
    c00 = q8_mac(c00, y, x0, ones);
    c10 = q8_mac(c10, y, x1, ones);
    if (NC == 4) {
      y = v128.load32_splat(w + kb);
      c01 = q8_mac(c01, y, x0, ones);
      c11 = q8_mac(c11, y, x1, ones);
      y = v128.load32_splat(w + 2 * kb);
      c02 = q8_mac(c02, y, x0, ones);
      c12 = q8_mac(c12, y, x1, ones);
      y = v128.load32_splat(w + 3 * kb);
      c03 = q8_mac(c03, y, x0, ones);
      c13 = q8_mac(c13, y, x1, ones);
    }
  }
  const on = o + (<usize>n << 2);
  if (NC == 4) {
    const corr = q8_corr4(wsum, n);
    const ws = v128.load(wscale + (<usize>n << 2));
    const b = bias ? v128.load(bias + (<usize>n << 2)) : ws;
    block_store4(on, ob, c00, c01, c02, c03, corr, as, ws, b, bias);
    block_store4(on + (ob << 2), ob, c10, c11, c12, c13, corr, as + 16, ws, b, bias);
  } else {
    block_store1(on, ob, c00, q8_corr1(wsum, n), as, wscale, bias, n);
    block_store1(on + (ob << 2), ob, c10, q8_corr1(wsum, n), as + 16, wscale, bias, n);
  }
}

// The 4 rows x 4 columns of one block: c_j holds column j's rows, transposed into rows (8 shuffles).
@inline function block_store4(o: usize, ob: usize, c0: v128, c1: v128, c2: v128, c3: v128, corr: v128, as: usize,
  ws: v128, b: v128, bias: usize): void {
  const lo01 = v128.shuffle<i32>(c0, c1, 0, 4, 1, 5);
  const hi01 = v128.shuffle<i32>(c0, c1, 2, 6, 3, 7);
  const lo23 = v128.shuffle<i32>(c2, c3, 0, 4, 1, 5);
  const hi23 = v128.shuffle<i32>(c2, c3, 2, 6, 3, 7);
  q8_store4(o, v128.shuffle<i32>(lo01, lo23, 0, 1, 4, 5), corr, as, ws, b, bias);
  q8_store4(o + ob, v128.shuffle<i32>(lo01, lo23, 2, 3, 6, 7), corr, as + 4, ws, b, bias);
  q8_store4(o + 2 * ob, v128.shuffle<i32>(hi01, hi23, 0, 1, 4, 5), corr, as + 8, ws, b, bias);
  q8_store4(o + 3 * ob, v128.shuffle<i32>(hi01, hi23, 2, 3, 6, 7), corr, as + 12, ws, b, bias);
}

// One column of one block: lane i of c is row i. f32(c - corr) * ascale[m..m+3] * wscale[n] + bias[n].
@inline function block_store1(o: usize, ob: usize, c: v128, corr: i32, as: usize, wscale: usize, bias: usize, n: i32): void {
  let f = f32x4.mul(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(c, i32x4.splat(corr))), v128.load(as)), v128.load32_splat(wscale + (<usize>n << 2)));
  if (bias) f = f32x4.add(f, v128.load32_splat(bias + (<usize>n << 2)));
  v128.store32_lane(o, f, 0);
  v128.store32_lane(o + ob, f, 1);
  v128.store32_lane(o + 2 * ob, f, 2);
  v128.store32_lane(o + 3 * ob, f, 3);
}
