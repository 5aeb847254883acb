// Weighted corpus mixes: several parallel corpora, each with a weight, trained as one stream of examples.
// A recipe file (recipes/NAME.json) lists them; paths are relative to a data root (--data-root, $MT_DATA,
// else ../shared/data beside the repository), so a recipe names data, not one machine's folders.
//
// Weight w means w copies of the corpus per epoch in expectation: floor(w) full copies plus a fresh
// random sample of frac(w) of its pairs, drawn from (seed, epoch, corpus), so an epoch is reproducible
// and a resumed run sees exactly the batches it would have seen. Weighting by domain rather than by size
// is what keeps a large narrow corpus (dictionary phrases) from teaching word-by-word translation.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../model/params.ts';
import type { BpeDropout, Tokenizer } from '../model/tokenizer.ts';
import { CliError } from './args.ts';
import { TRAIN_FLAGS, type TrainFlags } from './commands/train-options.ts';
import { encodeExample } from './corpus.ts';
import { UsageError, flagRecord } from './flags.ts';
import { parsePairs, readAligned, readTsv, splitFile, type Example, type Parallel } from './data.ts';

export interface CorpusEntry {
  // The languages of the file's two sides, e.g. "en-de": TSV column 1 / --src side is en.
  pair: string;
  tsv?: string; // source<TAB>target lines
  src?: string; // or two line-aligned files
  tgt?: string;
  data?: string; // or a Multi30k-style folder (<split>.<lang>[.gz]) read at `split`
  split?: string; // default "train"
  // Which directions to train: "both" (default) or "forward" (pair as written only).
  directions?: 'both' | 'forward';
  weight?: number; // expected copies per epoch (default 1); 0.25 = a fresh quarter of the pairs each epoch
  // "sentences": keep pairs whose two sides end in . ! or ? and whose first side starts upper-case
  // (the full sentences among dictionary phrases).
  filter?: 'sentences';
}

export interface Recipe {
  // Any `mt train` flag by its name without dashes ("lr-scale": 2.25, "pre-norm": true), checked by its
  // declaration (train/commands/train-options.ts); the command line overrides them.
  flags: Partial<TrainFlags>;
  corpora: CorpusEntry[];
  valid: CorpusEntry[];
}

export function defaultDataRoot(): string {
  return process.env.MT_DATA ?? fileURLToPath(new URL('../../shared/data', import.meta.url));
}

// Reads and checks a recipe; one line naming the problem when it is wrong.
export function parseRecipe(json: unknown, where: string): Recipe {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new CliError(`${where}: a recipe is a JSON object`);
  const { corpora, valid, ...rest } = json as Record<string, unknown>;
  const raw = Object.fromEntries(Object.entries(rest).filter(([k]) => !k.startsWith('//') && k !== 'comment'));
  if ('config' in raw) throw new UsageError(`${where}: "config" names a recipe; a recipe cannot name another`);
  const flags = flagRecord('train', TRAIN_FLAGS, raw, (k) => `${where}: "${k}"`);
  const entries = (x: unknown, key: string): CorpusEntry[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw new CliError(`${where}: "${key}" must be an array of corpora`);
    return x.map((e, i) => checkEntry(e, `${where}: ${key}[${i}]`));
  };
  return { flags, corpora: entries(corpora, 'corpora'), valid: entries(valid, 'valid') };
}

function checkEntry(e: unknown, where: string): CorpusEntry {
  if (!e || typeof e !== 'object') throw new CliError(`${where} must be an object`);
  const c = e as CorpusEntry;
  if (typeof c.pair !== 'string' || !/^[a-z]{2,3}-[a-z]{2,3}$/.test(c.pair)) throw new CliError(`${where}: "pair" must be like "en-de"`);
  const kinds = [c.tsv !== undefined, c.src !== undefined || c.tgt !== undefined, c.data !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new CliError(`${where}: give exactly one of "tsv", "src"+"tgt" or "data"`);
  if ((c.src === undefined) !== (c.tgt === undefined)) throw new CliError(`${where}: "src" and "tgt" go together`);
  if (c.weight !== undefined && (typeof c.weight !== 'number' || !(c.weight > 0) || !Number.isFinite(c.weight))) throw new CliError(`${where}: "weight" must be a positive number`);
  if (c.directions !== undefined && c.directions !== 'both' && c.directions !== 'forward') throw new CliError(`${where}: "directions" must be "both" or "forward"`);
  if (c.filter !== undefined && c.filter !== 'sentences') throw new CliError(`${where}: "filter" must be "sentences"`);
  return c;
}

const at = (root: string, p: string) => (isAbsolute(p) ? p : resolve(root, p));

// The directions an entry trains, as [source, target] pairs.
export function entryDirections(e: CorpusEntry): Array<[string, string]> {
  const [a, b] = e.pair.split('-');
  return e.directions === 'forward' ? [[a, b]] : [[a, b], [b, a]];
}

// Every direction of a list of corpora, in order of first appearance: "en-de,de-en,en-fr,...".
export function mixPairs(entries: CorpusEntry[]): string {
  const seen: string[] = [];
  for (const e of entries) for (const [s, t] of entryDirections(e)) if (!seen.includes(`${s}-${t}`)) seen.push(`${s}-${t}`);
  return seen.join(',');
}

const SENTENCE_END = /[.!?]["»«”“']?$/u;
export function isSentencePair(a: string, b: string): boolean {
  return /^\p{Lu}/u.test(a) && SENTENCE_END.test(a) && SENTENCE_END.test(b);
}

// The pairs of one entry as written (first side, second side), filtered.
export function readEntry(e: CorpusEntry, root: string): Parallel {
  const [a, b] = e.pair.split('-');
  let par: Parallel;
  try {
    if (e.tsv !== undefined) {
      const p = at(root, e.tsv);
      if (!existsSync(p)) throw new Error(`corpus not found: ${p}`);
      par = readTsv(p);
    } else if (e.data !== undefined) {
      const dir = at(root, e.data);
      par = readAligned(splitFile(dir, e.split ?? 'train', a), splitFile(dir, e.split ?? 'train', b));
    } else {
      par = readAligned(at(root, e.src!), at(root, e.tgt!));
    }
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (e.filter === 'sentences') {
    const src: string[] = [], tgt: string[] = [];
    par.src.forEach((s, i) => {
      if (isSentencePair(s, par.tgt[i])) {
        src.push(s);
        tgt.push(par.tgt[i]);
      }
    });
    par = { src, tgt };
  }
  if (!par.src.length) throw new CliError(`corpus ${e.tsv ?? e.data ?? e.src} (${e.pair}) has no pairs${e.filter ? ` after filter ${e.filter}` : ''}`);
  return par;
}

export interface MixPart {
  label: string; // "ende.news.tsv.gz en-de"
  weight: number;
  tag: number;
  src: string[];
  tgt: string[];
}

export interface Mix {
  parts: MixPart[];
  pairs: string;
}

// Reads every corpus of a recipe section, each direction of each as its own weighted part.
export function readMix(tok: Tokenizer, entries: CorpusEntry[], root: string): Mix {
  if (!entries.length) throw new CliError('the recipe lists no corpora');
  const pairs = mixPairs(entries);
  try {
    parsePairs(pairs, tok.languages);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const parts: MixPart[] = [];
  for (const e of entries) {
    const par = readEntry(e, root);
    const [a] = e.pair.split('-');
    for (const [s, t] of entryDirections(e)) {
      const fwd = s === a;
      parts.push({ label: `${e.tsv ?? e.data ?? e.src} ${s}-${t}`, weight: e.weight ?? 1, tag: tok.langId(t), src: fwd ? par.src : par.tgt, tgt: fwd ? par.tgt : par.src });
    }
  }
  return { parts, pairs };
}

export interface EncodedPart {
  weight: number;
  examples: Example[];
}

// Examples of every part: <2tgt> source </s> -> target; pairs longer than maxTokens or empty are skipped.
export function encodeMix(tok: Tokenizer, mix: Mix, maxTokens: number, dropout?: BpeDropout): EncodedPart[] {
  return mix.parts.map((p) => {
    const examples: Example[] = [];
    for (let i = 0; i < p.src.length; i++) {
      const e = encodeExample(tok, p.tag, p.src[i], p.tgt[i], maxTokens, dropout);
      if (e) examples.push(e);
    }
    if (!examples.length) throw new CliError(`no usable sentence pairs in ${p.label}`);
    return { weight: p.weight, examples };
  });
}

// One epoch's examples: floor(w) copies of each part and a sample of frac(w) of it, from (seed, epoch, part).
export function epochExamples(parts: EncodedPart[], seed: number, epoch: number): Example[] {
  const out: Example[] = [];
  parts.forEach((p, k) => {
    const whole = Math.floor(p.weight);
    for (let c = 0; c < whole; c++) for (const e of p.examples) out.push(e);
    const n = Math.round((p.weight - whole) * p.examples.length);
    if (n > 0) {
      const r = mulberry32((seed * 1000003 + epoch * 7919 + k * 104729) >>> 0);
      const idx = p.examples.map((_, i) => i);
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(r() * (idx.length - i));
        [idx[i], idx[j]] = [idx[j], idx[i]];
        out.push(p.examples[idx[i]]);
      }
    }
  });
  return out;
}

// Summary lines for the log: pairs per part and their share of an epoch.
export function describeMix(mix: Mix, parts: EncodedPart[]): string {
  const total = parts.reduce((a, p) => a + p.weight * p.examples.length, 0);
  return mix.parts.map((p, i) => `  ${p.label}: ${parts[i].examples.length} pairs x ${p.weight} = ${((100 * p.weight * parts[i].examples.length) / total).toFixed(1)}%`).join('\n');
}

