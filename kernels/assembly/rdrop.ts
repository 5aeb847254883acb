// R-Drop (Liang et al. 2021, "R-Drop: Regularized Dropout for Neural Networks"): the batch is run twice
// with independent dropout masks and the two output distributions are pulled together by their symmetric
// KL divergence, added to the cross-entropy with a weight alpha. Rows n and N+n of the logits are the two
// passes over the same target token; p and q their softmaxes. Everything is computed from the logits
// (log p = x - logsumexp x), never from the log of a probability, so an underflowed p stays finite.
import { exp_f32, exp_v128, hsum_f64, promote_high } from './simd';
import { row_lse } from './vmath';

// losses (N) | stats (N,4) written: lse_p, lse_q, KL(p||q), KL(q||p) for the backward | logits (2N,V) |
// targets (N) i32, < 0 = padding (loss 0).
// loss_n = (KL(p||q) + KL(q||p)) / 2, KL(p||q) = sum_v p_v (log p_v - log q_v). Returns the sum over non-pad rows.
export function symkl_forward(losses: usize, stats: usize, logits: usize, targets: usize, N: i32, V: i32): f64 {
  const row_bytes = <usize>V << 2;
  const half = <usize>N * row_bytes;
  const cols = <usize>V;
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const st = stats + (<usize>n << 4);
    const loss_at = losses + (<usize>n << 2);
    if (load<i32>(targets + (<usize>n << 2)) < 0) {
      store<f32>(loss_at, 0);
      for (let j = 0; j < 4; j++) store<f32>(st + (<usize>j << 2), 0);
      continue;
    }
    const x1 = logits + <usize>n * row_bytes;
    const x2 = x1 + half;
    const c1 = row_lse(x1, V);
    const c2 = row_lse(x2, V);
    let pq: f64 = 0; // sum p (lp - lq)
    let qp: f64 = 0; // sum q (lp - lq), subtracted: KL(q||p) = -qp
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const v1 = f32x4.splat(c1);
      const v2 = f32x4.splat(c2);
      let a = f64x2.splat(0), b = f64x2.splat(0), c = f64x2.splat(0), d = f64x2.splat(0);
      for (; i + 4 <= cols; i += 4) {
        const lp = f32x4.sub(v128.load(x1 + (i << 2)), v1);
        const lq = f32x4.sub(v128.load(x2 + (i << 2)), v2);
        const diff = f32x4.sub(lp, lq);
        const tp = f32x4.mul(exp_v128(lp), diff);
        const tq = f32x4.mul(exp_v128(lq), diff);
        a = f64x2.add(a, f64x2.promote_low_f32x4(tp));
        b = f64x2.add(b, promote_high(tp));
        c = f64x2.add(c, f64x2.promote_low_f32x4(tq));
        d = f64x2.add(d, promote_high(tq));
      }
      pq = hsum_f64(a, b);
      qp = hsum_f64(c, d);
    }
    for (; i < cols; i++) {
      const lp = load<f32>(x1 + (i << 2)) - c1;
      const lq = load<f32>(x2 + (i << 2)) - c2;
      const diff = lp - lq;
      pq += <f64>(exp_f32(lp) * diff);
      qp += <f64>(exp_f32(lq) * diff);
    }
    const loss = (pq - qp) * 0.5;
    store<f32>(loss_at, <f32>loss);
    store<f32>(st, c1);
    store<f32>(st + 4, c2);
    store<f32>(st + 8, <f32>pq);
    store<f32>(st + 12, <f32>-qp);
    total += loss;
  }
  return total;
}

// dlogits (2N,V) += scale * dloss_n/dlogits (accumulates: the cross-entropy gradient is already there) |
// stats (N,4) from symkl_forward | logits (2N,V) | targets (N). With d = log p - log q:
//   dloss/dx1 = (p (d - KL(p||q)) + p - q) / 2,   dloss/dx2 = (q (-d - KL(q||p)) + q - p) / 2.
export function symkl_backward(dlogits: usize, stats: usize, logits: usize, targets: usize, N: i32, V: i32, scale: f32): void {
  const row_bytes = <usize>V << 2;
  const half = <usize>N * row_bytes;
  const cols = <usize>V;
  const h: f32 = scale * <f32>0.5;
  for (let n = 0; n < N; n++) {
    if (load<i32>(targets + (<usize>n << 2)) < 0) continue;
    const st = stats + (<usize>n << 4);
    const c1 = load<f32>(st);
    const c2 = load<f32>(st + 4);
    const kpq = load<f32>(st + 8);
    const kqp = load<f32>(st + 12);
    const x1 = logits + <usize>n * row_bytes;
    const x2 = x1 + half;
    const d1 = dlogits + <usize>n * row_bytes;
    const d2 = d1 + half;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const v1 = f32x4.splat(c1);
      const v2 = f32x4.splat(c2);
      const vk1 = f32x4.splat(kpq);
      const vk2 = f32x4.splat(kqp);
      const vh = f32x4.splat(h);
      for (; i + 4 <= cols; i += 4) {
        const lp = f32x4.sub(v128.load(x1 + (i << 2)), v1);
        const lq = f32x4.sub(v128.load(x2 + (i << 2)), v2);
        const diff = f32x4.sub(lp, lq);
        const p = exp_v128(lp);
        const q = exp_v128(lq);
        const pmq = f32x4.sub(p, q);
        const g1 = f32x4.add(f32x4.mul(p, f32x4.sub(diff, vk1)), pmq);
        const g2 = f32x4.sub(f32x4.mul(q, f32x4.neg(f32x4.add(diff, vk2))), pmq);
        v128.store(d1 + (i << 2), f32x4.add(v128.load(d1 + (i << 2)), f32x4.mul(g1, vh)));
        v128.store(d2 + (i << 2), f32x4.add(v128.load(d2 + (i << 2)), f32x4.mul(g2, vh)));
      }
    }
    for (; i < cols; i++) {
      const lp = load<f32>(x1 + (i << 2)) - c1;
      const lq = load<f32>(x2 + (i << 2)) - c2;
      const diff = lp - lq;
      const p = exp_f32(lp);
      const q = exp_f32(lq);
      store<f32>(d1 + (i << 2), load<f32>(d1 + (i << 2)) + (p * (diff - kpq) + p - q) * h);
      store<f32>(d2 + (i << 2), load<f32>(d2 + (i << 2)) + (q * (-diff - kqp) + q - p) * h);
    }
  }
}
