// Typed view of the wasm exports: the contract between kernels/assembly (AssemblyScript) and the hosts
// (worker, trainer, browser). Pointers are byte addresses in linear memory; dims are element counts.
// Legend: B batch, T query time, S key/source time, C = H*D channels, H heads, D head size, F ffn size,
// V vocab, M rows, K in-features, N out-features. A 0 pointer means "absent" where a comment says optional.
import type { Flavor } from './host.ts';

type P = number; // pointer
type I = number; // i32 dimension
type f32 = number;

export interface KernelExports {
  // --- util ---
  heap_base(): number;
  features(): number; // bit 0 SIMD, bit 1 relaxed SIMD, bit 2 threads
  zero_f32(out: P, N: I): void;
  copy_f32(out: P, inp: P, N: I): void;

  // --- matmul (f32) ---
  // out (M,N) = inp (M,K) @ weight(N,K)^T + bias (N, optional)
  matmul_forward(out: P, inp: P, weight: P, bias: P, M: I, K: I, N: I): void;
  // dinp (M,K) += dout @ weight (optional: 0 skips) | dweight (N,K) += dout^T @ inp | dbias (N) += colsum(dout) (optional)
  matmul_backward(dinp: P, dweight: P, dbias: P, dout: P, inp: P, weight: P, M: I, K: I, N: I): void;

  // --- quant (int8, format in kernels/assembly/quant.ts) ---
  // q (M,K) int8, scale (M) f32 | inp (M,K): symmetric per row, scale = max|x|/127, q = round_ties_even(x/scale)
  quantize_rows_q8(q: P, scale: P, inp: P, M: I, K: I): void;
  // inverse of the above: out (M,K) = q * scale[row]
  dequantize_rows_q8(out: P, q: P, scale: P, M: I, K: I): void;
  // wsum (N) i32 = sum_k wq[n,k] (needed by the relaxed path's zero-point correction)
  q8_row_sums(wsum: P, wq: P, N: I, K: I): void;
  // out (M,N) f32 = dequant(quant(inp) @ wq^T) + bias | scratch >= M*(K+16)+4*M bytes | wq (N,K) int8, wscale (N), wsum (N) i32
  // Uses i32x4.dot_i16x8_s (baseline SIMD) or relaxed_dot_i8x16_i7x16 with 7-bit activations (relaxed build).
  // Reads up to 15 bytes before wq (times zero codes): wq must not sit in the first 16 bytes of memory.
  matmul_q8_forward(out: P, scratch: P, inp: P, wq: P, wscale: P, wsum: P, bias: P, M: I, K: I, N: I): void;

  // --- attention ---
  // Scaled dot-product attention per head: out = softmax(q k^T / sqrt(D) + masks) v.
  // q row (b,t) at q + 4*((b*T+t)*q_stride + h*D); k,v row (b,s) at k + 4*(((b/kv_group)*S+s)*kv_stride + h*D)
  // out (B,T,H*D) contiguous | att (B,H,T,S) probabilities (written; masked entries 0)
  // kv_len (B/kv_group) i32 valid keys per batch row (optional) | causal: key s allowed iff s <= t
  // dropmask (B,H,T,S) optional multipliers applied to att before @v (attention dropout)
  attention_forward(out: P, att: P, q: P, k: P, v: P, kv_len: P, dropmask: P,
    B: I, T: I, S: I, H: I, D: I, q_stride: I, kv_stride: I, causal: I, kv_group: I): void;
  // dq, dk, dv accumulate (+=) with the same layouts/strides as q, k, v | scratch >= 4*S bytes
  attention_backward(dq: P, dk: P, dv: P, scratch: P, dout: P, att: P, q: P, k: P, v: P, kv_len: P, dropmask: P,
    B: I, T: I, S: I, H: I, D: I, q_stride: I, kv_stride: I, causal: I, kv_group: I): void;

  // --- layernorm ---
  // out (N,C) | mean, rstd (N) | inp (N,C) | weight, bias (C); eps 1e-5 (optional mean/rstd: 0 skips writing)
  layernorm_forward(out: P, mean: P, rstd: P, inp: P, weight: P, bias: P, N: I, C: I): void;
  layernorm_backward(dinp: P, dweight: P, dbias: P, dout: P, inp: P, weight: P, mean: P, rstd: P, N: I, C: I): void;

  // --- softmax / loss ---
  // out (N) = exp(inp (N)): the vectorized exp softmax uses (~2 ulp; inp < -87.34 gives 0, inp clamped at 88)
  exp_forward(out: P, inp: P, N: I): void;
  // probs (N,V) = softmax(logits (N,V)) row-wise, stable
  softmax_forward(probs: P, logits: P, N: I, V: I): void;
  // idx (N,k) i32, logp (N,k) | lse (N, optional) | logits (N,V): per row the k largest logits, best first
  // (ties: lower index first), with log-probabilities x - logsumexp(row); no probability vector written.
  // Slots past V: idx -1, logp -inf. Logits finite or -inf; k >= 1. The search step (k = 2*beam).
  logsoftmax_topk(idx: P, logp: P, lse: P, logits: P, N: I, V: I, k: I): void;
  // losses (N) | probs (N,V) written | logits (N,V) | targets (N) i32, target < 0 = padding (loss 0)
  // label smoothing eps: q = (1-eps)*onehot + eps/V; loss = -sum q log p. Returns the summed loss over non-pad rows.
  crossentropy_forward(losses: P, probs: P, logits: P, targets: P, N: I, V: I, eps: f32): number;
  // dlogits (N,V) = scale * (probs - q) (overwrites; pad rows 0). Safe when dlogits == probs (in place).
  crossentropy_backward(dlogits: P, probs: P, targets: P, N: I, V: I, eps: f32, scale: f32): void;
  // R-Drop's consistency loss between two dropout passes, rows n and N+n of logits (2N,V): losses (N) =
  // (KL(p||q) + KL(q||p)) / 2, pad rows 0; stats (N,4) kept for the backward. Returns the sum over non-pad rows.
  symkl_forward(losses: P, stats: P, logits: P, targets: P, N: I, V: I): number;
  // dlogits (2N,V) += scale * dloss/dlogits (accumulates onto the cross-entropy gradient)
  symkl_backward(dlogits: P, stats: P, logits: P, targets: P, N: I, V: I, scale: f32): void;

  // --- activations, residual, dropout ---
  relu_forward(out: P, inp: P, N: I): void;
  relu_backward(dinp: P, dout: P, inp: P, N: I): void; // dinp += dout * (inp > 0)
  gelu_forward(out: P, inp: P, N: I): void; // tanh approximation
  gelu_backward(dinp: P, dout: P, inp: P, N: I): void;
  gelu_erf_forward(out: P, inp: P, N: I): void; // exact: x Phi(x) = 0.5 x (1 + erf(x / sqrt 2))
  gelu_erf_backward(dinp: P, dout: P, inp: P, N: I): void;
  silu_forward(out: P, inp: P, N: I): void; // x * sigmoid(x) (swish)
  silu_backward(dinp: P, dout: P, inp: P, N: I): void;
  residual_forward(out: P, a: P, b: P, N: I): void; // out = a + b
  add_inplace(out: P, inp: P, N: I): void; // out += inp
  scale_inplace(out: P, s: f32, N: I): void; // out *= s
  // mask (N) = (hash(seed, i) >= p) / (1-p), out = inp * mask; deterministic in (seed, i). p = 0: mask all 1.
  dropout_forward(out: P, mask: P, inp: P, N: I, p: f32, seed: I): void;
  mul_forward(out: P, a: P, b: P, N: I): void; // out = a * b (dropout backward: dinp = dout * mask)
  sum_squares(inp: P, N: I): number; // sum of x^2 in f64-accumulated f32 (gradient clipping)

  // --- embedding + positions ---
  // pe (T,C): pe[t,2i] = sin(t/10000^(2i/C)), pe[t,2i+1] = cos(t/10000^(2i/C))
  positional_encoding(pe: P, T: I, C: I): void;
  // out (N,C) = wte[ids[n]] * scale + pe[pos[n]] | ids, pos (N) i32 | wte (V,C) | pe (Tmax,C)
  embedding_forward(out: P, ids: P, pos: P, wte: P, pe: P, N: I, C: I, scale: f32): void;
  // the same from the int8 table, dequantized a row at a time (bit-identical to dequantize_rows_q8 then
  // embedding_forward) | wq (V,C) int8, wscale (V) f32
  embedding_q8_forward(out: P, ids: P, pos: P, wq: P, wscale: P, pe: P, N: I, C: I, scale: f32): void;
  // dwte (V,C) += scale * dout[n] at row ids[n]
  embedding_backward(dwte: P, dout: P, ids: P, N: I, C: I, scale: f32): void;

  // --- optimizer ---
  // Adam with bias correction (t = step, 1-based): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
  // p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + lr * wd * p
  adam_update(params: P, grads: P, m: P, v: P, N: I, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, t: I): void;
}

// Exports that only some flavours build: declared optional (`name?(...)`) above and listed here with the
// flavours that have them. kernels/api.test.ts checks every flavour's exports against this contract.
export const FLAVOR_ONLY: Partial<Record<keyof KernelExports, readonly Flavor[]>> = {};
