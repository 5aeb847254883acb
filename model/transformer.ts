// The Transformer (Vaswani et al. 2017) written once, as a program over a small set of ops that three
// executors implement: the training tape (train/graph.ts: forward kernels, each op recording what its
// backward needs), the inference kernels (model/runtime.ts: f32 or int8, KV cache, teacher forcing) and the
// ONNX writer (train/onnx/export.ts). Every variant of ModelConfig (norm placement, activation, embedding
// scale, positional layout, output projection and bias) is decided here and nowhere else: nanoGPT's one
// Block and one forward, which training, evaluation and generation all run.
import type { ModelConfig } from './config.ts';
import type { AttentionParams, FFNParams, NormParams, ParamLayout, TensorSpec } from './params.ts';

export type Side = 'source' | 'target';
export type Activation = ModelConfig['activation'];

// What the program asks of an executor; T is its value type (a buffer, a tape node, an ONNX tensor name).
// Values are (rows, features) matrices; the executor knows the batch: ids, positions, lengths, masks, caches.
export interface Ops<T> {
  // Embedding(ids of `side`) * scale + PE(their positions): (M, C)
  embed(side: Side, table: TensorSpec, scale: number): T;
  // x W^T + b: (M, K) -> (M, N) for W (N, K)
  linear(x: T, w: TensorSpec, b?: TensorSpec): T;
  // softmax(Q K^T / sqrt(d_k)) V per head over qkv (M, 3C), queries, keys and values side by side -> (M, C).
  // 'source': keys of the same sentence, padding masked; 'target': earlier positions only (causal), through
  // the executor's cache of `layer` when it decodes step by step.
  selfAttention(qkv: T, side: Side, layer: number): T;
  // The same with queries q (M, C) from the decoder and keys, values kv (Ms, 2C) from the encoder's output.
  crossAttention(q: T, kv: T, layer: number): T;
  // LayerNorm(x) with gain and bias (Ba et al. 2016)
  norm(x: T, ln: NormParams): T;
  // x + y on the residual stream; x is not read again (an executor may add in place).
  add(x: T, y: T): T;
  // The FFN's nonlinearity; x is not read again.
  activation(x: T, kind: Activation): T;
  // Dropout(x) while training, x otherwise; x is not read again.
  dropout(x: T): T;
  // Runs a residual sub-layer whose result replaces the stream x: an executor may free what body made.
  scope(x: T, body: () => T): T;
}

// The paper's sinusoids PE(pos, 2i) = sin(pos / 10000^(2i/C)), PE(pos, 2i+1) = cos(...) (section 3.5), given
// interleaved as the kernel positional_encoding writes them, in the layout of config.positions: 'halves'
// puts the same sines in columns [0, ceil(C/2)) and the cosines after them (HF Marian). In place.
export function positionTable(pe: Float32Array, c: ModelConfig): Float32Array {
  if ((c.positions ?? 'interleaved') === 'interleaved') return pe;
  const C = c.dModel;
  const half = Math.ceil(C / 2);
  const row = new Float32Array(C);
  for (let t = 0; t * C < pe.length; t++) {
    for (let j = 0; j < C; j++) row[j % 2 ? half + (j >> 1) : j >> 1] = pe[t * C + j];
    pe.set(row, t * C);
  }
  return pe;
}

// "we multiply those weights by sqrt(d_model)" (paper 3.4), unless the config turns it off
function embedScale(c: ModelConfig): number {
  return c.embedScale === false ? 1 : Math.sqrt(c.dModel);
}

// Post-norm LayerNorm(x + Dropout(Sublayer(x))) (paper 3.1, 5.4); pre-norm x + Dropout(Sublayer(LayerNorm(x)))
// (Xiong et al. 2020), whose stacks end in a final LayerNorm.
function sublayer<T>(o: Ops<T>, c: ModelConfig, x: T, ln: NormParams, f: (h: T) => T): T {
  return o.scope(x, () => (c.preNorm ? o.add(x, o.dropout(f(o.norm(x, ln)))) : o.norm(o.add(x, o.dropout(f(x))), ln)));
}

// MultiHead(Q, K, V) = Concat(head_1..head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)   (paper 3.2.2)
function selfAttention<T>(o: Ops<T>, x: T, P: AttentionParams, side: Side, layer: number): T {
  return o.linear(o.selfAttention(o.linear(x, P.qkv_w, P.qkv_b), side, layer), P.out_w, P.out_b);
}

// Encoder-decoder attention: queries from the decoder, keys and values from the encoder output (3.2.3)
function crossAttention<T>(o: Ops<T>, y: T, P: AttentionParams, kv: T, layer: number): T {
  return o.linear(o.crossAttention(o.linear(y, P.qkv_w, P.qkv_b), kv, layer), P.out_w, P.out_b);
}

// FFN(x) = act(x W1 + b1) W2 + b2   (paper eq. 2, with ReLU)
function ffn<T>(o: Ops<T>, c: ModelConfig, x: T, P: FFNParams): T {
  return o.linear(o.activation(o.linear(x, P.fc1_w, P.fc1_b), c.activation), P.fc2_w, P.fc2_b);
}

// The encoder: x = Dropout(Embedding(src) * sqrt(d_model) + PE), then N x [self-attention, FFN] -> memory.
export function encoder<T>(o: Ops<T>, m: ParamLayout): T {
  const c = m.config;
  let x = o.dropout(o.embed('source', m.embed, embedScale(c)));
  m.encoder.forEach((L, l) => {
    x = sublayer(o, c, x, L.ln1, (h) => selfAttention(o, h, L.self, 'source', l));
    x = sublayer(o, c, x, L.ln2, (h) => ffn(o, c, h, L.ffn));
  });
  return m.encNorm ? o.norm(x, m.encNorm) : x;
}

// Keys and values of each decoder layer's encoder-decoder attention, (Ms, 2C): they depend on the memory
// only, so a decoder running step by step computes them once.
export function memoryKeysValues<T>(o: Ops<T>, m: ParamLayout, memory: T): T[] {
  return m.decoder.map((L) => o.linear(memory, L.cross.kv_w!, L.cross.kv_b));
}

// The decoder up to the output projection: N x [masked self-attention, encoder-decoder attention, FFN].
export function decoder<T>(o: Ops<T>, m: ParamLayout, kv: T[]): T {
  const c = m.config;
  let y = o.dropout(o.embed('target', m.tgtEmbed, embedScale(c)));
  m.decoder.forEach((L, l) => {
    y = sublayer(o, c, y, L.ln1, (h) => selfAttention(o, h, L.self, 'target', l));
    y = sublayer(o, c, y, L.ln2, (h) => crossAttention(o, h, L.cross, kv[l], l));
    y = sublayer(o, c, y, L.ln3, (h) => ffn(o, c, h, L.ffn));
  });
  return m.decNorm ? o.norm(y, m.decNorm) : y;
}

// Pre-softmax logits (M, V_target): y E^T with the target embedding (paper 3.4) or a separate lm_head,
// plus final_logits_bias when the config has one (Marian).
export function logits<T>(o: Ops<T>, m: ParamLayout, y: T): T {
  return o.linear(y, m.output, m.outputBias);
}
