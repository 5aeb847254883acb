// Plain references for kernels/assembly/embedding.ts, in f64. Same names and argument order, arrays for pointers.
import { dequantize_rows_q8 } from './quant.ts';

type Vec = { [i: number]: number; readonly length: number };

// pe (T,C): pe[t,2i] = sin(t / 10000^(2i/C)), pe[t,2i+1] = cos(t / 10000^(2i/C))
export function positional_encoding(pe: Vec, T: number, C: number): void {
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < C; j += 2) {
      const a = t / 10000 ** (j / C);
      pe[t * C + j] = Math.sin(a);
      if (j + 1 < C) pe[t * C + j + 1] = Math.cos(a);
    }
  }
}

// out (N,C) = wte[ids[n]] * scale + pe[pos[n]] (pe null = no positions)
export function embedding_forward(out: Vec, ids: Vec, pos: Vec | null, wte: Vec, pe: Vec | null, N: number, C: number, scale: number): void {
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < C; i++) {
      out[n * C + i] = wte[ids[n] * C + i] * scale + (pe && pos ? pe[pos[n] * C + i] : 0);
    }
  }
}

// embedding_forward over the dequantized q8 table: wq (V,C) int8 * wscale (V), then scaled and shifted
export function embedding_q8_forward(out: Vec, ids: Vec, pos: Vec | null, wq: Vec, wscale: Vec, pe: Vec | null, N: number, C: number, scale: number): void {
  const wte = new Float64Array(wscale.length * C);
  dequantize_rows_q8(wte, wq, wscale, wscale.length, C);
  embedding_forward(out, ids, pos, wte, pe, N, C, scale);
}

// dwte (V,C) += scale * dout[n] at row ids[n]
export function embedding_backward(dwte: Vec, dout: Vec, ids: Vec, N: number, C: number, scale: number): void {
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < C; i++) dwte[ids[n] * C + i] += scale * dout[n * C + i];
  }
}
