// SentencePiece encodings vs Debian's python3-sentencepiece (0.1.97). The committed fixture
// (model/fixtures/sentencepiece, written by scripts/sentencepiece-reference.py --fixture) always runs;
// with /usr/bin/python3 + sentencepiece and the shared data ($MT_DATA, else ../shared/data) the script
// also runs live: 8 models, 20,000 sentences per language (en de fr es cs) and 2,000 random strings.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDataRoot } from '../train/mix.ts';
import { SentencePiece } from './sentencepiece.ts';

const FIXTURES = resolve(import.meta.dirname, 'fixtures/sentencepiece');
const SCRIPT = resolve(import.meta.dirname, '../scripts/sentencepiece-reference.py');
const PYTHON = '/usr/bin/python3';
const LANGS = ['en', 'de', 'fr', 'es', 'cs'];

interface Cases {
  texts: string[];
  models: Record<string, number[][]>;
  decode: Record<string, Array<[number[], string]>>;
}

const fixture = (f: string): Buffer => gunzipSync(readFileSync(join(FIXTURES, `${f}.gz`)));

// Mismatches of `sp` against the reference: per slice of texts (label -> [compared, mismatched]), and
// the first few differences, printed whole.
function compare(sp: SentencePiece, cases: Cases, name: string, slices: Array<[string, number]>) {
  const ids = cases.models[name];
  const counts: Record<string, [number, number]> = {};
  const first: string[] = [];
  let at = 0;
  for (const [label, n] of slices) {
    let bad = 0;
    for (let i = at; i < at + n; i++) {
      const got = sp.encode(cases.texts[i]);
      if (got.join(' ') === ids[i].join(' ')) continue;
      bad++;
      if (first.length < 5) first.push(`${name} text ${i} ${JSON.stringify(cases.texts[i])}\n  got      ${got.join(' ')}\n  expected ${ids[i].join(' ')}`);
    }
    counts[label] = [n, bad];
    at += n;
  }
  let decodeBad = 0;
  for (const [run, text] of cases.decode[name]) {
    const got = sp.decode(run);
    if (got === text) continue;
    decodeBad++;
    if (first.length < 5) first.push(`${name} decode ${JSON.stringify(run)}\n  got      ${JSON.stringify(got)}\n  expected ${JSON.stringify(text)}`);
  }
  counts.decode = [cases.decode[name].length, decodeBad];
  return { counts, first };
}

// [label, count] slices of cases.texts: the sentences of each language, then the random strings.
function slicesOf(cases: Cases, perLang: number): Array<[string, number]> {
  return [...LANGS.map((l): [string, number] => [l, perLang]), ['random', cases.texts.length - LANGS.length * perLang]];
}

describe('SentencePiece vs python3-sentencepiece (committed fixture)', () => {
  const cases = JSON.parse(fixture('cases.json').toString('utf8')) as Cases;
  for (const name of Object.keys(cases.models)) {
    it(`${name}: identical ids and decodes`, () => {
      const sp = SentencePiece.fromModel(fixture(`${name}.model`), `${name}.model`);
      const { counts, first } = compare(sp, cases, name, slicesOf(cases, 40));
      expect(first.join('\n')).toBe('');
      expect(Object.values(counts).every(([n, bad]) => n > 0 && bad === 0)).toBe(true);
    });
  }

  it('reads the Hugging Face tokenizer.json of a unigram model and encodes alike', () => {
    const sp = SentencePiece.fromTokenizerJson(fixture('unigram-identity.tokenizer.json').toString('utf8'));
    const { first } = compare(sp, cases, 'unigram-identity', slicesOf(cases, 40));
    expect(first.join('\n')).toBe('');
  });

  it('decodes as sentencepiece: dummy prefix, byte runs, <unk> surface, controls dropped', () => {
    const sp = SentencePiece.fromModel(fixture('unigram-nfkc-bytes.model'));
    expect(sp.type).toBe('unigram');
    expect([sp.unkId, sp.bosId, sp.eosId, sp.padId]).toEqual([0, 1, 2, -1]);
    const ids = sp.encode('ｆｕｌｌ  width\t☃');
    expect(sp.decode(ids)).toBe('full width ☃');
    expect(sp.encodePieces('☃').slice(-3)).toEqual(['<0xE2>', '<0x98>', '<0x83>']);
    const b = (x: number) => sp.pieceToId(`<0x${x.toString(16).toUpperCase()}>`);
    // (python3-sentencepiece's answer) a control piece ends a byte run: E2 98 alone is two U+FFFD
    expect(sp.decode([sp.bosId, b(0xe2), b(0x98), b(0x83), sp.eosId, b(0xe2), b(0x98), sp.eosId, b(0xff), sp.unkId])).toBe('☃\ufffd\ufffd\ufffd \u2047 ');
    expect(sp.normalize('  ﬁ  x ')).toBe('\u2581fi\u2581x');
    expect(sp.encodePieces('<2de>ﬁx')).toContain('<2de>'); // user-defined symbols are never split or normalized
  });

  it('names the file when it is not a SentencePiece model', () => {
    const json = new TextEncoder().encode('{"model": {"type": "BPE"}}');
    expect(() => SentencePiece.fromModel(json, 'vocab.json')).toThrow(/^vocab\.json: not a SentencePiece model/);
    expect(() => SentencePiece.fromModel(new Uint8Array(0), 'empty.spm')).toThrow('empty.spm: not a SentencePiece model (no pieces)');
    const model = fixture('bpe-identity.model');
    expect(() => SentencePiece.fromModel(model.subarray(0, model.length - 7), 'cut.spm')).toThrow(/^cut\.spm: not a SentencePiece model/);
    const bpeJson = readFileSync(resolve(import.meta.dirname, '../models/multi30k/tokenizer.json'), 'utf8');
    expect(() => SentencePiece.fromTokenizerJson(bpeJson, 'tokenizer.json')).toThrow('tokenizer.json: not a SentencePiece Unigram tokenizer.json (model.type is "BPE", expected "Unigram")');
    expect(() => SentencePiece.fromTokenizerJson('{', 'x.json')).toThrow(/^x\.json: not a SentencePiece Unigram tokenizer\.json \(not JSON/);
  });
});

const DATA = defaultDataRoot();
const live =
  existsSync(join(DATA, 'general')) && existsSync(join(DATA, 'multi30k')) && spawnSync(PYTHON, ['-c', 'import sentencepiece']).status === 0;

describe.skipIf(!live)('SentencePiece vs python3-sentencepiece (live: 20,000 sentences per language)', () => {
  const PER_LANG = 20_000;
  let dir = '';
  let cases: Cases;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spm-ref-'));
    const r = spawnSync(PYTHON, [SCRIPT, '--data', DATA, '--out', dir, '--per-lang', String(PER_LANG)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${SCRIPT} failed: ${r.stderr}`);
    cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as Cases;
  }, 900_000);
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('every model, every language: identical ids; decodes identical', () => {
    const report: string[] = [];
    const failures: string[] = [];
    for (const name of Object.keys(cases.models)) {
      const sp = SentencePiece.fromModel(readFileSync(join(dir, `${name}.model`)), name);
      const { counts, first } = compare(sp, cases, name, slicesOf(cases, PER_LANG));
      report.push(`${name.padEnd(20)} ${Object.entries(counts).map(([l, [n, bad]]) => `${l} ${bad}/${n}`).join('  ')}`);
      failures.push(...first);
      if (existsSync(join(dir, `${name}.tokenizer.json`))) {
        const hf = SentencePiece.fromTokenizerJson(readFileSync(join(dir, `${name}.tokenizer.json`), 'utf8'));
        const r = compare(hf, cases, name, slicesOf(cases, PER_LANG));
        report.push(`${`${name} (json)`.padEnd(20)} ${Object.entries(r.counts).map(([l, [n, bad]]) => `${l} ${bad}/${n}`).join('  ')}`);
        failures.push(...r.first);
      }
    }
    console.log(`mismatches/compared per model:\n${report.join('\n')}`);
    expect(failures.slice(0, 5).join('\n')).toBe('');
  }, 900_000);
});
