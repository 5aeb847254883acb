// The one place that defines hyperparameters: the model shape (saved as config.json beside the weights)
// and the training recipe, with the paper's base values and small presets.

export interface ModelConfig {
  // Shared source/target subword vocabulary; the output softmax reuses the embedding matrix (paper 3.4).
  vocabSize: number;
  // d_model: width of every residual stream; embeddings are scaled by sqrt(dModel) (paper 3.4).
  dModel: number;
  // d_ff: inner width of the position-wise feed-forward network (paper 3.3).
  dFF: number;
  // h: attention heads; d_k = d_v = dModel / heads (paper 3.2.2).
  heads: number;
  // N: identical layers in each stack (paper 3.1).
  encoderLayers: number;
  decoderLayers: number;
  // Longest sequence the positional table covers, in tokens (sinusoids extrapolate, but the table is finite).
  maxLen: number;
  // Post-norm LayerNorm(x + Sublayer(x)) is the paper's; pre-norm x + Sublayer(LayerNorm(x)) trains
  // more stably for deep stacks, short warmups and high learning rates (Xiong et al. 2020), with a final
  // LayerNorm on each stack. Small post-norm models can collapse their encoder early (docs/experiments.md).
  preNorm: boolean;
  // FFN activation: ReLU is the paper's; 'gelu' is GELU's tanh approximation (GPT-2, llm.c); 'gelu_erf' the
  // exact x Phi(x) (Hendrycks & Gimpel 2016; BERT, transformers' 'gelu'); SiLU/swish x * sigmoid(x)
  // (Elfwing et al. 2018) is Marian's and so OPUS-MT's.
  activation: 'relu' | 'gelu' | 'gelu_erf' | 'silu';
  // The variants below are optional; absent means the paper's choice (what every earlier model was trained with).
  // Embeddings * sqrt(dModel) before the positions are added (paper 3.4; Marian's scale_embedding). Default true.
  embedScale?: boolean;
  // Layout of the sinusoidal table: 'interleaved' (the paper's, sin at 2i, cos at 2i+1) or 'halves' (the same
  // frequencies, sines in columns [0, C/2) and cosines in [C/2, C): HF Marian's). Default 'interleaved'.
  positions?: 'interleaved' | 'halves';
  // A learned bias (final_logits_bias, V_target) added to the logits (Marian). Default false.
  logitsBias?: boolean;
  // Logits = y E_target^T, the output projection tied to the target embedding (paper 3.4). false: its own
  // lm_head.weight (V_target, C). Default true.
  tiedOutput?: boolean;
  // Absent: one vocabulary (vocabSize) shared by source and target, one embedding (paper 3.4). Present: the
  // target side's own vocabulary and embedding tgt_embed.weight (Marian models whose languages do not share one).
  targetVocabSize?: number;
}

export interface TrainConfig {
  // P_drop on each sub-layer output before the residual add, and on embeddings + positions (paper 5.4).
  // More regularizes small corpora but learns slower: short runs want less.
  dropout: number;
  // Dropout on attention weights (tensor2tensor's attention dropout; 0 in the paper's text).
  attentionDropout: number;
  // epsilon_ls (paper 5.4): hurts perplexity, improves BLEU.
  labelSmoothing: number;
  // Adam beta1, beta2, epsilon (paper 5.3).
  beta1: number;
  beta2: number;
  adamEps: number;
  // lrate = lrScale * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5) (paper 5.3; lrScale 1 there).
  // Small pre-norm models take a higher peak than the paper's base model (lrScale 2-3).
  warmupSteps: number;
  lrScale: number;
  // Optional linear cooldown: lrate is also multiplied by (cooldownEnd - step) / cooldownSteps over the
  // last cooldownSteps steps before cooldownEnd, reaching 0 there. A run with a fixed step budget ends at a
  // low-noise point instead of at the paper's still-large inverse-sqrt rate. 0 (or absent) = the paper's.
  cooldownSteps?: number;
  cooldownEnd?: number;
  // BPE-dropout (Provilkov et al. 2020): each epoch re-segments the corpus skipping each merge with this
  // probability, a regularizer worth +1-2 BLEU on small corpora in their paper (p 0.1); it pays only in
  // runs long enough to learn the extra segmentations. 0 or absent: off.
  bpeDropout?: number;
  // R-Drop (Liang et al. 2021): each batch runs twice under different dropout masks and alpha times the
  // symmetric KL between the two output distributions joins the loss (CE1 + CE2 + alpha KL), a regularizer
  // whose largest translation gains in the paper are on small (IWSLT) corpora, with alpha 5. A step costs
  // twice the compute of its batch. 0 or absent: off.
  rdrop?: number;
  // Each step's batch holds about this many source + target tokens (paper: ~25k + 25k).
  batchTokens: number;
  // Micro-batches accumulated before one update: trades memory for batch size.
  accumulate: number;
  // Global gradient-norm clip (0 = off): guards the first steps of post-norm models.
  clipNorm: number;
  // Sentences longer than this (in tokens, either side) are skipped in training.
  maxTokens: number;
}

export const BASE: ModelConfig = {
  vocabSize: 37000,
  dModel: 512,
  dFF: 2048,
  heads: 8,
  encoderLayers: 6,
  decoderLayers: 6,
  maxLen: 256,
  preNorm: false,
  activation: 'relu',
};

export const PRESETS: Record<string, ModelConfig> = {
  base: BASE,
  // Published Multi30k Transformer baselines use this size: 41.02 lowercased BLEU en->de.
  tiny: { ...BASE, vocabSize: 8000, dModel: 128, dFF: 256, heads: 4, encoderLayers: 4, decoderLayers: 4 },
  // Tests: small enough for finite differences, big enough to exercise every code path (2 heads, 2 layers).
  micro: { ...BASE, vocabSize: 40, dModel: 8, dFF: 12, heads: 2, encoderLayers: 2, decoderLayers: 2, maxLen: 32 },
};

// The shape of Helsinki-NLP's OPUS-MT models (Marian transformer-base as HF's MarianMTModel runs it): 6+6
// layers, d_model 512, 8 heads, d_ff 2048, post-norm, SiLU, sinusoids in halves, final_logits_bias, a
// shared vocabulary of 58101 tied to the output: 74M parameters, 300 MB in f32. What the edge must serve.
export const OPUS_MT: ModelConfig = {
  ...BASE, vocabSize: 58101, maxLen: 512, activation: 'silu', embedScale: true, positions: 'halves', logitsBias: true, tiedOutput: true,
};

export const TRAIN_DEFAULTS: TrainConfig = {
  dropout: 0.1,
  attentionDropout: 0.0,
  labelSmoothing: 0.1,
  beta1: 0.9,
  beta2: 0.98,
  adamEps: 1e-9,
  warmupSteps: 4000,
  lrScale: 1,
  batchTokens: 8192,
  accumulate: 1,
  clipNorm: 0,
  maxTokens: 100,
};

export function headSize(c: ModelConfig): number {
  return c.dModel / c.heads;
}

// Target vocabulary size: the logits' width.
export function targetVocab(c: ModelConfig): number {
  return c.targetVocabSize ?? c.vocabSize;
}

// The optional fields' values when absent.
export const VARIANT_DEFAULTS = { embedScale: true, positions: 'interleaved', logitsBias: false, tiedOutput: true } as const;

// Every field of ModelConfig: what two weight sets must share to be served side by side (mt combine).
export const SHAPE_KEYS: Array<keyof ModelConfig> = [
  'vocabSize', 'dModel', 'dFF', 'heads', 'encoderLayers', 'decoderLayers', 'maxLen', 'preNorm', 'activation',
  'embedScale', 'positions', 'logitsBias', 'tiedOutput', 'targetVocabSize',
];

// The ModelConfig of a config.json's metadata (a ModelMeta): its SHAPE_KEYS fields that are set, nothing else.
export function modelShape(c: ModelConfig): ModelConfig {
  return Object.fromEntries(SHAPE_KEYS.filter((k) => c[k] !== undefined).map((k) => [k, c[k]])) as unknown as ModelConfig;
}

// A field's value with the default of an absent optional one (targetVocabSize: the shared vocabulary's).
export function shapeValue(c: ModelConfig, k: keyof ModelConfig): unknown {
  if (k === 'targetVocabSize') return targetVocab(c);
  return c[k] ?? VARIANT_DEFAULTS[k as keyof typeof VARIANT_DEFAULTS];
}

// Validates a config read from disk or the command line; throws with the first problem found.
export function checkConfig(c: ModelConfig): ModelConfig {
  const ints: Array<keyof ModelConfig> = ['vocabSize', 'dModel', 'dFF', 'heads', 'encoderLayers', 'decoderLayers', 'maxLen'];
  if (c.targetVocabSize !== undefined) ints.push('targetVocabSize');
  for (const k of ints) {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`config.${k} must be a positive integer, got ${v}`);
  }
  if (c.dModel % c.heads !== 0) throw new Error(`config.dModel (${c.dModel}) must be divisible by heads (${c.heads})`);
  if (!['relu', 'gelu', 'gelu_erf', 'silu'].includes(c.activation)) throw new Error(`config.activation must be relu, gelu, gelu_erf or silu, got ${c.activation}`);
  if (typeof c.preNorm !== 'boolean') throw new Error('config.preNorm must be a boolean');
  for (const k of ['embedScale', 'logitsBias', 'tiedOutput'] as const) {
    if (c[k] !== undefined && typeof c[k] !== 'boolean') throw new Error(`config.${k} must be a boolean, got ${c[k]}`);
  }
  if (c.positions !== undefined && c.positions !== 'interleaved' && c.positions !== 'halves') {
    throw new Error(`config.positions must be interleaved or halves, got ${c.positions}`);
  }
  return c;
}

// lrate = d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)   (paper 5.3), step from 1
export function learningRate(step: number, dModel: number, t: TrainConfig): number {
  const s = Math.max(step, 1);
  const paper = t.lrScale * dModel ** -0.5 * Math.min(s ** -0.5, s * t.warmupSteps ** -1.5);
  const cd = t.cooldownSteps ?? 0;
  if (cd <= 0) return paper;
  return paper * Math.min(1, Math.max(0, ((t.cooldownEnd ?? 0) - s + 1) / cd));
}
