// The two register tiles the f32 kernels are made of, each written once. Row counts and vector widths are
// constant parameters of @inline functions: every call site gets its own copy with only its accumulators,
// and Binaryen folds the branches on them away (the generated code is that of a hand-written tile).
//
//   dot tile:  MR rows x against NR rows y, MR*NR dot products of contiguous rows, lanes summed once at the end.
//              matmul forward (inp rows x weight rows), attention scores (query rows x key rows).
//   axpy tile: MR rows of c, 4V floats each, += sum over t of splat(a(i,t)) * b_t[0..4V): rows read in
//              order, no lane sums. attention's weighted sum of values, matmul backward (dinp and dweight).
//
// Register budget: V8 on x64 allocates 15 xmm registers, so a tile keeps at most 8 accumulators (2x4, 4x2):
// with the rows it has loaded, bigger tiles spill and run at half speed (measured).
import { gather4_f32, hsum, hsum4, madd } from './simd';

// dst_i[j] = scale * (x_i . y_j) + bias[j] for rows i < MR, columns j < n: x_i = x + i*xs, y_j = y + j*ys,
// dst_i = dst + i*ds (byte strides), K floats per row | bias (n), 0 = none | MR in {1, 2}.
// SIMD: columns four at a time (each loaded chunk of x feeds four dot products), then one at a time.
@inline export function dot_rows(dst: usize, ds: usize, x: usize, xs: usize, y: usize, ys: usize, n: i32, K: i32, scale: f32, bias: usize, MR: i32): void {
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    for (; j + 4 <= n; j += 4) dot_tile(dst + (<usize>j << 2), ds, x, xs, y + <usize>j * ys, ys, K, scale, bias ? bias + (<usize>j << 2) : 0, MR, 4);
  }
  for (; j < n; j++) dot_tile(dst + (<usize>j << 2), ds, x, xs, y + <usize>j * ys, ys, K, scale, bias ? bias + (<usize>j << 2) : 0, MR, 1);
}

// One MR x NR block of dot_rows (NR in {1, 4}; NR = 4 only with SIMD). The K tail (K % 4 floats) of an NR = 4
// tile multiplies a splat of x by one gathered column of the four y rows.
@inline function dot_tile(o: usize, os: usize, x: usize, xs: usize, y: usize, ys: usize, K: i32, scale: f32, bias: usize, MR: i32, NR: i32): void {
  const kb = <usize>K << 2;
  const x1 = x + xs;
  const y1 = y + ys;
  const y2 = y1 + ys;
  const y3 = y2 + ys;
  let k: usize = 0;
  let s0: f32 = 0;
  let s1: f32 = 0;
  if (ASC_FEATURE_SIMD) {
    const kv = kb & ~15;
    let c00 = f32x4.splat(0), c01 = c00, c02 = c00, c03 = c00;
    let c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    for (; k < kv; k += 16) {
      const u = v128.load(x + k);
      let w = u;
      if (MR == 2) w = v128.load(x1 + k);
      let v = v128.load(y + k);
      c00 = madd(u, v, c00);
      if (MR == 2) c10 = madd(w, v, c10);
      if (NR == 4) {
        v = v128.load(y1 + k);
        c01 = madd(u, v, c01);
        if (MR == 2) c11 = madd(w, v, c11);
        v = v128.load(y2 + k);
        c02 = madd(u, v, c02);
        if (MR == 2) c12 = madd(w, v, c12);
        v = v128.load(y3 + k);
        c03 = madd(u, v, c03);
        if (MR == 2) c13 = madd(w, v, c13);
      }
    }
    if (NR == 4) {
      let r0 = hsum4<f32>(c00, c01, c02, c03);
      let r1 = hsum4<f32>(c10, c11, c12, c13);
      for (; k < kb; k += 4) {
        const v = gather4_f32(y + k, ys);
        r0 = f32x4.add(r0, f32x4.mul(v128.load32_splat(x + k), v));
        if (MR == 2) r1 = f32x4.add(r1, f32x4.mul(v128.load32_splat(x1 + k), v));
      }
      if (scale != 1) {
        r0 = f32x4.mul(r0, f32x4.splat(scale));
        r1 = f32x4.mul(r1, f32x4.splat(scale));
      }
      if (bias) {
        const b = v128.load(bias);
        r0 = f32x4.add(r0, b);
        r1 = f32x4.add(r1, b);
      }
      v128.store(o, r0);
      if (MR == 2) v128.store(o + os, r1);
      return;
    }
    s0 = hsum<f32>(c00);
    s1 = hsum<f32>(c10);
  }
  for (; k < kb; k += 4) {
    const v = load<f32>(y + k);
    s0 += load<f32>(x + k) * v;
    if (MR == 2) s1 += load<f32>(x1 + k) * v;
  }
  if (scale != 1) {
    s0 *= scale;
    s1 *= scale;
  }
  if (bias) {
    const b = load<f32>(bias);
    s0 += b;
    s1 += b;
  }
  store<f32>(o, s0);
  if (MR == 2) store<f32>(o + os, s1);
}

// c_i[0..F) (+)= sum_{t<T} a(i,t) * b_t[0..F) for rows i < MR, with a(i,t) = a[i*ais + t*ats] (times
// dm[i*ais + t*ats] when dm != 0: a dropout mask laid out as a), b_t = b + t*bs, c_i = c + i*cs (byte
// strides and offsets). `acc`: add to c, or overwrite it. MR in {1, 2, 4}; VMAX in {2, 4}: F is cut in
// chunks of 4*VMAX floats, then 4, then single floats, each chunk's accumulators staying in registers for
// all T terms.
@inline export function axpy_rows(c: usize, cs: usize, a: usize, ais: usize, ats: usize, dm: usize, b: usize, bs: usize, T: i32, F: i32, acc: bool, MR: i32, VMAX: i32): void {
  const fb = <usize>F << 2;
  let f: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; f + (<usize>VMAX << 4) <= fb; f += <usize>VMAX << 4) axpy_tile(c + f, cs, a, ais, ats, dm, b + f, bs, T, acc, MR, VMAX);
    for (; f + 16 <= fb; f += 16) axpy_tile(c + f, cs, a, ais, ats, dm, b + f, bs, T, acc, MR, 1);
  }
  for (; f < fb; f += 4) {
    for (let i = 0; i < MR; i++) {
      const p = c + <usize>i * cs + f;
      let s: f32 = acc ? load<f32>(p) : 0;
      let ap = a + <usize>i * ais;
      let bp = b + f;
      for (let t = 0; t < T; t++, ap += ats, bp += bs) s += coef(ap, dm, a) * load<f32>(bp);
      store<f32>(p, s);
    }
  }
}

// a(i,t) at ap, times its dropout mask entry when dm != 0 (the mask sits at the same offset from dm as ap from a)
@inline function coef(ap: usize, dm: usize, a: usize): f32 {
  const w = load<f32>(ap);
  return dm ? w * load<f32>(dm + (ap - a)) : w;
}

// the same, splatted to a vector: one broadcast load (times one for the mask)
@inline function coef_v(ap: usize, dm: usize, a: usize): v128 {
  const w = v128.load32_splat(ap);
  return dm ? f32x4.mul(w, v128.load32_splat(dm + (ap - a))) : w;
}

// One MR x 4V block of axpy_rows (V in {1, 2, 4}, MR * V <= 8).
@inline function axpy_tile(c: usize, cs: usize, a: usize, ais: usize, ats: usize, dm: usize, b: usize, bs: usize, T: i32, acc: bool, MR: i32, V: i32): void {
  const c1 = c + cs;
  const c2 = c1 + cs;
  const c3 = c2 + cs;
  const zero = f32x4.splat(0);
  let r00 = acc ? v128.load(c) : zero, r01 = zero, r02 = zero, r03 = zero;
  let r10 = zero, r11 = zero, r12 = zero, r13 = zero;
  let r20 = zero, r21 = zero, r30 = zero, r31 = zero;
  if (acc) {
    if (V >= 2) r01 = v128.load(c, 16);
    if (V == 4) {
      r02 = v128.load(c, 32);
      r03 = v128.load(c, 48);
    }
    if (MR >= 2) {
      r10 = v128.load(c1);
      if (V >= 2) r11 = v128.load(c1, 16);
      if (V == 4) {
        r12 = v128.load(c1, 32);
        r13 = v128.load(c1, 48);
      }
    }
    if (MR == 4) {
      r20 = v128.load(c2);
      r30 = v128.load(c3);
      if (V >= 2) {
        r21 = v128.load(c2, 16);
        r31 = v128.load(c3, 16);
      }
    }
  }
  let ap = a;
  let bp = b;
  for (let t = 0; t < T; t++, ap += ats, bp += bs) {
    const s0 = coef_v(ap, dm, a);
    let s1 = s0;
    let s2 = s0;
    let s3 = s0;
    if (MR >= 2) s1 = coef_v(ap + ais, dm, a);
    if (MR == 4) {
      s2 = coef_v(ap + 2 * ais, dm, a);
      s3 = coef_v(ap + 3 * ais, dm, a);
    }
    let y = v128.load(bp);
    r00 = madd(s0, y, r00);
    if (MR >= 2) r10 = madd(s1, y, r10);
    if (MR == 4) {
      r20 = madd(s2, y, r20);
      r30 = madd(s3, y, r30);
    }
    if (V >= 2) {
      y = v128.load(bp, 16);
      r01 = madd(s0, y, r01);
      if (MR >= 2) r11 = madd(s1, y, r11);
      if (MR == 4) {
        r21 = madd(s2, y, r21);
        r31 = madd(s3, y, r31);
      }
    }
    if (V == 4) {
      y = v128.load(bp, 32);
      r02 = madd(s0, y, r02);
      if (MR >= 2) r12 = madd(s1, y, r12);
      y = v128.load(bp, 48);
      r03 = madd(s0, y, r03);
      if (MR >= 2) r13 = madd(s1, y, r13);
    }
  }
  v128.store(c, r00);
  if (V >= 2) v128.store(c, r01, 16);
  if (V == 4) {
    v128.store(c, r02, 32);
    v128.store(c, r03, 48);
  }
  if (MR >= 2) {
    v128.store(c1, r10);
    if (V >= 2) v128.store(c1, r11, 16);
    if (V == 4) {
      v128.store(c1, r12, 32);
      v128.store(c1, r13, 48);
    }
  }
  if (MR == 4) {
    v128.store(c2, r20);
    v128.store(c3, r30);
    if (V >= 2) {
      v128.store(c2, r21, 16);
      v128.store(c3, r31, 16);
    }
  }
}
