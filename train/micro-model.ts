// Model folders with random weights for tests and size measurements (no training): a BPE tokenizer learned
// from a few sentences, a config from a preset, Xavier-initialised weights, written as `mt train` exports them.
import { PRESETS, type ModelConfig } from '../model/config.ts';
import { initParams, paramLayout } from '../model/params.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import { exportModel } from './model-dir.ts';

const CORPUS = ['a man rides a horse .', 'ein Mann reitet ein Pferd .', 'two dogs play in the snow .', 'zwei Hunde spielen im Schnee .'];

export function writeRandomModel(dir: string, o: { seed?: number; config?: Partial<ModelConfig>; name?: string; vocab?: number; pairs?: string } = {}): void {
  const pairs = o.pairs ?? 'en-de,de-en';
  const languages = [...new Set(['en', 'de', ...pairs.split(',').flatMap((p) => p.split('-'))])]; // a tag for each
  const tok = Tokenizer.train(CORPUS, { vocabSize: o.vocab ?? 300, languages });
  const config: ModelConfig = { ...PRESETS.micro, dModel: 16, heads: 2, maxLen: 64, ...o.config, vocabSize: tok.vocabSize };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, o.seed ?? 1);
  exportModel(dir, layout, flat, tok, pairs, o.name ?? 'micro', { created: '2026-01-01T00:00:00.000Z' });
}
