// Plain references for kernels/assembly/activations.ts, in f64 (dropout in exact f32 steps, so masks
// match the kernels bit for bit). Same names and argument order as the kernels, arrays for pointers.
type Vec = { [i: number]: number; readonly length: number };

export function relu_forward(out: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

// dinp += dout * (inp > 0)
export function relu_backward(dinp: Vec, dout: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) if (inp[i] > 0) dinp[i] += dout[i];
}

// GELU, tanh approximation, exactly as llm.c writes it.
const GELU_SCALE = Math.sqrt(2 / Math.PI);

export function gelu_forward(out: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i];
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x)));
  }
}

export function gelu_backward(dinp: Vec, dout: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i];
    const u = GELU_SCALE * (x + 0.044715 * x * x * x);
    const th = Math.tanh(u);
    const sech2 = 1 - th * th;
    const local = 0.5 * (1 + th) + x * 0.5 * sech2 * GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    dinp[i] += local * dout[i];
  }
}

// GELU, exact: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), Phi by erfc in f64 (no cancellation in either tail).
export function gelu_erf_forward(out: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) out[i] = inp[i] * normalCdf(inp[i]);
}

// d/dx x Phi(x) = Phi(x) + x phi(x)
export function gelu_erf_backward(dinp: Vec, dout: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i];
    dinp[i] += (normalCdf(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI)) * dout[i];
  }
}

function normalCdf(x: number): number {
  const half = 0.5 * erfc(Math.abs(x) / Math.SQRT2);
  return x < 0 ? half : 1 - half;
}

// erfc(a), a >= 0, to ~1e-15: the Maclaurin series of erf below 2.5, Laplace's continued fraction above
// (erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), evaluated from the back).
export function erfc(a: number): number {
  if (a < 2.5) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 80; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = a;
  for (let k = 120; k >= 1; k--) f = a + k / 2 / f;
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
}

// SiLU (swish): x * sigmoid(x)
export function silu_forward(out: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) out[i] = inp[i] / (1 + Math.exp(-inp[i]));
}

// d/dx x s(x) = s (1 + x (1 - s))
export function silu_backward(dinp: Vec, dout: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) {
    const s = 1 / (1 + Math.exp(-inp[i]));
    dinp[i] += s * (1 + inp[i] * (1 - s)) * dout[i];
  }
}

export function residual_forward(out: Vec, a: Vec, b: Vec, N: number): void {
  for (let i = 0; i < N; i++) out[i] = a[i] + b[i];
}

export function add_inplace(out: Vec, inp: Vec, N: number): void {
  for (let i = 0; i < N; i++) out[i] += inp[i];
}

export function scale_inplace(out: Vec, s: number, N: number): void {
  for (let i = 0; i < N; i++) out[i] *= s;
}

export function mul_forward(out: Vec, a: Vec, b: Vec, N: number): void {
  for (let i = 0; i < N; i++) out[i] = a[i] * b[i];
}

export function sum_squares(inp: Vec, N: number): number {
  let s = 0;
  for (let i = 0; i < N; i++) s += inp[i] * inp[i];
  return s;
}

// murmur3's 32-bit finalizer
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// The dropout hash, splitmix-style and counter-based: u(seed, i) in [0, 1) on a 2^-24 grid (exact in f32).
export function dropout_uniform(seed: number, i: number): number {
  const h = fmix32((Math.imul(i, 0x9e3779b9) + fmix32(seed >>> 0)) >>> 0);
  return (h >>> 8) / 16777216;
}

// mask[i] = u(seed, i) >= p ? 1/(1-p) : 0 and out = inp * mask, each rounded to f32 as the kernel does.
export function dropout_forward(out: Vec, mask: Vec, inp: Vec, N: number, p: number, seed: number): void {
  const pf = Math.fround(p);
  const keep = Math.fround(1 / Math.fround(1 - pf));
  for (let i = 0; i < N; i++) {
    const m = dropout_uniform(seed, i) >= pf ? keep : 0;
    mask[i] = m;
    out[i] = Math.fround(Math.fround(inp[i]) * m);
  }
}
