// Softmax over the vocabulary and the label-smoothed cross-entropy loss, after llm.c's
// softmax/crossentropy pair but computed from the logits by log-sum-exp (never log of a probability),
// so peaked rows and huge logits stay finite. Rows are long (V ~ 8000): every pass is SIMD, sums are f64.
import { exp_row, row_exp_sum, row_log_exp_sum, row_max, row_scale, row_sum_f64, row_topk } from './vmath';

// out (N) = exp(inp (N)): the vectorized exp the softmax kernels use, exported so tests can check it
// against Math.exp. Flushes results below 2^-126 (inp < -87.34) to 0; inp is clamped at 88.
export function exp_forward(out: usize, inp: usize, N: i32): void {
  exp_row(out, inp, N);
}

// probs (N,V) | logits (N,V): probs = exp(x - max) / sum exp(x - max), row-wise. probs may equal logits.
export function softmax_forward(probs: usize, logits: usize, N: i32, V: i32): void {
  const row_bytes = <usize>V << 2;
  for (let n = 0; n < N; n++) {
    const x = logits + <usize>n * row_bytes;
    const p = probs + <usize>n * row_bytes;
    const m = row_max(x, V);
    const s = row_exp_sum(p, x, V, m);
    row_scale(p, V, <f32>(1.0 / s));
  }
}

// idx, logp (N,k) | lse (N, optional) | logits (N,V): the search step's softmax without the probabilities.
// Per row the k largest logits, best first (ties: the lower index first), as (index, log-probability)
// with log p = x - lse, lse = max + log sum exp(x - max) (the sum in f64), and the row's lse when lse != 0.
// A top-k pass finds the max on the way (its first entry); a second pass sums the exponentials, storing
// nothing. Slots past V get index -1 and log p -inf; a row of -inf only gives -inf log-probabilities.
// Logits are finite or -inf (a mask); k >= 1.
export function logsoftmax_topk(idx: usize, logp: usize, lse: usize, logits: usize, N: i32, V: i32, k: i32): void {
  const row_bytes = <usize>V << 2;
  const out_bytes = <usize>k << 2;
  for (let n = 0; n < N; n++) {
    const x = logits + <usize>n * row_bytes;
    const ri = idx + <usize>n * out_bytes;
    const rp = logp + <usize>n * out_bytes;
    const cnt = row_topk(ri, rp, x, V, k);
    const m = cnt > 0 ? load<f32>(rp) : <f32>-Infinity;
    const finite = m > -Infinity;
    const ls = finite ? row_log_exp_sum(x, V, m) : 0;
    for (let j = 0; j < cnt; j++) {
      const a = rp + (<usize>j << 2);
      store<f32>(a, finite ? <f32>(<f64>load<f32>(a) - <f64>m - ls) : <f32>-Infinity);
    }
    for (let j = cnt; j < k; j++) {
      store<i32>(ri + (<usize>j << 2), -1);
      store<f32>(rp + (<usize>j << 2), <f32>-Infinity);
    }
    if (lse) store<f32>(lse + (<usize>n << 2), finite ? <f32>(<f64>m + ls) : <f32>-Infinity);
  }
}

// losses (N) | probs (N,V) written | logits (N,V) | targets (N) i32, target < 0 = padding (loss 0)
// Paper 5.4, "we employed label smoothing of value eps_ls = 0.1": q = (1-eps) onehot(y) + eps/V and
// loss = -sum_v q_v log p_v. With z = x - max and lse = log sum exp z, log p_v = z_v - lse, so
//   loss = lse - (1-eps) z_y - (eps/V) sum_v z_v.
// Returns the summed loss over non-pad rows (f64).
export function crossentropy_forward(losses: usize, probs: usize, logits: usize, targets: usize, N: i32, V: i32, eps: f32): f64 {
  const row_bytes = <usize>V << 2;
  const e = <f64>eps;
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const x = logits + <usize>n * row_bytes;
    const p = probs + <usize>n * row_bytes;
    const y = load<i32>(targets + (<usize>n << 2));
    const m = row_max(x, V);
    // sum_v z_v = sum_v x_v - V max: the f64 sum of f32 values is exact enough not to cancel badly
    const sx = y >= 0 && eps != 0 ? row_sum_f64(x, V) : 0;
    const s = row_exp_sum(p, x, V, m);
    row_scale(p, V, <f32>(1.0 / s));
    let loss: f64 = 0;
    if (y >= 0) {
      const lse = Math.log(s);
      const zy = <f64>load<f32>(x + (<usize>y << 2)) - <f64>m;
      const zsum = sx - <f64>V * <f64>m;
      loss = lse - (1 - e) * zy - (e / <f64>V) * zsum;
      total += loss;
    }
    store<f32>(losses + (<usize>n << 2), <f32>loss);
  }
  return total;
}

// Differentiates crossentropy_forward's "loss = -sum_v q_v log p_v": dloss/dx_v = p_v - q_v.
// dlogits (N,V) = scale * (probs - q), overwritten (not accumulated); pad rows 0. dlogits may equal probs.
export function crossentropy_backward(dlogits: usize, probs: usize, targets: usize, N: i32, V: i32, eps: f32, scale: f32): void {
  const row_bytes = <usize>V << 2;
  const u: f32 = eps / <f32>V;
  const on: f32 = <f32>1 - eps;
  const cols = <usize>V;
  for (let n = 0; n < N; n++) {
    const d = dlogits + <usize>n * row_bytes;
    const p = probs + <usize>n * row_bytes;
    const y = load<i32>(targets + (<usize>n << 2));
    if (y < 0) {
      memory.fill(d, 0, row_bytes);
      continue;
    }
    const py = load<f32>(p + (<usize>y << 2)); // read before an in-place pass overwrites it
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const vu = f32x4.splat(u);
      const vs = f32x4.splat(scale);
      for (; i + 4 <= cols; i += 4) {
        v128.store(d + (i << 2), f32x4.mul(f32x4.sub(v128.load(p + (i << 2)), vu), vs));
      }
    }
    for (; i < cols; i++) store<f32>(d + (i << 2), (load<f32>(p + (i << 2)) - u) * scale);
    store<f32>(d + (<usize>y << 2), (py - on - u) * scale);
  }
}
