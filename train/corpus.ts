// Turns the corpus options of `mt train` / `mt eval` into token examples for every language pair.
import type { BpeDropout, Tokenizer } from '../model/tokenizer.ts';
import { CliError } from './args.ts';
import { defineFlags } from './flags.ts';
import { parsePairs, readAligned, readTsv, splitFile, type Example, type Parallel } from './data.ts';

// The corpus flags of `mt train` and `mt eval`: what a CorpusSpec is made of.
export const CORPUS_FLAGS = defineFlags({
  pairs: { type: 'string', arg: 'en-de[,de-en]', help: 'the directions, source-target, comma-separated' },
  data: { type: 'string', arg: 'DIR', help: 'a Multi30k-style folder: DIR/<split>.<lang>[.gz] for every language' },
  src: { type: 'string', arg: 'FILE', help: 'or the source side of the single pair, one sentence a line' },
  tgt: { type: 'string', arg: 'FILE', help: 'and its target side, line-aligned with --src' },
  tsv: { type: 'string', arg: 'FILE', help: 'or source<TAB>target lines of the single pair' },
});

export interface CorpusSpec {
  pairs: string; // "en-de,de-en"
  data?: string; // Multi30k-style folder: <split>.<lang>[.gz]
  src?: string; // two line-aligned files (one pair)
  tgt?: string;
  tsv?: string; // source<TAB>target (one pair)
  columns?: string; // the TSV's column languages, e.g. "en-de": then it serves en-de and de-en
}

// Sentence pairs of one language pair and split.
export function readPair(spec: CorpusSpec, split: string, src: string, tgt: string): Parallel {
  if (spec.data) return readAligned(splitFile(spec.data, split, src), splitFile(spec.data, split, tgt));
  if (spec.tsv) {
    const par = readTsv(spec.tsv);
    if (!spec.columns || spec.columns === `${src}-${tgt}`) return par;
    if (spec.columns === `${tgt}-${src}`) return { src: par.tgt, tgt: par.src };
    throw new CliError(`--tsv ${spec.tsv} holds ${spec.columns} (--columns), not ${src}-${tgt}`);
  }
  if (spec.src && spec.tgt) return readAligned(spec.src, spec.tgt);
  throw new CliError('give a corpus: --data DIR, or --src FILE --tgt FILE, or --tsv FILE');
}

export function pairsOf(spec: CorpusSpec, languages: string[]): Array<[string, string]> {
  let pairs;
  try {
    pairs = parsePairs(spec.pairs, languages);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (spec.tsv && spec.columns) {
    if (!/^[a-z]{2,3}-[a-z]{2,3}$/.test(spec.columns)) throw new CliError(`--columns wants the TSV's two languages, e.g. en-de; got "${spec.columns}"`);
    const [a, b] = spec.columns.split('-');
    for (const [s, t] of pairs) if (!((s === a && t === b) || (s === b && t === a))) throw new CliError(`--pairs ${s}-${t} is not a direction of --columns ${spec.columns}`);
    return pairs;
  }
  if (!spec.data && pairs.length !== 1) throw new CliError('--src/--tgt and --tsv hold one language pair: give exactly one in --pairs');
  return pairs;
}

// The sentence pairs of every language pair of a split, as text: encoded once, or again every epoch
// under BPE-dropout. repeat["en-de"] = 2 puts each en-de pair in twice (oversampling a direction).
export interface CorpusText {
  split: string;
  pairs: Array<{ tag: number; par: Parallel; times: number }>;
}

export function readCorpus(tok: Tokenizer, spec: CorpusSpec, split: string, repeat: Record<string, number> = {}): CorpusText {
  const pairs = pairsOf(spec, tok.languages);
  for (const p of Object.keys(repeat)) {
    if (!pairs.some(([s, t]) => `${s}-${t}` === p)) throw new CliError(`--oversample names ${p}, which is not in --pairs ${spec.pairs}`);
  }
  return {
    split,
    pairs: pairs.map(([s, t]) => {
      try {
        return { tag: tok.langId(t), par: readPair(spec, split, s, t), times: repeat[`${s}-${t}`] ?? 1 };
      } catch (e) {
        throw new CliError((e as Error).message);
      }
    }),
  };
}

// Examples: <2tgt> source </s> -> target; pairs longer than maxTokens or empty are skipped. With dropout,
// a BPE-dropout segmentation of both sides (model/tokenizer.ts).
export function encodeCorpus(tok: Tokenizer, corpus: CorpusText, maxTokens: number, dropout?: BpeDropout): Example[] {
  const out: Example[] = [];
  for (const { tag, par, times } of corpus.pairs) {
    for (let i = 0; i < par.src.length; i++) {
      const e = encodeExample(tok, tag, par.src[i], par.tgt[i], maxTokens, dropout);
      if (e) for (let k = 0; k < times; k++) out.push(e);
    }
  }
  if (!out.length) throw new CliError(`no usable sentence pairs in the ${corpus.split} corpus`);
  return out;
}

// One pair as an example, or undefined when a side is empty or longer than maxTokens.
export function encodeExample(tok: Tokenizer, tag: number, source: string, target: string, maxTokens: number, dropout?: BpeDropout): Example | undefined {
  const x = tok.encode(source, dropout);
  const y = tok.encode(target, dropout);
  if (!x.length || !y.length || x.length + 2 > maxTokens || y.length + 1 > maxTokens) return undefined;
  return { src: Int32Array.from([tag, ...x, tok.eosId]), tgt: Int32Array.from(y) };
}

export function loadExamples(tok: Tokenizer, spec: CorpusSpec, split: string, maxTokens: number, repeat: Record<string, number> = {}): Example[] {
  return encodeCorpus(tok, readCorpus(tok, spec, split, repeat), maxTokens);
}
