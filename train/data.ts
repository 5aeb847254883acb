// Corpora and batches: reading parallel text (two line-aligned files, a TSV, or a Multi30k-style folder),
// turning sentence pairs into token examples, and packing them into padded batches by token count.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { mulberry32 as rand } from '../model/params.ts';
import type { SpecialIds } from '../model/tokenizer.ts';
import type { Batch } from './graph.ts';

export interface Example {
  src: Int32Array; // <2xx> x1..xn </s>
  tgt: Int32Array; // y1..ym (no <s> or </s>)
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

// Reads a text file (gzip if it ends in .gz or starts with the gzip magic) as lines; a final empty line is dropped.
// Not gzip where the name says so, a broken gzip stream or bytes that are not UTF-8 are errors naming the
// file: training on such text would run and learn garbage.
export function readLines(path: string): string[] {
  if (!existsSync(path)) throw new Error(`file not found: ${path}`);
  let bytes: Buffer = readFileSync(path);
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (!gzip && path.endsWith('.gz')) throw new Error(`${path}: not gzip (the name ends in .gz but the file does not start with gzip's magic bytes)`);
  if (gzip) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new Error(`${path}: broken gzip stream (${(e as Error).message})`);
    }
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new Error(`${path}: not UTF-8 text`);
  }
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

// Finds `<split>.<lang>` or `<split>.<lang>.gz` in a Multi30k-style folder.
export function splitFile(dir: string, split: string, lang: string): string {
  for (const name of [`${split}.${lang}`, `${split}.${lang}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`no ${split}.${lang}[.gz] in ${dir}`);
}

export interface Parallel {
  src: string[];
  tgt: string[];
}

// Two line-aligned files; misaligned corpora are an error, never silently truncated.
export function readAligned(srcPath: string, tgtPath: string): Parallel {
  const src = readLines(srcPath);
  const tgt = readLines(tgtPath);
  if (src.length !== tgt.length) {
    throw new Error(`corpora are misaligned: ${srcPath} has ${src.length} lines, ${tgtPath} has ${tgt.length}`);
  }
  return { src, tgt };
}

// A TSV of `source<TAB>target` lines.
export function readTsv(path: string): Parallel {
  const src: string[] = [];
  const tgt: string[] = [];
  readLines(path).forEach((line, i) => {
    const parts = line.split('\t');
    if (parts.length !== 2) throw new Error(`${path}:${i + 1}: expected 2 tab-separated columns, found ${parts.length}`);
    src.push(parts[0]);
    tgt.push(parts[1]);
  });
  return { src, tgt };
}

// Parses "en-de,de-en" into pairs, checking each language is one the tokenizer knows.
export function parsePairs(spec: string, languages?: string[]): Array<[string, string]> {
  return spec.split(',').map((p) => {
    const m = /^([a-z]{2,3})-([a-z]{2,3})$/.exec(p.trim());
    if (!m) throw new Error(`bad language pair "${p}": expected e.g. en-de`);
    for (const l of [m[1], m[2]]) {
      if (languages && !languages.includes(l)) throw new Error(`unknown language "${l}": the tokenizer has ${languages.join(', ')}`);
    }
    return [m[1], m[2]] as [string, string];
  });
}

// Sorts by length, cuts into batches of about `batchTokens` padded source + target tokens, then shuffles
// the batch order (deterministic in seed): little padding, and every batch a different length bucket.
export function makeBatches(examples: Example[], batchTokens: number, seed: number): Example[][] {
  const order = examples.map((_, i) => i);
  const r = rand(seed);
  // Random tie-break inside equal lengths so batches differ between epochs.
  const key = order.map(() => r());
  order.sort((a, b) => {
    const ea = examples[a];
    const eb = examples[b];
    return ea.tgt.length - eb.tgt.length || ea.src.length - eb.src.length || key[a] - key[b];
  });
  const batches: Example[][] = [];
  let cur: Example[] = [];
  let maxS = 0;
  let maxT = 0;
  for (const i of order) {
    const e = examples[i];
    const s = Math.max(maxS, e.src.length);
    const t = Math.max(maxT, e.tgt.length + 1);
    if (cur.length && (cur.length + 1) * (s + t) > batchTokens) {
      batches.push(cur);
      cur = [];
      maxS = 0;
      maxT = 0;
    }
    cur.push(e);
    maxS = Math.max(maxS, e.src.length);
    maxT = Math.max(maxT, e.tgt.length + 1);
  }
  if (cur.length) batches.push(cur);
  for (let i = batches.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [batches[i], batches[j]] = [batches[j], batches[i]];
  }
  return batches;
}

// Pads examples into one Batch: target in = <s> y, target out = y </s> (pads -1 so the loss skips them).
export function collate(examples: Example[], specials: SpecialIds): Batch {
  const { pad, bos, eos } = specials;
  const B = examples.length;
  const S = Math.max(...examples.map((e) => e.src.length));
  const T = Math.max(...examples.map((e) => e.tgt.length + 1));
  const src = new Int32Array(B * S).fill(pad);
  const tgtIn = new Int32Array(B * T).fill(pad);
  const tgtOut = new Int32Array(B * T).fill(-1);
  const srcLen = new Int32Array(B);
  const tgtLen = new Int32Array(B);
  examples.forEach((e, b) => {
    src.set(e.src, b * S);
    srcLen[b] = e.src.length;
    tgtIn[b * T] = bos;
    tgtIn.set(e.tgt, b * T + 1);
    tgtOut.set(e.tgt, b * T);
    tgtOut[b * T + e.tgt.length] = eos;
    tgtLen[b] = e.tgt.length + 1;
  });
  return { B, S, T, src, srcLen, tgtIn, tgtOut, tgtLen };
}

// Splits a batch's examples into `parts` groups of about equal padded size (for the data-parallel threads).
export function splitExamples(examples: Example[], parts: number): Example[][] {
  const out: Example[][] = Array.from({ length: parts }, () => []);
  const per = Math.ceil(examples.length / parts);
  for (let p = 0; p < parts; p++) out[p] = examples.slice(p * per, (p + 1) * per);
  return out.filter((g) => g.length > 0);
}

export function targetTokens(examples: Example[]): number {
  return examples.reduce((a, e) => a + e.tgt.length + 1, 0);
}

