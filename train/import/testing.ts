// Test helpers for the Marian import: the reference fixtures (scripts/marian-reference.py) as complete
// Hugging Face folders. The fixtures hold the model, its vocab.json and the expected outputs; the
// SentencePiece models a folder also needs come from model/fixtures/sentencepiece (token-level tests do not
// read them; model/vocab.test.ts checks the text path).
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const MARIAN_FIXTURES = join(import.meta.dirname, 'fixtures/marian');
export const FIXTURE_NAMES = ['swish-tied-shared', 'gelu-untied-shared', 'relu-separate-noscale', 'swish-separate-untied-2x1'];
const SPM = (name: string) => gunzipSync(readFileSync(join(import.meta.dirname, '../../model/fixtures/sentencepiece', `${name}.model.gz`)));

export interface Expected {
  source_ids: number[][];
  decoder_input_ids: number[][];
  logits_shape: [number, number, number];
  logits: number[];
  greedy: number[][];
  beam3: number[][];
}

export function expected(name: string): Expected {
  return JSON.parse(readFileSync(join(MARIAN_FIXTURES, name, 'expected.json'), 'utf8')) as Expected;
}

// A fresh temporary copy of fixture `name` with source.spm and target.spm, ready for `mt import`.
export function hfFolder(name: string, root = mkdtempSync(join(tmpdir(), 'mt-marian-'))): string {
  const dir = join(root, name);
  cpSync(join(MARIAN_FIXTURES, name), dir, { recursive: true });
  writeFileSync(join(dir, 'source.spm'), SPM('unigram-identity'));
  writeFileSync(join(dir, 'target.spm'), SPM('bpe-identity'));
  return dir;
}
