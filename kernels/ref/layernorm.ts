// Plain reference for kernels/assembly/layernorm.ts, in f64: the oracle of kernels/layernorm.test.ts.
// Same names and argument order as the kernels, with arrays in place of pointers.
type Vec = { [i: number]: number; readonly length: number };

export const LAYERNORM_EPS = 1e-5;

// out (N,C) | mean, rstd (N) optional | inp (N,C) | weight, bias (C)
export function layernorm_forward(out: Vec, mean: Vec | null, rstd: Vec | null, inp: Vec, weight: Vec, bias: Vec, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const x = n * C;
    let s = 0;
    for (let i = 0; i < C; i++) s += inp[x + i];
    const m = s / C;
    let q = 0;
    for (let i = 0; i < C; i++) q += (inp[x + i] - m) ** 2;
    const r = 1 / Math.sqrt(q / C + LAYERNORM_EPS);
    for (let i = 0; i < C; i++) out[x + i] = (inp[x + i] - m) * r * weight[i] + bias[i];
    if (mean) mean[n] = m;
    if (rstd) rstd[n] = r;
  }
}

// dinp (N,C) += | dweight, dbias (C) += | dout, inp (N,C) | weight (C) | mean, rstd (N)
export function layernorm_backward(dinp: Vec, dweight: Vec, dbias: Vec, dout: Vec, inp: Vec, weight: Vec, mean: Vec, rstd: Vec, N: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const x = n * C;
    const m = mean[n];
    const r = rstd[n];
    let gm = 0;
    let gnm = 0;
    for (let i = 0; i < C; i++) {
      const g = weight[i] * dout[x + i];
      gm += g;
      gnm += g * (inp[x + i] - m) * r;
    }
    gm /= C;
    gnm /= C;
    for (let i = 0; i < C; i++) {
      const norm = (inp[x + i] - m) * r;
      const d = dout[x + i];
      dbias[i] += d;
      dweight[i] += norm * d;
      dinp[x + i] += (weight[i] * d - gm - norm * gnm) * r;
    }
  }
}
