// A model folder, as the worker, the browser and `mt translate` read it: config.json (shape + metadata),
// tokenizer.json (Hugging Face format) and weights.safetensors (f32, or int8 after `mt quantize`).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelMeta, ModelFiles } from '../model/translator.ts';
import { parseMeta } from '../model/translator.ts';
import type { ParamLayout } from '../model/params.ts';
import { serialize } from '../model/safetensors.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { CliError } from './args.ts';
import { modelTensors, writeAtomic } from './checkpoint.ts';
import { parsePairs } from './data.ts';
import { MODEL_FILES } from '../registry/manifest.ts';

export function exportModel(dir: string, layout: ParamLayout, params: Float32Array, tokenizer: Tokenizer, pairs: string, name: string, extra: Partial<ModelMeta> = {}): ModelMeta {
  mkdirSync(dir, { recursive: true });
  const meta: ModelMeta = { name, ...layout.config, directions: parsePairs(pairs), created: new Date().toISOString(), ...extra };
  writeAtomic(join(dir, 'weights.safetensors'), serialize(modelTensors(layout, params)));
  writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
  writeAtomic(join(dir, 'config.json'), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

export function checkModelDir(dir: string): void {
  for (const f of MODEL_FILES) {
    if (!existsSync(join(dir, f))) throw new CliError(`not a model folder: ${join(dir, f)} is missing`);
  }
}

export function readModelDir(dir: string): ModelFiles & { meta: ModelMeta } {
  return { ...modelDirFiles(dir), weights: new Uint8Array(readFileSync(join(dir, 'weights.safetensors'))) };
}

// The folder with its weights as chunks read through one small buffer: createEngine puts them straight into
// wasm memory, so the whole file is never in the JS heap (model/weights-reader.ts).
export function openModelDir(dir: string, chunkBytes = 1 << 20): ModelFiles<Iterable<Uint8Array>> & { meta: ModelMeta } {
  return { ...modelDirFiles(dir), weights: fileChunks(join(dir, 'weights.safetensors'), chunkBytes) };
}

function modelDirFiles(dir: string): Omit<ModelFiles, 'weights'> & { meta: ModelMeta } {
  checkModelDir(dir);
  let meta: ModelMeta;
  try {
    meta = parseMeta(readFileSync(join(dir, 'config.json'), 'utf8'));
  } catch (e) {
    throw new CliError(`bad ${join(dir, 'config.json')}: ${(e as Error).message}`);
  }
  return { meta, config: meta, tokenizer: readFileSync(join(dir, 'tokenizer.json'), 'utf8') };
}

// A file's bytes in order, each chunk valid until the next is asked for (the buffer is reused).
export function* fileChunks(path: string, chunkBytes = 1 << 20): Generator<Uint8Array> {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(chunkBytes);
    for (let n; (n = readSync(fd, buf, 0, chunkBytes, null)) > 0; ) yield buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
