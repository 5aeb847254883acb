// `mt combine`: several model folders of one shape and one tokenizer (e.g. an en->de and a de->en model,
// trained side by side with --threads 1 each) into one model folder with a weight set per direction
// (model/parts.ts). The worker, the browser and `mt translate` serve it like any model.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadKernels } from '../../kernels/node.ts';
import { SHAPE_KEYS, modelShape, shapeValue } from '../../model/config.ts';
import { serves } from '../../model/engine.ts';
import type { PartSpec } from '../../model/parts.ts';
import { parse, serialize, type Tensor } from '../../model/safetensors.ts';
import { createEngine, type ModelMeta } from '../../model/translator.ts';
import { CliError, command } from '../args.ts';
import { required } from '../flags.ts';
import { writeAtomic } from '../checkpoint.ts';
import { readModelDir } from '../model-dir.ts';

// A model folder that loads as the worker would load it (weights match the config, tokenizer parses).
function loadable(dir: string) {
  const files = readModelDir(dir);
  try {
    createEngine(files, loadKernels());
  } catch (e) {
    throw new CliError(`${dir} does not load as a model: ${(e as Error).message}`);
  }
  return files;
}

export function combineModelDirs(dirs: string[], out: string, name?: string): ModelMeta {
  if (dirs.length < 2) throw new CliError('give at least two model folders to combine');
  if (dirs.some((d) => resolve(d) === resolve(out))) throw new CliError('--out must be another folder than the input models');
  const models = dirs.map((d) => ({ dir: d, ...loadable(d), raw: JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown> }));
  const [first] = models;
  const parts: PartSpec[] = [];
  const tensors = new Map<string, Tensor>();
  const bleu: Record<string, number> = {};
  for (const m of models) {
    if (m.meta.parts) throw new CliError(`${m.dir} is already a combined model`);
    for (const k of SHAPE_KEYS) {
      const [a, b] = [shapeValue(m.meta, k), shapeValue(first.meta, k)];
      if (a !== b) throw new CliError(`${m.dir} has ${k} ${a}, ${first.dir} has ${b}: combine models of one shape`);
    }
    if (JSON.stringify(JSON.parse(String(m.tokenizer))) !== JSON.stringify(JSON.parse(String(first.tokenizer)))) throw new CliError(`${m.dir}/tokenizer.json differs from ${first.dir}/tokenizer.json: train the models with one tokenizer`);
    if (Boolean(m.raw.quantized) !== Boolean(first.raw.quantized)) throw new CliError(`${m.dir} and ${first.dir} differ in quantization: quantize all or none`);
    const prefix = m.meta.directions.map(([s, t]) => `${s}-${t}`).join('+') + '/';
    for (const p of parts) {
      const both = p.directions.filter(([s, t]) => serves(m.meta.directions, s, t));
      if (both.length) throw new CliError(`${m.dir} and an earlier model both serve ${both.map(([s, t]) => `${s}-${t}`).join(', ')}`);
    }
    parts.push({ prefix, directions: m.meta.directions, ...(m.meta.alpha === undefined ? {} : { alpha: m.meta.alpha }) });
    for (const [n, t] of parse(m.weights).tensors) tensors.set(prefix + n, t);
    for (const [d, b] of Object.entries(m.meta.bleu ?? {})) if (m.meta.directions.some(([s, t]) => `${s}-${t}` === d)) bleu[d] = b;
  }
  const shape = modelShape(first.meta);
  const meta = {
    name: name ?? first.meta.name,
    ...shape,
    directions: parts.flatMap((p) => p.directions),
    parts,
    created: new Date().toISOString(),
    ...(first.raw.quantized ? { quantized: first.raw.quantized } : {}),
    ...(Object.keys(bleu).length ? { bleu } : {}),
  } as unknown as ModelMeta;
  mkdirSync(out, { recursive: true });
  writeAtomic(join(out, 'weights.safetensors'), serialize(tensors, first.raw.quantized ? { quantized: String(first.raw.quantized) } : {}));
  copyFileSync(join(first.dir, 'tokenizer.json'), join(out, 'tokenizer.json'));
  writeAtomic(join(out, 'config.json'), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

export const combineCommand = command({
  name: 'combine',
  summary: 'combine model folders of one shape and tokenizer into one model with a weight set per direction',
  usage: 'mt combine MODEL_DIR MODEL_DIR... --out DIR [--name NAME]',
  flags: {
    out: { type: 'string', arg: 'DIR', help: 'the combined model folder' },
    name: { type: 'string', arg: 'NAME', help: "the model's name (default: the first folder's)" },
  },
  notes: `
e.g. an en->de and a de->en model trained side by side (mt train --pairs en-de --threads 1, and de-en)
into one folder the worker serves as one model; each keeps its weights, "alpha" and recorded BLEU.
Quantize before or after: mt quantize handles combined models.`,
  async run(v, positionals) {
    const out = required(v, 'out');
    const meta = combineModelDirs(positionals, out, v.name);
    console.log(`wrote ${out}: ${meta.parts!.map((p) => `${p.prefix} (${p.directions.map(([s, t]) => `${s}-${t}`).join(', ')})`).join(', ')}`);
  },
});
