import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, test } from 'vitest';
import { chooseAlphabet, trainBpe } from './bpe-train.ts';
import { Tokenizer, normalize } from './tokenizer.ts';
import { mulberry32 } from './params.ts';

const LANGS = ['en', 'de', 'fr', 'cs'];
const DIR = process.env.MULTI30K_DIR ?? resolve(import.meta.dirname, '../../shared/data/multi30k');
const readLines = (name: string): string[] =>
  gunzipSync(readFileSync(`${DIR}/${name}.gz`)).toString('utf8').split('\n').filter((l) => l.length > 0);

// Seeded: the random strings are the same on every run.
const rng = mulberry32;

// Code point ranges the random strings draw from: the awkward corners of Unicode.
const POOLS: Array<[number, number]> = [
  [0x20, 0x7e], // ASCII
  [0x00, 0x1f], // C0 controls (tab, newline, NUL, ...)
  [0x7f, 0x9f], // DEL, C1 controls (U+0085 is whitespace)
  [0xa0, 0x24f], // Latin-1, Latin Extended (NBSP, ligatures, ª, ½: NFKC changes them)
  [0x300, 0x36f], // combining marks
  [0x1100, 0x11ff], // Hangul jamo (NFKC composes them into syllables)
  [0x2000, 0x206f], // general punctuation: en spaces, ZWJ, bidi controls, ellipsis
  [0x2580, 0x2582], // around the metaspace '▁' itself
  [0x3000, 0x30ff], // ideographic space, kana
  [0x4e00, 0x9fff], // CJK
  [0xfb00, 0xfb06], // ligatures ﬁ ﬂ (NFKC expands them)
  [0xfe00, 0xfe0f], // variation selectors
  [0xfeff, 0xfeff], // BOM / zero-width no-break space
  [0xff00, 0xffef], // full-width forms (NFKC maps them to ASCII)
  [0x1f300, 0x1faff], // emoji
  [0x10000, 0x10ffff], // anywhere in the astral planes, assigned or not
];

function randomString(r: () => number, maxLen: number): string {
  const n = Math.floor(r() * maxLen);
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = POOLS[Math.floor(r() * POOLS.length)];
    let cp = lo + Math.floor(r() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41; // no lone surrogates here (tested separately)
    s += String.fromCodePoint(cp);
    if (r() < 0.15) s += ' ';
  }
  return s;
}

describe('normalize', () => {
  test('NFKC, whitespace runs (and the metaspace) -> one space, trimmed', () => {
    expect(normalize('  Ａｂｃ\t\n ﬁne\u00a0\u3000x ')).toBe('Abc fine x');
    expect(normalize('a\u2581b')).toBe('a b');
    expect(normalize('e\u0301')).toBe('\u00e9');
    expect(normalize(' \u200b ')).toBe('\u200b'); // zero-width space is not White_Space
    expect(normalize('')).toBe('');
    expect(normalize(' \n\t ')).toBe('');
  });
  test('lone surrogates become U+FFFD', () => {
    expect(normalize('a\ud800b\udc00')).toBe('a\ufffdb\ufffd');
    expect(normalize('\ud83d\ude00')).toBe('\ud83d\ude00');
  });
  test('is idempotent on random strings', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const n = normalize(randomString(r, 20));
      expect(normalize(n)).toBe(n);
    }
  });
});

describe('BPE training', () => {
  test('a hand-checked corpus yields the expected first merges', () => {
    // Sennrich et al.'s example. Words: ▁low x5, ▁lower x2, ▁newest x6, ▁widest x3.
    // Alphabet by count (▁ first, then count desc): ▁ e17 w16 s9 t9 l7 o7 n6 d3 i3 r2.
    // Pair counts: (e,s)=9 (s,t)=9 (w,e)=8 (▁,l)=(l,o)=(o,w)=7 (▁,n)=(n,e)=(e,w)=6 ...
    // 1. (e,s) and (s,t) tie at 9; e has the smaller id -> "es".
    // 2. (es,t) now 9 (s,t dropped to 0) -> "est".
    // 3. (▁,l)=(l,o)=(o,w)=7 tie; ▁ has the smallest id -> "▁l".
    // 4. (▁l,o)=(o,w)=7 tie; o (id 10) < ▁l (new id) -> "ow".
    // 5. (▁l,ow)=7 -> "▁low". Then (▁,n)=(n,e)=(e,w)=(w,est)=6 -> "▁n" (▁ smallest).
    const corpus = [
      ...Array(5).fill('low'),
      ...Array(2).fill('lower'),
      ...Array(6).fill('newest'),
      ...Array(3).fill('widest'),
    ];
    const tok = Tokenizer.train([corpus.join(' ')], { vocabSize: 1000, languages: ['en'] });
    const merges = (tok.toJSON() as { model: { merges: string[] } }).model.merges;
    expect(merges.slice(0, 6)).toEqual(['e s', 'es t', '▁ l', 'o w', '▁l ow', '▁ n']);
    expect(tok.tokens(tok.encode('lowest newer'))).toEqual(['▁low', 'est', '▁new', 'er']);
    // Stops when no pair is seen twice: every word becomes one token, nothing more is learned.
    expect(tok.tokens(tok.encode('low lower newest widest'))).toEqual(['▁low', '▁lower', '▁newest', '▁widest']);
  });

  test('incremental pair updates learn exactly what a full recount per merge learns', () => {
    // Random words over a 4-letter alphabet: lots of ties and overlapping pairs (aaaa, abab).
    const r = rng(3);
    const words = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      let w = '▁';
      const n = 1 + Math.floor(r() * 8);
      for (let k = 0; k < n; k++) w += 'abcé'[Math.floor(r() * (r() < 0.1 ? 4 : 3))];
      words.set(w, (words.get(w) ?? 0) + 1 + Math.floor(r() * 5));
    }
    const opts = { vocabSize: 120, reserved: ['<r>'], minFrequency: 2, characterCoverage: 0.98, metaspace: '▁' };
    const got = trainBpe(words, opts);
    // Naive reference: recount every pair before each merge; same tie-break (count desc, ids asc).
    const vocab = got.vocab.slice(0, 1 + got.vocab.slice(1).findIndex((t) => [...t].length > 1));
    const id = new Map(vocab.map((t, i) => [t, i]));
    const seqs = [...words].map(([w, c]) => ({ s: [...w].map((ch) => id.get(ch) ?? -1), c }));
    const merges: Array<[string, string]> = [];
    while (vocab.length < opts.vocabSize) {
      const counts = new Map<number, number>();
      for (const { s, c } of seqs) {
        for (let i = 0; i + 1 < s.length; i++) {
          if (s[i] > 0 && s[i + 1] > 0) counts.set(s[i] * 4096 + s[i + 1], (counts.get(s[i] * 4096 + s[i + 1]) ?? 0) + c);
        }
      }
      let best = -1, bestCount = 0;
      for (const [k, c] of counts) if (c > bestCount || (c === bestCount && k < best)) [best, bestCount] = [k, c];
      if (bestCount < opts.minFrequency) break;
      const a = Math.floor(best / 4096), b = best % 4096;
      if (!id.has(vocab[a] + vocab[b])) id.set(vocab[a] + vocab[b], vocab.push(vocab[a] + vocab[b]) - 1);
      const m = id.get(vocab[a] + vocab[b])!;
      merges.push([vocab[a], vocab[b]]);
      for (const q of seqs) {
        const o: number[] = [];
        for (let i = 0; i < q.s.length; i++) {
          if (q.s[i] === a && q.s[i + 1] === b) o.push(m), i++;
          else o.push(q.s[i]);
        }
        q.s = o;
      }
    }
    expect(vocab.length).toBe(opts.vocabSize);
    expect(got.merges).toEqual(merges);
    expect(got.vocab).toEqual(vocab);
  });

  test('alphabet keeps characters up to the coverage, by count then code point', () => {
    const counts = new Map([['a', 50], ['b', 30], ['c', 15], ['d', 4], ['e', 1], ['▁', 40]]);
    expect(chooseAlphabet(counts, 1, '▁')).toEqual(['▁', 'a', 'b', 'c', 'd', 'e']);
    // 0.95 of 100: after a,b,c 95 are covered, so d and e go to bytes.
    expect(chooseAlphabet(counts, 0.95, '▁')).toEqual(['▁', 'a', 'b', 'c']);
    expect(chooseAlphabet(new Map([['y', 2], ['x', 2]]), 1, '▁')).toEqual(['▁', 'x', 'y']);
  });

  test('specials and language tags sit at fixed ids; training is deterministic', () => {
    const texts = ['Ein Hund läuft.', 'A dog runs.', 'Un chien court.', 'Pes běží.'];
    const a = Tokenizer.train(texts, { vocabSize: 400, languages: LANGS });
    const b = Tokenizer.train(texts, { vocabSize: 400, languages: LANGS });
    expect(a.tokens([0, 1, 2, 3, 4, 5, 6, 7, 8])).toEqual(['<pad>', '<unk>', '<s>', '</s>', '<2en>', '<2de>', '<2fr>', '<2cs>', '<0x00>']);
    expect([a.padId, a.unkId, a.bosId, a.eosId]).toEqual([0, 1, 2, 3]);
    expect(a.langId('de')).toBe(5);
    expect(a.languages).toEqual(LANGS);
    expect(() => a.langId('xx')).toThrow(/unknown language "xx".*en, de, fr, cs/);
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(() => Tokenizer.train(texts, { vocabSize: 100, languages: LANGS })).toThrow(/smaller than/);
  });
});

describe('encode / decode', () => {
  const tok = Tokenizer.train(['the cat sat on the mat', 'le chat', 'die Katze'], { vocabSize: 320, languages: ['en', 'fr'] });

  test('random Unicode strings round-trip to their normalized form', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const s = randomString(r, 24);
      const ids = tok.encode(s);
      expect(ids.every((id) => !tok.isSpecial(id))).toBe(true);
      expect(tok.decode(ids)).toBe(normalize(s));
    }
  });

  test('BPE-dropout: other segmentations of the same text, reproducible from the random source', () => {
    const text = 'the cat sat on the mat le chat die Katze';
    const plain = tok.encode(text);
    const drop = (p: number, seed: number) => tok.encode(text, { p, rand: rng(seed) });
    expect(drop(0, 1)).toEqual(plain);
    const samples = Array.from({ length: 20 }, (_, i) => drop(0.3, i));
    expect(new Set(samples.map((x) => x.join())).size).toBeGreaterThan(5);
    for (const ids of samples) {
      expect(tok.decode(ids)).toBe(normalize(text));
      expect(ids.length).toBeGreaterThanOrEqual(plain.length); // plain BPE is the shortest segmentation here
    }
    expect(drop(0.3, 7)).toEqual(drop(0.3, 7));
    // Every merge dropped: the characters themselves.
    expect(tok.tokens(tok.encode('the cat', { p: 0.5, rand: () => 0 }))).toEqual(['▁', 't', 'h', 'e', '▁', 'c', 'a', 't']);
    // The cache of plain segmentations is untouched by dropout.
    expect(tok.encode(text)).toEqual(plain);
  });

  test('BPE-dropout keeps the round trip on random Unicode', () => {
    const r = rng(43);
    for (let i = 0; i < 1000; i++) {
      const s = randomString(r, 24);
      expect(tok.decode(tok.encode(s, { p: 0.2, rand: r }))).toBe(normalize(s));
    }
  });

  test('an unknown script is spelled in UTF-8 byte tokens', () => {
    const s = 'ሰላም ዓለም'; // Ge'ez: no character in the alphabet
    const pieces = tok.tokens(tok.encode(s));
    const bytes = pieces.filter((p) => /^<0x[0-9A-F]{2}>$/.test(p));
    expect(bytes.length).toBe(new TextEncoder().encode('ሰላምዓለም').length);
    expect(pieces.filter((p) => !bytes.includes(p))).toEqual(['▁', '▁']);
    expect(pieces.slice(1, 4)).toEqual(['<0xE1>', '<0x88>', '<0xB0>']); // ሰ U+1230
    expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.decode(tok.encode('😀'))).toBe('😀');
  });

  test('decode skips specials, turns invalid byte runs into U+FFFD, keeps a BOM', () => {
    const t = (p: string): number => tok.tokenToId(p)!;
    const ids = tok.encode('the cat');
    expect(tok.decode([tok.bosId, tok.langId('fr'), ...ids, tok.eosId, tok.padId])).toBe('the cat');
    expect(tok.decode([t('<0xE2>'), t('<0x82>'), t('<0xAC>')])).toBe('€');
    expect(tok.decode([t('<0xE2>'), t('<0x82>'), ...ids])).toBe('\ufffd\ufffd the cat');
    expect(tok.decode([t('<0xEF>'), t('<0xBB>'), t('<0xBF>')])).toBe('\ufeff');
    expect(tok.decode([])).toBe('');
    expect(tok.encode('  ')).toEqual([]);
    expect(() => tok.decode([tok.vocabSize])).toThrow(RangeError);
  });

  test('special-looking text is plain characters', () => {
    const ids = tok.encode('<s> <2en>');
    expect(ids.some((id) => tok.isSpecial(id))).toBe(false);
    expect(tok.decode(ids)).toBe('<s> <2en>');
  });
});

describe('tokenizer.json', () => {
  const texts = ['A man in an orange hat.', 'Ein Mann mit einem orangefarbenen Hut.', 'Un homme avec un chapeau orange.', 'Muž v oranžovém klobouku.'];
  const tok = Tokenizer.train(texts, { vocabSize: 360, languages: LANGS });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = tok.toJSON() as any;

  test('has the Hugging Face layout: BPE with byte fallback, Metaspace, Llama-style decoder', () => {
    expect(json.model).toMatchObject({ type: 'BPE', byte_fallback: true, unk_token: '<unk>', fuse_unk: true, dropout: null });
    expect(json.normalizer.normalizers[0]).toEqual({ type: 'NFKC' });
    expect(json.pre_tokenizer).toEqual({ type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true });
    expect(json.decoder.decoders.map((d: { type: string }) => d.type)).toEqual(['Replace', 'ByteFallback', 'Fuse', 'Strip']);
    expect(json.added_tokens.map((t: { id: number; content: string; special: boolean }) => [t.id, t.content, t.special])).toEqual([
      [0, '<pad>', true], [1, '<unk>', true], [2, '<s>', true], [3, '</s>', true],
      [4, '<2en>', true], [5, '<2de>', true], [6, '<2fr>', true], [7, '<2cs>', true],
    ]);
    // vocab: ids 0..V-1, each once; all 256 byte tokens; every merge's parts and result in vocab.
    const vocab: Record<string, number> = json.model.vocab;
    expect(Object.values(vocab).sort((a, b) => a - b)).toEqual([...Array(tok.vocabSize).keys()]);
    for (let b = 0; b < 256; b++) expect(vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`]).toBeDefined();
    expect(json.model.merges.length).toBeGreaterThan(0);
    for (const m of json.model.merges as string[]) {
      const [a, b] = m.split(' ');
      expect(m.split(' ').length).toBe(2);
      expect(vocab[a] !== undefined && vocab[b] !== undefined && vocab[a + b] !== undefined).toBe(true);
    }
    // The normalizer's regex is the same class normalize() uses.
    const re = new RegExp(json.normalizer.normalizers[1].pattern.Regex, 'g');
    expect('a \t\u3000\u2581b'.replace(re, ' ')).toBe('a b');
  });

  test('toJSON -> fromJSON round trip encodes identically', () => {
    const back = Tokenizer.fromJSON(JSON.stringify(json));
    expect(back.toJSON()).toEqual(json);
    expect(back.languages).toEqual(LANGS);
    for (const s of [...texts, 'orange 🍊 Hut', 'ů ž ř']) expect(back.encode(s)).toEqual(tok.encode(s));
    // Merges may also be stored as pairs (newer tokenizers versions).
    const pairs = { ...json, model: { ...json.model, merges: json.model.merges.map((m: string) => m.split(' ')) } };
    expect(Tokenizer.fromJSON(pairs).encode(texts[1])).toEqual(tok.encode(texts[1]));
    expect(() => Tokenizer.fromJSON({ ...json, model: { ...json.model, byte_fallback: false } })).toThrow(/byte_fallback/);
  });
});

describe('Multi30k', () => {
  const all: string[] = [];
  let tok: Tokenizer;
  beforeAll(() => {
    const train: string[] = [];
    for (const l of LANGS) {
      const lines = readLines(`train.${l}`);
      train.push(...lines.slice(0, 5000));
      all.push(...lines, ...readLines(`val.${l}`), ...readLines(`test_2016_flickr.${l}`));
    }
    tok = Tokenizer.train(train, { vocabSize: 4000, languages: LANGS });
  }, 120_000); // learning a 4k vocabulary takes seconds, minutes on a loaded machine

  test('every sentence of train/val/test in en, de, fr, cs round-trips', () => {
    expect(all.length).toBe(4 * (29000 + 1014 + 1000));
    expect(tok.vocabSize).toBe(4000);
    let tokens = 0;
    const bad: string[] = [];
    for (const s of all) {
      const ids = tok.encode(s);
      tokens += ids.length;
      if (tok.decode(ids) !== normalize(s)) bad.push(s);
    }
    expect(bad.slice(0, 5)).toEqual([]);
    // A sanity bound on compression: Multi30k sentences are ~12 words.
    expect(tokens / all.length).toBeLessThan(25);
  });
});
