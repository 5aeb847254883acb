// Row passes shared by the softmax, cross-entropy, R-Drop and embedding kernels: max, exp-sum, scale, top-k
// and dequantization over one row. Not re-exported by index.ts (helpers, not kernels). Every pass has a
// SIMD main loop and a shared scalar tail, so the scalar build and odd sizes agree.
import { exp_f32, exp_v128, exp_v128_nonpos, hsum_f64, promote_high } from './simd';

// out (n) = exp(inp (n))
export function exp_row(out: usize, inp: usize, n: i32): void {
  const N = <usize>n;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= N; i += 4) v128.store(out + (i << 2), exp_v128(v128.load(inp + (i << 2))));
  }
  for (; i < N; i++) store<f32>(out + (i << 2), exp_f32(load<f32>(inp + (i << 2))));
}

// max over p (n); -inf when n == 0
export function row_max(p: usize, n: i32): f32 {
  const N = <usize>n;
  let m: f32 = <f32>-Infinity;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    if (N >= 4) {
      let vm = v128.load(p);
      for (i = 4; i + 4 <= N; i += 4) vm = f32x4.pmax(vm, v128.load(p + (i << 2)));
      m = max(max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
    }
  }
  for (; i < N; i++) m = max(m, load<f32>(p + (i << 2)));
  return m;
}

// sum of p (n), accumulated in f64 (exact per term; used for the label-smoothing term)
export function row_sum_f64(p: usize, n: i32): f64 {
  const N = <usize>n;
  let s: f64 = 0;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    for (; i + 4 <= N; i += 4) {
      const x = v128.load(p + (i << 2));
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(x));
      hi = f64x2.add(hi, promote_high(x));
    }
    s = hsum_f64(lo, hi);
  }
  for (; i < N; i++) s += <f64>load<f32>(p + (i << 2));
  return s;
}

// dst (n) = exp(src (n) - m); returns the sum, accumulated in f64. dst may equal src.
export function row_exp_sum(dst: usize, src: usize, n: i32, m: f32): f64 {
  return exp_sum(dst, src, n, m, true);
}

// max + log sum exp(p - max) over p (n), the sum in f64; nothing stored
export function row_lse(p: usize, n: i32): f32 {
  const m = row_max(p, n);
  return <f32>(<f64>m + Math.log(exp_sum(0, p, n, m, false)));
}

// log sum exp(p (n) - m) for m >= max p; nothing stored. The search step's pass over V ~ 8000 logits, so
// the cheaper loop of exp_sum (see there).
export function row_log_exp_sum(p: usize, n: i32, m: f32): f64 {
  return Math.log(exp_sum(0, p, n, m, false, true));
}

// sum of exp(src - m), storing each term in dst when `keep`; accumulated in f64. `nonpos` promises
// src - m <= 0 and nothing kept: then exp_v128_nonpos (9e-8 relative error, the order of exp_v128's), and
// 16 terms summed in f32 (4 independent exps in flight) before each f64 accumulation. Both flags are
// constants: inlining folds the branches away.
@inline function exp_sum(dst: usize, src: usize, n: i32, m: f32, keep: bool, nonpos: bool = false): f64 {
  const N = <usize>n;
  let s: f64 = 0;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m);
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    while (i + 4 <= N) {
      let e: v128;
      if (nonpos && !keep && i + 16 <= N) {
        const q = src + (i << 2);
        const e0 = exp_v128_nonpos(f32x4.sub(v128.load(q), vm));
        const e1 = exp_v128_nonpos(f32x4.sub(v128.load(q, 16), vm));
        const e2 = exp_v128_nonpos(f32x4.sub(v128.load(q, 32), vm));
        const e3 = exp_v128_nonpos(f32x4.sub(v128.load(q, 48), vm));
        e = f32x4.add(f32x4.add(e0, e1), f32x4.add(e2, e3));
        i += 16;
      } else {
        const x = f32x4.sub(v128.load(src + (i << 2)), vm);
        e = nonpos ? exp_v128_nonpos(x) : exp_v128(x);
        if (keep) v128.store(dst + (i << 2), e);
        i += 4;
      }
      lo = f64x2.add(lo, f64x2.promote_low_f32x4(e));
      hi = f64x2.add(hi, promote_high(e));
    }
    s = hsum_f64(lo, hi);
  }
  for (; i < N; i++) {
    const e = exp_f32(load<f32>(src + (i << 2)) - m);
    if (keep) store<f32>(dst + (i << 2), e);
    s += <f64>e;
  }
  return s;
}

// p (n) *= s
export function row_scale(p: usize, n: i32, s: f32): void {
  const N = <usize>n;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (; i + 4 <= N; i += 4) v128.store(p + (i << 2), f32x4.mul(v128.load(p + (i << 2)), vs));
  }
  for (; i < N; i++) store<f32>(p + (i << 2), load<f32>(p + (i << 2)) * s);
}

// The k largest of p (n), best first, ties to the lower index: indices into idx (k) i32, values into
// val (k) f32. Returns how many were written, min(n, k). One pass: an element enters only when it beats
// the k-th best so far, and the SIMD loop skips 16 at a time while none does (none is NaN, then: a NaN
// lane takes the scalar path, which treats it as the scalar build does).
export function row_topk(idx: usize, val: usize, p: usize, n: i32, k: i32): i32 {
  const N = <usize>n;
  let cnt: i32 = 0;
  let i: usize = 0;
  for (; i < N && cnt < k; i++) cnt = topk_insert(idx, val, cnt, k, load<f32>(p + (i << 2)), <i32>i);
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= N; i += 16) {
      const t = f32x4.splat(load<f32>(val + (<usize>(k - 1) << 2)));
      const q = p + (i << 2);
      const le = v128.and(
        v128.and(f32x4.le(v128.load(q), t), f32x4.le(v128.load(q, 16), t)),
        v128.and(f32x4.le(v128.load(q, 32), t), f32x4.le(v128.load(q, 48), t)),
      );
      if (i32x4.all_true(le)) continue;
      for (let j: usize = 0; j < 16; j++) cnt = topk_insert(idx, val, cnt, k, load<f32>(q + (j << 2)), <i32>(i + j));
    }
  }
  for (; i < N; i++) cnt = topk_insert(idx, val, cnt, k, load<f32>(p + (i << 2)), <i32>i);
  return cnt;
}

// Offers x (at index v) to the sorted list of cnt <= k entries; returns the new count. x goes after
// every entry it does not beat, so equal values keep index order.
@inline function topk_insert(idx: usize, val: usize, cnt: i32, k: i32, x: f32, v: i32): i32 {
  if (cnt == k && x <= load<f32>(val + (<usize>(k - 1) << 2))) return cnt;
  let j = cnt < k ? cnt : k - 1;
  while (j > 0 && load<f32>(val + (<usize>(j - 1) << 2)) < x) {
    store<f32>(val + (<usize>j << 2), load<f32>(val + (<usize>(j - 1) << 2)));
    store<i32>(idx + (<usize>j << 2), load<i32>(idx + (<usize>(j - 1) << 2)));
    j--;
  }
  store<f32>(val + (<usize>j << 2), x);
  store<i32>(idx + (<usize>j << 2), v);
  return cnt < k ? cnt + 1 : cnt;
}

// dst (n) f32 = src (n) int8 * s: one row of the q8 format (kernels/assembly/quant.ts)
export function row_dequant_q8(dst: usize, src: usize, n: i32, s: f32): void {
  const N = <usize>n;
  let k: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (; k + 8 <= N; k += 8) {
      const h = v128.load8x8_s(src + k);
      v128.store(dst + (k << 2), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(h)), vs));
      v128.store(dst + (k << 2), f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(h)), vs), 16);
    }
  }
  for (; k < N; k++) store<f32>(dst + (k << 2), <f32>load<i8>(src + k) * s);
}
