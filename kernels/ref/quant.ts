// Plain reference for kernels/assembly/quant.ts (the q8 format is defined there): the oracle of
// kernels/quant.test.ts. f32 steps are rounded with Math.fround exactly where the kernel rounds, and integer
// dot products are exact, so kernel outputs must match these bit for bit.
type Vec = { [i: number]: number; readonly length: number };

const f = Math.fround;

// Round half to even (the rounding of f32.nearest / f32x4.nearest).
export function round_ties_even(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// One row: scale = max|x| / qmax in f32, code = clamp(round_ties_even(x / scale), -qmax, qmax) + offset.
function quantize_row(codes: Vec, at: number, inp: Vec, from: number, K: number, qmax: number, offset: number): number {
  let amax = 0;
  for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(inp[from + k]));
  const scale = f(amax / qmax);
  for (let k = 0; k < K; k++) {
    const q = scale === 0 ? 0 : Math.min(qmax, Math.max(-qmax, round_ties_even(f(inp[from + k] / scale))));
    codes[at + k] = q + offset;
  }
  return scale;
}

// q (M,K) int8 | scale (M) | inp (M,K)
export function quantize_rows_q8(q: Vec, scale: Vec, inp: Vec, M: number, K: number): void {
  for (let m = 0; m < M; m++) scale[m] = quantize_row(q, m * K, inp, m * K, K, 127, 0);
}

// out (M,K) = q (M,K) * scale (M)
export function dequantize_rows_q8(out: Vec, q: Vec, scale: Vec, M: number, K: number): void {
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) out[m * K + k] = f(q[m * K + k] * scale[m]);
}

// wsum (N) = row sums of wq (N,K)
export function q8_row_sums(wsum: Vec, wq: Vec, N: number, K: number): void {
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += wq[n * K + k];
    wsum[n] = s;
  }
}

// Activation precision of matmul_q8_forward: 8 bits in the baseline SIMD and scalar builds, 7 bits in the
// relaxed-SIMD build (see kernels/assembly/quant.ts).
export type ActBits = 8 | 7;

// The exact integer accumulators acc (M,N) = quant(inp) @ wq^T and the activation scales (M) of matmul_q8_forward.
export function q8_accumulators(acc: Vec, ascale: Vec, inp: Vec, wq: Vec, M: number, K: number, N: number, bits: ActBits): void {
  const qmax = bits === 8 ? 127 : 63;
  const codes = new Int32Array(K);
  for (let m = 0; m < M; m++) {
    ascale[m] = quantize_row(codes, 0, inp, m * K, K, qmax, 0);
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += codes[k] * wq[n * K + k];
      acc[m * N + n] = s;
    }
  }
}

// out (M,N) = f32(acc) * ascale[m] * wscale[n] + bias[n], rounded to f32 after each op like the kernel.
export function matmul_q8_forward(out: Vec, inp: Vec, wq: Vec, wscale: Vec, bias: Vec | null, M: number, K: number, N: number, bits: ActBits): void {
  const acc = new Float64Array(M * N);
  const ascale = new Float64Array(M);
  q8_accumulators(acc, ascale, inp, wq, M, K, N, bits);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const v = f(f(f(acc[m * N + n]) * ascale[m]) * wscale[n]);
      out[m * N + n] = bias ? f(v + bias[n]) : v;
    }
  }
}
