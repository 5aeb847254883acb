// Layer normalization, the paper's "LayerNorm(x + Sublayer(x))" (Ba et al. 2016), after llm.c:
// per row of C channels y = (x - mean) * rstd * w + b with rstd = 1 / sqrt(var + eps), biased variance.
// Statistics take two passes (mean, then the variance about it) so rows with a large offset stay exact.

import { hsum_seq, madd } from './simd';

const EPS: f32 = 1e-5;

// out (N,C) | mean, rstd (N) optional: 0 skips writing (inference) | inp (N,C) | weight, bias (C)
export function layernorm_forward(out: usize, mean: usize, rstd: usize, inp: usize, weight: usize, bias: usize, N: i32, C: i32): void {
  const c = <usize>C;
  for (let n = 0; n < N; n++) {
    const x = inp + ((<usize>n * c) << 2);
    const y = out + ((<usize>n * c) << 2);
    // mean = sum(x) / C
    let s: f32 = 0;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; i + 4 <= c; i += 4) acc = f32x4.add(acc, v128.load(x + (i << 2)));
      s = hsum_seq<f32>(acc);
    }
    for (; i < c; i++) s += load<f32>(x + (i << 2));
    const m: f32 = s / <f32>C;
    // var = sum((x - mean)^2) / C
    let q: f32 = 0;
    i = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m);
      let acc = f32x4.splat(0);
      for (; i + 4 <= c; i += 4) {
        const d = f32x4.sub(v128.load(x + (i << 2)), vm);
        acc = madd(d, d, acc);
      }
      q = hsum_seq<f32>(acc);
    }
    for (; i < c; i++) {
      const d = load<f32>(x + (i << 2)) - m;
      q += d * d;
    }
    const r: f32 = <f32>1 / Mathf.sqrt(q / <f32>C + EPS);
    // y = (x - mean) * rstd * w + b
    i = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m);
      const vr = f32x4.splat(r);
      for (; i + 4 <= c; i += 4) {
        const o = i << 2;
        const norm = f32x4.mul(f32x4.sub(v128.load(x + o), vm), vr);
        v128.store(y + o, madd(norm, v128.load(weight + o), v128.load(bias + o)));
      }
    }
    for (; i < c; i++) {
      const o = i << 2;
      const norm = (load<f32>(x + o) - m) * r;
      store<f32>(y + o, norm * load<f32>(weight + o) + load<f32>(bias + o));
    }
    if (mean) store<f32>(mean + (<usize>n << 2), m);
    if (rstd) store<f32>(rstd + (<usize>n << 2), r);
  }
}

// dinp (N,C) += | dweight, dbias (C) += | dout, inp (N,C) | weight (C) | mean, rstd (N) from the forward pass
// Differentiates `y = (x - mean) * rstd * w + b`: with norm = (x - mean) * rstd and g = w * dout,
// dx = rstd * (g - mean(g) - norm * mean(g * norm)), dw = norm * dout, db = dout.
export function layernorm_backward(dinp: usize, dweight: usize, dbias: usize, dout: usize, inp: usize, weight: usize, mean: usize, rstd: usize, N: i32, C: i32): void {
  const c = <usize>C;
  for (let n = 0; n < N; n++) {
    const row = (<usize>n * c) << 2;
    const x = inp + row;
    const dy = dout + row;
    const dx = dinp + row;
    const m = load<f32>(mean + (<usize>n << 2));
    const r = load<f32>(rstd + (<usize>n << 2));
    // pass 1: mean(g) and mean(g * norm)
    let sg: f32 = 0;
    let sgn: f32 = 0;
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m);
      const vr = f32x4.splat(r);
      let ag = f32x4.splat(0);
      let agn = f32x4.splat(0);
      for (; i + 4 <= c; i += 4) {
        const o = i << 2;
        const norm = f32x4.mul(f32x4.sub(v128.load(x + o), vm), vr);
        const g = f32x4.mul(v128.load(weight + o), v128.load(dy + o));
        ag = f32x4.add(ag, g);
        agn = madd(g, norm, agn);
      }
      sg = hsum_seq<f32>(ag);
      sgn = hsum_seq<f32>(agn);
    }
    for (; i < c; i++) {
      const o = i << 2;
      const norm = (load<f32>(x + o) - m) * r;
      const g = load<f32>(weight + o) * load<f32>(dy + o);
      sg += g;
      sgn += g * norm;
    }
    const gm: f32 = sg / <f32>C;
    const gnm: f32 = sgn / <f32>C;
    // pass 2: accumulate the three gradients
    i = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m);
      const vr = f32x4.splat(r);
      const vgm = f32x4.splat(gm);
      const vgnm = f32x4.splat(gnm);
      for (; i + 4 <= c; i += 4) {
        const o = i << 2;
        const norm = f32x4.mul(f32x4.sub(v128.load(x + o), vm), vr);
        const d = v128.load(dy + o);
        v128.store(dbias + o, f32x4.add(v128.load(dbias + o), d));
        v128.store(dweight + o, madd(norm, d, v128.load(dweight + o)));
        const g = f32x4.mul(v128.load(weight + o), d);
        const t = f32x4.sub(f32x4.sub(g, vgm), f32x4.mul(norm, vgnm));
        v128.store(dx + o, madd(t, vr, v128.load(dx + o)));
      }
    }
    for (; i < c; i++) {
      const o = i << 2;
      const norm = (load<f32>(x + o) - m) * r;
      const d = load<f32>(dy + o);
      store<f32>(dbias + o, load<f32>(dbias + o) + d);
      store<f32>(dweight + o, load<f32>(dweight + o) + norm * d);
      const g = load<f32>(weight + o) * d;
      store<f32>(dx + o, load<f32>(dx + o) + (g - gm - norm * gnm) * r);
    }
  }
}
