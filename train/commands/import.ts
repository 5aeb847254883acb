// `mt import`: a Hugging Face MarianMT folder (an OPUS-MT model, or one fine-tuned with transformers) as an
// edge-mt model folder that `mt translate/eval/quantize/push` and the worker and browser take as they are.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from '../../model/safetensors.ts';
import { CliError, command } from '../args.ts';
import { UsageError, required } from '../flags.ts';
import { writeFolderAtomic } from '../checkpoint.ts';
import { parsePairs } from '../data.ts';
import { importMarian } from '../import/marian.ts';

// Imports DIR into OUT, all or nothing.
export function importModelDir(dir: string, out: string, opts: { pairs?: string; name?: string } = {}) {
  if (existsSync(out)) throw new CliError(`${out} already exists: remove it or choose another --out`);
  let pairs: Array<[string, string]> | undefined;
  try {
    pairs = opts.pairs === undefined ? undefined : parsePairs(opts.pairs);
  } catch (e) {
    throw new CliError(`--pairs: ${(e as Error).message}`);
  }
  const m = importMarian(dir, { pairs, name: opts.name });
  writeFolderAtomic(out, [
    ['weights.safetensors', serialize(m.tensors, { format: 'pt' })],
    ['tokenizer.json', JSON.stringify(m.tokenizer)],
    ['config.json', JSON.stringify(m.config, null, 2) + '\n'],
  ]);
  return m;
}

export const importCommand = command({
  name: 'import',
  summary: 'import a Hugging Face MarianMT (OPUS-MT) folder as an edge-mt model folder',
  usage: `mt import DIR --out MODEL [--pairs SRC-TGT[,...]] [--name NAME]
  DIR       a MarianMT folder as transformers saves it: config.json, model.safetensors or pytorch_model.bin,
            source.spm, target.spm, vocab.json [target_vocab.json, generation_config.json, tokenizer_config.json]
  Decoding follows the model's generation settings: num_beams is the beam when none is asked for; max_length,
  length_penalty, bad_words_ids.`,
  flags: {
    out: { type: 'string', arg: 'MODEL', help: 'the model folder to write (config.json, tokenizer.json, weights.safetensors); it must not exist,\nand is written whole or not at all' },
    pairs: { type: 'string', arg: 'SRC-TGT', help: 'the direction(s) the model translates (default: from a folder named opus-mt-SRC-TGT); a model\nwith several target languages needs a >>TGT<< token for each' },
    name: { type: 'string', arg: 'NAME', help: "the model's name (default: the --out folder's name)" },
  },
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one Hugging Face model folder (see mt import --help)');
    const out = required(v, 'out');
    const { config: c } = importModelDir(positionals[0], out, { pairs: v.pairs, name: v.name ?? out.replace(/\/+$/, '').split('/').pop() });
    const mb = (f: string) => `${(statSync(join(out, f)).size / 1e6).toFixed(2)} MB`;
    const vocab = c.targetVocabSize === undefined ? `vocabulary ${c.vocabSize}` : `vocabularies ${c.vocabSize} + ${c.targetVocabSize}`;
    console.log(`${positionals[0]} (${c.imported.weights}): ${c.encoderLayers}+${c.decoderLayers} layers, d_model ${c.dModel}, ${c.heads} heads, d_ff ${c.dFF}, ${vocab}, ${c.activation}`);
    console.log(`wrote ${out}: weights.safetensors ${mb('weights.safetensors')}, tokenizer.json ${mb('tokenizer.json')}; ${c.directions.map((d) => d.join('-')).join(', ')}, beam ${c.generation.numBeams}`);
  },
});
