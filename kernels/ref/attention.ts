// Plain f64 reference for kernels/assembly/attention.ts: the oracle of kernels/attention.test.ts.
// Same layout rules as the kernel: element d of head h of q row (b,t) is q.data[q.off + (b*T+t)*qStride
// + h*D + d]; k, v row (kb,s) with kb = floor(b / kvGroup) at k.off + (kb*S+s)*kvStride + h*D.

export interface AttentionShape {
  B: number;
  T: number;
  S: number;
  H: number;
  D: number;
  qStride: number;
  kvStride: number;
  causal: boolean;
  kvGroup: number;
}

// A column slice of a flat buffer (q, k or v inside a fused QKV buffer, say).
export interface Slice<A extends ArrayLike<number> = ArrayLike<number>> {
  data: A;
  off: number;
}

// Number of live keys for query (b,t): kv_len of b's key row (all S if absent), at most t+1 if causal.
function live_keys(sh: AttentionShape, kvLen: ArrayLike<number> | null, b: number, t: number): number {
  const kb = Math.floor(b / sh.kvGroup);
  let n = kvLen ? Math.min(Math.max(kvLen[kb], 0), sh.S) : sh.S;
  if (sh.causal) n = Math.min(n, t + 1);
  return n;
}

// out (B,T,H*D) and att (B,H,T,S), masked entries 0; out = (att * dropmask) @ v.
export function attention_forward(
  sh: AttentionShape,
  q: Slice,
  k: Slice,
  v: Slice,
  kvLen: ArrayLike<number> | null,
  dropmask: ArrayLike<number> | null,
): { out: Float64Array; att: Float64Array } {
  const { B, T, S, H, D } = sh;
  const C = H * D;
  const out = new Float64Array(B * T * C);
  const att = new Float64Array(B * H * T * S);
  const scale = 1 / Math.sqrt(D);
  for (let b = 0; b < B; b++) {
    const kb = Math.floor(b / sh.kvGroup);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const n = live_keys(sh, kvLen, b, t);
        const qo = q.off + (b * T + t) * sh.qStride + h * D;
        const row = ((b * H + h) * T + t) * S;
        const s = new Float64Array(n);
        let m = -Infinity;
        for (let j = 0; j < n; j++) {
          const ko = k.off + (kb * S + j) * sh.kvStride + h * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[qo + d] * k.data[ko + d];
          s[j] = dot * scale;
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = 0; j < n; j++) sum += s[j] = Math.exp(s[j] - m);
        for (let j = 0; j < n; j++) {
          const a = s[j] / sum;
          att[row + j] = a;
          const w = dropmask ? a * dropmask[row + j] : a;
          const vo = v.off + (kb * S + j) * sh.kvStride + h * D;
          for (let d = 0; d < D; d++) out[(b * T + t) * C + h * D + d] += w * v.data[vo + d];
        }
      }
    }
  }
  return { out, att };
}

// Accumulates dq, dk, dv (+=, same slices/strides as q, k, v) for the gradient dout (B,T,H*D) of out.
// Recomputes att itself in f64 (the kernel reuses the forward's f32 att).
export function attention_backward(
  sh: AttentionShape,
  dq: Slice<Float64Array>,
  dk: Slice<Float64Array>,
  dv: Slice<Float64Array>,
  dout: ArrayLike<number>,
  q: Slice,
  k: Slice,
  v: Slice,
  kvLen: ArrayLike<number> | null,
  dropmask: ArrayLike<number> | null,
): void {
  const { B, T, S, H, D } = sh;
  const C = H * D;
  const scale = 1 / Math.sqrt(D);
  const { att } = attention_forward(sh, q, k, v, kvLen, dropmask);
  for (let b = 0; b < B; b++) {
    const kb = Math.floor(b / sh.kvGroup);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const n = live_keys(sh, kvLen, b, t);
        const qo = (b * T + t) * sh.qStride + h * D;
        const go = (b * T + t) * C + h * D;
        const row = ((b * H + h) * T + t) * S;
        // da_j = m_j (dout . v_j); dv_j += a_j m_j dout
        const da = new Float64Array(n);
        let dot = 0;
        for (let j = 0; j < n; j++) {
          const vo = (kb * S + j) * sh.kvStride + h * D;
          const mj = dropmask ? dropmask[row + j] : 1;
          let g = 0;
          for (let d = 0; d < D; d++) {
            g += dout[go + d] * v.data[v.off + vo + d];
            dv.data[dv.off + vo + d] += att[row + j] * mj * dout[go + d];
          }
          da[j] = g * mj;
          dot += att[row + j] * da[j];
        }
        // ds_j = a_j (da_j - sum_i a_i da_i); s_j = q . k_j * scale
        for (let j = 0; j < n; j++) {
          const ds = att[row + j] * (da[j] - dot) * scale;
          const ko = (kb * S + j) * sh.kvStride + h * D;
          for (let d = 0; d < D; d++) {
            dq.data[dq.off + qo + d] += ds * k.data[k.off + ko + d];
            dk.data[dk.off + ko + d] += ds * q.data[q.off + qo + d];
          }
        }
      }
    }
  }
}
