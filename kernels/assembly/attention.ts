// Scaled dot-product attention, paper 3.2.1: "Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V", one
// kernel per direction for every use in the model: encoder self-attention (key padding via kv_len),
// decoder masked self-attention (causal), one decoding step against a KV cache (T = 1, kv_len = steps
// so far) and encoder-decoder attention (kv_group query rows, e.g. beams, share one memory row).
// Layout: q row (b,t) starts at q + 4*((b*T+t)*q_stride), head h at h*D within it; k and v rows (kb,s)
// at 4*((kb*S+s)*kv_stride), kb = b / kv_group; so q, k, v may be column slices of one fused QKV buffer.
// Per query only the first n keys are live (n = kv_len, and <= t+1 if causal): loops stop at n and the
// rest of the att row is zeroed, so a fully masked row gives zeros instead of NaN.
import { hsum, madd, softmax_row_masked } from './vmath';

@inline function live_keys(kv_len: usize, kb: i32, S: i32): i32 {
  if (kv_len == 0) return S;
  return min(max(load<i32>(kv_len + (<usize>kb << 2)), 0), S);
}

// dst[j] = scale * (x . y_j) for j < n, y_j = y + j*ystride floats; x, y_j of length D.
// SIMD: four keys at a time so each chunk of x is loaded once for four dot products.
function dots(dst: usize, x: usize, y: usize, n: i32, D: i32, ystride: i32, scale: f32): void {
  const dd = <usize>D;
  const ys = <usize>ystride << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) {
      const y0 = y + <usize>j * ys;
      const y1 = y0 + ys;
      const y2 = y1 + ys;
      const y3 = y2 + ys;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      let d: usize = 0;
      for (; d + 4 <= dd; d += 4) {
        const o = d << 2;
        const xv = v128.load(x + o);
        a0 = madd(xv, v128.load(y0 + o), a0);
        a1 = madd(xv, v128.load(y1 + o), a1);
        a2 = madd(xv, v128.load(y2 + o), a2);
        a3 = madd(xv, v128.load(y3 + o), a3);
      }
      let s0 = hsum(a0);
      let s1 = hsum(a1);
      let s2 = hsum(a2);
      let s3 = hsum(a3);
      for (; d < dd; d++) {
        const o = d << 2;
        const xd = load<f32>(x + o);
        s0 += xd * load<f32>(y0 + o);
        s1 += xd * load<f32>(y1 + o);
        s2 += xd * load<f32>(y2 + o);
        s3 += xd * load<f32>(y3 + o);
      }
      const out = dst + (<usize>j << 2);
      store<f32>(out, s0 * scale);
      store<f32>(out + 4, s1 * scale);
      store<f32>(out + 8, s2 * scale);
      store<f32>(out + 12, s3 * scale);
    }
  }
  for (; j < n; j++) {
    const yj = y + <usize>j * ys;
    let s: f32 = 0;
    let d: usize = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; d + 4 <= dd; d += 4) acc = madd(v128.load(x + (d << 2)), v128.load(yj + (d << 2)), acc);
      s = hsum(acc);
    }
    for (; d < dd; d++) s += load<f32>(x + (d << 2)) * load<f32>(yj + (d << 2));
    store<f32>(dst + (<usize>j << 2), s * scale);
  }
}

// The live attention weight of key j: att * dropmask (dropmask 0 = absent).
@inline function weight(a: usize, dm: usize, j: i32): f32 {
  const w = load<f32>(a + (<usize>j << 2));
  return dm != 0 ? w * load<f32>(dm + (<usize>j << 2)) : w;
}

// out (D) = sum_{j<n} w_j v_j. D is cut in chunks of 16, then 4, then single floats, each chunk's
// accumulators staying in registers across all n keys.
function weighted_sum(out: usize, a: usize, dm: usize, v: usize, n: i32, D: i32, vstride: i32): void {
  const dd = <usize>D;
  const vs = <usize>vstride << 2;
  let d: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; d + 16 <= dd; d += 16) {
      let c0 = f32x4.splat(0);
      let c1 = f32x4.splat(0);
      let c2 = f32x4.splat(0);
      let c3 = f32x4.splat(0);
      let vp = v + (d << 2);
      for (let j = 0; j < n; j++, vp += vs) {
        const w = f32x4.splat(weight(a, dm, j));
        c0 = madd(w, v128.load(vp), c0);
        c1 = madd(w, v128.load(vp, 16), c1);
        c2 = madd(w, v128.load(vp, 32), c2);
        c3 = madd(w, v128.load(vp, 48), c3);
      }
      const o = out + (d << 2);
      v128.store(o, c0);
      v128.store(o, c1, 16);
      v128.store(o, c2, 32);
      v128.store(o, c3, 48);
    }
    for (; d + 4 <= dd; d += 4) {
      let c = f32x4.splat(0);
      let vp = v + (d << 2);
      for (let j = 0; j < n; j++, vp += vs) c = madd(f32x4.splat(weight(a, dm, j)), v128.load(vp), c);
      v128.store(out + (d << 2), c);
    }
  }
  for (; d < dd; d++) {
    let c: f32 = 0;
    let vp = v + (d << 2);
    for (let j = 0; j < n; j++, vp += vs) c += weight(a, dm, j) * load<f32>(vp);
    store<f32>(out + (d << 2), c);
  }
}

// out (B,T,H*D) | att (B,H,T,S) | q (B,T,q_stride) | k, v (B/kv_group,S,kv_stride) | kv_len (B/kv_group) i32
// optional | dropmask (B,H,T,S) optional | causal 0/1 | kv_group >= 1
export function attention_forward(out: usize, att: usize, q: usize, k: usize, v: usize, kv_len: usize, dropmask: usize,
  B: i32, T: i32, S: i32, H: i32, D: i32, q_stride: i32, kv_stride: i32, causal: i32, kv_group: i32): void {
  const C = H * D;
  const group = max(kv_group, 1);
  const scale = <f32>(1.0 / Math.sqrt(<f64>D));
  for (let b = 0; b < B; b++) {
    const kb = b / group;
    const L = live_keys(kv_len, kb, S);
    for (let h = 0; h < H; h++) {
      const kvOff = ((<usize>kb * <usize>S * <usize>kv_stride) + <usize>(h * D)) << 2;
      const kh = k + kvOff;
      const vh = v + kvOff;
      for (let t = 0; t < T; t++) {
        const n = causal ? min(L, t + 1) : L;
        const bt = <usize>(b * T + t);
        const qr = q + ((bt * <usize>q_stride + <usize>(h * D)) << 2);
        const row = (<usize>((b * H + h) * T + t) * <usize>S) << 2;
        const ar = att + row;
        const dm = dropmask != 0 ? dropmask + row : 0;
        const or = out + ((bt * <usize>C + <usize>(h * D)) << 2);
        // s_j = q . k_j / sqrt(D), then the masked softmax in place
        dots(ar, qr, kh, n, D, kv_stride, scale);
        softmax_row_masked(ar, n, S);
        // out = (att * dropmask) @ v
        weighted_sum(or, ar, dm, vh, n, D, kv_stride);
      }
    }
  }
}

// Differentiates attention_forward, per query row with live keys j < n:
//   "s_j = q . k_j / sqrt(D); a = softmax(s); out = sum_j (a_j m_j) v_j"  (m = dropmask or 1)
// dv_j += a_j m_j dout | da_j = m_j (dout . v_j) | ds_j = a_j (da_j - sum_i a_i da_i)
// dq += sum_j ds_j k_j / sqrt(D) | dk_j += ds_j q / sqrt(D)
// dq (B,T,q_stride), dk, dv (B/kv_group,S,kv_stride) += | scratch (S) | dout (B,T,H*D) | att, dropmask (B,H,T,S)
// | q, k, v, kv_len as in the forward. Gradients share the layouts and strides of q, k, v (so may sit in one
// fused buffer); with kv_group > 1 every query row of a group adds into the same dk, dv rows.
export function attention_backward(dq: usize, dk: usize, dv: usize, scratch: usize, dout: usize, att: usize,
  q: usize, k: usize, v: usize, kv_len: usize, dropmask: usize,
  B: i32, T: i32, S: i32, H: i32, D: i32, q_stride: i32, kv_stride: i32, causal: i32, kv_group: i32): void {
  const C = H * D;
  const group = max(kv_group, 1);
  const scale = <f32>(1.0 / Math.sqrt(<f64>D));
  const dd = <usize>D;
  const ks = <usize>kv_stride << 2;
  for (let b = 0; b < B; b++) {
    const kb = b / group;
    const L = live_keys(kv_len, kb, S);
    for (let h = 0; h < H; h++) {
      const kvOff = ((<usize>kb * <usize>S * <usize>kv_stride) + <usize>(h * D)) << 2;
      for (let t = 0; t < T; t++) {
        const n = causal ? min(L, t + 1) : L;
        if (n <= 0) continue;
        const bt = <usize>(b * T + t);
        const qOff = (bt * <usize>q_stride + <usize>(h * D)) << 2;
        const row = (<usize>((b * H + h) * T + t) * <usize>S) << 2;
        const ar = att + row;
        const dm = dropmask != 0 ? dropmask + row : 0;
        const dor = dout + ((bt * <usize>C + <usize>(h * D)) << 2);
        // scratch_j = dout . v_j, then da_j = m_j scratch_j and sum_i a_i da_i
        dots(scratch, dor, v + kvOff, n, D, kv_stride, 1);
        let dot: f64 = 0;
        for (let j = 0; j < n; j++) {
          const sj = scratch + (<usize>j << 2);
          let da = load<f32>(sj);
          if (dm != 0) da *= load<f32>(dm + (<usize>j << 2));
          store<f32>(sj, da);
          dot += <f64>load<f32>(ar + (<usize>j << 2)) * <f64>da;
        }
        // scratch_j = ds_j / sqrt(D)
        const dotf = <f32>dot;
        for (let j = 0; j < n; j++) {
          const sj = scratch + (<usize>j << 2);
          store<f32>(sj, load<f32>(ar + (<usize>j << 2)) * (load<f32>(sj) - dotf) * scale);
        }
        // per live key, contiguous over D: dq += ds_j k_j, dk_j += ds_j q, dv_j += w_j dout. Key-outer keeps
        // every row's accesses contiguous; a D-outer order strides across rows and thrashes L1 when the row
        // stride is a multiple of 2 KiB (a fused QKV buffer with C = 512).
        const qr = q + qOff;
        const dqr = dq + qOff;
        for (let j = 0; j < n; j++) {
          const o = kvOff + <usize>j * ks;
          const kp = k + o;
          const dkp = dk + o;
          const dvp = dv + o;
          const ds = load<f32>(scratch + (<usize>j << 2));
          const w = weight(ar, dm, j);
          let d: usize = 0;
          if (ASC_FEATURE_SIMD) {
            const vds = f32x4.splat(ds);
            const vw = f32x4.splat(w);
            for (; d + 4 <= dd; d += 4) {
              const x = d << 2;
              v128.store(dqr + x, madd(vds, v128.load(kp + x), v128.load(dqr + x)));
              v128.store(dkp + x, madd(vds, v128.load(qr + x), v128.load(dkp + x)));
              v128.store(dvp + x, madd(vw, v128.load(dor + x), v128.load(dvp + x)));
            }
          }
          for (; d < dd; d++) {
            const x = d << 2;
            store<f32>(dqr + x, load<f32>(dqr + x) + ds * load<f32>(kp + x));
            store<f32>(dkp + x, load<f32>(dkp + x) + ds * load<f32>(qr + x));
            store<f32>(dvp + x, load<f32>(dvp + x) + w * load<f32>(dor + x));
          }
        }
      }
    }
  }
}
