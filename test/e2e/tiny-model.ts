// A tiny random-weight model as the three files of a model folder: translates to gibberish, but runs the
// tokenizer, the wasm kernels, beam search and attention exactly as a trained model does. Plain Node.
import { PRESETS } from '../../model/config.ts';
import type { ModelFileName } from '../../registry/manifest.ts';
import { initParams, paramLayout } from '../../model/params.ts';
import { f32Tensor, serialize } from '../../model/safetensors.ts';
import { Tokenizer } from '../../model/tokenizer.ts';

// Three sentences per language; a model trains its tokenizer on its languages' lines, interleaved.
const corpus: Record<string, string[]> = {
  en: ['a man rides a bike .', 'two dogs play in the snow .', 'a woman reads a book .'],
  de: ['ein mann fährt ein fahrrad .', 'zwei hunde spielen im schnee .', 'eine frau liest ein buch .'],
  fr: ['un homme fait du vélo .', 'deux chiens jouent dans la neige .', 'une femme lit un livre .'],
};

// A model of two languages, both directions: ['en', 'de'] unless told.
export function tinyModel(seed = 1, languages: [string, string] = ['en', 'de']): Record<ModelFileName, Uint8Array> {
  for (const l of languages) if (!corpus[l]) throw new Error(`tinyModel: no sentences for '${l}'; languages: ${Object.keys(corpus).join(', ')}`);
  const lines = corpus.en.flatMap((_, i) => languages.map((l) => corpus[l][i]));
  const tok = Tokenizer.train([...lines, ...lines], { vocabSize: 300, languages });
  const config = { ...PRESETS.micro, vocabSize: tok.vocabSize, dModel: 32, dFF: 48, heads: 4, maxLen: 64 };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  const tensors = new Map(layout.tensors.map((t) => [t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size))]));
  const enc = new TextEncoder();
  const meta = { ...config, name: 'tiny', version: 'v1', directions: [languages, [languages[1], languages[0]]] };
  return {
    'config.json': enc.encode(JSON.stringify(meta)),
    'tokenizer.json': enc.encode(JSON.stringify(tok.toJSON())),
    'weights.safetensors': serialize(tensors),
  };
}
