// The model as two ONNX graphs (opset 17, standard ops only), named like Hugging Face's encoder-decoder exports:
//   encoder.onnx  input_ids (batch, src_len) int64, attention_mask (batch, src_len) int64, 1 = token, 0 = pad
//                 -> last_hidden_state (batch, src_len, d_model)
//   decoder.onnx  input_ids (batch, tgt_len) int64 (<s> y1 .. y_{t-1}), encoder_hidden_states, encoder_attention_mask
//                 -> logits (batch, tgt_len, vocab): the full sequence each call (no KV cache), causally masked.
//   decoder_model_merged.onnx  the same with a KV cache, as HF optimum exports it (what transformers.js and
//                 onnxruntime users run): + past_key_values.{i}.{decoder,encoder}.{key,value} (batch, heads, len,
//                 d_k) and use_cache_branch (bool [1]) -> logits (batch, seq, vocab) and present.{i}.*; the
//                 cross-attention keys/values are computed once (use_cache_branch false) and passed back after.
// The model is model/transformer.ts's, as the engine runs it; logits are (batch, len, V_target). The batch
// dimension is named batch_size, as transformers.js sizes an empty cache by it. Weights are F32, or int8 with
// per-row scales (model/quant.ts), kept int8 in the file and dequantized in the graph.
import { targetVocab, type ModelConfig } from '../../model/config.ts';
import { paramLayout, type NormParams, type ParamLayout, type TensorSpec } from '../../model/params.ts';
import { decoder, encoder, logits, memoryKeysValues, positionTable, type Activation, type Ops, type Side } from '../../model/transformer.ts';
import { SCALE_SUFFIX } from '../../model/quant.ts';
import type { Tensor } from '../../model/safetensors.ts';
import { DataType, encodeModel, type AttrValue, type NodeDef, type TensorInit, type ValueInfo } from './proto.ts';

export const OPSET = 17;
const LAYERNORM_EPS = 1e-5; // kernels/assembly/layernorm.ts
const MASKED = -1e9; // added to the scores of padding (and future) keys: exp underflows to exactly 0

class Graph {
  nodes: NodeDef[] = [];
  initializers: TensorInit[] = [];
  // DequantizeLinear of each int8 weight: they read initializers only, so they come first in the outer
  // graph, where every node and If branch after them can read their outputs.
  dequantized: NodeDef[] = [];
  private names = new Set<string>();
  private n = 0;
  private weights: Map<string, Tensor>;

  constructor(weights: Map<string, Tensor>) {
    this.weights = weights;
  }

  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, outputs = 1): string[] {
    const id = `${op}_${this.n++}`;
    const outs = Array.from({ length: outputs }, (_, i) => (outputs === 1 ? id : `${id}_${i}`));
    this.nodes.push({ op, inputs, outputs: outs, name: id, attrs });
    return outs;
  }
  op1(op: string, inputs: string[], attrs?: Record<string, AttrValue>): string {
    return this.op(op, inputs, attrs)[0];
  }
  // The nodes `build` adds, as a subgraph's (an If branch): they may read the outer graph's values and
  // initializers; the initializers stay in the outer graph.
  branch(build: () => void): NodeDef[] {
    const outer = this.nodes;
    this.nodes = [];
    build();
    const inner = this.nodes;
    this.nodes = outer;
    return inner;
  }
  private init(t: TensorInit): string {
    if (!this.names.has(t.name)) {
      this.names.add(t.name);
      this.initializers.push(t);
    }
    return t.name;
  }
  // A model tensor as an initializer, under its safetensors name. An int8 one (model/quant.ts: I8 codes
  // (N,K) and per-row F32 scales `<name>.scale`) is stored as int8 and dequantized in the graph,
  // w = q * scale[n] (DequantizeLinear, axis 0): the weights the engine dequantizes, at a quarter of the size.
  w(spec: TensorSpec): string {
    const t = this.weights.get(spec.name);
    if (t?.dtype === 'I8') {
      const deq = `${spec.name}_dequantized`;
      if (this.names.has(deq)) return deq;
      this.names.add(deq);
      const sc = this.weights.get(spec.name + SCALE_SUFFIX);
      if (!sc || sc.dtype !== 'F32') throw new Error(`onnx export needs F32 scales ${spec.name + SCALE_SUFFIX} of int8 ${spec.name}`);
      const q = this.init({ name: spec.name, type: DataType.INT8, dims: spec.shape, raw: t.data });
      const scale = this.init({ name: spec.name + SCALE_SUFFIX, type: DataType.FLOAT, dims: [spec.shape[0]], raw: sc.data });
      this.dequantized.push({ op: 'DequantizeLinear', inputs: [q, scale], outputs: [deq], name: deq, attrs: { axis: 0 } });
      return deq;
    }
    if (!t || t.dtype !== 'F32') throw new Error(`onnx export needs F32 tensor ${spec.name}`);
    return this.init({ name: spec.name, type: DataType.FLOAT, dims: spec.shape, raw: t.data });
  }
  f32(name: string, dims: number[], values: Float32Array): string {
    return this.init({ name, type: DataType.FLOAT, dims, raw: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
  }
  scalar(value: number): string {
    return this.f32(`const_f32_${value}`, [], Float32Array.of(value));
  }
  i64(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.init({ name, type: DataType.INT64, dims, raw: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) });
  }
}

// Sinusoidal table (maxLen, C) exactly as the kernel positional_encoding computes it (f64, rounded to f32):
// interleaved, the paper's layout (model/transformer.ts positionTable rearranges it for a config).
export function positionalTable(maxLen: number, C: number): Float32Array {
  const pe = new Float32Array(maxLen * C);
  for (let j = 0; j < C; j += 2) {
    const denom = Math.pow(10000, j / C);
    for (let t = 0; t < maxLen; t++) {
      pe[t * C + j] = Math.sin(t / denom);
      if (j + 1 < C) pe[t * C + j + 1] = Math.cos(t / denom);
    }
  }
  return pe;
}

// The tokens a graph embeds: their ids input, sequence length, and the first position (the cached
// length when decoding with a KV cache; 0 otherwise).
interface Tokens {
  ids: string;
  len: string; // scalar
  len1: string; // 1-element tensor, for shapes
  start?: string;
}

// The ONNX executor of model/transformer.ts: each op adds nodes to the graph and returns its output's name.
// Activations are kept as rows (batch*len, C); linears are Gemm with our (N,K) weights and transB = 1, so
// the tensors keep their safetensors names and a tied embedding is stored once.
class Builder implements Ops<string> {
  readonly g: Graph;
  readonly C: number;
  readonly H: number;
  readonly D: number;
  readonly config: ModelConfig;
  readonly L: ParamLayout;
  private pe?: Float32Array;
  // What the graph being built reads: the tokens of each side, the additive masks, the layers' caches.
  tokens: Partial<Record<Side, Tokens>> = {};
  sourceMask = ''; // (batch, 1, 1, src_len) key padding
  causal = ''; // (len, past+len)
  // Self-attention keys and values (batch, H, len, D) of a target layer: this call's (kh, vh), or the
  // cache's with them appended (decoder_model_merged).
  targetKV: (kh: string, vh: string, layer: number) => [string, string] = (kh, vh) => [kh, vh];
  // Cross-attention keys and values (batch, H, src_len, D) from a layer's memoryKeysValues.
  memoryKV: (kv: string, layer: number) => [string, string] = (kv) => this.split(kv, 2).map((x) => this.heads(x, this.tokens.source!.len1)) as [string, string];

  constructor(config: ModelConfig, weights: Map<string, Tensor>) {
    this.config = config;
    this.g = new Graph(weights);
    this.L = paramLayout(config);
    this.C = config.dModel;
    this.H = config.heads;
    this.D = this.C / this.H;
  }
  // Tokens of an ids input (batch, len).
  input(ids: string, start?: string): Tokens {
    const shape = this.g.op1('Shape', [ids]);
    return { ids, start, len1: this.g.op1('Gather', [shape, this.g.i64('const_i64_1', [1])]), len: this.g.op1('Gather', [shape, this.g.i64('const_i64_1_scalar', [1], [])]) };
  }

  // --- the ops ---
  // Embedding(ids) * scale + PE(start .. start+len-1), as rows (batch*len, C)
  embed(side: Side, table: TensorSpec, scale: number): string {
    const { g, C } = this;
    const { ids, len, start } = this.tokens[side]!;
    let e = g.op1('Gather', [g.w(table), ids]);
    if (scale !== 1) e = g.op1('Mul', [e, g.scalar(scale)]);
    const from = start ?? g.i64('const_i64_0_scalar', [0], []);
    const pos = g.op1('Range', [from, start ? g.op1('Add', [start, len]) : len, g.i64('const_i64_1_scalar', [1], [])]);
    const { maxLen } = this.config;
    const table2 = g.f32('positional_encoding', [maxLen, C], this.pe ??= positionTable(positionalTable(maxLen, C), this.config));
    const pe = g.op1('Gather', [table2, pos]);
    return g.op1('Reshape', [g.op1('Add', [e, pe]), this.rowsShape()]);
  }
  linear(x: string, w: TensorSpec, b?: TensorSpec): string {
    const inputs = [x, this.g.w(w)];
    if (b) inputs.push(this.g.w(b));
    return this.g.op1('Gemm', inputs, { transB: 1 });
  }
  selfAttention(qkv: string, side: Side, layer: number): string {
    const { len1 } = this.tokens[side]!;
    const [q, k, v] = this.split(qkv, 3);
    if (side === 'source') return this.attend(this.heads(q, len1), this.heads(k, len1), this.heads(v, len1), [this.sourceMask]);
    const [kh, vh] = this.targetKV(this.heads(k, len1), this.heads(v, len1), layer);
    return this.attend(this.heads(q, len1), kh, vh, [this.causal]);
  }
  crossAttention(q: string, kv: string, layer: number): string {
    const [kh, vh] = this.memoryKV(kv, layer);
    return this.attend(this.heads(q, this.tokens.target!.len1), kh, vh, [this.sourceMask]);
  }
  norm(x: string, ln: NormParams): string {
    return this.g.op1('LayerNormalization', [x, this.g.w(ln.w), this.g.w(ln.b)], { axis: -1, epsilon: { float: LAYERNORM_EPS } });
  }
  add(x: string, y: string): string {
    return this.g.op1('Add', [x, y]);
  }
  activation(x: string, kind: Activation): string {
    return ACTIVATIONS[kind](this.g, x);
  }
  dropout(x: string): string {
    return x;
  }
  scope(_x: string, body: () => string): string {
    return body();
  }

  // --- shapes and masks ---
  rowsShape(): string {
    return this.g.i64('shape_rows', [-1, this.C]);
  }
  // (batch, len) 1/0 mask -> additive (batch, 1, 1, len): 0 for tokens, MASKED for padding.
  keyMask(mask: string): string {
    const { g } = this;
    const pad = g.op1('Equal', [mask, g.i64('const_i64_0', [0])]);
    const add = g.op1('Where', [pad, g.scalar(MASKED), g.scalar(0)]);
    return g.op1('Unsqueeze', [add, g.i64('axes_1_2', [1, 2])]);
  }
  // (len, len) additive mask: key j > query i is the future   (paper 3.2.3: masking out illegal connections)
  // With a cache, queries are positions past..past+len-1 and keys 0..past+len-1: shape (len, past+len).
  causalMask(len: string, past?: string): string {
    const { g } = this;
    const zero = g.i64('const_i64_0_scalar', [0], []);
    const one = g.i64('const_i64_1_scalar', [1], []);
    const end = past ? g.op1('Add', [past, len]) : len;
    const keys = g.op1('Range', [zero, end, one]);
    const queries = past ? g.op1('Range', [past, end, one]) : keys;
    const future = g.op1('Greater', [g.op1('Unsqueeze', [keys, g.i64('axes_0', [0])]), g.op1('Unsqueeze', [queries, g.i64('axes_1', [1])])]);
    return g.op1('Where', [future, g.scalar(MASKED), g.scalar(0)]);
  }
  // rows (batch*len, C) -> heads (batch, H, len, D), the layout of HF's past_key_values
  heads(x: string, len1: string): string {
    const { g } = this;
    const shape = g.op1('Concat', [g.i64('const_i64_neg1', [-1]), len1, g.i64('const_i64_H', [this.H]), g.i64('const_i64_D', [this.D])], { axis: 0 });
    return g.op1('Transpose', [g.op1('Reshape', [x, shape])], { perm: [0, 2, 1, 3] });
  }
  // Attention(Q,K,V) = softmax(Q K^T / sqrt(d_k) + mask) V over heads (batch, H, len, D), concatenated
  // back into rows   (paper eq. 1)
  attend(qh: string, kh: string, vh: string, masks: string[]): string {
    const { g } = this;
    let s = g.op1('MatMul', [qh, g.op1('Transpose', [kh], { perm: [0, 1, 3, 2] })]);
    s = g.op1('Mul', [s, g.scalar(1 / Math.sqrt(this.D))]);
    for (const m of masks) s = g.op1('Add', [s, m]);
    const p = g.op1('Softmax', [s], { axis: -1 });
    const o = g.op1('Transpose', [g.op1('MatMul', [p, vh])], { perm: [0, 2, 1, 3] });
    return g.op1('Reshape', [o, this.rowsShape()]);
  }
  split(x: string, parts: number): string[] {
    return this.g.op('Split', [x, this.g.i64(`split_${parts}`, Array(parts).fill(this.C))], { axis: 1 }, parts);
  }
  // Rows (batch*len, N) of a side -> the graph output `name` (batch, len, N).
  outputRows(x: string, side: Side, N: number, name: string): void {
    const { g } = this;
    const shape = g.op1('Concat', [g.i64('const_i64_neg1', [-1]), this.tokens[side]!.len1, g.i64(`const_i64_${N}`, [N])], { axis: 0 });
    this.output(g.op1('Reshape', [x, shape]), name);
  }
  // The decoder of model/transformer.ts over each layer's memory keys/values `kv` (as memoryKV reads
  // them), ending in the graph output logits (batch, len, V_target).
  decoderLogits(kv: string[]): void {
    this.outputRows(logits(this, this.L, decoder(this, this.L, kv)), 'target', targetVocab(this.config), 'logits');
  }
  // The graph built so far as an ONNX model file.
  model(name: string, inputs: ValueInfo[], outputs: ValueInfo[], doc: string): Uint8Array {
    return encodeModel({ name, nodes: [...this.g.dequantized, ...this.g.nodes], initializers: this.g.initializers, inputs, outputs, doc }, { opset: OPSET });
  }
  // Gives the last node the graph output's name.
  output(x: string, name: string): void {
    const node = this.g.nodes.find((n) => n.outputs.includes(x))!;
    node.outputs = node.outputs.map((o) => (o === x ? name : o));
  }
}

// Each activation as nodes, computed as the kernels compute it.
const ACTIVATIONS: Record<Activation, (g: Graph, x: string) => string> = {
  relu: (g, x) => g.op1('Relu', [x]),
  // GELU with the tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  gelu: (g, x) => {
    const cube = g.op1('Mul', [g.op1('Mul', [x, x]), x]);
    const inner = g.op1('Mul', [g.op1('Add', [x, g.op1('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
    return g.op1('Mul', [g.op1('Mul', [x, g.scalar(0.5)]), g.op1('Add', [g.op1('Tanh', [inner]), g.scalar(1)])]);
  },
  // Exact GELU: 0.5 x (1 + erf(x / sqrt 2))
  gelu_erf: (g, x) => g.op1('Mul', [g.op1('Mul', [x, g.scalar(0.5)]), g.op1('Add', [g.op1('Erf', [g.op1('Mul', [x, g.scalar(Math.SQRT1_2)])]), g.scalar(1)])]),
  // SiLU: x * sigmoid(x)
  silu: (g, x) => g.op1('Mul', [x, g.op1('Sigmoid', [x])]),
};

export function encoderGraph(config: ModelConfig, weights: Map<string, Tensor>): Uint8Array {
  const b = new Builder(config, weights);
  b.tokens.source = b.input('input_ids');
  b.sourceMask = b.keyMask('attention_mask');
  b.outputRows(encoder(b, b.L), 'source', b.C, 'last_hidden_state');
  const ids: ValueInfo = { name: 'input_ids', type: DataType.INT64, dims: ['batch_size', 'src_len'] };
  return b.model(
    'encoder',
    [ids, { ...ids, name: 'attention_mask' }],
    [{ name: 'last_hidden_state', type: DataType.FLOAT, dims: ['batch_size', 'src_len', b.C] }],
    'Transformer encoder (edge-mt): token ids and 1/0 mask -> memory',
  );
}

export function decoderGraph(config: ModelConfig, weights: Map<string, Tensor>): Uint8Array {
  const b = new Builder(config, weights);
  const { g, C } = b;
  b.tokens.target = b.input('input_ids');
  b.tokens.source = b.input('encoder_attention_mask');
  b.causal = b.causalMask(b.tokens.target.len);
  b.sourceMask = b.keyMask('encoder_attention_mask');
  const mem = g.op1('Reshape', ['encoder_hidden_states', b.rowsShape()]);
  b.decoderLogits(memoryKeysValues(b, b.L, mem));
  return b.model(
    'decoder',
    [
      { name: 'input_ids', type: DataType.INT64, dims: ['batch_size', 'tgt_len'] },
      { name: 'encoder_hidden_states', type: DataType.FLOAT, dims: ['batch_size', 'src_len', C] },
      { name: 'encoder_attention_mask', type: DataType.INT64, dims: ['batch_size', 'src_len'] },
    ],
    [{ name: 'logits', type: DataType.FLOAT, dims: ['batch_size', 'tgt_len', targetVocab(config)] }],
    'Transformer decoder (edge-mt), full sequence: target ids so far + memory -> next-token logits at every position',
  );
}

// The decoder with a KV cache. First call: use_cache_branch false, past decoder keys/values of length 0 (and
// encoder ones of any length, unused); it computes the cross-attention keys/values from the memory. Each
// next call: the last token only, use_cache_branch true, the previous call's present.* as past_key_values.
export function decoderMergedGraph(config: ModelConfig, weights: Map<string, Tensor>): Uint8Array {
  const b = new Builder(config, weights);
  const { g, C, H, D } = b;
  const layers = b.L.decoder;
  const past = (i: number, side: string, kv: string) => `past_key_values.${i}.${side}.${kv}`;
  const present = (i: number, side: string, kv: string) => `present.${i}.${side}.${kv}`;
  const identity = (from: string, to: string) => g.nodes.push({ op: 'Identity', inputs: [from], outputs: [to], name: to.replace(/\./g, '_') });
  const pastLen = g.op1('Gather', [g.op1('Shape', [past(0, 'decoder', 'key')]), g.i64('const_i64_2_scalar', [2], [])]);
  b.tokens.target = b.input('input_ids', pastLen);
  b.tokens.source = b.input('encoder_attention_mask');
  b.causal = b.causalMask(b.tokens.target.len, pastLen);
  b.sourceMask = b.keyMask('encoder_attention_mask');

  // Cross-attention keys/values of every layer: from the cache, or computed from the memory once.
  const crossInfo = (name: string): ValueInfo => ({ name, type: DataType.FLOAT, dims: ['batch_size', H, 'src_len', D] });
  const names = (prefix: string) => layers.flatMap((_, i) => ['key', 'value'].map((kv) => `${prefix}_${i}_${kv}`));
  const cached = g.branch(() => layers.forEach((_, i) => ['key', 'value'].forEach((kv) => identity(past(i, 'encoder', kv), `cached_${i}_${kv}`))));
  const computed = g.branch(() => {
    const mem = g.op1('Reshape', ['encoder_hidden_states', b.rowsShape()]);
    memoryKeysValues(b, b.L, mem).forEach((kv, i) => b.memoryKV(kv, i).forEach((x, j) => b.output(x, `computed_${i}_${j ? 'value' : 'key'}`)));
  });
  const cross = g.op('If', ['use_cache_branch'], {
    then_branch: { graph: { name: 'use_cache', nodes: cached, initializers: [], inputs: [], outputs: names('cached').map(crossInfo) } },
    else_branch: { graph: { name: 'compute_cross', nodes: computed, initializers: [], inputs: [], outputs: names('computed').map(crossInfo) } },
  }, 2 * layers.length);
  layers.forEach((_, i) => ['key', 'value'].forEach((kv, j) => identity(cross[2 * i + j], present(i, 'encoder', kv))));

  // Self-attention: this call's keys/values appended to the cache, and returned as present.*
  b.targetKV = (kh, vh, i) => {
    const both = [kh, vh].map((x, j) => g.op1('Concat', [past(i, 'decoder', j ? 'value' : 'key'), x], { axis: 2 }));
    both.forEach((x, j) => identity(x, present(i, 'decoder', j ? 'value' : 'key')));
    return both as [string, string];
  };
  b.memoryKV = (_kv, i) => [cross[2 * i], cross[2 * i + 1]];
  b.decoderLogits(layers.map((_, i) => cross[2 * i])); // memoryKV reads the If's outputs by layer
  const kvInfo = (name: string, len: string): ValueInfo => ({ name, type: DataType.FLOAT, dims: ['batch_size', H, len, D] });
  return b.model(
    'decoder_merged',
    [
      { name: 'input_ids', type: DataType.INT64, dims: ['batch_size', 'seq'] },
      { name: 'encoder_attention_mask', type: DataType.INT64, dims: ['batch_size', 'src_len'] },
      { name: 'encoder_hidden_states', type: DataType.FLOAT, dims: ['batch_size', 'src_len', C] },
      ...layers.flatMap((_, i) => [kvInfo(past(i, 'decoder', 'key'), 'past_len'), kvInfo(past(i, 'decoder', 'value'), 'past_len'), kvInfo(past(i, 'encoder', 'key'), 'enc_len'), kvInfo(past(i, 'encoder', 'value'), 'enc_len')]),
      { name: 'use_cache_branch', type: DataType.BOOL, dims: [1] },
    ],
    [
      { name: 'logits', type: DataType.FLOAT, dims: ['batch_size', 'seq', targetVocab(config)] },
      ...layers.flatMap((_, i) => [kvInfo(present(i, 'decoder', 'key'), 'total_len'), kvInfo(present(i, 'decoder', 'value'), 'total_len'), kvInfo(present(i, 'encoder', 'key'), 'src_len'), kvInfo(present(i, 'encoder', 'value'), 'src_len')]),
    ],
    'Transformer decoder (edge-mt) with a KV cache, in the layout of HF optimum\'s decoder_model_merged',
  );
}
