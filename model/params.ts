// Parameter layout: every tensor of the model as a named slice of ONE flat f32 buffer, so Adam, gradient
// reduction across threads and checkpointing each touch a single region. Names follow the safetensors file.
import { targetVocab, type ModelConfig } from './config.ts';

export interface TensorSpec {
  name: string;
  shape: number[];
  offset: number; // in floats, into the flat buffer
  size: number;
  // How to initialise it; 'xavier' takes fan-in/fan-out of one (out,in) block of `blocks` stacked blocks.
  init: 'xavier' | 'normal' | 'ones' | 'zeros';
  // Linear weights (out,in) are what int8 quantization converts; layer norms and biases stay f32.
  linear: boolean;
}

export interface AttentionParams {
  qkv_w: TensorSpec; // (3C,C) self-attention: q, k, v projections stacked; cross-attention: q only (C,C)
  qkv_b: TensorSpec;
  kv_w?: TensorSpec; // (2C,C) cross-attention keys and values from the encoder memory
  kv_b?: TensorSpec;
  out_w: TensorSpec; // (C,C) W^O
  out_b: TensorSpec;
}

export interface FFNParams {
  fc1_w: TensorSpec; // (F,C)
  fc1_b: TensorSpec;
  fc2_w: TensorSpec; // (C,F)
  fc2_b: TensorSpec;
}

export interface NormParams {
  w: TensorSpec; // (C)
  b: TensorSpec;
}

export interface EncoderLayerParams {
  self: AttentionParams;
  ln1: NormParams;
  ffn: FFNParams;
  ln2: NormParams;
}

export interface DecoderLayerParams {
  self: AttentionParams;
  ln1: NormParams;
  cross: AttentionParams;
  ln2: NormParams;
  ffn: FFNParams;
  ln3: NormParams;
}

export interface ParamLayout {
  config: ModelConfig;
  tensors: TensorSpec[];
  total: number; // floats
  embed: TensorSpec; // (V,C) source embedding; also the target's and the output projection's by default
  tgtEmbed: TensorSpec; // (V_target,C) target embedding: tgt_embed.weight with targetVocabSize, else embed
  output: TensorSpec; // (V_target,C) pre-softmax projection: lm_head.weight when untied, else tgtEmbed
  outputBias?: TensorSpec; // (V_target) final_logits_bias (logitsBias)
  encoder: EncoderLayerParams[];
  decoder: DecoderLayerParams[];
  encNorm?: NormParams; // final LayerNorm of each stack, pre-norm only
  decNorm?: NormParams;
}

export function paramLayout(config: ModelConfig): ParamLayout {
  const { dModel: C, dFF: F, vocabSize: V } = config;
  const tensors: TensorSpec[] = [];
  let offset = 0;
  const t = (name: string, shape: number[], init: TensorSpec['init'], linear = false): TensorSpec => {
    const size = shape.reduce((a, b) => a * b, 1);
    const spec = { name, shape, offset, size, init, linear };
    // Keep every tensor 16-float aligned so SIMD loads of rows start on 64-byte boundaries.
    offset += Math.ceil(size / 16) * 16;
    tensors.push(spec);
    return spec;
  };
  const norm = (p: string): NormParams => ({ w: t(`${p}.weight`, [C], 'ones'), b: t(`${p}.bias`, [C], 'zeros') });
  const attention = (p: string, cross: boolean): AttentionParams => {
    const a: AttentionParams = {
      qkv_w: t(`${p}.${cross ? 'q' : 'qkv'}.weight`, [cross ? C : 3 * C, C], 'xavier', true),
      qkv_b: t(`${p}.${cross ? 'q' : 'qkv'}.bias`, [cross ? C : 3 * C], 'zeros'),
      out_w: t(`${p}.out.weight`, [C, C], 'xavier', true),
      out_b: t(`${p}.out.bias`, [C], 'zeros'),
    };
    if (cross) {
      a.kv_w = t(`${p}.kv.weight`, [2 * C, C], 'xavier', true);
      a.kv_b = t(`${p}.kv.bias`, [2 * C], 'zeros');
    }
    return a;
  };
  const ffn = (p: string): FFNParams => ({
    fc1_w: t(`${p}.fc1.weight`, [F, C], 'xavier', true),
    fc1_b: t(`${p}.fc1.bias`, [F], 'zeros'),
    fc2_w: t(`${p}.fc2.weight`, [C, F], 'xavier', true),
    fc2_b: t(`${p}.fc2.bias`, [C], 'zeros'),
  });
  const embed = t('embed.weight', [V, C], 'normal', true);
  const encoder: EncoderLayerParams[] = [];
  for (let l = 0; l < config.encoderLayers; l++) {
    const p = `encoder.layers.${l}`;
    encoder.push({ self: attention(`${p}.self_attn`, false), ln1: norm(`${p}.ln1`), ffn: ffn(`${p}.ffn`), ln2: norm(`${p}.ln2`) });
  }
  const decoder: DecoderLayerParams[] = [];
  for (let l = 0; l < config.decoderLayers; l++) {
    const p = `decoder.layers.${l}`;
    decoder.push({
      self: attention(`${p}.self_attn`, false),
      ln1: norm(`${p}.ln1`),
      cross: attention(`${p}.cross_attn`, true),
      ln2: norm(`${p}.ln2`),
      ffn: ffn(`${p}.ffn`),
      ln3: norm(`${p}.ln3`),
    });
  }
  const layout: ParamLayout = { config, tensors, total: 0, embed, tgtEmbed: embed, output: embed, encoder, decoder };
  if (config.preNorm) {
    layout.encNorm = norm('encoder.norm');
    layout.decNorm = norm('decoder.norm');
  }
  // The variants' tensors come last, so the default layout (and every checkpoint of it) is unchanged.
  const Vt = targetVocab(config);
  if (config.targetVocabSize !== undefined) layout.tgtEmbed = t('tgt_embed.weight', [Vt, C], 'normal', true);
  layout.output = config.tiedOutput === false ? t('lm_head.weight', [Vt, C], 'normal', true) : layout.tgtEmbed;
  if (config.logitsBias) layout.outputBias = t('final_logits_bias', [Vt], 'zeros');
  layout.total = offset;
  return layout;
}

// Counts real parameters (without alignment padding).
export function parameterCount(layout: ParamLayout): number {
  return layout.tensors.reduce((a, t) => a + t.size, 0);
}

// Initialises `out` (layout.total floats) from a seed: Xavier-uniform for projections (the annotated
// Transformer's choice), N(0, d_model^-0.5) for embeddings so that embeddings * sqrt(d_model) have unit scale
// (and an untied lm_head, so that its logits have unit scale as the tied ones do).
export function initParams(out: Float32Array, layout: ParamLayout, seed: number): void {
  const rand = mulberry32(seed);
  const C = layout.config.dModel;
  out.fill(0);
  for (const t of layout.tensors) {
    const v = out.subarray(t.offset, t.offset + t.size);
    if (t.init === 'ones') v.fill(1);
    else if (t.init === 'normal') {
      const std = C ** -0.5;
      for (let i = 0; i < v.length; i++) v[i] = gaussian(rand) * std;
    } else if (t.init === 'xavier') {
      // Stacked projections (qkv, kv) are initialised as separate square (out,in) blocks.
      const fanIn = t.shape[1];
      const fanOut = t.shape[0] % fanIn === 0 && t.shape[0] > fanIn && fanIn === C ? C : t.shape[0];
      const a = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < v.length; i++) v[i] = (rand() * 2 - 1) * a;
    }
  }
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}
