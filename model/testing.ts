// Test fixtures shared by model/ tests: a micro model with random weights, as the engine reads it.
import { PRESETS } from './config.ts';
import { initParams, paramLayout } from './params.ts';
import { f32Tensor, serialize, type Tensor } from './safetensors.ts';
import { Tokenizer } from './tokenizer.ts';
import type { ModelFiles } from './translator.ts';

const corpus = ['a man rides a horse .', 'ein Mann reitet ein Pferd .', 'two dogs play in the snow .', 'zwei Hunde spielen im Schnee .'];

export function microModelFiles(seed = 1): ModelFiles {
  const tok = Tokenizer.train(corpus, { vocabSize: 300, languages: ['en', 'de'] });
  const config = { ...PRESETS.micro, vocabSize: tok.vocabSize, dModel: 16, heads: 2, maxLen: 64 };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  const tensors = new Map<string, Tensor>();
  for (const t of layout.tensors) tensors.set(t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size)));
  return {
    config: { ...config, name: 'micro', version: 'v1', directions: [['en', 'de'], ['de', 'en']] },
    tokenizer: tok.toJSON(),
    weights: serialize(tensors),
  };
}

