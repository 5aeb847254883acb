// Element-wise kernels: the FFN's activation (the paper's ReLU, GELU as in GPT-2/llm.c or exact (erf) as in
// BERT and transformers' 'gelu', or SiLU as in Marian), residual adds, scaling, dropout and the sum of
// squares for gradient clipping. All but GELU and SiLU are memory-bound: one clean SIMD loop and the shared
// scalar tail. GELU and SiLU compute their exp (and erfc) with the same polynomials in both paths, so every
// element gets the same value whatever its position (and in every flavour).

// exp for GELU and SiLU: simd.ts's, unfused on four lanes so each element gets the scalar path's bits.
import { exp_f32 as exp_scalar, exp_v128_unfused as exp_simd } from './simd';

// --- ReLU (the paper's FFN: max(0, x W1 + b1) W2 + b2) ---

// out (N) | inp (N)
export function relu_forward(out: usize, inp: usize, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(inp + (i << 2));
      v128.store(out + (i << 2), v128.and(x, f32x4.gt(x, zero)));
    }
  }
  for (; i < n; i++) {
    const x = load<f32>(inp + (i << 2));
    store<f32>(out + (i << 2), x > 0 ? x : 0);
  }
}

// dinp (N) += | dout, inp (N). Differentiates `out = inp > 0 ? inp : 0`.
export function relu_backward(dinp: usize, dout: usize, inp: usize, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      const g = v128.and(v128.load(dout + o), f32x4.gt(v128.load(inp + o), zero));
      v128.store(dinp + o, f32x4.add(v128.load(dinp + o), g));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    if (load<f32>(inp + o) > 0) store<f32>(dinp + o, load<f32>(dinp + o) + load<f32>(dout + o));
  }
}

// --- GELU and SiLU: x * s(x), with the logistic s = 1 / (1 + exp(z)), z = x (C1 + C3 x^2) ---
// GELU, tanh approximation (GPT-2, llm.c): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), where
// 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)) and -2u = x (Z1 + Z3 x^2): one exp, no cancellation near 0.
// SiLU / swish (Elfwing et al. 2018; Marian's FFN): x * sigmoid(x), z = -x (no cubic term).
const Z1: f32 = -1.5957691216057308; // -2 sqrt(2/pi)
const Z3: f32 = -0.0713548162726009; // -2 sqrt(2/pi) * 0.044715
// ds/dx = s (1 - s) (-dz/dx) = e s^2 (D1 + D3 x^2), as s (1 - s) = e s^2 with e = exp(z)
const D1: f32 = 1.5957691216057308; // 2 sqrt(2/pi)
const D3: f32 = 0.2140644488178027; // 2 sqrt(2/pi) * 3 * 0.044715

// out (N) | inp (N). `cubic` is a constant at each call, so each kernel compiles to its own loop.
@inline function gate_forward(out: usize, inp: usize, N: i32, c1: f32, c3: f32, cubic: bool): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(inp + (i << 2));
      const z = cubic ? f32x4.mul(x, f32x4.add(f32x4.splat(c1), f32x4.mul(f32x4.splat(c3), f32x4.mul(x, x)))) : f32x4.mul(x, f32x4.splat(c1));
      const s = f32x4.div(one, f32x4.add(one, exp_simd(z)));
      v128.store(out + (i << 2), f32x4.mul(x, s));
    }
  }
  for (; i < n; i++) {
    const x = load<f32>(inp + (i << 2));
    const z = cubic ? x * (c1 + c3 * (x * x)) : x * c1;
    const s = <f32>1 / (<f32>1 + exp_scalar(z));
    store<f32>(out + (i << 2), x * s);
  }
}

// dinp (N) += | dout, inp (N). Differentiates `out = x * s(x)`: dout * (s + x e s^2 (d1 + d3 x^2)).
@inline function gate_backward(dinp: usize, dout: usize, inp: usize, N: i32, c1: f32, c3: f32, d1: f32, d3: f32, cubic: bool): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      const x = v128.load(inp + o);
      const x2 = f32x4.mul(x, x);
      const e = exp_simd(cubic ? f32x4.mul(x, f32x4.add(f32x4.splat(c1), f32x4.mul(f32x4.splat(c3), x2))) : f32x4.mul(x, f32x4.splat(c1)));
      const s = f32x4.div(one, f32x4.add(one, e));
      const ss = f32x4.mul(f32x4.mul(e, s), s);
      const du = cubic ? f32x4.add(f32x4.splat(d1), f32x4.mul(f32x4.splat(d3), x2)) : f32x4.splat(d1);
      const local = f32x4.add(s, f32x4.mul(f32x4.mul(x, ss), du));
      v128.store(dinp + o, f32x4.add(v128.load(dinp + o), f32x4.mul(local, v128.load(dout + o))));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    const x = load<f32>(inp + o);
    const x2 = x * x;
    const e = exp_scalar(cubic ? x * (c1 + c3 * x2) : x * c1);
    const s = <f32>1 / (<f32>1 + e);
    const ss = e * s * s;
    const du = cubic ? d1 + d3 * x2 : d1;
    const local = s + x * ss * du;
    store<f32>(dinp + o, load<f32>(dinp + o) + local * load<f32>(dout + o));
  }
}

// out (N) | inp (N)
export function gelu_forward(out: usize, inp: usize, N: i32): void {
  gate_forward(out, inp, N, Z1, Z3, true);
}

// dinp (N) += | dout, inp (N)
export function gelu_backward(dinp: usize, dout: usize, inp: usize, N: i32): void {
  gate_backward(dinp, dout, inp, N, Z1, Z3, D1, D3, true);
}

// out (N) | inp (N)
export function silu_forward(out: usize, inp: usize, N: i32): void {
  gate_forward(out, inp, N, -1, 0, false);
}

// dinp (N) += | dout, inp (N)
export function silu_backward(dinp: usize, dout: usize, inp: usize, N: i32): void {
  gate_backward(dinp, dout, inp, N, -1, 0, 1, 0, false);
}

// --- GELU, exact: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (Hendrycks & Gimpel 2016; transformers' 'gelu') ---
// Phi(x) = 1 - erfc(a)/2 for x >= 0, erfc(a)/2 below, a = |x| / sqrt 2: no cancellation in either tail.
// erfc(a) = t exp(-a^2 + P(t)), t = 1 / (1 + a/2), P of degree 9 (Numerical Recipes' erfcc, a Chebyshev fit:
// relative error < 1.2e-7 for every a >= 0). Backward: d/dx x Phi(x) = Phi(x) + x phi(x), phi the normal density.
const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const E0: f32 = -1.26551223;
const E1: f32 = 1.00002368;
const E2: f32 = 0.37409196;
const E3: f32 = 0.09678418;
const E4: f32 = -0.18628806;
const E5: f32 = 0.27886807;
const E6: f32 = -1.13520398;
const E7: f32 = 1.48851587;
const E8: f32 = -0.82215223;
const E9: f32 = 0.17087277;

// Phi(x), with a = |x| / sqrt 2 and exp(-a^2) = exp(-x^2 / 2) for the backward
@inline function phi_cdf_scalar(x: f32): f32 {
  const a = (x < 0 ? -x : x) * INV_SQRT2;
  const t = <f32>1 / (<f32>1 + <f32>0.5 * a);
  let p = E9 * t + E8;
  p = p * t + E7;
  p = p * t + E6;
  p = p * t + E5;
  p = p * t + E4;
  p = p * t + E3;
  p = p * t + E2;
  p = p * t + E1;
  p = p * t + E0;
  const half = <f32>0.5 * t * exp_scalar(p - a * a); // erfc(a) / 2
  return x < 0 ? half : <f32>1 - half;
}

@inline function phi_cdf_simd(x: v128): v128 {
  const a = f32x4.mul(f32x4.abs(x), f32x4.splat(INV_SQRT2));
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(0.5), a)));
  let p = f32x4.add(f32x4.mul(f32x4.splat(E9), t), f32x4.splat(E8));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E7));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E6));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E5));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E4));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E3));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E2));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E1));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(E0));
  const half = f32x4.mul(f32x4.mul(f32x4.splat(0.5), t), exp_simd(f32x4.sub(p, f32x4.mul(a, a))));
  return v128.bitselect(half, f32x4.sub(f32x4.splat(1), half), f32x4.lt(x, f32x4.splat(0)));
}

// out (N) | inp (N)
export function gelu_erf_forward(out: usize, inp: usize, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(inp + (i << 2));
      v128.store(out + (i << 2), f32x4.mul(x, phi_cdf_simd(x)));
    }
  }
  for (; i < n; i++) {
    const x = load<f32>(inp + (i << 2));
    store<f32>(out + (i << 2), x * phi_cdf_scalar(x));
  }
}

// dinp (N) += | dout, inp (N). Differentiates `out = x Phi(x)`: dout * (Phi(x) + x exp(-x^2/2) / sqrt(2 pi)).
export function gelu_erf_backward(dinp: usize, dout: usize, inp: usize, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      const x = v128.load(inp + o);
      const pdf = f32x4.mul(exp_simd(f32x4.mul(f32x4.mul(x, x), f32x4.splat(-0.5))), f32x4.splat(INV_SQRT_2PI));
      const local = f32x4.add(phi_cdf_simd(x), f32x4.mul(x, pdf));
      v128.store(dinp + o, f32x4.add(v128.load(dinp + o), f32x4.mul(local, v128.load(dout + o))));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    const x = load<f32>(inp + o);
    const pdf = exp_scalar(x * x * <f32>-0.5) * INV_SQRT_2PI;
    const local = phi_cdf_scalar(x) + x * pdf;
    store<f32>(dinp + o, load<f32>(dinp + o) + local * load<f32>(dout + o));
  }
}

// --- residual, scaling, products ---

// out (N) = a (N) + b (N)
export function residual_forward(out: usize, a: usize, b: usize, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

// out (N) += inp (N)
export function add_inplace(out: usize, inp: usize, N: i32): void {
  residual_forward(out, out, inp, N);
}

// out (N) *= s
export function scale_inplace(out: usize, s: f32, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      v128.store(out + o, f32x4.mul(v128.load(out + o), vs));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    store<f32>(out + o, load<f32>(out + o) * s);
  }
}

// out (N) = a (N) * b (N); also dropout's backward: dinp = dout * mask
export function mul_forward(out: usize, a: usize, b: usize, N: i32): void {
  const n = <usize>N;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}

// sum of inp (N)^2, for clipping by global norm. f32 squares are exact in f64, and f64 accumulation
// keeps 1e6+ terms accurate to ~1e-10 relative.
export function sum_squares(inp: usize, N: i32): f64 {
  const n = <usize>N;
  let s: f64 = 0;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    for (; i + 4 <= n; i += 4) {
      const x = v128.load(inp + (i << 2));
      const lo = f64x2.promote_low_f32x4(x);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 2, 3));
      a0 = f64x2.add(a0, f64x2.mul(lo, lo));
      a1 = f64x2.add(a1, f64x2.mul(hi, hi));
    }
    const a = f64x2.add(a0, a1);
    s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  }
  for (; i < n; i++) {
    const x = <f64>load<f32>(inp + (i << 2));
    s += x * x;
  }
  return s;
}

// --- dropout (the paper: P_drop = 0.1 on each sublayer output, the embedding sums and attention) ---
// Counter-based and stateless, like splitmix: u(seed, i) = fmix32(i * golden + fmix32(seed)) >>> 8, over 2^24.
// kernels/ref/activations.ts holds the same hash, so masks match the reference bit for bit.
const GOLDEN: u32 = 0x9e3779b9;
const MIX1: u32 = 0x85ebca6b;
const MIX2: u32 = 0xc2b2ae35;

@inline function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= MIX1;
  h ^= h >>> 13;
  h *= MIX2;
  h ^= h >>> 16;
  return h;
}

// out, mask (N) | inp (N): mask[i] = u(seed, i) >= p ? 1 / (1 - p) : 0, out = inp * mask. p = 0 keeps all.
export function dropout_forward(out: usize, mask: usize, inp: usize, N: i32, p: f32, seed: i32): void {
  const n = <usize>N;
  const key = fmix32(<u32>seed);
  const keep: f32 = <f32>1 / (<f32>1 - p);
  const ULP24: f32 = 5.9604644775390625e-8; // 2^-24
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vkey = i32x4.splat(key);
    const vp = f32x4.splat(p);
    const vkeep = f32x4.splat(keep);
    let idx = i32x4(0, 1, 2, 3);
    for (; i + 4 <= n; i += 4) {
      let h = i32x4.add(i32x4.mul(idx, i32x4.splat(GOLDEN)), vkey);
      h = v128.xor(h, i32x4.shr_u(h, 16));
      h = i32x4.mul(h, i32x4.splat(MIX1));
      h = v128.xor(h, i32x4.shr_u(h, 13));
      h = i32x4.mul(h, i32x4.splat(MIX2));
      h = v128.xor(h, i32x4.shr_u(h, 16));
      const u = f32x4.mul(f32x4.convert_i32x4_s(i32x4.shr_u(h, 8)), f32x4.splat(ULP24));
      const m = v128.and(f32x4.ge(u, vp), vkeep);
      const o = i << 2;
      v128.store(mask + o, m);
      v128.store(out + o, f32x4.mul(v128.load(inp + o), m));
      idx = i32x4.add(idx, i32x4.splat(4));
    }
  }
  for (; i < n; i++) {
    const h = fmix32(<u32>i * GOLDEN + key);
    const u = <f32>(h >>> 8) * ULP24;
    const m: f32 = u >= p ? keep : 0;
    const o = i << 2;
    store<f32>(mask + o, m);
    store<f32>(out + o, load<f32>(inp + o) * m);
  }
}
