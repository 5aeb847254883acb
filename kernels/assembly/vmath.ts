// Row helpers shared by the softmax, cross-entropy and attention kernels: a vectorized exp and the
// max / exp-sum / scale / dot passes over one row. Not re-exported by index.ts (helpers, not kernels).
// Every helper has a SIMD main loop and a shared scalar tail, so the scalar build and odd sizes agree.

// a * b + c: fused where relaxed SIMD allows, plain otherwise (both are within the tolerances).
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

// exp(x) after Cephes expf: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r by a degree-5
// minimax polynomial, 2^n built in the exponent bits. Relative error ~2 ulp (tested against Math.exp).
// Domain: results below 2^-126 (x < -87.33) flush to 0, so -inf gives 0; x is clamped at 88 above
// (softmax only ever asks for x <= 0).
const EXP_MAX: f32 = 88.0;
const EXP_MIN: f32 = -87.33654; // ln(2^-126): the smallest normal result
const LOG2E: f32 = 1.44269504088896341;
const ROUND: f32 = 12582912.0; // 1.5 * 2^23: adding it rounds to an integer (ties to even)
const LN2_HI: f32 = 0.693359375; // 9 significant bits: n * LN2_HI is exact for |n| <= 128
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

@inline export function exp_f32(x: f32): f32 {
  if (!(x >= EXP_MIN)) return 0;
  const xc = min<f32>(x, EXP_MAX);
  const t = xc * LOG2E + ROUND; // n = round(x log2 e) sits in t's low mantissa bits
  const n = t - ROUND;
  let r = xc - n * LN2_HI;
  r = r - n * LN2_LO;
  const z = r * r;
  let y = P0;
  y = y * r + P1;
  y = y * r + P2;
  y = y * r + P3;
  y = y * r + P4;
  y = y * r + P5;
  y = y * z + r + 1;
  // 2^n = (n + 127) << 23; t's bits are ROUND's + n, and ROUND's high bits shift out
  return y * reinterpret<f32>((reinterpret<i32>(t) + 127) << 23);
}

// The constants again, each splatted to a vector in static memory: V8 rebuilds a v128.const with several
// instructions every time round a loop (and Binaryen folds hoisted ones back in), while a load is one.
const EXPV = memory.data<f32>([
  EXP_MIN, EXP_MIN, EXP_MIN, EXP_MIN, EXP_MAX, EXP_MAX, EXP_MAX, EXP_MAX,
  LOG2E, LOG2E, LOG2E, LOG2E, ROUND, ROUND, ROUND, ROUND,
  LN2_HI, LN2_HI, LN2_HI, LN2_HI, LN2_LO, LN2_LO, LN2_LO, LN2_LO,
  P0, P0, P0, P0, P1, P1, P1, P1, P2, P2, P2, P2, P3, P3, P3, P3, P4, P4, P4, P4, P5, P5, P5, P5,
  1, 1, 1, 1,
], 16);
const EXPV_127 = memory.data<i32>([127, 127, 127, 127], 16);

// pmin/pmax (one instruction each on x64) rather than min/max (NaN-exact sequences): x is never NaN here.
@inline export function exp_v128(x: v128): v128 {
  const c = EXPV;
  const small = f32x4.lt(x, v128.load(c, 0)); // lanes that flush to 0 (incl. -inf)
  const xc = f32x4.pmin(f32x4.pmax(x, v128.load(c, 0)), v128.load(c, 16));
  const t = madd(xc, v128.load(c, 32), v128.load(c, 48));
  const n = f32x4.sub(t, v128.load(c, 48));
  let r = f32x4.sub(xc, f32x4.mul(n, v128.load(c, 64)));
  r = f32x4.sub(r, f32x4.mul(n, v128.load(c, 80)));
  const z = f32x4.mul(r, r);
  let y = madd(v128.load(c, 96), r, v128.load(c, 112));
  y = madd(y, r, v128.load(c, 128));
  y = madd(y, r, v128.load(c, 144));
  y = madd(y, r, v128.load(c, 160));
  y = madd(y, r, v128.load(c, 176));
  y = f32x4.add(madd(y, z, r), v128.load(c, 192));
  const pow2n = i32x4.shl(i32x4.add(t, v128.load(EXPV_127)), 23);
  return v128.andnot(f32x4.mul(y, pow2n), small);
}

// exp(x) for x <= 0 (or -inf), as softmax weights need it (x = s - max s): 2^(x log2 e) split as 2^n 2^f,
// |f| <= 1/2, 2^f by a degree-5 minimax polynomial (relative error 9e-8; exp(0) = 1 exactly). Rounding
// x log2 e adds a relative error of about |x| * 6e-8, negligible next to 1 for the weights that matter
// (a weight e^-10 is off by 1e-11 at most). About half the work of exp_v128: no clamps, no Cody-Waite
// split, a shorter polynomial. Lanes below EXP_MIN (and -inf) give 0.
const EXP2V = memory.data<f32>([
  LOG2E, LOG2E, LOG2E, LOG2E, ROUND, ROUND, ROUND, ROUND,
  1.3264698770593993e-3, 1.3264698770593993e-3, 1.3264698770593993e-3, 1.3264698770593993e-3,
  9.671508817442569e-3, 9.671508817442569e-3, 9.671508817442569e-3, 9.671508817442569e-3,
  5.550733776482672e-2, 5.550733776482672e-2, 5.550733776482672e-2, 5.550733776482672e-2,
  0.24022242145351494, 0.24022242145351494, 0.24022242145351494, 0.24022242145351494,
  0.6931469776119837, 0.6931469776119837, 0.6931469776119837, 0.6931469776119837,
  1, 1, 1, 1, EXP_MIN, EXP_MIN, EXP_MIN, EXP_MIN,
], 16);

@inline export function exp_v128_nonpos(x: v128): v128 {
  const c = EXP2V;
  const t = madd(x, v128.load(c, 0), v128.load(c, 16)); // n = round(x log2 e) in t's low mantissa bits
  const f = madd(x, v128.load(c, 0), f32x4.sub(v128.load(c, 16), t)); // x log2 e - n
  let y = madd(v128.load(c, 32), f, v128.load(c, 48));
  y = madd(y, f, v128.load(c, 64));
  y = madd(y, f, v128.load(c, 80));
  y = madd(y, f, v128.load(c, 96));
  y = madd(y, f, v128.load(c, 112));
  const pow2n = i32x4.shl(i32x4.add(t, v128.load(EXPV_127)), 23);
  return v128.andnot(f32x4.mul(y, pow2n), f32x4.lt(x, v128.load(c, 128)));
}

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
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3)));
    }
    const t = f64x2.add(lo, hi);
    s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
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
      hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 2, 3)));
    }
    const t = f64x2.add(lo, hi);
    s = f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
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

// softmax in place over the first n of p's S entries; entries n..S-1 (masked keys) become 0, and a fully
// masked row (n == 0) is all zeros rather than NaN.
export function softmax_row_masked(p: usize, n: i32, S: i32): void {
  if (n > 0) {
    const m = row_max(p, n);
    const sum = row_exp_sum(p, p, n, m);
    row_scale(p, n, <f32>(1.0 / sum));
  }
  if (S > n) memory.fill(p + (<usize>n << 2), 0, <usize>(S - n) << 2);
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
