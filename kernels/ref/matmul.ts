// Plain reference for kernels/assembly/matmul.ts, accumulating in f64: the oracle of kernels/matmul.test.ts.
// Same names and argument order as the kernels, with arrays in place of pointers (null = absent).
type Vec = { [i: number]: number; readonly length: number };

// out (M,N) = inp (M,K) @ weight (N,K)^T + bias (N)
export function matmul_forward(out: Vec, inp: Vec, weight: Vec, bias: Vec | null, M: number, K: number, N: number): void {
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += inp[m * K + k] * weight[n * K + k];
      out[m * N + n] = s;
    }
  }
}

// backward of: out = inp @ weight^T + bias
// dinp (M,K) += dout @ weight (null = skip) | dweight (N,K) += dout^T @ inp | dbias (N) += colsum(dout) (null = skip)
export function matmul_backward(dinp: Vec | null, dweight: Vec, dbias: Vec | null, dout: Vec, inp: Vec, weight: Vec, M: number, K: number, N: number): void {
  for (let n = 0; n < N; n++) {
    if (dbias) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dout[m * N + n];
      dbias[n] += s;
    }
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += dout[m * N + n] * inp[m * K + k];
      dweight[n * K + k] += s;
    }
  }
  if (dinp) {
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let n = 0; n < N; n++) s += dout[m * N + n] * weight[n * K + k];
        dinp[m * K + k] += s;
      }
    }
  }
}
