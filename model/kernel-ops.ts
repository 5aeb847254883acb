// The inference executor of model/transformer.ts: its ops as kernel calls over weights resident in wasm
// memory, f32 or int8 (per-output-row scales) as the weights file holds them, with the self-attention KV
// cache and the memory's keys and values owned by model/runtime.ts's DecoderState.
import type { Arena, Kernels } from '../kernels/host.ts';
import type { KernelExports } from '../kernels/api.ts';
import { headSize, type ModelConfig } from './config.ts';
import type { NormParams, ParamLayout, TensorSpec } from './params.ts';
import { asF32, type SafeTensors, type Tensor } from './safetensors.ts';
import { SCALE_SUFFIX } from './quant.ts';
import type { DecoderState } from './runtime.ts';
import { positionTable, type Activation, type Ops, type Side } from './transformer.ts';

// An int8 tensor: a linear weight or an embedding table (gathered a row at a time, never copied to f32).
interface Q8 {
  w: number; // int8 codes (N,K)
  scale: number; // f32 (N) per-row scales
  wsum: number; // i32 (N) row sums
  N: number;
  K: number;
}

// A value of an inference pass: (M, N) f32 rows at p.
export interface Val {
  p: number;
  M: number;
  N: number;
}

// What the ops run over: the encoder on Bs padded sentences of S tokens, one decoder step at position st.t
// for st.R hypotheses (self-attention through the KV cache), or teacher forcing over T positions at once.
export type Pass =
  | { kind: 'encode'; ids: Int32Array; pos: Int32Array; B: number; S: number; lens: number }
  | { kind: 'step'; ids: Int32Array; pos: Int32Array; st: DecoderState; crossAtt?: number }
  | { kind: 'forced'; ids: Int32Array; pos: Int32Array; st: DecoderState; T: number };

export class KernelOps implements Ops<Val> {
  readonly config: ModelConfig;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly quantized: boolean;
  readonly weightBytes: number; // bytes allocated for the weights (copies, row sums) and the positional table
  private f32 = new Map<string, number>(); // f32 tensors (norms, biases, and linears when not int8)
  private q8 = new Map<string, Q8>();
  private pe: number;
  pass!: Pass;

  constructor(kernels: Kernels, arena: Arena, layout: ParamLayout, weights: SafeTensors) {
    const config = layout.config;
    this.config = config;
    this.k = kernels.k;
    this.arena = arena;
    const start = arena.mark();
    let quantized = false;
    for (const t of layout.tensors) {
      const src = weights.tensors.get(t.name);
      if (!src) throw new Error(`weights are missing tensor ${t.name}`);
      if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`tensor ${t.name}: shape ${src.shape}, expected ${t.shape}`);
      if (src.dtype === 'I8') {
        const sc = weights.tensors.get(t.name + SCALE_SUFFIX);
        if (!t.linear || !sc || sc.dtype !== 'F32' || sc.data.byteLength !== t.shape[0] * 4) {
          throw new Error(`tensor ${t.name}: int8 needs an F32 ${t.name + SCALE_SUFFIX} of ${t.shape[0]} rows`);
        }
        quantized = true;
        // An int8 table stays int8 (no f32 copy: 4 bytes per weight, V*C*4 = 4 MiB at V 8000, C 128), used
        // where model/weights-reader.ts put it, else copied in.
        const w = src.ptr ?? arena.alloc(src.data.byteLength, 64);
        if (src.ptr === undefined) arena.u8view(w, src.data.byteLength).set(src.data);
        const scale = resident(arena, sc);
        const wsum = arena.i32(t.shape[0]);
        this.k.q8_row_sums(wsum, w, t.shape[0], t.shape[1]);
        this.q8.set(t.name, { w, scale, wsum, N: t.shape[0], K: t.shape[1] });
      } else {
        this.f32.set(t.name, resident(arena, src));
      }
    }
    this.quantized = quantized;
    this.pe = arena.f32(config.maxLen * config.dModel);
    this.k.positional_encoding(this.pe, config.maxLen, config.dModel);
    positionTable(arena.f32view(this.pe, config.maxLen * config.dModel), config);
    this.weightBytes = arena.mark() - start;
  }

  private p(t: TensorSpec): number {
    return this.f32.get(t.name)!;
  }
  private val(M: number, N: number): Val {
    return { p: this.arena.f32(M * N), M, N };
  }

  embed(_side: Side, table: TensorSpec, scale: number): Val {
    const { ids, pos } = this.pass;
    const C = this.config.dModel;
    const M = ids.length;
    const out = this.val(M, C);
    const mark = this.arena.mark();
    const [pIds, pPos, q] = [this.arena.putI32(ids), this.arena.putI32(pos), this.q8.get(table.name)];
    if (q) this.k.embedding_q8_forward(out.p, pIds, pPos, q.w, q.scale, this.pe, M, C, scale);
    else this.k.embedding_forward(out.p, pIds, pPos, this.p(table), this.pe, M, C, scale);
    this.arena.reset(mark);
    return out;
  }
  // out (M,N) = x (M,K) @ W^T + b, in f32 or int8 (activations quantized per row on the fly)
  linear(x: Val, w: TensorSpec, b?: TensorSpec): Val {
    const out = this.val(x.M, w.shape[0]);
    const bias = b ? this.p(b) : 0;
    const q = this.q8.get(w.name);
    if (q) {
      const mark = this.arena.mark();
      const scratch = this.arena.alloc(x.M * (q.K + 16) + 4 * x.M + 64);
      this.k.matmul_q8_forward(out.p, scratch, x.p, q.w, q.scale, q.wsum, bias, x.M, q.K, q.N);
      this.arena.reset(mark);
    } else this.k.matmul_forward(out.p, x.p, this.p(w), bias, x.M, x.N, out.N);
    return out;
  }
  selfAttention(qkv: Val, _side: Side, layer: number): Val {
    const C = this.config.dModel;
    const pass = this.pass;
    if (pass.kind === 'encode') return this.attend(qkv.p, qkv.p + 4 * C, 3 * C, 3 * C, pass.lens, pass.B, pass.S, pass.S, 0, 1);
    if (pass.kind === 'forced') return this.attend(qkv.p, qkv.p + 4 * C, 3 * C, 3 * C, 0, pass.st.R, pass.T, pass.T, 1, 1);
    // One step: this step's keys and values join the cache; the query sees steps 0..t.
    const { st } = pass;
    const cache = st.selfKV[layer];
    for (let r = 0; r < st.R; r++) this.k.copy_f32(cache + 4 * ((r * st.Tmax + st.t) * 2 * C), qkv.p + 4 * (r * 3 * C + C), 2 * C);
    return this.attend(qkv.p, cache, 3 * C, 2 * C, st.kvLen, st.R, 1, st.Tmax, 0, 1);
  }
  // Rows of one sentence share its keys and values (kv_group = hypotheses per sentence). A step asked for
  // alignments copies each layer's attention probabilities out, as (L,R,H,S).
  crossAttention(q: Val, kv: Val, layer: number): Val {
    const { dModel: C, heads: H } = this.config;
    const pass = this.pass as Exclude<Pass, { kind: 'encode' }>;
    const { st } = pass;
    const out = pass.kind === 'step' ? pass.crossAtt : undefined;
    const copy = out ? (att: number) => this.k.copy_f32(out + 4 * layer * st.R * H * st.S, att, st.R * H * st.S) : undefined;
    return this.attend(q.p, kv.p, C, 2 * C, st.srcLen, st.R, pass.kind === 'forced' ? pass.T : 1, st.S, 0, st.group, copy);
  }
  // Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V   (paper eq. 1): keys at k, values C floats after them.
  private attend(q: number, k: number, qs: number, kvs: number, lens: number, B: number, T: number, S: number, causal: number, group: number, probs?: (att: number) => void): Val {
    const c = this.config;
    const out = this.val(B * T, c.dModel);
    const mark = this.arena.mark();
    const att = this.arena.f32(B * c.heads * T * S);
    this.k.attention_forward(out.p, att, q, k, k + 4 * c.dModel, lens, 0, B, T, S, c.heads, headSize(c), qs, kvs, causal, group);
    probs?.(att);
    this.arena.reset(mark);
    return out;
  }
  norm(x: Val, ln: NormParams): Val {
    const out = this.val(x.M, x.N);
    this.k.layernorm_forward(out.p, 0, 0, x.p, this.p(ln.w), this.p(ln.b), x.M, x.N);
    return out;
  }
  add(x: Val, y: Val): Val {
    this.k.add_inplace(x.p, y.p, x.M * x.N);
    return x;
  }
  activation(x: Val, kind: Activation): Val {
    ACTIVATIONS[kind](this.k)(x.p, x.p, x.M * x.N);
    return x;
  }
  dropout(x: Val): Val {
    return x;
  }
  // The sub-layer's result lands in x's rows; what the sub-layer allocated is freed.
  scope(x: Val, body: () => Val): Val {
    const mark = this.arena.mark();
    const r = body();
    if (r.p !== x.p) this.k.copy_f32(x.p, r.p, x.M * x.N);
    this.arena.reset(mark);
    return x;
  }
}

// An f32 tensor's address in wasm memory: where it already is when 4-aligned there, else a copy.
function resident(arena: Arena, t: Tensor): number {
  if (t.dtype === 'F32' && t.ptr !== undefined && t.ptr % 4 === 0) return t.ptr;
  return arena.putF32(asF32(t));
}

// Each activation's forward kernel (run in place: the program never reads its input again).
const ACTIVATIONS: Record<Activation, (k: KernelExports) => (out: number, inp: number, N: number) => void> = {
  relu: (k) => k.relu_forward,
  gelu: (k) => k.gelu_forward,
  gelu_erf: (k) => k.gelu_erf_forward,
  silu: (k) => k.silu_forward,
};
