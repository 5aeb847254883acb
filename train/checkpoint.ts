// Checkpoints that survive a kill: each is written to a temporary file, fsynced and renamed into place,
// then `latest.json` is replaced the same way. Resuming restores parameters, Adam moments and the data position.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelConfig, TrainConfig } from '../model/config.ts';
import type { ParamLayout } from '../model/params.ts';
import { asF32, f32Tensor, parse, serialize, type Tensor } from '../model/safetensors.ts';

export interface TrainState {
  step: number;
  epoch: number;
  batchIndex: number; // next batch of the epoch's order
  seed: number;
  config: ModelConfig;
  train: TrainConfig;
  tokensSeen: number;
  elapsedSeconds: number;
  pairs: string; // language pairs trained, e.g. "en-de,de-en"
  oversample?: Record<string, number>; // --oversample, e.g. { "en-de": 2 } (absent in checkpoints older than it)
  name: string; // model name written into config.json
  mix?: string; // a recipe's corpora (JSON), when it trained on them: a resume must read the same data
}

export function writeAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

// Writes a whole folder or nothing: the files (paths within `dir`, subfolders made as needed) go into a
// temporary folder beside `dir`, which is renamed to `dir` at the end (atomic within one filesystem); on
// any failure the temporary folder is removed.
export function writeFolderAtomic(dir: string, files: Array<[string, Uint8Array | string]>): void {
  const parent = dirname(resolve(dir));
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    for (const [name, data] of files) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeAtomic(join(tmp, name), data);
    }
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

// Model tensors named as in the layout, from the flat buffer.
export function modelTensors(layout: ParamLayout, flat: Float32Array, prefix = ''): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of layout.tensors) out.set(prefix + t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size)));
  return out;
}

// Fills the flat buffer from named tensors; every layout tensor must be present with its shape.
export function loadTensors(layout: ParamLayout, tensors: Map<string, Tensor>, flat: Float32Array, prefix = ''): void {
  for (const t of layout.tensors) {
    const src = tensors.get(prefix + t.name);
    if (!src) throw new Error(`checkpoint is missing tensor ${prefix + t.name}`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`tensor ${t.name}: shape ${src.shape} in file, ${t.shape} expected`);
    flat.set(asF32(src), t.offset);
  }
}

export function saveCheckpoint(dir: string, layout: ParamLayout, state: TrainState, params: Float32Array, m: Float32Array, v: Float32Array, keep: number): string {
  mkdirSync(dir, { recursive: true });
  const tensors = modelTensors(layout, params);
  for (const [name, t] of modelTensors(layout, m, 'adam.m.')) tensors.set(name, t);
  for (const [name, t] of modelTensors(layout, v, 'adam.v.')) tensors.set(name, t);
  const name = `ckpt-${String(state.step).padStart(7, '0')}.safetensors`;
  const stateJson = JSON.stringify(state);
  // The checksum covers the state and the tensor bytes (the data section is the same in both serializations).
  const plain = serialize(tensors, { state: stateJson });
  const sha256 = checksum(stateJson, dataSection(plain));
  writeAtomic(join(dir, name), serialize(tensors, { state: stateJson, sha256 }));
  writeAtomic(join(dir, 'latest.json'), JSON.stringify({ checkpoint: name, step: state.step }) + '\n');
  // Keep the newest `keep` checkpoints (for averaging); older ones go.
  const all = listCheckpoints(dir);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) rmSync(join(dir, old), { force: true });
  return join(dir, name);
}

export function listCheckpoints(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /^ckpt-\d+\.safetensors$/.test(f)).sort();
}

export interface LoadedCheckpoint {
  state: TrainState;
  tensors: Map<string, Tensor>;
}

export function readCheckpoint(path: string): LoadedCheckpoint {
  let st;
  try {
    st = parse(new Uint8Array(readFileSync(path)));
  } catch (e) {
    throw new Error(`corrupt checkpoint ${path}: ${(e as Error).message}`);
  }
  if (!st.metadata.state) throw new Error(`corrupt checkpoint ${path}: no training state in its metadata`);
  // Checkpoints written before checksums were recorded have none and load as they are.
  if (st.metadata.sha256 !== undefined) {
    const bytes = new Uint8Array(readFileSync(path));
    if (checksum(st.metadata.state, dataSection(bytes)) !== st.metadata.sha256) throw new Error(`corrupt checkpoint ${path}: its bytes do not match the checksum written with it`);
  }
  return { state: JSON.parse(st.metadata.state) as TrainState, tensors: st.tensors };
}

function dataSection(file: Uint8Array): Uint8Array {
  const headerLen = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
  return file.subarray(8 + headerLen);
}

function checksum(state: string, data: Uint8Array): string {
  return createHash('sha256').update(state).update(data).digest('hex');
}

// The newest checkpoint that verifies, for a resume: latest.json's, else (it is corrupt) the newest older
// one that reads, with a warning naming what was skipped. Undefined when the folder has none.
export function resumeCheckpoint(dir: string, warn: (msg: string) => void): { path: string; loaded: LoadedCheckpoint } | undefined {
  const latest = latestCheckpoint(dir);
  if (!latest) return undefined;
  const candidates = [latest, ...listCheckpoints(dir).reverse().map((f) => join(dir, f)).filter((p) => p !== latest)];
  const bad: string[] = [];
  for (const path of candidates) {
    try {
      const loaded = readCheckpoint(path);
      if (bad.length) warn(`skipped ${bad.join('; ')}: resuming from ${path}`);
      return { path, loaded };
    } catch (e) {
      bad.push((e as Error).message);
    }
  }
  throw new Error(`no checkpoint in ${dir} verifies: ${bad.join('; ')}`);
}

// The checkpoint latest.json names, or undefined when the folder has none.
export function latestCheckpoint(dir: string): string | undefined {
  const p = join(dir, 'latest.json');
  if (!existsSync(p)) return undefined;
  let name: string;
  try {
    name = JSON.parse(readFileSync(p, 'utf8')).checkpoint;
  } catch {
    throw new Error(`corrupt ${p}: not JSON`);
  }
  const path = join(dir, name);
  if (!existsSync(path)) throw new Error(`${p} names ${name}, which does not exist`);
  return path;
}
