// A tiny random-weight model as the three files of a model folder: translates to gibberish, but runs the
// tokenizer, the wasm kernels, beam search and attention exactly as a trained model does. Plain Node.
import { PRESETS } from '../../model/config.ts';
import type { ModelFileName } from '../../registry/manifest.ts';
import { initParams, paramLayout } from '../../model/params.ts';
import { f32Tensor, serialize } from '../../model/safetensors.ts';
import { Tokenizer } from '../../model/tokenizer.ts';

const corpus = [
  'a man rides a bike .',
  'ein mann fährt ein fahrrad .',
  'two dogs play in the snow .',
  'zwei hunde spielen im schnee .',
  'a woman reads a book .',
  'eine frau liest ein buch .',
];

export function tinyModel(seed = 1): Record<ModelFileName, Uint8Array> {
  const tok = Tokenizer.train([...corpus, ...corpus], { vocabSize: 300, languages: ['en', 'de'] });
  const config = { ...PRESETS.micro, vocabSize: tok.vocabSize, dModel: 32, dFF: 48, heads: 4, maxLen: 64 };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  const tensors = new Map(layout.tensors.map((t) => [t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size))]));
  const enc = new TextEncoder();
  const meta = { ...config, name: 'tiny', version: 'v1', directions: [['en', 'de'], ['de', 'en']] };
  return {
    'config.json': enc.encode(JSON.stringify(meta)),
    'tokenizer.json': enc.encode(JSON.stringify(tok.toJSON())),
    'weights.safetensors': serialize(tensors),
  };
}
