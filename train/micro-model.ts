// Model folders with random weights for tests and size measurements (no training): a BPE tokenizer learned
// from a few sentences, a config from a preset, Xavier-initialised weights, written as `mt train` exports them.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernels } from '../kernels/host.ts';
import { OPUS_MT, PRESETS, type ModelConfig } from '../model/config.ts';
import { initParams, paramLayout } from '../model/params.ts';
import { quantizeTensors } from '../model/quant.ts';
import { serialize } from '../model/safetensors.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import type { ModelMeta } from '../model/translator.ts';
import { modelTensors, writeAtomic } from './checkpoint.ts';
import { exportModel } from './model-dir.ts';
import { defaultModelDir } from './paths.ts';

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

// A random int8 model of the OPUS-MT shape (model/config.ts OPUS_MT), for measuring what serving one takes
// (scripts/bench-request.ts --opus): HF generation settings as OPUS-MT ships them (beam 4, max_length 512,
// <pad> banned), and the bundled tokenizer padded with never-produced pieces to the 58101 ids of its
// vocabulary (the decoder emits them; the encoder sees only the bundled ones).
// The benchmarks' copy, written on first use: $TMPDIR/edge-mt-bench/opus-mt-shape (the folder name is
// the model's name in a catalog).
export function opusMtModelDir(kernels: Kernels): string {
  const dir = join(tmpdir(), 'edge-mt-bench', 'opus-mt-shape');
  if (!existsSync(join(dir, 'config.json'))) {
    console.error(`writing a random int8 model of the OPUS-MT shape to ${dir}`);
    writeOpusMtModel(dir, kernels, readFileSync(join(defaultModelDir(), 'tokenizer.json'), 'utf8'));
  }
  return dir;
}

export function writeOpusMtModel(dir: string, kernels: Kernels, bundledTokenizer: string): void {
  const config = OPUS_MT;
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, 1);
  const weights = serialize(quantizeTensors(config, modelTensors(layout, flat), kernels), { quantized: 'int8' });
  const tok = JSON.parse(bundledTokenizer) as { model: { vocab: Record<string, number> } };
  for (let id = Object.keys(tok.model.vocab).length; id < config.vocabSize; id++) tok.model.vocab[`▁x${id}`] = id;
  const meta: ModelMeta & { quantized: 'int8' } = {
    ...config, name: 'opus-mt-shape', directions: [['en', 'de']], created: '2026-01-01T00:00:00.000Z', quantized: 'int8', alpha: 1,
    generation: { numBeams: 4, maxLength: 512, earlyStopping: false, forcedEos: true, badWords: [0], renormalizeLogits: false },
  };
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'weights.safetensors'), weights);
  writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tok));
  writeAtomic(join(dir, 'config.json'), JSON.stringify(meta, null, 2) + '\n');
}
