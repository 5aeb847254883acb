// The SIMD idioms every kernel file shares, defined once (after ggml's simd-mappings.h): fused multiply-add,
// lane sums, f64 accumulation of f32 lanes, gathers and partial vectors for the tails, and the vector exp.
// All @inline: they compile into their callers, so a helper costs nothing over writing it out. Callers keep
// the `if (ASC_FEATURE_SIMD)` guards; the scalar build never reaches these. Not kernels: index.ts does not
// re-export this module.

// a * b + c on f32 lanes: fused where relaxed SIMD allows, plain otherwise (both within the tolerances).
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// (v0 + v1) + (v2 + v3), T = f32 or i32: one shuffle, one add, two extracts.
@inline export function hsum<T>(v: v128): T {
  const t = v128.add<T>(v, v128.shuffle<T>(v, v, 1, 0, 3, 2));
  return v128.extract_lane<T>(t, 0) + v128.extract_lane<T>(t, 2);
}

// ((v0 + v1) + v2) + v3: layernorm's statistics sum lanes in this order, and the bundled model's translations
// are pinned bit for bit (model/search.fixture.json), so its norms keep it.
@inline export function hsum_seq<T>(v: v128): T {
  return v128.extract_lane<T>(v, 0) + v128.extract_lane<T>(v, 1) + v128.extract_lane<T>(v, 2) + v128.extract_lane<T>(v, 3);
}

// [sum a, sum b, sum c, sum d], T = f32 or i32: a 4x4 transpose folded into the adds (6 shuffles, 3 adds)
// instead of four lane sums, so four dot products leave as one vector.
@inline export function hsum4<T>(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = v128.add<T>(v128.shuffle<T>(a, b, 0, 4, 1, 5), v128.shuffle<T>(a, b, 2, 6, 3, 7));
  const cd = v128.add<T>(v128.shuffle<T>(c, d, 0, 4, 1, 5), v128.shuffle<T>(c, d, 2, 6, 3, 7));
  return v128.add<T>(v128.shuffle<T>(ab, cd, 0, 1, 4, 5), v128.shuffle<T>(ab, cd, 2, 3, 6, 7));
}

// f32 lanes 2, 3 as f64 (f64x2.promote_low_f32x4 gives lanes 0, 1): long sums add both halves into two f64
// accumulators, every term exact.
@inline export function promote_high(x: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
}

// lo + hi, lane 0 + lane 1: the f64 sum of two f64x2 accumulators
@inline export function hsum_f64(lo: v128, hi: v128): f64 {
  const t = f64x2.add(lo, hi);
  return f64x2.extract_lane(t, 0) + f64x2.extract_lane(t, 1);
}

// [p[0], p[s], p[2s], p[3s]] f32 (s in bytes): one column of four rows, for the K tail of a 4-row tile.
@inline export function gather4_f32(p: usize, s: usize): v128 {
  let v = v128.load32_splat(p);
  v = v128.load32_lane(p + s, v, 1);
  v = v128.load32_lane(p + 2 * s, v, 2);
  return v128.load32_lane(p + 3 * s, v, 3);
}

// [p[0], p[s], p[2s], p[3s]] int8 widened to i32 lanes (s in bytes)
@inline export function gather4_i8(p: usize, s: usize): v128 {
  let v = i32x4.splat(<i32>load<i8>(p));
  v = i32x4.replace_lane(v, 1, <i32>load<i8>(p + s));
  v = i32x4.replace_lane(v, 2, <i32>load<i8>(p + 2 * s));
  return i32x4.replace_lane(v, 3, <i32>load<i8>(p + 3 * s));
}

// The first n < 4 floats at p into lanes 0..n-1 of `fill` (the other lanes keep fill's): a row's last
// partial vector, read without touching memory past its end.
@inline export function load_partial(p: usize, n: usize, fill: v128): v128 {
  let v = v128.load32_lane(p, fill, 0);
  if (n > 1) v = v128.load32_lane(p + 4, v, 1);
  if (n > 2) v = v128.load32_lane(p + 8, v, 2);
  return v;
}

// Stores lanes 0..n-1 of v (n < 4) at p: the partial vector of load_partial written back.
@inline export function store_partial(p: usize, v: v128, n: usize): void {
  v128.store32_lane(p, v, 0);
  if (n > 1) v128.store32_lane(p + 4, v, 1);
  if (n > 2) v128.store32_lane(p + 8, v, 2);
}

// --- exp ---
// exp(x) after Cephes expf: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), e^r by a degree-5
// minimax polynomial, 2^n built in the exponent bits. Relative error ~2 ulp (tested against Math.exp).
// Domain: results below 2^-126 (x < -87.33) flush to 0, so -inf gives 0; x is clamped at 88 above.
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

// a * b + c, fused only when `fused` (a constant) and relaxed SIMD allows it
@inline function fma_if(a: v128, b: v128, c: v128, fused: bool): v128 {
  return fused ? madd(a, b, c) : f32x4.add(f32x4.mul(a, b), c);
}

// exp_f32 on four lanes, fused where relaxed SIMD allows (softmax rows: the fastest, within the tolerances).
@inline export function exp_v128(x: v128): v128 {
  return exp_lanes(x, true);
}

// exp_f32 on four lanes with no fused ops: bit for bit exp_f32 in every build, so an element gets the same
// value in a SIMD lane as in the scalar tail (the activations promise that in every flavour).
@inline export function exp_v128_unfused(x: v128): v128 {
  return exp_lanes(x, false);
}

// pmin/pmax (one instruction each on x64) rather than min/max (NaN-exact sequences): x is never NaN here.
@inline function exp_lanes(x: v128, fused: bool): v128 {
  const c = EXPV;
  const small = f32x4.lt(x, v128.load(c, 0)); // lanes that flush to 0 (incl. -inf)
  const xc = f32x4.pmin(f32x4.pmax(x, v128.load(c, 0)), v128.load(c, 16));
  const t = fma_if(xc, v128.load(c, 32), v128.load(c, 48), fused);
  const n = f32x4.sub(t, v128.load(c, 48));
  let r = f32x4.sub(xc, f32x4.mul(n, v128.load(c, 64)));
  r = f32x4.sub(r, f32x4.mul(n, v128.load(c, 80)));
  const z = f32x4.mul(r, r);
  let y = fma_if(v128.load(c, 96), r, v128.load(c, 112), fused);
  y = fma_if(y, r, v128.load(c, 128), fused);
  y = fma_if(y, r, v128.load(c, 144), fused);
  y = fma_if(y, r, v128.load(c, 160), fused);
  y = fma_if(y, r, v128.load(c, 176), fused);
  y = f32x4.add(fma_if(y, z, r, fused), v128.load(c, 192));
  const pow2n = i32x4.shl(i32x4.add(t, v128.load(EXPV_127)), 23);
  return v128.andnot(f32x4.mul(y, pow2n), small);
}

// exp(x) for x <= 0 (or -inf), as softmax weights need it (x = s - max s): 2^(x log2 e) split as 2^n 2^f,
// |f| <= 1/2, 2^f by a degree-5 minimax polynomial (relative error 9e-8; exp(0) = 1 exactly). Rounding
// x log2 e adds a relative error of about |x| * 6e-8, negligible next to 1 for the weights that matter
// (a weight e^-10 is off by 1e-11 at most). About half the work of exp_v128: no clamps, no Cody-Waite
// split, a shorter polynomial, fused where relaxed SIMD allows. Lanes below EXP_MIN (and -inf) give 0.
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
