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
import { hsum, madd } from './simd';
import { axpy_rows, dot_rows } from './tiles';

const MBLOCK = 64; // rows of inp/dout per dweight pass, so their strips stay in L1 (16..256 measured within noise)

// Rows of weight per forward block: about 128 KiB, a multiple of 4 so only the last block has an N tail.
@inline function weight_block_rows(K: i32): i32 {
  return max(4, (32768 / max(K, 1)) & ~3);
}

// ---------------------------------------------------------------------------------------------------
// forward

// out (M,N) = inp (M,K) @ weight (N,K)^T + bias (N) | bias 0 = none
export function matmul_forward(out: usize, inp: usize, weight: usize, bias: usize, M: i32, K: i32, N: i32): void {
  if (ASC_FEATURE_SIMD) {
    forward_simd(out, inp, weight, bias, M, K, N);
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

function forward_simd(out: usize, inp: usize, weight: usize, bias: usize, M: i32, K: i32, N: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const NB = weight_block_rows(K);
  const big = <u64>N * <u64>kb > STREAM_BYTES;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const n1 = min(N, n0 + NB);
    const w0 = weight + <usize>n0 * kb;
    const b0 = bias ? bias + (<usize>n0 << 2) : 0;
    if (big && M > 1) touch(w0, <usize>(n1 - n0) * kb);
    let m = 0;
    for (; m + 2 <= M; m += 2) dot_rows(out + <usize>m * ob + (<usize>n0 << 2), ob, inp + <usize>m * kb, kb, w0, kb, n1 - n0, K, 1, b0, 2);
    if (m < M) {
      // one row (M = 1 when decoding one sentence): one weight row at a time, a single sequential stream
      const a = inp + <usize>m * kb;
      const o = out + <usize>m * ob;
      for (let n = n0; n < n1; n++) store<f32>(o + (<usize>n << 2), row_dot(a, weight + <usize>n * kb, K) + (bias ? load<f32>(bias + (<usize>n << 2)) : 0));
    }
  }
}

// dot(a, w) over K floats with 4 independent accumulators (FMA latency) and one stream per operand.
@inline function row_dot(a: usize, w: usize, K: i32): f32 {
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
  let s = hsum<f32>(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)));
  for (; k < kb; k += 4) s += load<f32>(a + k) * load<f32>(w + k);
  return s;
}

// ---------------------------------------------------------------------------------------------------
// backward of: out = inp @ weight^T + bias
//   dinp (M,K) += dout @ weight (dinp 0 = skip) | dweight (N,K) += dout^T @ inp | dbias (N) += colsum(dout) (0 = skip)
export function matmul_backward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize, weight: usize, M: i32, K: i32, N: i32): void {
  if (dbias) bias_grad(dbias, dout, M, N);
  weight_grad(dweight, dout, inp, M, K, N);
  if (dinp) input_grad(dinp, dout, weight, M, K, N);
}

// dbias (N) += sum over m of dout (M,N). Row-wise, in chunks of 1024 columns (4 KiB of dbias stays in L1)
// and 4 rows at a time: dout streams once, in order (walking down columns would touch a new line per value).
function bias_grad(dbias: usize, dout: usize, M: i32, N: i32): void {
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
function weight_grad(dweight: usize, dout: usize, inp: usize, M: i32, K: i32, N: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const NB = K <= 512 ? max(4, (65536 / max(K, 1)) & ~3) : N;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const n1 = min(N, n0 + NB);
    for (let m0 = 0; m0 < M; m0 += MBLOCK) {
      const rows = min(M, m0 + MBLOCK) - m0;
      const d = dout + <usize>m0 * ob;
      const x = inp + <usize>m0 * kb;
      let n = n0;
      // 4 rows of dweight x 8 columns: dweight[n+i, k..k+8] += sum_m dout[m, n+i] * inp[m, k..k+8]
      if (ASC_FEATURE_SIMD) {
        for (; n + 4 <= n1; n += 4) axpy_rows(dweight + <usize>n * kb, kb, d + (<usize>n << 2), 4, ob, 0, x, kb, rows, K, true, 4, 2);
      }
      for (; n < n1; n++) axpy_rows(dweight + <usize>n * kb, kb, d + (<usize>n << 2), 4, ob, 0, x, kb, rows, K, true, 1, 2);
    }
  }
}

// dinp (M,K) += dout (M,N) @ weight (N,K), in blocks of weight rows that stay in L2: tiles of 2 rows of dinp
// x 16 columns, dinp[m+i, k..k+16] += sum_n dout[m+i, n] * weight[n, k..k+16]
function input_grad(dinp: usize, dout: usize, weight: usize, M: i32, K: i32, N: i32): void {
  const kb = <usize>K << 2;
  const ob = <usize>N << 2;
  const NB = weight_block_rows(K);
  for (let n0 = 0; n0 < N; n0 += NB) {
    const rows = min(N, n0 + NB) - n0;
    const w = weight + <usize>n0 * kb;
    let m = 0;
    if (ASC_FEATURE_SIMD) {
      for (; m + 2 <= M; m += 2) axpy_rows(dinp + <usize>m * kb, kb, dout + <usize>m * ob + (<usize>n0 << 2), ob, 4, 0, w, kb, rows, K, true, 2, 4);
    }
    for (; m < M; m++) axpy_rows(dinp + <usize>m * kb, kb, dout + <usize>m * ob + (<usize>n0 << 2), ob, 4, 0, w, kb, rows, K, true, 1, 4);
  }
}
