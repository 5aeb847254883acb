// Unigram tokenizer training (model/unigram-train.ts) through Tokenizer and `mt tokenizer --type unigram`:
// the vocabulary is well formed, every text round-trips, tokenizer.json round-trips, the segmentation
// is as compact as sentencepiece's own unigram trainer (live, when python3-sentencepiece is installed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { multi30kDir } from '../train/paths.ts';
import { normalize, Tokenizer } from './tokenizer.ts';

const DIR = multi30kDir();
const HAVE_DATA = existsSync(join(DIR, 'train.en.gz'));
const lines = (f: string): string[] => gunzipSync(readFileSync(join(DIR, f))).toString('utf8').split('\n').filter(Boolean);
const SMALL = [
  'a man rides a horse .', 'two dogs play in the snow .', 'a woman reads a book in the park .', 'children play football on the beach .',
  'ein Mann reitet ein Pferd .', 'zwei Hunde spielen im Schnee .', 'eine Frau liest ein Buch im Park .', 'Kinder spielen Fußball am Strand .',
];
const corpus = HAVE_DATA ? [...lines('train.en.gz').slice(0, 3000), ...lines('train.de.gz').slice(0, 3000)] : Array.from({ length: 400 }, (_, i) => SMALL[i % SMALL.length]);
const ODD = ['', '   ', 'Ünïcödé ☃ 😀 ｆｕｌｌ ﬁ Ⅻ', 'x\u0301\u0302 \t\n a', '<2de> <s> </s> <unk>', '漢字かなカナ한국어', '\u2581\u2581 a\u2581b'];

describe('Tokenizer.train({ type: "unigram" })', () => {
  const tok = Tokenizer.train(corpus, { vocabSize: 1000, languages: ['en', 'de'], type: 'unigram' });

  it('has the specials, tags and bytes first, then pieces by score, within the vocabulary size', () => {
    expect(tok.type).toBe('unigram');
    expect(tok.vocabSize).toBeLessThanOrEqual(1000);
    expect(tok.tokens([0, 1, 2, 3, 4, 5, 6])).toEqual(['<pad>', '<unk>', '<s>', '</s>', '<2en>', '<2de>', '<0x00>']);
    const json = tok.toJSON() as { model: { type: string; vocab: Array<[string, number]> } };
    expect(json.model.type).toBe('Unigram');
    const scores = json.model.vocab.slice(6 + 256).map(([, s]) => s);
    expect(scores.every((s, i) => s <= 0 && (i === 0 || s <= scores[i - 1]))).toBe(true);
    if (HAVE_DATA) expect(tok.vocabSize).toBe(1000); // enough text to fill the vocabulary
  });

  it('round-trips every text (decode(encode(x)) === normalize(x)) and through tokenizer.json', () => {
    const again = Tokenizer.fromJSON(JSON.stringify(tok.toJSON()));
    for (const text of [...corpus.slice(0, 500), ...ODD]) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(normalize(text));
      expect(again.encode(text)).toEqual(ids);
    }
    expect(tok.tokens(tok.encode('☃'))).toEqual(['▁', '<0xE2>', '<0x98>', '<0x83>']); // not in the alphabet: bytes
  });

  it('keeps frequent words whole and refuses BPE-dropout', () => {
    expect(tok.tokens(tok.encode('a man'))).toEqual(['▁a', '▁man']);
    expect(() => tok.encode('a man', { p: 0.1, rand: Math.random })).toThrow(/BPE-dropout needs a BPE tokenizer/);
  });
});

const CLI = resolve(import.meta.dirname, '../train/cli.ts');

describe('mt tokenizer --type unigram', () => {
  it('writes a Unigram tokenizer.json that mt train accepts; a bad --type is one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mt-unigram-'));
    try {
      const rep = (xs: string[]) => Array.from({ length: 40 }, (_, i) => xs[i % xs.length]).join('\n') + '\n';
      writeFileSync(join(dir, 'train.en'), rep(SMALL.slice(0, 4)));
      writeFileSync(join(dir, 'train.de'), rep(SMALL.slice(4)));
      const mt = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
      const r = mt(['tokenizer', '--type', 'unigram', '--out', join(dir, 'tok.json'), '--langs', 'en,de', '--vocab', '400', join(dir, 'train.en'), join(dir, 'train.de')]);
      expect(r.stderr).toMatch(/learned \d+ unigram tokens/);
      expect(r.status).toBe(0);
      const tok = Tokenizer.fromJSON(readFileSync(join(dir, 'tok.json'), 'utf8'));
      expect(tok.type).toBe('unigram');
      const t = mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'run'), '--pairs', 'en-de', '--src', join(dir, 'train.en'), '--tgt', join(dir, 'train.de'), '--preset', 'micro', '--steps', '2']);
      expect(t.stderr.split('\n').filter((l) => /error/i.test(l))).toEqual([]);
      expect(t.status).toBe(0);
      const bad = mt(['tokenizer', '--type', 'wordpiece', '--out', join(dir, 'x.json'), '--langs', 'en', join(dir, 'train.en')]);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr.trim()).toMatch(/--type must be bpe or unigram, got "wordpiece"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const PYTHON = '/usr/bin/python3';
const LIVE = HAVE_DATA && spawnSync(PYTHON, ['-c', 'import sentencepiece']).status === 0;

describe.skipIf(!LIVE)('unigram training vs sentencepiece (live)', () => {
  it('segments held-out Multi30k as compactly as spm_train --model_type unigram with the same piece budget', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spm-unigram-'));
    try {
      const train = [...lines('train.en.gz').slice(0, 5000), ...lines('train.de.gz').slice(0, 5000)];
      const valid = [...lines('val.en.gz'), ...lines('val.de.gz')];
      const ours = Tokenizer.train(train, { vocabSize: 2000, languages: ['en', 'de'], type: 'unigram' });
      writeFileSync(join(dir, 'train.txt'), train.join('\n') + '\n');
      writeFileSync(join(dir, 'valid.txt'), valid.join('\n') + '\n');
      // Same number of text pieces: 2000 - 4 specials - 2 tags - 256 bytes, plus sentencepiece's 3 meta pieces.
      const py = `
import sentencepiece as spm, sys
spm.SentencePieceTrainer.train(input=sys.argv[1] + '/train.txt', model_prefix=sys.argv[1] + '/m', vocab_size=1741,
  model_type='unigram', character_coverage=0.9999, minloglevel=2, num_threads=1)
sp = spm.SentencePieceProcessor(model_file=sys.argv[1] + '/m.model')
print(sum(len(x) for x in sp.encode([l.rstrip('\\n') for l in open(sys.argv[1] + '/valid.txt', encoding='utf-8')])))`;
      const r = spawnSync(PYTHON, ['-c', py, dir], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const theirs = Number(r.stdout.trim());
      const mine = valid.reduce((n, t) => n + ours.encode(t).length, 0);
      console.log(`held-out tokens: ours ${mine}, sentencepiece ${theirs} (${((mine / theirs - 1) * 100).toFixed(1)}%)`);
      expect(mine).toBeLessThanOrEqual(theirs * 1.03);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
