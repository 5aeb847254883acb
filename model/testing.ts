// Test fixtures shared by model/ tests: a micro model with random weights, as the engine reads it.
import { PRESETS, type ModelConfig } from './config.ts';
import { initParams, mulberry32, paramLayout } from './params.ts';
import { f32Tensor, serialize, type Tensor } from './safetensors.ts';
import { Tokenizer } from './tokenizer.ts';
import type { ModelFiles } from './translator.ts';

const corpus = ['a man rides a horse .', 'ein Mann reitet ein Pferd .', 'two dogs play in the snow .', 'zwei Hunde spielen im Schnee .'];

// `over` changes the config (e.g. a short maxLen); `eosLogit` adds a logits bias that makes the model end
// every sentence at once (a large value) or never (a very negative one).
export function microModelFiles(seed = 1, over: Partial<ModelConfig> = {}, eosLogit?: number): ModelFiles {
  const tok = Tokenizer.train(corpus, { vocabSize: 300, languages: ['en', 'de'] });
  const config = { ...PRESETS.micro, vocabSize: tok.vocabSize, dModel: 16, heads: 2, maxLen: 64, ...over, ...(eosLogit === undefined ? {} : { logitsBias: true }) };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  if (eosLogit !== undefined) flat[layout.outputBias!.offset + tok.specials.eos] = eosLogit;
  const tensors = new Map<string, Tensor>();
  for (const t of layout.tensors) tensors.set(t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size)));
  return {
    config: { ...config, name: 'micro', version: 'v1', directions: [['en', 'de'], ['de', 'en']] },
    tokenizer: tok.toJSON(),
    weights: serialize(tensors),
  };
}


// Every tensor of `config` from a seed, as a flat buffer in layout order and as named tensors; layer norms
// and biases moved off their ones/zeros initialisation, so that a wrong or missing one shows.
export function randomParams(config: ModelConfig, seed: number): { flat: Float32Array; tensors: Map<string, Tensor> } {
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  const r = mulberry32(seed + 1);
  for (const t of layout.tensors) if (!t.linear) for (let i = 0; i < t.size; i++) flat[t.offset + i] += (r() - 0.5) * 0.2;
  const tensors = new Map<string, Tensor>();
  for (const t of layout.tensors) tensors.set(t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size)));
  return { flat, tensors };
}

// One config per variant; together they cover every option of ModelConfig and both values of each.
export const MODEL_VARIANTS: Array<[string, Partial<ModelConfig>]> = [
  ['post-norm relu (the paper)', {}],
  ['pre-norm gelu', { preNorm: true, activation: 'gelu' }],
  ['Marian: post-norm silu, halves, logits bias, no embedding scale, untied, own target vocabulary', { activation: 'silu', positions: 'halves', logitsBias: true, embedScale: false, tiedOutput: false, targetVocabSize: 37 }],
  ['pre-norm silu, own target vocabulary tied to its embedding', { preNorm: true, activation: 'silu', targetVocabSize: 45 }],
  ['pre-norm exact gelu, halves, logits bias, untied, shared vocabulary', { preNorm: true, activation: 'gelu_erf', positions: 'halves', logitsBias: true, tiedOutput: false }],
];

// A micro model of a variant.
export function variantConfig(over: Partial<ModelConfig>): ModelConfig {
  return { ...PRESETS.micro, vocabSize: 50, dModel: 16, heads: 2, maxLen: 64, ...over };
}
