// The model as two ONNX graphs (opset 17, standard ops only), named like Hugging Face's encoder-decoder exports:
//   encoder.onnx  input_ids (batch, src_len) int64, attention_mask (batch, src_len) int64, 1 = token, 0 = pad
//                 -> last_hidden_state (batch, src_len, d_model)
//   decoder.onnx  input_ids (batch, tgt_len) int64 (<s> y1 .. y_{t-1}), encoder_hidden_states, encoder_attention_mask
//                 -> logits (batch, tgt_len, vocab): the full sequence each call (no KV cache), causally masked.
//   decoder_model_merged.onnx  the same with a KV cache, as HF optimum exports it (what transformers.js and
//                 onnxruntime users run): + past_key_values.{i}.{decoder,encoder}.{key,value} (batch, heads, len,
//                 d_k) and use_cache_branch (bool [1]) -> logits (batch, seq, vocab) and present.{i}.*; the
//                 cross-attention keys/values are computed once (use_cache_branch false) and passed back after.
// The same computation as model/runtime.ts: activations kept as (rows, C), linears as Gemm with our (N,K)
// weights and transB = 1, so the tensors keep their safetensors names and the embedding is stored once.
import type { ModelConfig } from '../../model/config.ts';
import { paramLayout, type AttentionParams, type FFNParams, type NormParams, type ParamLayout, type TensorSpec } from '../../model/params.ts';
import type { Tensor } from '../../model/safetensors.ts';
import { DataType, encodeModel, type AttrValue, type NodeDef, type TensorInit, type ValueInfo } from './proto.ts';

export const OPSET = 17;
const LAYERNORM_EPS = 1e-5; // kernels/assembly/layernorm.ts
const MASKED = -1e9; // added to the scores of padding (and future) keys: exp underflows to exactly 0

class Graph {
  nodes: NodeDef[] = [];
  initializers: TensorInit[] = [];
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
  // A model tensor as an initializer, under its safetensors name.
  w(spec: TensorSpec): string {
    const t = this.weights.get(spec.name);
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

// Sinusoidal table (maxLen, C) exactly as the kernel positional_encoding computes it (f64, rounded to f32).
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

class Builder {
  readonly g: Graph;
  readonly C: number;
  readonly H: number;
  readonly D: number;
  readonly config: ModelConfig;
  readonly L: ParamLayout;

  constructor(config: ModelConfig, weights: Map<string, Tensor>) {
    this.config = config;
    this.g = new Graph(weights);
    this.L = paramLayout(config);
    this.C = config.dModel;
    this.H = config.heads;
    this.D = this.C / this.H;
  }
  // Sequence length of ids (batch, len): as a 1-element tensor (for shapes) and as a scalar (for Range).
  length(ids: string): { len1: string; len: string } {
    const shape = this.g.op1('Shape', [ids]);
    return { len1: this.g.op1('Gather', [shape, this.g.i64('const_i64_1', [1])]), len: this.g.op1('Gather', [shape, this.g.i64('const_i64_1_scalar', [1], [])]) };
  }

  // Embedding(ids) * sqrt(d_model) + PE(0..len-1), as rows (batch*len, C)   (paper 3.4, 3.5)
  // Positions start at `start` (a scalar: the number of cached positions) when decoding with a KV cache.
  embed(ids: string, len: string, start?: string): string {
    const { g, C } = this;
    const e = g.op1('Gather', [g.w(this.L.embed), ids]);
    const scaled = g.op1('Mul', [e, g.scalar(Math.sqrt(C))]);
    const from = start ?? g.i64('const_i64_0_scalar', [0], []);
    const pos = g.op1('Range', [from, start ? g.op1('Add', [start, len]) : len, g.i64('const_i64_1_scalar', [1], [])]);
    const pe = g.op1('Gather', [g.f32('positional_encoding', [this.config.maxLen, C], positionalTable(this.config.maxLen, C)), pos]);
    return g.op1('Reshape', [g.op1('Add', [scaled, pe]), this.rowsShape()]);
  }
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
  linear(x: string, w: TensorSpec, b?: TensorSpec): string {
    const inputs = [x, this.g.w(w)];
    if (b) inputs.push(this.g.w(b));
    return this.g.op1('Gemm', inputs, { transB: 1 });
  }
  norm(x: string, ln: NormParams): string {
    return this.g.op1('LayerNormalization', [x, this.g.w(ln.w), this.g.w(ln.b)], { axis: -1, epsilon: { float: LAYERNORM_EPS } });
  }
  // post-norm: x = LN(x + f(x)); pre-norm: x = x + f(LN(x))   (paper 3.1 is post-norm)
  sublayer(x: string, ln: NormParams, f: (fin: string) => string): string {
    if (this.config.preNorm) return this.g.op1('Add', [x, f(this.norm(x, ln))]);
    return this.norm(this.g.op1('Add', [x, f(x)]), ln);
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
  attention(q: string, k: string, v: string, qLen1: string, kLen1: string, masks: string[]): string {
    return this.attend(this.heads(q, qLen1), this.heads(k, kLen1), this.heads(v, kLen1), masks);
  }
  split(x: string, parts: number): string[] {
    return this.g.op('Split', [x, this.g.i64(`split_${parts}`, Array(parts).fill(this.C))], { axis: 1 }, parts);
  }
  selfAttention(x: string, P: AttentionParams, len1: string, masks: string[]): string {
    const [q, k, v] = this.split(this.linear(x, P.qkv_w, P.qkv_b), 3);
    return this.linear(this.attention(q, k, v, len1, len1, masks), P.out_w, P.out_b);
  }
  crossAttention(y: string, mem: string, P: AttentionParams, tLen1: string, sLen1: string, mask: string): string {
    const q = this.linear(y, P.qkv_w, P.qkv_b);
    const [k, v] = this.split(this.linear(mem, P.kv_w!, P.kv_b), 2);
    return this.linear(this.attention(q, k, v, tLen1, sLen1, [mask]), P.out_w, P.out_b);
  }
  // FFN(x) = max(0, x W1 + b1) W2 + b2   (paper eq. 2), or GELU with the tanh approximation of the kernels
  ffn(x: string, P: FFNParams): string {
    const { g } = this;
    const h = this.linear(x, P.fc1_w, P.fc1_b);
    let a: string;
    if (this.config.activation === 'relu') a = g.op1('Relu', [h]);
    else {
      const cube = g.op1('Mul', [g.op1('Mul', [h, h]), h]);
      const inner = g.op1('Mul', [g.op1('Add', [h, g.op1('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
      a = g.op1('Mul', [g.op1('Mul', [h, g.scalar(0.5)]), g.op1('Add', [g.op1('Tanh', [inner]), g.scalar(1)])]);
    }
    return this.linear(a, P.fc2_w, P.fc2_b);
  }
  // Decoder rows -> the graph output logits (batch, len, vocab): final norm (pre-norm), then the
  // pre-softmax projection, which shares the embedding matrix (paper 3.4).
  logits(y: string, len1: string): void {
    const { g } = this;
    if (this.L.decNorm) y = this.norm(y, this.L.decNorm);
    const shape = g.op1('Concat', [g.i64('const_i64_neg1', [-1]), len1, g.i64('const_i64_V', [this.config.vocabSize])], { axis: 0 });
    this.output(g.op1('Reshape', [this.linear(y, this.L.embed), shape]), 'logits');
  }
  // The graph built so far as an ONNX model file.
  model(name: string, inputs: ValueInfo[], outputs: ValueInfo[], doc: string): Uint8Array {
    return encodeModel({ name, nodes: this.g.nodes, initializers: this.g.initializers, inputs, outputs, doc }, { opset: OPSET });
  }
  // Gives the last node the graph output's name.
  output(x: string, name: string): void {
    const node = this.g.nodes.find((n) => n.outputs.includes(x))!;
    node.outputs = node.outputs.map((o) => (o === x ? name : o));
  }
}

export function encoderGraph(config: ModelConfig, weights: Map<string, Tensor>): Uint8Array {
  const b = new Builder(config, weights);
  const { g } = b;
  const { len1, len } = b.length('input_ids');
  const mask = b.keyMask('attention_mask');
  let x = b.embed('input_ids', len);
  for (const L of b.L.encoder) {
    x = b.sublayer(x, L.ln1, (fin) => b.selfAttention(fin, L.self, len1, [mask]));
    x = b.sublayer(x, L.ln2, (fin) => b.ffn(fin, L.ffn));
  }
  if (b.L.encNorm) x = b.norm(x, b.L.encNorm);
  const shape = g.op1('Concat', [g.i64('const_i64_neg1', [-1]), len1, g.i64('const_i64_C', [b.C])], { axis: 0 });
  b.output(g.op1('Reshape', [x, shape]), 'last_hidden_state');
  const ids: ValueInfo = { name: 'input_ids', type: DataType.INT64, dims: ['batch', 'src_len'] };
  return b.model(
    'encoder',
    [ids, { ...ids, name: 'attention_mask' }],
    [{ name: 'last_hidden_state', type: DataType.FLOAT, dims: ['batch', 'src_len', b.C] }],
    'Transformer encoder (edge-mt): token ids and 1/0 mask -> memory',
  );
}

export function decoderGraph(config: ModelConfig, weights: Map<string, Tensor>): Uint8Array {
  const b = new Builder(config, weights);
  const { g, C } = b;
  const t = b.length('input_ids');
  const s = b.length('encoder_attention_mask');
  const causal = b.causalMask(t.len);
  const memMask = b.keyMask('encoder_attention_mask');
  const mem = g.op1('Reshape', ['encoder_hidden_states', b.rowsShape()]);
  let y = b.embed('input_ids', t.len);
  for (const L of b.L.decoder) {
    y = b.sublayer(y, L.ln1, (fin) => b.selfAttention(fin, L.self, t.len1, [causal]));
    y = b.sublayer(y, L.ln2, (fin) => b.crossAttention(fin, mem, L.cross, t.len1, s.len1, memMask));
    y = b.sublayer(y, L.ln3, (fin) => b.ffn(fin, L.ffn));
  }
  b.logits(y, t.len1);
  const V = config.vocabSize;
  return b.model(
    'decoder',
    [
      { name: 'input_ids', type: DataType.INT64, dims: ['batch', 'tgt_len'] },
      { name: 'encoder_hidden_states', type: DataType.FLOAT, dims: ['batch', 'src_len', C] },
      { name: 'encoder_attention_mask', type: DataType.INT64, dims: ['batch', 'src_len'] },
    ],
    [{ name: 'logits', type: DataType.FLOAT, dims: ['batch', 'tgt_len', V] }],
    'Transformer decoder (edge-mt), full sequence: target ids so far + memory -> next-token logits at every position',
  );
}

// The decoder with a KV cache. First call: use_cache_branch false, past decoder keys/values of length 0 (and
// encoder ones of any length, unused); it computes the cross-attention keys/values from the memory. Each
// next call: the last token only, use_cache_branch true, the previous call's present.* as past_key_values.
export function decoderMergedGraph(config: ModelConfig, weights: Map<string, Tensor>): Uint8Array {
  const b = new Builder(config, weights);
  const { g, C, H, D } = b;
  const V = config.vocabSize;
  const layers = b.L.decoder;
  const past = (i: number, side: string, kv: string) => `past_key_values.${i}.${side}.${kv}`;
  const present = (i: number, side: string, kv: string) => `present.${i}.${side}.${kv}`;
  const t = b.length('input_ids');
  const s = b.length('encoder_attention_mask');
  const pastLen = g.op1('Gather', [g.op1('Shape', [past(0, 'decoder', 'key')]), g.i64('const_i64_2_scalar', [2], [])]);
  const causal = b.causalMask(t.len, pastLen);
  const memMask = b.keyMask('encoder_attention_mask');

  // Cross-attention keys/values of every layer: from the cache, or computed from the memory once.
  const crossNames = layers.flatMap((_, i) => [`cross_${i}_key`, `cross_${i}_value`]);
  const crossInfo = (name: string): ValueInfo => ({ name, type: DataType.FLOAT, dims: ['batch', H, 'src_len', D] });
  const cached = g.branch(() => layers.forEach((_, i) => ['key', 'value'].forEach((kv) => g.nodes.push({ op: 'Identity', inputs: [past(i, 'encoder', kv)], outputs: [`cached_${i}_${kv}`], name: `cached_${i}_${kv}` }))));
  const computed = g.branch(() => {
    const mem = g.op1('Reshape', ['encoder_hidden_states', b.rowsShape()]);
    layers.forEach((L, i) => {
      const [k, v] = b.split(b.linear(mem, L.cross.kv_w!, L.cross.kv_b), 2);
      b.output(b.heads(k, s.len1), `computed_${i}_key`);
      b.output(b.heads(v, s.len1), `computed_${i}_value`);
    });
  });
  const cross = g.op('If', ['use_cache_branch'], {
    then_branch: { graph: { name: 'use_cache', nodes: cached, initializers: [], inputs: [], outputs: layers.flatMap((_, i) => ['key', 'value'].map((kv) => crossInfo(`cached_${i}_${kv}`))) } },
    else_branch: { graph: { name: 'compute_cross', nodes: computed, initializers: [], inputs: [], outputs: layers.flatMap((_, i) => ['key', 'value'].map((kv) => crossInfo(`computed_${i}_${kv}`))) } },
  }, crossNames.length);

  let y = b.embed('input_ids', t.len, pastLen);
  layers.forEach((L, i) => {
    y = b.sublayer(y, L.ln1, (fin) => {
      const [q, k, v] = b.split(b.linear(fin, L.self.qkv_w, L.self.qkv_b), 3);
      const kh = g.op1('Concat', [past(i, 'decoder', 'key'), b.heads(k, t.len1)], { axis: 2 });
      const vh = g.op1('Concat', [past(i, 'decoder', 'value'), b.heads(v, t.len1)], { axis: 2 });
      g.nodes.push({ op: 'Identity', inputs: [kh], outputs: [present(i, 'decoder', 'key')], name: `present_${i}_decoder_key` });
      g.nodes.push({ op: 'Identity', inputs: [vh], outputs: [present(i, 'decoder', 'value')], name: `present_${i}_decoder_value` });
      return b.linear(b.attend(b.heads(q, t.len1), kh, vh, [causal]), L.self.out_w, L.self.out_b);
    });
    y = b.sublayer(y, L.ln2, (fin) => {
      const q = b.linear(fin, L.cross.qkv_w, L.cross.qkv_b);
      return b.linear(b.attend(b.heads(q, t.len1), cross[2 * i], cross[2 * i + 1], [memMask]), L.cross.out_w, L.cross.out_b);
    });
    y = b.sublayer(y, L.ln3, (fin) => b.ffn(fin, L.ffn));
    g.nodes.push({ op: 'Identity', inputs: [cross[2 * i]], outputs: [present(i, 'encoder', 'key')], name: `present_${i}_encoder_key` });
    g.nodes.push({ op: 'Identity', inputs: [cross[2 * i + 1]], outputs: [present(i, 'encoder', 'value')], name: `present_${i}_encoder_value` });
  });
  b.logits(y, t.len1);
  const kvInfo = (name: string, len: string): ValueInfo => ({ name, type: DataType.FLOAT, dims: ['batch', H, len, D] });
  return b.model(
    'decoder_merged',
    [
      { name: 'input_ids', type: DataType.INT64, dims: ['batch', 'seq'] },
      { name: 'encoder_attention_mask', type: DataType.INT64, dims: ['batch', 'src_len'] },
      { name: 'encoder_hidden_states', type: DataType.FLOAT, dims: ['batch', 'src_len', C] },
      ...layers.flatMap((_, i) => [kvInfo(past(i, 'decoder', 'key'), 'past_len'), kvInfo(past(i, 'decoder', 'value'), 'past_len'), kvInfo(past(i, 'encoder', 'key'), 'enc_len'), kvInfo(past(i, 'encoder', 'value'), 'enc_len')]),
      { name: 'use_cache_branch', type: DataType.BOOL, dims: [1] },
    ],
    [
      { name: 'logits', type: DataType.FLOAT, dims: ['batch', 'seq', V] },
      ...layers.flatMap((_, i) => [kvInfo(present(i, 'decoder', 'key'), 'total_len'), kvInfo(present(i, 'decoder', 'value'), 'total_len'), kvInfo(present(i, 'encoder', 'key'), 'src_len'), kvInfo(present(i, 'encoder', 'value'), 'src_len')]),
    ],
    'Transformer decoder (edge-mt) with a KV cache, in the layout of HF optimum\'s decoder_model_merged',
  );
}
