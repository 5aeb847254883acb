// Plain reference for kernels/assembly/optim.ts, in f64. Same name and argument order, arrays for pointers.
type Vec = { [i: number]: number; readonly length: number };

// Adam with bias correction (t 1-based): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + lr * wd * p
export function adam_update(params: Vec, grads: Vec, m: Vec, v: Vec, N: number, lr: number, beta1: number, beta2: number, eps: number, wd: number, t: number): void {
  for (let i = 0; i < N; i++) {
    const g = grads[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    const mhat = m[i] / (1 - beta1 ** t);
    const vhat = v[i] / (1 - beta2 ** t);
    params[i] -= (lr * mhat) / (Math.sqrt(vhat) + eps) + lr * wd * params[i];
  }
}
