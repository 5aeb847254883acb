// Scaled dot-product attention, paper 3.2.1: "Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V", one
// kernel per direction for every use in the model: encoder self-attention (key padding via kv_len),
// decoder masked self-attention (causal), one decoding step against a KV cache (T = 1, kv_len = steps
// so far) and encoder-decoder attention (kv_group query rows, e.g. beams, share one memory row).
// Layout: q row (b,t) starts at q + 4*((b*T+t)*q_stride), head h at h*D within it; k and v rows (kb,s)
// at 4*((kb*S+s)*kv_stride), kb = b / kv_group; so q, k, v may be column slices of one fused QKV buffer.
// Per query only the first n keys are live (n = kv_len, and <= t+1 if causal): loops stop at n and the
// rest of the att row is zeroed, so a fully masked row gives zeros instead of NaN.
import { exp_f32, exp_v128_nonpos, hsum, madd } from './vmath';

@inline function live_keys(kv_len: usize, kb: i32, S: i32): i32 {
  if (kv_len == 0) return S;
  return min(max(load<i32>(kv_len + (<usize>kb << 2)), 0), S);
}

// Loads one v128 per cache line of `rows` row segments of `bytes` bytes, `stride` bytes apart (a head's q,
// k or v rows inside a wide buffer), so the lines come from L3/DRAM all at once rather than one miss at a
// time in the middle of a dot product (wasm has no prefetch instruction; see prefetch.ts). The loads feed a
// store that rewrites the value already there, so they cannot be optimized away.
function touch_rows(p: usize, rows: i32, stride: usize, bytes: usize): void {
  if (rows <= 0 || bytes < 16) return;
  let t = i32x4.splat(0);
  for (let r = 0; r < rows; r++, p += stride) {
    for (let o: usize = 0; o < bytes; o += 64) t = v128.or(t, v128.load(p + o));
    t = v128.or(t, v128.load(p + bytes - 16)); // the last line when the segment straddles one more
  }
  if (i32x4.extract_lane(t, 0) == 0x7fc00123) store<i32>(p - stride, load<i32>(p - stride));
}

// [sum a0, sum a1, sum a2, sum a3]: a 4x4 transpose folded into the adds (6 shuffles, 3 adds) instead of
// four horizontal sums, so four dot products leave as one vector.
@inline function sum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const u = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const w = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(u, w, 0, 1, 4, 5), v128.shuffle<f32>(u, w, 2, 3, 6, 7));
}

// [x . y0, x . y1, x . y2, x . y3] over the floats d0 <= d < D that the SIMD loops leave over (D % 4 != 0).
function dot_tail4(x: usize, y0: usize, y1: usize, y2: usize, y3: usize, d0: usize, dd: usize): v128 {
  let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
  for (let d = d0; d < dd; d++) {
    const o = d << 2;
    const xd = load<f32>(x + o);
    s0 += xd * load<f32>(y0 + o);
    s1 += xd * load<f32>(y1 + o);
    s2 += xd * load<f32>(y2 + o);
    s3 += xd * load<f32>(y3 + o);
  }
  return f32x4(s0, s1, s2, s3);
}

// x . y over D floats
@inline function dot(x: usize, y: usize, dd: usize): f32 {
  let s: f32 = 0;
  let d: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (; d + 4 <= dd; d += 4) acc = madd(v128.load(x + (d << 2)), v128.load(y + (d << 2)), acc);
    s = hsum(acc);
  }
  for (; d < dd; d++) s += load<f32>(x + (d << 2)) * load<f32>(y + (d << 2));
  return s;
}

// dst[j] = scale * (x . y_j) for j < n, y_j = y + j*ystride floats; x, y_j of length D.
// SIMD: four keys at a time so each chunk of x is loaded once for four dot products.
function dots(dst: usize, x: usize, y: usize, n: i32, D: i32, ystride: i32, scale: f32): void {
  const dd = <usize>D;
  const d4 = (dd & ~3) << 2; // bytes covered by the SIMD loop
  const ys = <usize>ystride << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const vscale = f32x4.splat(scale);
    for (; j + 4 <= n; j += 4) {
      const y0 = y + <usize>j * ys;
      const y1 = y0 + ys;
      const y2 = y1 + ys;
      const y3 = y2 + ys;
      let a0 = f32x4.splat(0);
      let a1 = f32x4.splat(0);
      let a2 = f32x4.splat(0);
      let a3 = f32x4.splat(0);
      for (let o: usize = 0; o < d4; o += 16) {
        const xv = v128.load(x + o);
        a0 = madd(xv, v128.load(y0 + o), a0);
        a1 = madd(xv, v128.load(y1 + o), a1);
        a2 = madd(xv, v128.load(y2 + o), a2);
        a3 = madd(xv, v128.load(y3 + o), a3);
      }
      let r = sum4(a0, a1, a2, a3);
      if (d4 < dd << 2) r = f32x4.add(r, dot_tail4(x, y0, y1, y2, y3, dd & ~3, dd));
      v128.store(dst + (<usize>j << 2), f32x4.mul(r, vscale));
    }
  }
  for (; j < n; j++) store<f32>(dst + (<usize>j << 2), dot(x, y + <usize>j * ys, dd) * scale);
}

// Two query rows against the same keys: dst0[j] = scale * (x0 . y_j), dst1[j] = scale * (x1 . y_j), j < n.
// Each key chunk loaded feeds two dot products and each query chunk four (8 accumulators in registers).
function dots2(dst0: usize, dst1: usize, x0: usize, x1: usize, y: usize, n: i32, D: i32, ystride: i32, scale: f32): void {
  const dd = <usize>D;
  const d4 = (dd & ~3) << 2;
  const ys = <usize>ystride << 2;
  const vscale = f32x4.splat(scale);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const y0 = y + <usize>j * ys;
    const y1 = y0 + ys;
    const y2 = y1 + ys;
    const y3 = y2 + ys;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    for (let o: usize = 0; o < d4; o += 16) {
      const u = v128.load(x0 + o);
      const w = v128.load(x1 + o);
      let kv = v128.load(y0 + o);
      a0 = madd(u, kv, a0);
      b0 = madd(w, kv, b0);
      kv = v128.load(y1 + o);
      a1 = madd(u, kv, a1);
      b1 = madd(w, kv, b1);
      kv = v128.load(y2 + o);
      a2 = madd(u, kv, a2);
      b2 = madd(w, kv, b2);
      kv = v128.load(y3 + o);
      a3 = madd(u, kv, a3);
      b3 = madd(w, kv, b3);
    }
    let r0 = sum4(a0, a1, a2, a3);
    let r1 = sum4(b0, b1, b2, b3);
    if (d4 < dd << 2) {
      r0 = f32x4.add(r0, dot_tail4(x0, y0, y1, y2, y3, dd & ~3, dd));
      r1 = f32x4.add(r1, dot_tail4(x1, y0, y1, y2, y3, dd & ~3, dd));
    }
    v128.store(dst0 + (<usize>j << 2), f32x4.mul(r0, vscale));
    v128.store(dst1 + (<usize>j << 2), f32x4.mul(r1, vscale));
  }
  for (; j < n; j++) {
    const yj = y + <usize>j * ys;
    store<f32>(dst0 + (<usize>j << 2), dot(x0, yj, dd) * scale);
    store<f32>(dst1 + (<usize>j << 2), dot(x1, yj, dd) * scale);
  }
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
        let x = v128.load32_lane(pt, f32x4.splat(-Infinity), 0);
        if (r > 1) x = v128.load32_lane(pt + 4, x, 1);
        if (r > 2) x = v128.load32_lane(pt + 8, x, 2);
        const e = exp_v128_nonpos(f32x4.sub(x, vm));
        vs = f32x4.add(vs, e);
        v128.store32_lane(pt, e, 0);
        if (r > 1) v128.store32_lane(pt + 4, e, 1);
        if (r > 2) v128.store32_lane(pt + 8, e, 2);
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
        const w = weight_v(a, dm, j);
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
      for (let j = 0; j < n; j++, vp += vs) c = madd(weight_v(a, dm, j), v128.load(vp), c);
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

// Two query rows: out0 = sum_{j<n} w0_j v_j, out1 = sum_{j<n} w1_j v_j (each v chunk loaded feeds both).
// Row 0 may have fewer live keys than n: its att entries beyond them are 0, so they add nothing.
function weighted_sum2(out0: usize, out1: usize, a0: usize, a1: usize, dm0: usize, dm1: usize, v: usize, n: i32, D: i32, vstride: i32): void {
  const dd = <usize>D;
  const vs = <usize>vstride << 2;
  let d: usize = 0;
  for (; d + 16 <= dd; d += 16) {
    let c0 = f32x4.splat(0);
    let c1 = f32x4.splat(0);
    let c2 = f32x4.splat(0);
    let c3 = f32x4.splat(0);
    let e0 = f32x4.splat(0);
    let e1 = f32x4.splat(0);
    let e2 = f32x4.splat(0);
    let e3 = f32x4.splat(0);
    let vp = v + (d << 2);
    for (let j = 0; j < n; j++, vp += vs) {
      const w0 = weight_v(a0, dm0, j);
      const w1 = weight_v(a1, dm1, j);
      let x = v128.load(vp);
      c0 = madd(w0, x, c0);
      e0 = madd(w1, x, e0);
      x = v128.load(vp, 16);
      c1 = madd(w0, x, c1);
      e1 = madd(w1, x, e1);
      x = v128.load(vp, 32);
      c2 = madd(w0, x, c2);
      e2 = madd(w1, x, e2);
      x = v128.load(vp, 48);
      c3 = madd(w0, x, c3);
      e3 = madd(w1, x, e3);
    }
    const o0 = out0 + (d << 2);
    v128.store(o0, c0);
    v128.store(o0, c1, 16);
    v128.store(o0, c2, 32);
    v128.store(o0, c3, 48);
    const o1 = out1 + (d << 2);
    v128.store(o1, e0);
    v128.store(o1, e1, 16);
    v128.store(o1, e2, 32);
    v128.store(o1, e3, 48);
  }
  for (; d + 4 <= dd; d += 4) {
    let c = f32x4.splat(0);
    let e = f32x4.splat(0);
    let vp = v + (d << 2);
    for (let j = 0; j < n; j++, vp += vs) {
      const x = v128.load(vp);
      c = madd(weight_v(a0, dm0, j), x, c);
      e = madd(weight_v(a1, dm1, j), x, e);
    }
    v128.store(out0 + (d << 2), c);
    v128.store(out1 + (d << 2), e);
  }
  for (; d < dd; d++) {
    let c: f32 = 0;
    let e: f32 = 0;
    let vp = v + (d << 2);
    for (let j = 0; j < n; j++, vp += vs) {
      const x = load<f32>(vp);
      c += weight(a0, dm0, j) * x;
      e += weight(a1, dm1, j) * x;
    }
    store<f32>(out0 + (d << 2), c);
    store<f32>(out1 + (d << 2), e);
  }
}

// out (B,T,H*D) | att (B,H,T,S) | q (B,T,q_stride) | k, v (B/kv_group,S,kv_stride) | kv_len (B/kv_group) i32
// optional | dropmask (B,H,T,S) optional | causal 0/1 | kv_group >= 1
// SIMD builds take query rows in pairs (t, t+1) so every key and value row loaded serves both; with causal
// masking row t has one key fewer, which it computes, then masks (it never reads past row t+1's keys).
export function attention_forward(out: usize, att: usize, q: usize, k: usize, v: usize, kv_len: usize, dropmask: usize,
  B: i32, T: i32, S: i32, H: i32, D: i32, q_stride: i32, kv_stride: i32, causal: i32, kv_group: i32): void {
  const C = H * D;
  const group = max(kv_group, 1);
  const scale = <f32>(1.0 / Math.sqrt(<f64>D));
  const qs = <usize>q_stride << 2;
  const rowS = <usize>S << 2;
  const Ts = <usize>T;
  for (let b = 0; b < B; b++) {
    const kb = b / group;
    const L = live_keys(kv_len, kb, S);
    for (let h = 0; h < H; h++) {
      const kvOff = ((<usize>kb * <usize>S * <usize>kv_stride) + <usize>(h * D)) << 2;
      const kh = k + kvOff;
      const vh = v + kvOff;
      const bt0 = <usize>(b * T);
      const qh = q + ((bt0 * <usize>q_stride + <usize>(h * D)) << 2);
      const oh = out + ((bt0 * <usize>C + <usize>(h * D)) << 2);
      const os = <usize>C << 2;
      const ah = att + ((<usize>(b * H + h) * Ts * <usize>S) << 2);
      const dh = dropmask != 0 ? dropmask + ((<usize>(b * H + h) * Ts * <usize>S) << 2) : 0;
      let t = 0;
      if (ASC_FEATURE_SIMD) {
        const db = <usize>D << 2;
        const ks = <usize>kv_stride << 2;
        if (T >= 2) {
          touch_rows(qh, T, qs, db);
          touch_rows(kh, L, ks, db);
          touch_rows(vh, L, ks, db);
        }
        for (; t + 2 <= T; t += 2) {
          const n0 = causal ? min(L, t + 1) : L;
          const n1 = causal ? min(L, t + 2) : L;
          const ut = <usize>t;
          const ar0 = ah + ut * rowS;
          const ar1 = ar0 + rowS;
          const qr0 = qh + ut * qs;
          const or0 = oh + ut * os;
          const dm0 = dh != 0 ? dh + ut * rowS : 0;
          const dm1 = dh != 0 ? dm0 + rowS : 0;
          // s_j = q . k_j / sqrt(D), then the masked softmax in place
          dots2(ar0, ar1, qr0, qr0 + qs, kh, n1, D, kv_stride, scale);
          softmax_live(ar0, n0, S);
          softmax_live(ar1, n1, S);
          // out = (att * dropmask) @ v
          weighted_sum2(or0, or0 + os, ar0, ar1, dm0, dm1, vh, n1, D, kv_stride);
        }
      }
      for (; t < T; t++) {
        const n = causal ? min(L, t + 1) : L;
        const ut = <usize>t;
        const ar = ah + ut * rowS;
        const dm = dh != 0 ? dh + ut * rowS : 0;
        const or = oh + ut * os;
        dots(ar, qh + ut * qs, kh, n, D, kv_stride, scale);
        softmax_live(ar, n, S);
        weighted_sum(or, ar, dm, vh, n, D, kv_stride);
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
    dot = hsum(acc);
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
  const rowS = <usize>S << 2;
  for (let b = 0; b < B; b++) {
    const kb = b / group;
    const L = live_keys(kv_len, kb, S);
    if (L <= 0) continue;
    for (let h = 0; h < H; h++) {
      const kvOff = ((<usize>kb * <usize>S * <usize>kv_stride) + <usize>(h * D)) << 2;
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
          touch_rows(k + kvOff, L, ks, db);
          touch_rows(v + kvOff, L, ks, db);
          touch_rows(dk + kvOff, L, ks, db);
          touch_rows(dv + kvOff, L, ks, db);
        }
      }
      for (let t = 0; t < T; t++) {
        const n = causal ? min(L, t + 1) : L;
        const ut = <usize>t;
        const ar = ah + ut * rowS;
        const dm = dh != 0 ? dh + ut * rowS : 0;
        const gr = gh + ut * os;
        const qo = qh + ut * qs;
        // scratch_j = dout . v_j, then ds_j / sqrt(D)
        dots(scratch, gr, v + kvOff, n, D, kv_stride, 1);
        softmax_backward_row(scratch, ar, dm, n, scale);
        if (ASC_FEATURE_SIMD && (ks & 2047) == 0) {
          backward_row_keys(dq + qo, dk + kvOff, dv + kvOff, q + qo, gr, k + kvOff, scratch, ar, dm, n, D, kv_stride);
        } else {
          backward_row(dq + qo, dk + kvOff, dv + kvOff, q + qo, gr, k + kvOff, scratch, ar, dm, n, D, kv_stride);
        }
      }
    }
  }
}
