// `mt quantize`: int8 weights (per-output-row scales, model/quant.ts) for every linear layer, the shared
// embedding / output projection included; layer norms and biases stay f32. About 4x smaller.
import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadKernels } from '../../kernels/node.ts';
import { mapParts } from '../../model/parts.ts';
import { quantizeTensors } from '../../model/quant.ts';
import { parse, serialize } from '../../model/safetensors.ts';
import { CliError, command } from '../args.ts';
import { UsageError, required } from '../flags.ts';
import { writeAtomic } from '../checkpoint.ts';
import { readModelDir } from '../model-dir.ts';

// The goal: the int8 file at most 1/3.5 of the f32 one.
export const QUANTIZED_RATIO_GOAL = 1 / 3.5;

export interface QuantizeReport {
  f32Bytes: number;
  int8Bytes: number;
  ratio: number;
}

export function quantizeModelDir(dir: string, out: string): QuantizeReport {
  if (resolve(dir) === resolve(out)) throw new CliError('--out must be another folder than the input model');
  const model = readModelDir(dir);
  const raw = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const { tensors } = parse(model.weights);
  if (raw.quantized || [...tensors.values()].some((t) => t.dtype === 'I8')) throw new CliError(`${dir} is already quantized`);
  const kernels = loadKernels();
  const q = mapParts(model.meta.parts, tensors, (t) => quantizeTensors(model.meta, t, kernels));
  mkdirSync(out, { recursive: true });
  writeAtomic(join(out, 'weights.safetensors'), serialize(q, { quantized: 'int8' }));
  writeAtomic(join(out, 'config.json'), JSON.stringify({ ...raw, quantized: 'int8' }, null, 2) + '\n');
  copyFileSync(join(dir, 'tokenizer.json'), join(out, 'tokenizer.json'));
  const f32Bytes = statSync(join(dir, 'weights.safetensors')).size;
  const int8Bytes = statSync(join(out, 'weights.safetensors')).size;
  return { f32Bytes, int8Bytes, ratio: int8Bytes / f32Bytes };
}

export const quantizeCommand = command({
  name: 'quantize',
  summary: 'int8 weights (per-row scales) for every linear layer and the embedding; about 4x smaller',
  usage: 'mt quantize <model-dir> --out DIR',
  flags: {
    out: {
      type: 'string', arg: 'DIR',
      help: 'writes DIR/weights.safetensors (int8 + f32 scales), DIR/config.json (with "quantized": "int8"),\nDIR/tokenizer.json',
    },
  },
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one model folder (see mt quantize --help)');
    const out = required(v, 'out');
    const r = quantizeModelDir(positionals[0], out);
    const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
    const goal = r.ratio <= QUANTIZED_RATIO_GOAL ? 'meets' : 'misses';
    console.log(`weights: f32 ${mb(r.f32Bytes)} -> int8 ${mb(r.int8Bytes)} (1/${(1 / r.ratio).toFixed(2)}; ${goal} the 1/3.5 goal)`);
    console.log(`wrote ${out}`);
  },
});
