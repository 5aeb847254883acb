// int8 weights in a safetensors file: each linear weight `<name>` (N,K) is stored as I8 codes with an F32
// tensor `<name>.scale` (N) of per-output-row scales, in the kernel library's q8 row format
// (kernels/assembly/quant.ts: symmetric, scale = max|w|/127, ties-to-even). The embedding tables (embed,
// tgt_embed: the engine gathers their rows from int8) and an untied lm_head count as linears; layer norms and
// biases (final_logits_bias too) stay F32.
import { Arena, type Kernels } from '../kernels/host.ts';
import type { ModelConfig } from './config.ts';
import { paramLayout } from './params.ts';
import { asF32, type Tensor } from './safetensors.ts';

export const SCALE_SUFFIX = '.scale';

// Converts an f32 model's tensors to the int8 layout (linear weights only; the rest is copied).
export function quantizeTensors(config: ModelConfig, tensors: Map<string, Tensor>, kernels: Kernels): Map<string, Tensor> {
  const arena = new Arena(kernels);
  const out = new Map<string, Tensor>();
  for (const t of paramLayout(config).tensors) {
    const src = tensors.get(t.name);
    if (!src) throw new Error(`weights are missing tensor ${t.name}`);
    if (!t.linear || src.dtype === 'I8') {
      out.set(t.name, src);
      const sc = tensors.get(t.name + SCALE_SUFFIX);
      if (src.dtype === 'I8' && sc) out.set(t.name + SCALE_SUFFIX, sc);
      continue;
    }
    const [N, K] = t.shape;
    const mark = arena.mark();
    const w = arena.putF32(asF32(src));
    const q = arena.alloc(N * K);
    const scale = arena.f32(N);
    kernels.k.quantize_rows_q8(q, scale, w, N, K);
    out.set(t.name, { dtype: 'I8', shape: [N, K], data: arena.u8view(q, N * K).slice() });
    out.set(t.name + SCALE_SUFFIX, { dtype: 'F32', shape: [N], data: arena.u8view(scale, N * 4).slice() });
    arena.reset(mark);
  }
  return out;
}

// Every layout tensor as F32, in layout order: int8 weights are dequantized as the runtime does (q * scale).
export function dequantizeTensors(config: ModelConfig, tensors: Map<string, Tensor>, kernels: Kernels): Map<string, Tensor> {
  const arena = new Arena(kernels);
  const out = new Map<string, Tensor>();
  for (const t of paramLayout(config).tensors) {
    const src = tensors.get(t.name);
    if (!src) throw new Error(`weights are missing tensor ${t.name}`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`tensor ${t.name}: shape ${src.shape}, expected ${t.shape}`);
    if (src.dtype === 'F32') {
      out.set(t.name, { dtype: 'F32', shape: t.shape, data: new Uint8Array(asF32(src).slice().buffer) });
      continue;
    }
    const sc = tensors.get(t.name + SCALE_SUFFIX);
    if (src.dtype !== 'I8' || !sc) throw new Error(`tensor ${t.name}: ${src.dtype} without ${t.name + SCALE_SUFFIX} cannot be read`);
    const [N, K] = t.shape;
    const mark = arena.mark();
    const q = arena.alloc(N * K);
    arena.u8view(q, N * K).set(src.data);
    const w = arena.f32(N * K);
    kernels.k.dequantize_rows_q8(w, q, arena.putF32(asF32(sc)), N, K);
    out.set(t.name, { dtype: 'F32', shape: t.shape, data: arena.u8view(w, N * K * 4).slice() });
    arena.reset(mark);
  }
  return out;
}
