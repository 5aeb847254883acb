// Plain f64 references for kernels/assembly/softmax.ts: the oracle of kernels/softmax.test.ts.

// probs (N,V) = softmax(logits (N,V)) row-wise, max-subtracted.
export function softmax_forward(logits: ArrayLike<number>, N: number, V: number): Float64Array {
  const probs = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[n * V + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += probs[n * V + v] = Math.exp(logits[n * V + v] - m);
    for (let v = 0; v < V; v++) probs[n * V + v] /= s;
  }
  return probs;
}

// Label-smoothed cross-entropy, q = (1-eps) onehot(y) + eps/V, loss = -sum_v q_v log p_v with
// log p_v = x_v - logsumexp(x). Pad rows (target < 0) have loss 0 and are left out of the total.
export function crossentropy_forward(
  logits: ArrayLike<number>,
  targets: ArrayLike<number>,
  N: number,
  V: number,
  eps: number,
): { losses: Float64Array; probs: Float64Array; total: number } {
  const probs = softmax_forward(logits, N, V);
  const losses = new Float64Array(N);
  let total = 0;
  for (let n = 0; n < N; n++) {
    const y = targets[n];
    if (y < 0) continue;
    let m = -Infinity;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[n * V + v]);
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(logits[n * V + v] - m);
    const lse = m + Math.log(s);
    let loss = 0;
    for (let v = 0; v < V; v++) {
      const q = (v === y ? 1 - eps : 0) + eps / V;
      loss -= q * (logits[n * V + v] - lse);
    }
    losses[n] = loss;
    total += loss;
  }
  return { losses, probs, total };
}

// dlogits (N,V) = scale * (probs - q); pad rows 0.
export function crossentropy_backward(
  probs: ArrayLike<number>,
  targets: ArrayLike<number>,
  N: number,
  V: number,
  eps: number,
  scale: number,
): Float64Array {
  const d = new Float64Array(N * V);
  for (let n = 0; n < N; n++) {
    const y = targets[n];
    if (y < 0) continue;
    for (let v = 0; v < V; v++) {
      const q = (v === y ? 1 - eps : 0) + eps / V;
      d[n * V + v] = scale * (probs[n * V + v] - q);
    }
  }
  return d;
}

// Per row the k largest logits, best first (ties: lower index first), with log p = x - logsumexp(row);
// slots past V: index -1, log p -inf; a row of -inf only: log p -inf, lse -inf. By sorting, not by the
// kernel's insertion, so the two agree only if both order ties the same way.
export function logsoftmax_topk(
  logits: ArrayLike<number>,
  N: number,
  V: number,
  k: number,
): { idx: Int32Array; logp: Float64Array; lse: Float64Array } {
  const idx = new Int32Array(N * k).fill(-1);
  const logp = new Float64Array(N * k).fill(-Infinity);
  const lse = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const x = (v: number) => logits[n * V + v];
    const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => x(b) - x(a) || a - b);
    const m = V ? x(order[0]) : -Infinity;
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(x(v) - m);
    lse[n] = m === -Infinity ? -Infinity : m + Math.log(s);
    order.slice(0, k).forEach((v, j) => {
      idx[n * k + j] = v;
      logp[n * k + j] = m === -Infinity ? -Infinity : x(v) - lse[n];
    });
  }
  return { idx, logp, lse };
}
