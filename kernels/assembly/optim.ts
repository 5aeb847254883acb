// Adam (Kingma & Ba 2015), the paper's optimizer (beta1 0.9, beta2 0.98, eps 1e-9, section 5.3), with
// bias correction and optional decoupled weight decay. Memory-bound: one SIMD pass over four arrays.

// params, grads, m, v (N); t = step, 1-based:
//   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2
//   p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps) + lr * wd * p
export function adam_update(params: usize, grads: usize, m: usize, v: usize, N: i32, lr: f32, beta1: f32, beta2: f32, eps: f32, wd: f32, t: i32): void {
  const n = <usize>N;
  // 1 - beta^t in f64: beta2 = 0.98 close to 1 would lose digits in f32 for small t
  const c1 = <f32>(1.0 / (1.0 - Math.pow(<f64>beta1, <f64>t)));
  const c2 = <f32>(1.0 / (1.0 - Math.pow(<f64>beta2, <f64>t)));
  const a1: f32 = <f32>1 - beta1;
  const a2: f32 = <f32>1 - beta2;
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vb1 = f32x4.splat(beta1);
    const vb2 = f32x4.splat(beta2);
    const va1 = f32x4.splat(a1);
    const va2 = f32x4.splat(a2);
    const vc1 = f32x4.splat(c1);
    const vc2 = f32x4.splat(c2);
    const veps = f32x4.splat(eps);
    const vlr = f32x4.splat(lr);
    const vwd = f32x4.splat(wd);
    for (; i + 4 <= n; i += 4) {
      const o = i << 2;
      const g = v128.load(grads + o);
      const mi = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(va1, g));
      const vi = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(va2, f32x4.mul(g, g)));
      v128.store(m + o, mi);
      v128.store(v + o, vi);
      const p = v128.load(params + o);
      const step = f32x4.div(f32x4.mul(mi, vc1), f32x4.add(f32x4.sqrt(f32x4.mul(vi, vc2)), veps));
      v128.store(params + o, f32x4.sub(p, f32x4.mul(vlr, f32x4.add(step, f32x4.mul(vwd, p)))));
    }
  }
  for (; i < n; i++) {
    const o = i << 2;
    const g = load<f32>(grads + o);
    const mi = beta1 * load<f32>(m + o) + a1 * g;
    const vi = beta2 * load<f32>(v + o) + a2 * (g * g);
    store<f32>(m + o, mi);
    store<f32>(v + o, vi);
    const p = load<f32>(params + o);
    const step = (mi * c1) / (Mathf.sqrt(vi * c2) + eps);
    store<f32>(params + o, p - lr * (step + wd * p));
  }
}
