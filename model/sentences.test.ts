import { describe, expect, test } from 'vitest';
import { fitSentence, splitSentences } from './sentences.ts';

const texts = (s: string): string[] => splitSentences(s).map((x) => x.text);
const join = (s: string): string => splitSentences(s).map((x) => x.text + x.sep).join('');

describe('splitSentences', () => {
  test('splits after . ! ? … followed by whitespace, keeping the whitespace as sep', () => {
    expect(splitSentences('Hello world.  How are you? Fine!\tThanks… Bye')).toEqual([
      { text: 'Hello world.', sep: '  ' },
      { text: 'How are you?', sep: ' ' },
      { text: 'Fine!', sep: '\t' },
      { text: 'Thanks…', sep: ' ' },
      { text: 'Bye', sep: '' },
    ]);
    expect(texts('Wait... What?! "Yes." (Really.) Ok')).toEqual(['Wait...', 'What?!', '"Yes."', '(Really.)', 'Ok']);
  });

  test('splits at line breaks, with the surrounding whitespace as sep', () => {
    expect(splitSentences('  Title\n\nFirst line  \r\n  second line\n')).toEqual([
      { text: '', sep: '  ' },
      { text: 'Title', sep: '\n\n' },
      { text: 'First line', sep: '  \r\n  ' },
      { text: 'second line', sep: '\n' },
    ]);
  });

  test('keeps abbreviations, initials and decimals intact', () => {
    expect(texts('Mr. Smith met Dr. Jones at 3.14 p.m. today. Then he left.')).toEqual([
      'Mr. Smith met Dr. Jones at 3.14 p.m. today.',
      'Then he left.',
    ]);
    expect(texts('Wir brauchen z.B. Brot, Milch usw. und Käse. Am 1. mai geht es los.')).toEqual([
      'Wir brauchen z.B. Brot, Milch usw. und Käse.',
      'Am 1. mai geht es los.',
    ]);
    expect(texts('J. R. R. Tolkien wrote it, e.g. The Hobbit. M. Dupont agreed.')).toEqual([
      'J. R. R. Tolkien wrote it, e.g. The Hobbit.',
      'M. Dupont agreed.',
    ]);
    expect(texts('See No. 5 and Nr. 7. I said no. Then apples, pears etc. Finally U.S.A. It works.')).toEqual([
      'See No. 5 and Nr. 7.',
      'I said no.',
      'Then apples, pears etc.',
      'Finally U.S.A.',
      'It works.',
    ]);
    expect(texts('Je to např. pes, tj. zvíře. Mme. Curie était là.')).toEqual(['Je to např. pes, tj. zvíře.', 'Mme. Curie était là.']);
  });

  test('splits after CJK full stops, with or without a following space', () => {
    expect(splitSentences('你好。我很好！你呢？ 好。')).toEqual([
      { text: '你好。', sep: '' },
      { text: '我很好！', sep: '' },
      { text: '你呢？', sep: ' ' },
      { text: '好。', sep: '' },
    ]);
    expect(texts('「行こう。」彼は言った。')).toEqual(['「行こう。」', '彼は言った。']);
  });

  test('edge cases', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences(' \n ')).toEqual([{ text: '', sep: ' \n ' }]);
    expect(splitSentences('One.')).toEqual([{ text: 'One.', sep: '' }]);
    expect(splitSentences('One. ')).toEqual([{ text: 'One.', sep: ' ' }]);
    expect(texts('A sentence. 😀 Emoji next.')).toEqual(['A sentence.', '😀 Emoji next.']);
  });

  test('concatenating text + sep always gives back the input', () => {
    let seed = 12345;
    const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const parts = ['word', 'Mr.', 'e.g.', '3.14', '.', '!', '?', '…', '。', '"', ')', ' ', '  ', '\n', '\r\n', '\t', 'X', 'é', '😀', '\u3000', '\u00a0'];
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(next() * 30);
      for (let k = 0; k < n; k++) s += parts[Math.floor(next() * parts.length)];
      const segs = splitSentences(s);
      expect(join(s)).toBe(s);
      segs.forEach((seg, k) => {
        expect(seg.text).toBe(seg.text.trim());
        expect(seg.sep.trim()).toBe('');
        if (k > 0) expect(seg.text).not.toBe('');
      });
    }
  });
});

describe('fitSentence', () => {
  const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
  const glue = (segs: Array<{ text: string; sep: string }>) => segs.map((s) => s.text + s.sep).join('');

  test('a sentence that fits is one piece', () => {
    expect(fitSentence('a b c', 3, words)).toEqual([{ text: 'a b c', sep: '', tokens: 3 }]);
  });

  test('splits after clause punctuation first, packing clauses while they fit', () => {
    const s = 'one two, three four; five six: seven';
    const pieces = fitSentence(s, 4, words);
    expect(pieces.map((p) => p.text)).toEqual(['one two, three four;', 'five six: seven']);
    expect(glue(pieces)).toBe(s);
  });

  test('then at whitespace, losslessly, every piece within the limit', () => {
    const s = Array.from({ length: 23 }, (_, i) => `w${i}`).join('  ');
    const pieces = fitSentence(s, 5, words);
    expect(glue(pieces)).toBe(s);
    expect(pieces.every((p) => p.tokens <= 5 && words(p.text) === p.tokens)).toBe(true);
    expect(pieces).toHaveLength(5);
  });

  test('a clause too long for the limit is cut at whitespace, keeping the clause separator', () => {
    const pieces = fitSentence('a b c d e f, g', 3, words);
    expect(pieces.map((p) => [p.text, p.sep])).toEqual([['a b c', ' '], ['d e f,', ' '], ['g', '']]);
  });

  test('one word longer than the limit stays one piece, counted as it is', () => {
    const chars = (s: string) => s.length;
    const pieces = fitSentence('ab cdefgh ij', 4, chars);
    expect(pieces.map((p) => p.text)).toEqual(['ab', 'cdefgh', 'ij']);
    expect(pieces[1].tokens).toBe(6);
  });
});
