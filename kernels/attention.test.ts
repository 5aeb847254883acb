import { describe, expect, it } from 'vitest';
import type { Arena, Flavor, Kernels } from './host.ts';
import { type AttentionShape, attention_backward, attention_forward, type Slice } from './ref/attention.ts';
import { expectClose, FLAVORS, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

// How q, k, v sit in memory: separate contiguous buffers, separate with padded rows, one fused QKV
// buffer (row 3C: q at 0, k at C, v at 2C, self-attention), or q alone plus a fused KV buffer (row 2C).
type Layout = 'separate' | 'padded' | 'fused' | 'kvfused';

interface Case {
  B: number;
  T: number;
  S: number;
  H: number;
  D: number;
  causal: boolean;
  kvGroup: number;
  layout: Layout;
  kvLen: number[] | null;
  drop: boolean;
  seed: number;
}

interface Placement {
  sizes: number[]; // floats per buffer
  q: [number, number]; // [buffer, offset in floats]
  k: [number, number];
  v: [number, number];
  shape: AttentionShape;
}

function place(c: Case): Placement {
  const C = c.H * c.D;
  const Bkv = c.B / c.kvGroup;
  const base = { B: c.B, T: c.T, S: c.S, H: c.H, D: c.D, causal: c.causal, kvGroup: c.kvGroup };
  switch (c.layout) {
    case 'separate':
    case 'padded': {
      const qs = c.layout === 'padded' ? C + 3 : C;
      const ks = c.layout === 'padded' ? C + 2 : C;
      return {
        sizes: [c.B * c.T * qs, Bkv * c.S * ks, Bkv * c.S * ks],
        q: [0, 0], k: [1, 0], v: [2, 0],
        shape: { ...base, qStride: qs, kvStride: ks },
      };
    }
    case 'fused':
      if (c.kvGroup !== 1 || c.S !== c.T) throw new Error('fused QKV needs self-attention');
      return { sizes: [c.B * c.T * 3 * C], q: [0, 0], k: [0, C], v: [0, 2 * C], shape: { ...base, qStride: 3 * C, kvStride: 3 * C } };
    case 'kvfused':
      return { sizes: [c.B * c.T * C, Bkv * c.S * 2 * C], q: [0, 0], k: [1, 0], v: [1, C], shape: { ...base, qStride: C, kvStride: 2 * C } };
  }
}

interface Data {
  bufs: Float32Array[];
  gradInit: Float32Array[];
  dout: Float32Array;
  dropmask: Float32Array | null;
}

function makeData(c: Case, p: Placement, zeroGrads = false): Data {
  const C = c.H * c.D;
  const bufs = p.sizes.map((n, i) => randn(n, c.seed * 31 + i));
  const gradInit = p.sizes.map((n, i) => (zeroGrads ? new Float32Array(n) : randn(n, c.seed * 31 + 10 + i, 0.5)));
  const dout = randn(c.B * c.T * C, c.seed * 31 + 20);
  let dropmask: Float32Array | null = null;
  if (c.drop) {
    const r = rng(c.seed * 31 + 21);
    dropmask = Float32Array.from({ length: c.B * c.H * c.T * c.S }, () => (r() < 0.2 ? 0 : 1.25));
  }
  return { bufs, gradInit, dout, dropmask };
}

function refResults(c: Case, p: Placement, data: Data, bufs: ArrayLike<number>[] = data.bufs) {
  const sl = ([i, off]: [number, number]): Slice => ({ data: bufs[i], off });
  const fwd = attention_forward(p.shape, sl(p.q), sl(p.k), sl(p.v), c.kvLen, data.dropmask);
  const grads = data.gradInit.map((g) => Float64Array.from(g));
  const gs = ([i, off]: [number, number]): Slice<Float64Array> => ({ data: grads[i], off });
  attention_backward(p.shape, gs(p.q), gs(p.k), gs(p.v), data.dout, sl(p.q), sl(p.k), sl(p.v), c.kvLen, data.dropmask);
  return { ...fwd, grads };
}

// Runs attention_forward then attention_backward (on the kernel's own att) in one flavour.
function runKernel(kernels: Kernels, arena: Arena, c: Case, p: Placement, data: Data) {
  const { k } = kernels;
  const mark = arena.mark();
  const C = c.H * c.D;
  const nan = (n: number) => arena.putF32(new Float32Array(n).fill(NaN)); // unwritten output shows up
  const bufs = data.bufs.map((b) => arena.putF32(b));
  const grads = data.gradInit.map((g) => arena.putF32(g));
  const out = nan(c.B * c.T * C);
  const att = nan(c.B * c.H * c.T * c.S);
  const scratch = nan(c.S);
  const kvLen = c.kvLen ? arena.putI32(c.kvLen) : 0;
  const dm = data.dropmask ? arena.putF32(data.dropmask) : 0;
  const dout = arena.putF32(data.dout);
  const ptr = ([i, off]: [number, number], base: number[]) => base[i] + 4 * off;
  const sh = p.shape;
  const dims = [c.B, c.T, c.S, c.H, c.D, sh.qStride, sh.kvStride, c.causal ? 1 : 0, c.kvGroup] as const;
  k.attention_forward(out, att, ptr(p.q, bufs), ptr(p.k, bufs), ptr(p.v, bufs), kvLen, dm, ...dims);
  const res = {
    out: arena.f32view(out, c.B * c.T * C).slice(),
    att: arena.f32view(att, c.B * c.H * c.T * c.S).slice(),
    grads: [] as Float32Array[],
  };
  k.attention_backward(ptr(p.q, grads), ptr(p.k, grads), ptr(p.v, grads), scratch, dout, att,
    ptr(p.q, bufs), ptr(p.k, bufs), ptr(p.v, bufs), kvLen, dm, ...dims);
  res.grads = grads.map((g, i) => arena.f32view(g, p.sizes[i]).slice());
  arena.reset(mark);
  return res;
}

function checkCase(envs: Map<Flavor, { kernels: Kernels; arena: Arena }>, c: Case): void {
  const p = place(c);
  const data = makeData(c, p);
  const ref = refResults(c, p, data);
  const label = JSON.stringify(c);
  for (const [flavor, { kernels, arena }] of envs) {
    const got = runKernel(kernels, arena, c, p, data);
    expectClose(got.out, ref.out, TOL.attention, `${flavor} out ${label}`);
    expectClose(got.att, ref.att, TOL.attention, `${flavor} att ${label}`);
    got.grads.forEach((g, i) => expectClose(g, ref.grads[i], TOL.attention, `${flavor} grad buffer ${i} ${label}`));
  }
}

const envs = () => new Map(FLAVORS.map((f) => [f, withArena(f)] as const));

describe('attention', () => {
  it('matches the reference on awkward shapes, every flavour, forward and backward', () => {
    const e = envs();
    let idx = 0;
    for (const D of [1, 3, 8, 17]) {
      for (const H of [1, 3]) {
        for (const T of [1, 5, 13]) {
          for (const S of [1, 5, 13]) {
            for (const B of [1, 3]) {
              for (const causal of [false, true]) {
                idx++;
                const r = rng(idx);
                // per-batch key lengths (a 0 among them) on every other case
                const kvLen = idx % 2 ? null : Array.from({ length: B }, (_, b) => (b === 1 ? 0 : Math.floor(r() * (S + 1))));
                const layout: Layout = T === S && idx % 3 !== 2 ? 'fused' : (['separate', 'padded', 'kvfused'] as const)[idx % 3];
                checkCase(e, { B, T, S, H, D, causal, kvGroup: 1, layout, kvLen, drop: idx % 4 < 2, seed: idx });
              }
            }
          }
        }
      }
    }
  });

  it('kv_group 2 with B=4: query rows share key rows, dk/dv gather from the whole group', () => {
    const e = envs();
    let seed = 1000;
    for (const D of [3, 8, 17, 32]) {
      for (const T of [1, 5]) {
        for (const layout of ['separate', 'padded', 'kvfused'] as const) {
          for (const drop of [false, true]) {
            const kvLen = seed % 2 ? [13, 4] : null;
            checkCase(e, { B: 4, T, S: 13, H: 3, D, causal: false, kvGroup: 2, layout, kvLen, drop, seed: seed++ });
          }
        }
      }
    }
  });

  it('model-sized heads (D = 32, 64) on fused QKV, causal, with dropout', () => {
    const e = envs();
    checkCase(e, { B: 2, T: 21, S: 21, H: 4, D: 32, causal: true, kvGroup: 1, layout: 'fused', kvLen: [21, 9], drop: true, seed: 7 });
    checkCase(e, { B: 2, T: 19, S: 19, H: 2, D: 64, causal: false, kvGroup: 1, layout: 'fused', kvLen: [7, 19], drop: false, seed: 8 });
    checkCase(e, { B: 4, T: 6, S: 17, H: 2, D: 64, causal: false, kvGroup: 2, layout: 'kvfused', kvLen: [17, 11], drop: false, seed: 9 });
  });

  it('fully masked rows (kv_len 0) give zeros, not NaN, and leave the gradients alone', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const c: Case = { B: 2, T: 3, S: 5, H: 2, D: 8, causal: false, kvGroup: 1, layout: 'separate', kvLen: [0, 0], drop: false, seed: 3 };
      const p = place(c);
      const data = makeData(c, p);
      const got = runKernel(kernels, arena, c, p, data);
      expect(got.out.every((x) => x === 0)).toBe(true);
      expect(got.att.every((x) => x === 0)).toBe(true);
      got.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(data.gradInit[i])));
    }
  });

  it('decoding one step at a time against a KV cache equals causal attention over the whole sequence', () => {
    const B = 2, N = 7, Smax = 16, H = 2, D = 8, C = H * D;
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const { k } = kernels;
      const q = arena.putF32(randn(B * N * C, 1));
      const kk = arena.putF32(randn(B * N * C, 2));
      const vv = arena.putF32(randn(B * N * C, 3));
      const out = arena.f32(B * N * C);
      const att = arena.f32(B * H * N * N);
      k.attention_forward(out, att, q, kk, vv, 0, 0, B, N, N, H, D, C, C, 1, 1);
      const fullOut = arena.f32view(out, B * N * C).slice();
      const fullAtt = arena.f32view(att, B * H * N * N).slice();
      // caches hold NaN beyond the steps so far: the kernel must never read them
      const kc = arena.putF32(new Float32Array(B * Smax * C).fill(NaN));
      const vc = arena.putF32(new Float32Array(B * Smax * C).fill(NaN));
      const q1 = arena.f32(B * C);
      const out1 = arena.f32(B * C);
      const att1 = arena.f32(B * H * Smax);
      const kvLen = arena.i32(B);
      for (let t = 0; t < N; t++) {
        for (let b = 0; b < B; b++) {
          const src = (b * N + t) * C;
          arena.f32view(kc + 4 * (b * Smax + t) * C, C).set(arena.f32view(kk + 4 * src, C));
          arena.f32view(vc + 4 * (b * Smax + t) * C, C).set(arena.f32view(vv + 4 * src, C));
          arena.f32view(q1 + 4 * b * C, C).set(arena.f32view(q + 4 * src, C));
        }
        arena.i32view(kvLen, B).fill(t + 1);
        k.attention_forward(out1, att1, q1, kc, vc, kvLen, 0, B, 1, Smax, H, D, C, C, 0, 1);
        const wantOut: number[] = [];
        const wantAtt: number[] = [];
        for (let b = 0; b < B; b++) {
          wantOut.push(...fullOut.subarray((b * N + t) * C, (b * N + t + 1) * C));
          for (let h = 0; h < H; h++) {
            const row = ((b * H + h) * N + t) * N;
            wantAtt.push(...fullAtt.subarray(row, row + N), ...new Array(Smax - N).fill(0));
          }
        }
        expectClose(arena.f32view(out1, B * C), wantOut, TOL.attention, `${f} step ${t} out`);
        expectClose(arena.f32view(att1, B * H * Smax), wantAtt, TOL.attention, `${f} step ${t} att`);
      }
    }
  });

  it('huge scores stay finite: rows of att sum to 1', () => {
    for (const f of FLAVORS) {
      const { kernels, arena } = withArena(f);
      const B = 2, T = 5, S = 9, H = 1, D = 17, C = H * D;
      const q = arena.putF32(randn(B * T * C, 4, 300)); // scores ~1e4
      const kk = arena.putF32(randn(B * S * C, 5, 10));
      const vv = arena.putF32(randn(B * S * C, 6));
      const out = arena.f32(B * T * C);
      const att = arena.f32(B * H * T * S);
      kernels.k.attention_forward(out, att, q, kk, vv, 0, 0, B, T, S, H, D, C, C, 0, 1);
      expect(arena.f32view(out, B * T * C).every(Number.isFinite)).toBe(true);
      const a = arena.f32view(att, B * H * T * S);
      for (let r = 0; r < B * H * T; r++) {
        let s = 0;
        for (let j = 0; j < S; j++) s += a[r * S + j];
        expect(Math.abs(s - 1)).toBeLessThan(1e-5);
      }
    }
  });

  // L = sum(out * r): central differences of the f64 reference forward against the kernel's gradients.
  it('backward matches finite differences of the f64 forward (separate, fused QKV, kv_group 2)', () => {
    const cases: Case[] = [
      { B: 2, T: 3, S: 4, H: 2, D: 3, causal: true, kvGroup: 1, layout: 'padded', kvLen: [4, 2], drop: true, seed: 11 },
      { B: 2, T: 4, S: 4, H: 2, D: 3, causal: true, kvGroup: 1, layout: 'fused', kvLen: [3, 4], drop: true, seed: 12 },
      { B: 4, T: 2, S: 3, H: 1, D: 5, causal: false, kvGroup: 2, layout: 'kvfused', kvLen: [2, 3], drop: false, seed: 13 },
    ];
    const h = 1e-3;
    for (const c of cases) {
      const p = place(c);
      const data = makeData(c, p, true);
      const loss = (bufs: Float64Array[]) => {
        const { out } = refResults(c, p, data, bufs);
        let l = 0;
        for (let i = 0; i < out.length; i++) l += out[i] * data.dout[i];
        return l;
      };
      const bufs = data.bufs.map((b) => Float64Array.from(b));
      const fd = bufs.map((buf) =>
        Float64Array.from(buf, (x, e) => {
          buf[e] = x + h;
          const lp = loss(bufs);
          buf[e] = x - h;
          const lm = loss(bufs);
          buf[e] = x;
          return (lp - lm) / (2 * h);
        }),
      );
      for (const f of FLAVORS) {
        const { kernels, arena } = withArena(f);
        const got = runKernel(kernels, arena, c, p, data);
        got.grads.forEach((g, i) => expectClose(g, fd[i], TOL.attention, `${f} fd buffer ${i} ${JSON.stringify(c)}`));
      }
    }
  });
});
