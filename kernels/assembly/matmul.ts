// The linear layers, after llm.c's matmul_forward/backward: out = inp @ weight^T + bias, with weights
// stored per output feature (weight (N,K): row n holds the K weights of output n).
//
// Forward: a forward output is the dot product of two contiguous rows, so the SIMD path runs
// register-blocked dot-product tiles of 2 input rows x 4 weight rows = 8 f32x4 accumulators over K,
// reduced across lanes once per tile. Why 2x4: V8 on x64 allocates 15 xmm registers and keeps a
// tile's loaded rows live, so 8 accumulators + 6 rows fit while 4x3 or 4x4 tiles spill and run at half
// speed (measured). Weights are walked in blocks of about 128 KiB (NB rows) that stay in L2 while every
// pair of input rows passes over them; weights bigger than L2 (over 1 MiB: they come from L3 or DRAM
// on every call) are first touched block by block (prefetch.ts). A single row (M = 1, one sentence
// decoding) runs one weight row at a time with 4 accumulators: one sequential stream, the fastest from DRAM.
//
// Backward: both products are broadcast-form tiles (splat one scalar, multiply-add a run of 8 or 16
// contiguous floats), so they read rows in order and need no lane sums:
//   dweight (N,K) += dout^T @ inp: tiles of 4 rows of dweight x 8 columns, summed over a block of m;
//   dinp (M,K) += dout @ weight:  tiles of 2 rows of dinp x 16 columns, summed over a block of n;
//   dbias (N) += colsum(dout):    row by row, 4 rows at a time.
// Strides that are multiples of 4 KiB (K or N = 1024, 2048) alias in the 8-way L1 and run at about half
// speed in backward (20-25 vs 35-50 GFLOP/s measured): fixing that needs packed copies, hence scratch.
// The scalar flavour runs the plain loops (it is the oracle build, and the fallback with SIMD off).

import { STREAM_BYTES, touch } from './prefetch';

const MBLOCK = 64; // rows of inp/dout per dweight pass, so their strips stay in L1 (16..256 measured within noise)

// a * b + c: fused where relaxed SIMD allows, plain otherwise (both are within TOL.matmul).
@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// [sum(a), sum(b), sum(c), sum(d)]
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

@inline function hsum(v: v128): f32 {
  const t = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1);
}

// Rows of weight per forward block: about 128 KiB, a multiple of 4 so only the last block has an N tail.
@inline function weightBlockRows(K: i32): i32 {
  return max(4, (32768 / max(K, 1)) & ~3);
}

// ---------------------------------------------------------------------------------------------------
// forward

// out (M,N) = inp (M,K) @ weight (N,K)^T + bias (N) | bias 0 = none
export function matmul_forward(out: usize, inp: usize, weight: usize, bias: usize, M: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) {
    forwardSimd(out, inp, weight, bias, M, K, N);
    return;
  }
  const kb = <usize>K << 2;
  for (let m = 0; m < M; m++) {
    const a = inp + <usize>m * kb;
    const o = out + ((<usize>m * <usize>N) << 2);
    for (let n = 0; n < N; n++) {
      const w = weight + <usize>n * kb;
      let s: f32 = bias ? load<f32>(bias + (<usize>n << 2)) : 0;
      for (let k: usize = 0; k < kb; k += 4) s += load<f32>(a + k) * load<f32>(w + k);
      store<f32>(o + (<usize>n << 2), s);
    }
  }
}

function forwardSimd(out: usize, inp: usize, weight: usize, bias: usize, M: i32, K: i32, N: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const NB = weightBlockRows(K);
  const big = <u64>N * <u64>kb > STREAM_BYTES;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const n1 = min(N, n0 + NB);
    const n4 = n0 + ((n1 - n0) & ~3);
    const w0 = weight + <usize>n0 * kb;
    if (big && M > 1) touch(w0, <usize>(n1 - n0) * kb);
    let m = 0;
    for (; m + 2 <= M; m += 2) {
      const a = inp + <usize>m * kb;
      const o = out + <usize>m * ob;
      let n = n0;
      for (; n < n4; n += 4) forwardTile(o + (<usize>n << 2), a, weight + <usize>n * kb, bias ? bias + (<usize>n << 2) : 0, K, N, 4);
      for (; n < n1; n++) forwardTile(o + (<usize>n << 2), a, weight + <usize>n * kb, bias ? bias + (<usize>n << 2) : 0, K, N, 1);
    }
    if (m < M) {
      // one row (M = 1 when decoding one sentence): one weight row at a time, a single sequential stream
      const a = inp + <usize>m * kb;
      const o = out + <usize>m * ob;
      for (let n = n0; n < n1; n++) store<f32>(o + (<usize>n << 2), rowDot(a, weight + <usize>n * kb, K) + (bias ? load<f32>(bias + (<usize>n << 2)) : 0));
    }
  }
}

// dot(a, w) over K floats with 4 independent accumulators (FMA latency) and one stream per operand.
@inline function rowDot(a: usize, w: usize, K: i32): f32 {
  const kb = <usize>K << 2;
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  let k: usize = 0;
  for (; k + 64 <= kb; k += 64) {
    c0 = madd(v128.load(a + k), v128.load(w + k), c0);
    c1 = madd(v128.load(a + k, 16), v128.load(w + k, 16), c1);
    c2 = madd(v128.load(a + k, 32), v128.load(w + k, 32), c2);
    c3 = madd(v128.load(a + k, 48), v128.load(w + k, 48), c3);
  }
  for (; k + 16 <= kb; k += 16) c0 = madd(v128.load(a + k), v128.load(w + k), c0);
  let s = hsum(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; k < kb; k += 4) s += load<f32>(a + k) * load<f32>(w + k);
  return s;
}

// One 2 x NR tile of out (NR in {1,4}, a constant: each inlined copy keeps only its own accumulators)
// | out rows at o, o + N*4 | inp rows at a, a + K*4 | weight rows at w + j*K*4 | bias at bias (0 = none)
@inline function forwardTile(o: usize, a: usize, w: usize, bias: usize, K: i32, N: i32, NR: i32): void {
  const kb = <usize>K << 2;
  const kv = <usize>(K & ~3) << 2;
  const a1 = a + kb;
  const w1 = w + kb;
  const w2 = w1 + kb;
  const w3 = w2 + kb;
  let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  for (let k: usize = 0; k < kv; k += 16) {
    const x0 = v128.load(a + k);
    const x1 = v128.load(a1 + k);
    let y = v128.load(w + k);
    c00 = madd(x0, y, c00);
    c10 = madd(x1, y, c10);
    if (NR == 4) {
      y = v128.load(w1 + k);
      c01 = madd(x0, y, c01);
      c11 = madd(x1, y, c11);
      y = v128.load(w2 + k);
      c02 = madd(x0, y, c02);
      c12 = madd(x1, y, c12);
      y = v128.load(w3 + k);
      c03 = madd(x0, y, c03);
      c13 = madd(x1, y, c13);
    }
  }
  if (NR == 4) {
    let r0 = hsum4(c00, c01, c02, c03);
    let r1 = hsum4(c10, c11, c12, c13);
    for (let k = kv; k < kb; k += 4) {
      let y = f32x4.splat(load<f32>(w + k));
      y = f32x4.replace_lane(y, 1, load<f32>(w1 + k));
      y = f32x4.replace_lane(y, 2, load<f32>(w2 + k));
      y = f32x4.replace_lane(y, 3, load<f32>(w3 + k));
      r0 = f32x4.add(r0, f32x4.mul(f32x4.splat(load<f32>(a + k)), y));
      r1 = f32x4.add(r1, f32x4.mul(f32x4.splat(load<f32>(a1 + k)), y));
    }
    if (bias) {
      const b = v128.load(bias);
      r0 = f32x4.add(r0, b);
      r1 = f32x4.add(r1, b);
    }
    v128.store(o, r0);
    v128.store(o + (<usize>N << 2), r1);
  } else {
    let s0 = hsum(c00);
    let s1 = hsum(c10);
    for (let k = kv; k < kb; k += 4) {
      const y = load<f32>(w + k);
      s0 += load<f32>(a + k) * y;
      s1 += load<f32>(a1 + k) * y;
    }
    if (bias) {
      const b = load<f32>(bias);
      s0 += b;
      s1 += b;
    }
    store<f32>(o, s0);
    store<f32>(o + (<usize>N << 2), s1);
  }
}

// ---------------------------------------------------------------------------------------------------
// backward of: out = inp @ weight^T + bias
//   dinp (M,K) += dout @ weight (dinp 0 = skip) | dweight (N,K) += dout^T @ inp | dbias (N) += colsum(dout) (0 = skip)
export function matmul_backward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize, weight: usize, M: i32, K: i32, N: i32): void {
  if (dbias) biasGrad(dbias, dout, M, N);
  weightGrad(dweight, dout, inp, M, K, N);
  if (dinp) inputGrad(dinp, dout, weight, M, K, N);
}

// dbias (N) += sum over m of dout (M,N). Row-wise, in chunks of 1024 columns (4 KiB of dbias stays in L1)
// and 4 rows at a time: dout streams once, in order (walking down columns would touch a new line per value).
function biasGrad(dbias: usize, dout: usize, M: i32, N: i32): void {
  const ob = <usize>N << 2;
  for (let c0: usize = 0; c0 < ob; c0 += 4096) {
    const c1 = min(ob, c0 + 4096);
    let m = 0;
    if (ASC_FEATURE_SIMD) {
      const c4 = c0 + ((c1 - c0) & ~15);
      for (; m + 4 <= M; m += 4) {
        const d0 = dout + <usize>m * ob;
        const d1 = d0 + ob;
        const d2 = d1 + ob;
        const d3 = d2 + ob;
        let n = c0;
        for (; n < c4; n += 16) {
          const s = f32x4.add(f32x4.add(v128.load(d0 + n), v128.load(d1 + n)), f32x4.add(v128.load(d2 + n), v128.load(d3 + n)));
          v128.store(dbias + n, f32x4.add(v128.load(dbias + n), s));
        }
        for (; n < c1; n += 4) store<f32>(dbias + n, load<f32>(dbias + n) + ((load<f32>(d0 + n) + load<f32>(d1 + n)) + (load<f32>(d2 + n) + load<f32>(d3 + n))));
      }
    }
    for (; m < M; m++) {
      const d = dout + <usize>m * ob;
      for (let n = c0; n < c1; n += 4) store<f32>(dbias + n, load<f32>(dbias + n) + load<f32>(d + n));
    }
  }
}

// dweight (N,K) += dout (M,N)^T @ inp (M,K). With K <= 512, in column blocks of NB dweight rows (256 KiB,
// stays in L2 while every block of MBLOCK input rows passes over it; a vocabulary projection's dweight,
// 4-64 MiB, otherwise goes to L3 once per row block: x1.08-1.19 measured). With larger K the input strip
// re-read per block costs more than it saves. Each element sums m in the same order either way.
function weightGrad(dweight: usize, dout: usize, inp: usize, M: i32, K: i32, N: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const NB = K <= 512 ? max(4, (65536 / max(K, 1)) & ~3) : N;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const n1 = min(N, n0 + NB);
    for (let m0 = 0; m0 < M; m0 += MBLOCK) {
      const m1 = min(M, m0 + MBLOCK);
      const d = dout + <usize>m0 * ob;
      const x = inp + <usize>m0 * kb;
      const rows = m1 - m0;
      let n = n0;
      if (ASC_FEATURE_SIMD) {
        for (; n + 4 <= n1; n += 4) weightGradRows(dweight + <usize>n * kb, d + (<usize>n << 2), x, rows, K, N, 4);
      }
      for (; n < n1; n++) weightGradRows(dweight + <usize>n * kb, d + (<usize>n << 2), x, rows, K, N, 1);
    }
  }
}

// NR rows of dweight (row stride K) += sum over `rows` rows m of dout[m, n + i] * inp[m, :]
// | d = &dout[m0, n] | x = &inp[m0, 0]
@inline function weightGradRows(dw: usize, d: usize, x: usize, rows: i32, K: i32, N: i32, NR: i32): void {
  const kb = <usize>K << 2;
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 32 <= kb; k += 32) weightGradTile(dw + k, d, x + k, rows, K, N, NR, 2);
    for (; k + 16 <= kb; k += 16) weightGradTile(dw + k, d, x + k, rows, K, N, NR, 1);
  }
  for (; k < kb; k += 4) {
    for (let i = 0; i < NR; i++) {
      const p = dw + <usize>i * kb + k;
      let s = load<f32>(p);
      for (let m = 0; m < rows; m++) s += load<f32>(d + ((<usize>m * <usize>N + <usize>i) << 2)) * load<f32>(x + <usize>m * kb + k);
      store<f32>(p, s);
    }
  }
}

// dweight tile NR x 4V (NR in {1,4}, V in {1,2}) at dw += sum_m splat(dout[m, n+i]) * inp[m, k..k+4V]
@inline function weightGradTile(dw: usize, d: usize, x: usize, rows: i32, K: i32, N: i32, NR: i32, V: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const dw1 = dw + kb;
  const dw2 = dw1 + kb;
  const dw3 = dw2 + kb;
  let c00 = v128.load(dw), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (V == 2) c01 = v128.load(dw, 16);
  if (NR == 4) {
    c10 = v128.load(dw1);
    c20 = v128.load(dw2);
    c30 = v128.load(dw3);
    if (V == 2) {
      c11 = v128.load(dw1, 16);
      c21 = v128.load(dw2, 16);
      c31 = v128.load(dw3, 16);
    }
  }
  let dp = d;
  let xp = x;
  for (let m = 0; m < rows; m++) {
    const y0 = v128.load(xp);
    let y1 = y0;
    if (V == 2) y1 = v128.load(xp, 16);
    let s = v128.load32_splat(dp);
    c00 = madd(s, y0, c00);
    if (V == 2) c01 = madd(s, y1, c01);
    if (NR == 4) {
      s = v128.load32_splat(dp, 4);
      c10 = madd(s, y0, c10);
      if (V == 2) c11 = madd(s, y1, c11);
      s = v128.load32_splat(dp, 8);
      c20 = madd(s, y0, c20);
      if (V == 2) c21 = madd(s, y1, c21);
      s = v128.load32_splat(dp, 12);
      c30 = madd(s, y0, c30);
      if (V == 2) c31 = madd(s, y1, c31);
    }
    dp += ob;
    xp += kb;
  }
  v128.store(dw, c00);
  if (V == 2) v128.store(dw, c01, 16);
  if (NR == 4) {
    v128.store(dw1, c10);
    v128.store(dw2, c20);
    v128.store(dw3, c30);
    if (V == 2) {
      v128.store(dw1, c11, 16);
      v128.store(dw2, c21, 16);
      v128.store(dw3, c31, 16);
    }
  }
}

// dinp (M,K) += dout (M,N) @ weight (N,K), in blocks of weight rows that stay in L2
function inputGrad(dinp: usize, dout: usize, weight: usize, M: i32, K: i32, N: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const NB = weightBlockRows(K);
  for (let n0 = 0; n0 < N; n0 += NB) {
    const rows = min(N, n0 + NB) - n0;
    const w = weight + <usize>n0 * kb;
    let m = 0;
    if (ASC_FEATURE_SIMD) {
      for (; m + 2 <= M; m += 2) inputGradRows(dinp + <usize>m * kb, dout + <usize>m * ob + (<usize>n0 << 2), w, rows, K, N, 2);
    }
    for (; m < M; m++) inputGradRows(dinp + <usize>m * kb, dout + <usize>m * ob + (<usize>n0 << 2), w, rows, K, N, 1);
  }
}

// MR rows of dinp (row stride K) += sum over `rows` rows n of dout[m + i, n] * weight[n, :]
// | d = &dout[m, n0] | w = &weight[n0, 0]
@inline function inputGradRows(di: usize, d: usize, w: usize, rows: i32, K: i32, N: i32, MR: i32): void {
  const kb = <usize>K << 2;
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; k + 64 <= kb; k += 64) inputGradTile(di + k, d, w + k, rows, K, N, MR, 4);
    for (; k + 16 <= kb; k += 16) inputGradTile(di + k, d, w + k, rows, K, N, MR, 1);
  }
  for (; k < kb; k += 4) {
    for (let i = 0; i < MR; i++) {
      const p = di + <usize>i * kb + k;
      const dr = d + <usize>i * (<usize>N << 2);
      let s = load<f32>(p);
      for (let n = 0; n < rows; n++) s += load<f32>(dr + (<usize>n << 2)) * load<f32>(w + <usize>n * kb + k);
      store<f32>(p, s);
    }
  }
}

// dinp tile MR x 4V (MR in {1,2}, V in {1,4}) at di += sum_n splat(dout[m+i, n]) * weight[n, k..k+4V]
@inline function inputGradTile(di: usize, d: usize, w: usize, rows: i32, K: i32, N: i32, MR: i32, V: i32): void {
  const kb = <usize>K << 2;
  const di1 = di + kb;
  let c00 = v128.load(di), c01 = c00, c02 = c00, c03 = c00;
  let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  if (V == 4) {
    c01 = v128.load(di, 16);
    c02 = v128.load(di, 32);
    c03 = v128.load(di, 48);
  }
  if (MR == 2) {
    c10 = v128.load(di1);
    if (V == 4) {
      c11 = v128.load(di1, 16);
      c12 = v128.load(di1, 32);
      c13 = v128.load(di1, 48);
    }
  }
  let d0 = d;
  let d1 = d + (<usize>N << 2);
  let wp = w;
  const end = d + (<usize>rows << 2);
  for (; d0 < end; d0 += 4) {
    const s0 = v128.load32_splat(d0);
    let s1 = s0;
    if (MR == 2) {
      s1 = v128.load32_splat(d1);
      d1 += 4;
    }
    let y = v128.load(wp);
    c00 = madd(s0, y, c00);
    if (MR == 2) c10 = madd(s1, y, c10);
    if (V == 4) {
      y = v128.load(wp, 16);
      c01 = madd(s0, y, c01);
      if (MR == 2) c11 = madd(s1, y, c11);
      y = v128.load(wp, 32);
      c02 = madd(s0, y, c02);
      if (MR == 2) c12 = madd(s1, y, c12);
      y = v128.load(wp, 48);
      c03 = madd(s0, y, c03);
      if (MR == 2) c13 = madd(s1, y, c13);
    }
    wp += kb;
  }
  v128.store(di, c00);
  if (V == 4) {
    v128.store(di, c01, 16);
    v128.store(di, c02, 32);
    v128.store(di, c03, 48);
  }
  if (MR == 2) {
    v128.store(di1, c10);
    if (V == 4) {
      v128.store(di1, c11, 16);
      v128.store(di1, c12, 32);
      v128.store(di1, c13, 48);
    }
  }
}
