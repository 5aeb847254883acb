// Token embeddings and the paper's sinusoidal positional encoding (section 3.5):
// "we multiply those weights by sqrt(d_model)" and add PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),
// PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model)).
import { row_dequant_q8 } from './vmath';

// pe (T,C): pe[t,2i] = sin(t / 10000^(2i/C)), pe[t,2i+1] = cos(same); an odd C ends on a sine.
// Computed once per model in f64 (musl's sin/cos), stored as f32.
export function positional_encoding(pe: usize, T: i32, C: i32): void {
  const c = <usize>C;
  for (let j = 0; j < C; j += 2) {
    const denom = Math.pow(10000.0, <f64>j / <f64>C);
    for (let t = 0; t < T; t++) {
      const a = <f64>t / denom;
      const p = pe + ((<usize>t * c + <usize>j) << 2);
      store<f32>(p, <f32>Math.sin(a));
      if (j + 1 < C) store<f32>(p + 4, <f32>Math.cos(a));
    }
  }
}

// out (N,C) = wte[ids[n]] * scale + pe[pos[n]] | ids, pos (N) i32 | wte (V,C) | pe (Tmax,C), 0 = no positions
export function embedding_forward(out: usize, ids: usize, pos: usize, wte: usize, pe: usize, N: i32, C: i32, scale: f32): void {
  const c = <usize>C;
  for (let n = 0; n < N; n++) {
    const y = out + ((<usize>n * c) << 2);
    embed_row(y, wte + ((<usize>load<i32>(ids + (<usize>n << 2)) * c) << 2), pe_row(pe, pos, n, c), c, scale);
  }
}

// embedding_forward from the q8 table, a row at a time: no f32 copy of the table. out (N,C) =
// dequant(wq[ids[n]]) * scale + pe[pos[n]] | wq (V,C) int8, wscale (V) f32 (the q8 format of quant.ts).
// The row is dequantized first, then scaled: the same f32 operations as dequantize_rows_q8 followed by
// embedding_forward, so bit-identical to them.
export function embedding_q8_forward(out: usize, ids: usize, pos: usize, wq: usize, wscale: usize, pe: usize, N: i32, C: i32, scale: f32): void {
  const c = <usize>C;
  for (let n = 0; n < N; n++) {
    const y = out + ((<usize>n * c) << 2);
    const id = <usize>load<i32>(ids + (<usize>n << 2));
    row_dequant_q8(y, wq + id * c, C, load<f32>(wscale + (id << 2)));
    embed_row(y, y, pe_row(pe, pos, n, c), c, scale);
  }
}

// row n's positional encoding, or 0 when there is none
@inline function pe_row(pe: usize, pos: usize, n: i32, c: usize): usize {
  return pe ? pe + ((<usize>load<i32>(pos + (<usize>n << 2)) * c) << 2) : 0;
}

// y (c) = w (c) * scale + e (c), or w * scale when e is 0; y may equal w
@inline function embed_row(y: usize, w: usize, e: usize, c: usize, scale: f32): void {
  let i: usize = 0;
  if (e) {
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(scale);
      for (; i + 4 <= c; i += 4) {
        const o = i << 2;
        v128.store(y + o, f32x4.add(f32x4.mul(v128.load(w + o), vs), v128.load(e + o)));
      }
    }
    for (; i < c; i++) {
      const o = i << 2;
      store<f32>(y + o, load<f32>(w + o) * scale + load<f32>(e + o));
    }
  } else {
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(scale);
      for (; i + 4 <= c; i += 4) {
        const o = i << 2;
        v128.store(y + o, f32x4.mul(v128.load(w + o), vs));
      }
    }
    for (; i < c; i++) {
      const o = i << 2;
      store<f32>(y + o, load<f32>(w + o) * scale);
    }
  }
}

// dwte (V,C) += | dout (N,C) | ids (N) i32. Differentiates `out[n] = wte[ids[n]] * scale + pe[pos[n]]`
// (pe is fixed): rows are visited in order, so repeated ids accumulate.
export function embedding_backward(dwte: usize, dout: usize, ids: usize, N: i32, C: i32, scale: f32): void {
  const c = <usize>C;
  for (let n = 0; n < N; n++) {
    const d = dout + ((<usize>n * c) << 2);
    const g = dwte + ((<usize>load<i32>(ids + (<usize>n << 2)) * c) << 2);
    let i: usize = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(scale);
      for (; i + 4 <= c; i += 4) {
        const o = i << 2;
        v128.store(g + o, f32x4.add(v128.load(g + o), f32x4.mul(v128.load(d + o), vs)));
      }
    }
    for (; i < c; i++) {
      const o = i << 2;
      store<f32>(g + o, load<f32>(g + o) + load<f32>(d + o) * scale);
    }
  }
}
