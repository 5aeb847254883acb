// Scaled dot-product attention, paper 3.2.1: "Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V", one
// kernel per direction for every use in the model: encoder self-attention (key padding via kv_len),
// decoder masked self-attention (causal), one decoding step against a KV cache (T = 1, kv_len = steps
// so far) and encoder-decoder attention (kv_group query rows, e.g. beams, share one memory row).
// Layout: q row (b,t) starts at q + 4*((b*T+t)*q_stride), head h at h*D within it; k and v rows (kb,s)
// at 4*((kb*S+s)*kv_stride), kb = b / kv_group; so q, k, v may be column slices of one fused QKV buffer.
// Per query only the first n keys are live (n = kv_len, and <= t+1 if causal): loops stop at n and the
// rest of the att row is zeroed, so a fully masked row gives zeros instead of NaN.
import { touch_rows } from './prefetch';
import { exp_f32, exp_v128_nonpos, hsum, load_partial, madd, store_partial } from './simd';
import { axpy_rows, dot_rows } from './tiles';

@inline function live_keys(kv_len: usize, kb: i32, S: i32): i32 {
  if (kv_len == 0) return S;
  return min(max(load<i32>(kv_len + (<usize>kb << 2)), 0), S);
}

// softmax in place over the first n of p's S entries; entries n..S-1 (masked keys) become 0, and a fully
// masked row (n == 0) is all zeros rather than NaN. The sum is f32: n terms in (0, 1], one of them 1.
// SIMD: the max and the sum stay vectors (reduced by shuffles, no scalar compares), and the last n % 4
// entries go through the vector exp too, as lanes of one vector padded with -inf (exp gives 0 there).
function softmax_live(p: usize, n: i32, S: i32): void {
  const N = <usize>n;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    if (N > 0) {
      const N4 = N & ~3;
      let vm = v128.load32_splat(p);
      for (; i < N4; i += 4) vm = f32x4.pmax(vm, v128.load(p + (i << 2)));
      for (; i < N; i++) vm = f32x4.pmax(vm, v128.load32_splat(p + (i << 2)));
      vm = f32x4.pmax(vm, v128.shuffle<f32>(vm, vm, 2, 3, 0, 1));
      vm = f32x4.pmax(vm, v128.shuffle<f32>(vm, vm, 1, 0, 3, 2));
      let vs = f32x4.splat(0);
      for (i = 0; i < N4; i += 4) {
        const e = exp_v128_nonpos(f32x4.sub(v128.load(p + (i << 2)), vm));
        v128.store(p + (i << 2), e);
        vs = f32x4.add(vs, e);
      }
      const r = N - N4;
      if (r > 0) {
        const pt = p + (N4 << 2);
        const e = exp_v128_nonpos(f32x4.sub(load_partial(pt, r, f32x4.splat(-Infinity)), vm));
        vs = f32x4.add(vs, e);
        store_partial(pt, e, r);
      }
      vs = f32x4.add(vs, v128.shuffle<f32>(vs, vs, 2, 3, 0, 1));
      vs = f32x4.add(vs, v128.shuffle<f32>(vs, vs, 1, 0, 3, 2));
      const vi = f32x4.div(f32x4.splat(1), vs);
      for (i = 0; i < N4; i += 4) v128.store(p + (i << 2), f32x4.mul(v128.load(p + (i << 2)), vi));
      const inv = f32x4.extract_lane(vi, 0);
      for (; i < N; i++) store<f32>(p + (i << 2), load<f32>(p + (i << 2)) * inv);
    }
    const zero = f32x4.splat(0);
    for (; i + 4 <= <usize>S; i += 4) v128.store(p + (i << 2), zero);
  } else if (N > 0) {
    let m = load<f32>(p);
    for (i = 1; i < N; i++) m = max(m, load<f32>(p + (i << 2)));
    let sum: f32 = 0;
    for (i = 0; i < N; i++) {
      const e = exp_f32(load<f32>(p + (i << 2)) - m);
      store<f32>(p + (i << 2), e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    for (i = 0; i < N; i++) store<f32>(p + (i << 2), load<f32>(p + (i << 2)) * inv);
  }
  for (; i < <usize>S; i++) store<f32>(p + (i << 2), 0);
}

// The live attention weight of key j: att * dropmask (dropmask 0 = absent).
@inline function weight(a: usize, dm: usize, j: i32): f32 {
  const w = load<f32>(a + (<usize>j << 2));
  return dm != 0 ? w * load<f32>(dm + (<usize>j << 2)) : w;
}

// The same splatted to a vector: one broadcast load (times one for the mask).
@inline function weight_v(a: usize, dm: usize, j: i32): v128 {
  const w = v128.load32_splat(a + (<usize>j << 2));
  return dm != 0 ? f32x4.mul(w, v128.load32_splat(dm + (<usize>j << 2))) : w;
}

// MR query rows (MR in {1, 2}; row i has n_i live keys, n_0 <= n_1): scores, masked softmax, weighted sum of
// values. Rows i at stride qs in q, os in out, row_s in att and dm; keys and values at stride ks.
// With two rows every key and value row loaded serves both; with causal masking row 0 has one key fewer,
// which it computes, then masks (it never reads past row 1's keys).
@inline function attend_rows(o: usize, os: usize, ar: usize, dm: usize, row_s: usize, qr: usize, qs: usize, kh: usize, vh: usize, ks: usize,
  n0: i32, n1: i32, S: i32, D: i32, scale: f32, MR: i32): void {
  const n = MR == 2 ? n1 : n0;
  // s_j = q . k_j / sqrt(D), then the masked softmax in place
  dot_rows(ar, row_s, qr, qs, kh, ks, n, D, scale, 0, MR);
  softmax_live(ar, n0, S);
  if (MR == 2) softmax_live(ar + row_s, n1, S);
  // out = (att * dropmask) @ v
  axpy_rows(o, os, ar, row_s, 4, dm, vh, ks, n, D, false, MR, 4);
}

// out (B,T,H*D) | att (B,H,T,S) | q (B,T,q_stride) | k, v (B/kv_group,S,kv_stride) | kv_len (B/kv_group) i32
// optional | dropmask (B,H,T,S) optional | causal 0/1 | kv_group >= 1
// SIMD builds take query rows in pairs (t, t+1) so every key and value row loaded serves both.
export function attention_forward(out: usize, att: usize, q: usize, k: usize, v: usize, kv_len: usize, dropmask: usize,
  B: i32, T: i32, S: i32, H: i32, D: i32, q_stride: i32, kv_stride: i32, causal: i32, kv_group: i32): void {
  const C = H * D;
  const group = max(kv_group, 1);
  const scale = <f32>(1.0 / Math.sqrt(<f64>D));
  const qs = <usize>q_stride << 2;
  const ks = <usize>kv_stride << 2;
  const os = <usize>C << 2;
  const row_s = <usize>S << 2;
  for (let b = 0; b < B; b++) {
    const kb = b / group;
    const L = live_keys(kv_len, kb, S);
    for (let h = 0; h < H; h++) {
      const kv_off = ((<usize>kb * <usize>S * <usize>kv_stride) + <usize>(h * D)) << 2;
      const kh = k + kv_off;
      const vh = v + kv_off;
      const bt0 = <usize>(b * T);
      const qh = q + ((bt0 * <usize>q_stride + <usize>(h * D)) << 2);
      const oh = out + ((bt0 * <usize>C + <usize>(h * D)) << 2);
      const ah = att + ((<usize>(b * H + h) * <usize>T * <usize>S) << 2);
      const dh = dropmask != 0 ? dropmask + ((<usize>(b * H + h) * <usize>T * <usize>S) << 2) : 0;
      let t = 0;
      if (ASC_FEATURE_SIMD) {
        if (T >= 2) {
          const db = <usize>D << 2;
          touch_rows(qh, T, qs, db);
          touch_rows(kh, L, ks, db);
          touch_rows(vh, L, ks, db);
        }
        for (; t + 2 <= T; t += 2) {
          const ut = <usize>t;
          attend_rows(oh + ut * os, os, ah + ut * row_s, dh != 0 ? dh + ut * row_s : 0, row_s, qh + ut * qs, qs, kh, vh, ks,
            causal ? min(L, t + 1) : L, causal ? min(L, t + 2) : L, S, D, scale, 2);
        }
      }
      for (; t < T; t++) {
        const ut = <usize>t;
        const n = causal ? min(L, t + 1) : L;
        attend_rows(oh + ut * os, os, ah + ut * row_s, dh != 0 ? dh + ut * row_s : 0, row_s, qh + ut * qs, qs, kh, vh, ks, n, n, S, D, scale, 1);
      }
    }
  }
}

// --- backward ---

// The softmax and dropout backward of one query row, in place: scratch_j = dout . v_j on entry,
// ds_j / sqrt(D) on exit, for j < n: da_j = m_j scratch_j | ds_j = a_j (da_j - sum_i a_i da_i).
function softmax_backward_row(scr: usize, a: usize, dm: usize, n: i32, scale: f32): void {
  const N = <usize>n;
  let dot: f32 = 0;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; i + 4 <= N; i += 4) {
      const o = i << 2;
      let da = v128.load(scr + o);
      if (dm != 0) {
        da = f32x4.mul(da, v128.load(dm + o));
        v128.store(scr + o, da);
      }
      acc = madd(v128.load(a + o), da, acc);
    }
    dot = hsum<f32>(acc);
  }
  for (; i < N; i++) {
    const o = i << 2;
    let da = load<f32>(scr + o);
    if (dm != 0) {
      da *= load<f32>(dm + o);
      store<f32>(scr + o, da);
    }
    dot += load<f32>(a + o) * da;
  }
  i = 0;
  if (ASC_FEATURE_SIMD) {
    const vdot = f32x4.splat(dot);
    const vscale = f32x4.splat(scale);
    for (; i + 4 <= N; i += 4) {
      const o = i << 2;
      v128.store(scr + o, f32x4.mul(f32x4.mul(v128.load(a + o), f32x4.sub(v128.load(scr + o), vdot)), vscale));
    }
  }
  for (; i < N; i++) {
    const o = i << 2;
    store<f32>(scr + o, load<f32>(a + o) * (load<f32>(scr + o) - dot) * scale);
  }
}

// One query row's share of the gradients, for live keys j < n (ds = scratch from softmax_backward_row):
// dq (D) += sum_j ds_j k_j | dk_j (D) += ds_j q | dv_j (D) += w_j dout, w = att * dropmask.
// Keys inside chunks of 16 floats of D: the chunk's q, dout and dq sum stay in registers, so each key
// costs a load of k and a load and store of dk and dv (a chunk is one cache line when rows are aligned).
// But row strides that are multiples of 2 KiB (C = 512 with strides C, 2C, 3C) put all rows in a few L1
// sets, so k, dk, dv come from L2 on every pass: then backward_row_keys below is faster. (Tried: key
// blocks of 4 met by every query row, to keep them in L1; it needs an extra pass for sum_i a_i da_i of
// each row first, and was slower at D = 32, even at D = 64.)
function backward_row(dq: usize, dk: usize, dv: usize, q: usize, g: usize, k: usize, ds: usize, a: usize, dm: usize,
  n: i32, D: i32, kv_stride: i32): void {
  const dd = <usize>D;
  const ks = <usize>kv_stride << 2;
  let d: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; d + 16 <= dd; d += 16) {
      const o = d << 2;
      const q0 = v128.load(q + o);
      const q1 = v128.load(q + o, 16);
      const q2 = v128.load(q + o, 32);
      const q3 = v128.load(q + o, 48);
      const g0 = v128.load(g + o);
      const g1 = v128.load(g + o, 16);
      const g2 = v128.load(g + o, 32);
      const g3 = v128.load(g + o, 48);
      let c0 = f32x4.splat(0);
      let c1 = f32x4.splat(0);
      let c2 = f32x4.splat(0);
      let c3 = f32x4.splat(0);
      let kp = k + o;
      let dkp = dk + o;
      let dvp = dv + o;
      for (let j = 0; j < n; j++, kp += ks, dkp += ks, dvp += ks) {
        const s = v128.load32_splat(ds + (<usize>j << 2));
        const w = weight_v(a, dm, j);
        c0 = madd(s, v128.load(kp), c0);
        c1 = madd(s, v128.load(kp, 16), c1);
        c2 = madd(s, v128.load(kp, 32), c2);
        c3 = madd(s, v128.load(kp, 48), c3);
        v128.store(dkp, madd(s, q0, v128.load(dkp)));
        v128.store(dkp, madd(s, q1, v128.load(dkp, 16)), 16);
        v128.store(dkp, madd(s, q2, v128.load(dkp, 32)), 32);
        v128.store(dkp, madd(s, q3, v128.load(dkp, 48)), 48);
        v128.store(dvp, madd(w, g0, v128.load(dvp)));
        v128.store(dvp, madd(w, g1, v128.load(dvp, 16)), 16);
        v128.store(dvp, madd(w, g2, v128.load(dvp, 32)), 32);
        v128.store(dvp, madd(w, g3, v128.load(dvp, 48)), 48);
      }
      v128.store(dq + o, f32x4.add(v128.load(dq + o), c0));
      v128.store(dq + o, f32x4.add(v128.load(dq + o, 16), c1), 16);
      v128.store(dq + o, f32x4.add(v128.load(dq + o, 32), c2), 32);
      v128.store(dq + o, f32x4.add(v128.load(dq + o, 48), c3), 48);
    }
    for (; d + 4 <= dd; d += 4) {
      const o = d << 2;
      const q0 = v128.load(q + o);
      const g0 = v128.load(g + o);
      let c0 = f32x4.splat(0);
      let kp = k + o;
      let dkp = dk + o;
      let dvp = dv + o;
      for (let j = 0; j < n; j++, kp += ks, dkp += ks, dvp += ks) {
        const s = v128.load32_splat(ds + (<usize>j << 2));
        c0 = madd(s, v128.load(kp), c0);
        v128.store(dkp, madd(s, q0, v128.load(dkp)));
        v128.store(dvp, madd(weight_v(a, dm, j), g0, v128.load(dvp)));
      }
      v128.store(dq + o, f32x4.add(v128.load(dq + o), c0));
    }
  }
  for (; d < dd; d++) {
    const o = d << 2;
    const qd = load<f32>(q + o);
    const gd = load<f32>(g + o);
    let c: f32 = 0;
    let kp = k + o;
    let dkp = dk + o;
    let dvp = dv + o;
    for (let j = 0; j < n; j++, kp += ks, dkp += ks, dvp += ks) {
      const sj = load<f32>(ds + (<usize>j << 2));
      c += sj * load<f32>(kp);
      store<f32>(dkp, load<f32>(dkp) + sj * qd);
      store<f32>(dvp, load<f32>(dvp) + weight(a, dm, j) * gd);
    }
    store<f32>(dq + o, load<f32>(dq + o) + c);
  }
}

// The same, key by key over all of D (dq, q, dout reloaded from L1 for every key): each k, dk, dv row is
// visited once per query row, its lines in order. Faster than backward_row when row strides are multiples
// of 2 KiB (measured 1.1-1.4x at D = 64), slower otherwise.
function backward_row_keys(dq: usize, dk: usize, dv: usize, q: usize, g: usize, k: usize, ds: usize, a: usize,
  dm: usize, n: i32, D: i32, kv_stride: i32): void {
  const db = <usize>D << 2;
  const d4 = db & ~15;
  const ks = <usize>kv_stride << 2;
  for (let j = 0; j < n; j++) {
    const o = <usize>j * ks;
    const kp = k + o;
    const dkp = dk + o;
    const dvp = dv + o;
    const sj = load<f32>(ds + (<usize>j << 2));
    const w = weight(a, dm, j);
    const vs = f32x4.splat(sj);
    const vw = f32x4.splat(w);
    let x: usize = 0;
    for (; x < d4; x += 16) {
      v128.store(dq + x, madd(vs, v128.load(kp + x), v128.load(dq + x)));
      v128.store(dkp + x, madd(vs, v128.load(q + x), v128.load(dkp + x)));
      v128.store(dvp + x, madd(vw, v128.load(g + x), v128.load(dvp + x)));
    }
    for (; x < db; x += 4) {
      store<f32>(dq + x, load<f32>(dq + x) + sj * load<f32>(kp + x));
      store<f32>(dkp + x, load<f32>(dkp + x) + sj * load<f32>(q + x));
      store<f32>(dvp + x, load<f32>(dvp + x) + w * load<f32>(g + x));
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
  const qs = <usize>q_stride << 2;
  const ks = <usize>kv_stride << 2;
  const os = <usize>C << 2;
  const row_s = <usize>S << 2;
  for (let b = 0; b < B; b++) {
    const kb = b / group;
    const L = live_keys(kv_len, kb, S);
    if (L <= 0) continue;
    for (let h = 0; h < H; h++) {
      const kv_off = ((<usize>kb * <usize>S * <usize>kv_stride) + <usize>(h * D)) << 2;
      const bt0 = <usize>(b * T);
      const qh = (bt0 * <usize>q_stride + <usize>(h * D)) << 2; // row (b,0), head h, in q and dq
      const gh = dout + ((bt0 * <usize>C + <usize>(h * D)) << 2);
      const ah = att + ((<usize>(b * H + h) * <usize>T * <usize>S) << 2);
      const dh = dropmask != 0 ? dropmask + ((<usize>(b * H + h) * <usize>T * <usize>S) << 2) : 0;
      if (ASC_FEATURE_SIMD) {
        if (T >= 2) {
          const db = <usize>D << 2;
          touch_rows(q + qh, T, qs, db);
          touch_rows(gh, T, os, db);
          touch_rows(dq + qh, T, qs, db);
          touch_rows(k + kv_off, L, ks, db);
          touch_rows(v + kv_off, L, ks, db);
          touch_rows(dk + kv_off, L, ks, db);
          touch_rows(dv + kv_off, L, ks, db);
        }
      }
      for (let t = 0; t < T; t++) {
        const n = causal ? min(L, t + 1) : L;
        const ut = <usize>t;
        const ar = ah + ut * row_s;
        const dm = dh != 0 ? dh + ut * row_s : 0;
        const gr = gh + ut * os;
        const qo = qh + ut * qs;
        // scratch_j = dout . v_j, then ds_j / sqrt(D)
        dot_rows(scratch, 0, gr, 0, v + kv_off, ks, n, D, 1, 0, 1);
        softmax_backward_row(scratch, ar, dm, n, scale);
        if (ASC_FEATURE_SIMD && (ks & 2047) == 0) {
          backward_row_keys(dq + qo, dk + kv_off, dv + kv_off, q + qo, gr, k + kv_off, scratch, ar, dm, n, D, kv_stride);
        } else {
          backward_row(dq + qo, dk + kv_off, dv + kv_off, q + qo, gr, k + kv_off, scratch, ar, dm, n, D, kv_stride);
        }
      }
    }
  }
}
