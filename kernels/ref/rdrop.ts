// Plain f64 references for kernels/assembly/rdrop.ts: the oracle of kernels/rdrop.test.ts.

function log_softmax_row(x: ArrayLike<number>, at: number, V: number): Float64Array {
  let m = -Infinity;
  for (let v = 0; v < V; v++) m = Math.max(m, x[at + v]);
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp(x[at + v] - m);
  const lse = m + Math.log(s);
  return Float64Array.from({ length: V }, (_, v) => x[at + v] - lse);
}

// losses (N): (KL(p||q) + KL(q||p)) / 2 between the softmaxes of rows n and N+n of logits (2N,V); pad rows 0.
export function symkl_forward(logits: ArrayLike<number>, targets: ArrayLike<number>, N: number, V: number): { losses: Float64Array; total: number } {
  const losses = new Float64Array(N);
  let total = 0;
  for (let n = 0; n < N; n++) {
    if (targets[n] < 0) continue;
    const lp = log_softmax_row(logits, n * V, V);
    const lq = log_softmax_row(logits, (N + n) * V, V);
    let l = 0;
    for (let v = 0; v < V; v++) l += (Math.exp(lp[v]) - Math.exp(lq[v])) * (lp[v] - lq[v]);
    losses[n] = l / 2;
    total += l / 2;
  }
  return { losses, total };
}

// dlogits (2N,V) = scale * dloss/dlogits, written out in full from the definition:
// d KL(p||q)/dx1 = p (log p - log q - KL(p||q)), d KL(q||p)/dx1 = p - q, and the same with p, q swapped for x2.
export function symkl_backward(logits: ArrayLike<number>, targets: ArrayLike<number>, N: number, V: number, scale: number): Float64Array {
  const d = new Float64Array(2 * N * V);
  for (let n = 0; n < N; n++) {
    if (targets[n] < 0) continue;
    const lp = log_softmax_row(logits, n * V, V);
    const lq = log_softmax_row(logits, (N + n) * V, V);
    const p = lp.map(Math.exp);
    const q = lq.map(Math.exp);
    let kpq = 0;
    let kqp = 0;
    for (let v = 0; v < V; v++) {
      kpq += p[v] * (lp[v] - lq[v]);
      kqp += q[v] * (lq[v] - lp[v]);
    }
    for (let v = 0; v < V; v++) {
      d[n * V + v] = (scale * (p[v] * (lp[v] - lq[v] - kpq) + p[v] - q[v])) / 2;
      d[(N + n) * V + v] = (scale * (q[v] * (lq[v] - lp[v] - kqp) + q[v] - p[v])) / 2;
    }
  }
  return d;
}
