// attention_backward takes a second path (backward_row_keys) when the key/value row stride is a multiple
// of 2 KiB, as in the base model's fused buffers (C = 512): kernels/attention.test.ts uses narrower
// buffers, so this file checks that path against the reference, forward and backward, every flavour.
import { describe, it } from 'vitest';
import { type AttentionShape, attention_backward, attention_forward } from './ref/attention.ts';
import { expectClose, FLAVORS, randn, rng, withArena } from './testing.ts';
import { TOL } from './tolerances.ts';

// q (B,T,qStride) and a fused KV buffer (B/kvGroup, S, 2 * 256 floats = 2 KiB): k at column 0, v at 256
const KV_STRIDE = 512;
const V_OFF = 256;

function check(sh: AttentionShape, kvLen: number[] | null, drop: boolean, seed: number): void {
  const { B, T, S, H, D } = sh;
  const C = H * D;
  const Bkv = B / sh.kvGroup;
  const q = randn(B * T * sh.qStride, seed);
  const kv = randn(Bkv * S * KV_STRIDE, seed + 1);
  const dout = randn(B * T * C, seed + 2);
  const dq0 = randn(B * T * sh.qStride, seed + 3, 0.5);
  const dkv0 = randn(Bkv * S * KV_STRIDE, seed + 4, 0.5);
  const r = rng(seed + 5);
  const dropmask = drop ? Float32Array.from({ length: B * H * T * S }, () => (r() < 0.2 ? 0 : 1.25)) : null;
  const ref = attention_forward(sh, { data: q, off: 0 }, { data: kv, off: 0 }, { data: kv, off: V_OFF }, kvLen, dropmask);
  const rdq = Float64Array.from(dq0);
  const rdkv = Float64Array.from(dkv0);
  attention_backward(sh, { data: rdq, off: 0 }, { data: rdkv, off: 0 }, { data: rdkv, off: V_OFF }, dout,
    { data: q, off: 0 }, { data: kv, off: 0 }, { data: kv, off: V_OFF }, kvLen, dropmask);
  const label = JSON.stringify({ ...sh, kvLen, drop });
  for (const f of FLAVORS) {
    const { kernels, arena } = withArena(f);
    const pq = arena.putF32(q);
    const pkv = arena.putF32(kv);
    const pdq = arena.putF32(dq0);
    const pdkv = arena.putF32(dkv0);
    const out = arena.f32(B * T * C);
    const att = arena.f32(B * H * T * S);
    const scratch = arena.f32(S);
    const lens = kvLen ? arena.putI32(kvLen) : 0;
    const dm = dropmask ? arena.putF32(dropmask) : 0;
    const dims = [B, T, S, H, D, sh.qStride, KV_STRIDE, sh.causal ? 1 : 0, sh.kvGroup] as const;
    kernels.k.attention_forward(out, att, pq, pkv, pkv + 4 * V_OFF, lens, dm, ...dims);
    expectClose(arena.f32view(out, B * T * C), ref.out, TOL.attention, `${f} out ${label}`);
    expectClose(arena.f32view(att, B * H * T * S), ref.att, TOL.attention, `${f} att ${label}`);
    kernels.k.attention_backward(pdq, pdkv, pdkv + 4 * V_OFF, scratch, arena.putF32(dout), att, pq, pkv, pkv + 4 * V_OFF,
      lens, dm, ...dims);
    expectClose(arena.f32view(pdq, dq0.length), rdq, TOL.attention, `${f} dq ${label}`);
    expectClose(arena.f32view(pdkv, dkv0.length), rdkv, TOL.attention, `${f} dk, dv ${label}`);
  }
}

describe('attention with 2 KiB key/value rows', () => {
  it('matches the reference (odd D, causal, kv_len with a 0, dropout, kv_group 2)', () => {
    let seed = 1;
    for (const D of [5, 32, 64]) {
      const H = D === 64 ? 2 : 3;
      for (const causal of [false, true]) {
        const sh = { B: 2, T: 7, S: 7, H, D, qStride: H * D + 3, kvStride: KV_STRIDE, causal, kvGroup: 1 };
        check(sh, causal ? [7, 4] : [0, 6], !causal, (seed += 10));
      }
      const cross = { B: 4, T: 3, S: 9, H, D, qStride: H * D, kvStride: KV_STRIDE, causal: false, kvGroup: 2 };
      check(cross, [9, 5], true, (seed += 10));
    }
  });
});
