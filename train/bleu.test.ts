import { describe, expect, test } from 'vitest';
import { computeBleu, corpusBleu, corpusChrf, tokenize13a } from './bleu.ts';

// Values marked "sacreBLEU" were printed by sacreBLEU 2.6.0 (BLEU() and CHRF() with defaults) on the
// same inputs; the others are worked out by hand in the comments.
const CLOSE = 12; // decimal digits: JS and Python may differ in the last ulp of exp/log

describe('tokenize13a', () => {
  test('splits punctuation, keeps decimals and thousands, unescapes entities', () => {
    expect(tokenize13a('Hello, world! It costs $3.50 (approx.) &quot;cheap&quot;.')).toBe(
      'Hello , world ! It costs $ 3.50 ( approx . ) " cheap " .',
    );
    // period/comma inside numbers stay; dash after a digit splits; a dash between letters stays.
    expect(tokenize13a('In 1,000.5 cases, 5-6 men said: "no." U.S.A. e-mail <skipped>x')).toBe(
      'In 1,000.5 cases , 5 - 6 men said : " no . " U . S . A . e-mail x',
    );
    // '-\n' joins, '\n' is a space, &amp; &lt; &gt; unescape.
    expect(tokenize13a('A&amp;B &lt;tag&gt; co-\noperate\nline')).toBe('A & B < tag > cooperate line');
    expect(tokenize13a("it's 10:30, isn't it?")).toBe("it's 10 : 30 , isn't it ?");
    expect(tokenize13a('  ')).toBe('');
  });
});

describe('corpusBleu', () => {
  test('worked example: one 4-gram order without matches, exp smoothing', () => {
    // hyp: the cat sat on the mat | ref: the cat is on the mat (6 tokens each, BP = 1)
    // 1-grams: the x2, cat, on, mat match; sat does not          -> 5/6 = 83.33
    // 2-grams: "the cat", "on the", "the mat" of 5               -> 3/5 = 60
    // 3-grams: "on the mat" of 4                                 -> 1/4 = 25
    // 4-grams: none of 3 -> exp smoothing: 100 / (2^1 * 3)       -> 16.67
    // BLEU = (83.33 * 60 * 25 * 16.67)^(1/4) = 2083333.3^(1/4)  = 37.9918 (sacreBLEU: 37.99178428257963)
    const b = corpusBleu(['the cat sat on the mat'], ['the cat is on the mat']);
    expect(b.counts).toEqual([5, 3, 1, 0]);
    expect(b.totals).toEqual([6, 5, 4, 3]);
    expect(b.precisions[0]).toBeCloseTo(500 / 6, CLOSE);
    expect(b.precisions.slice(1)).toEqual([60, 25, 100 / 6]);
    expect(b.bp).toBe(1);
    expect([b.sysLen, b.refLen]).toEqual([6, 6]);
    expect(b.score).toBeCloseTo(Math.pow((500 / 6) * 60 * 25 * (100 / 6), 0.25), CLOSE);
    expect(b.score).toBeCloseTo(37.99178428257963, CLOSE);
  });

  test('worked example: two orders without matches double the smoothing divisor', () => {
    // hyp: a b c d e | ref: a b e d c
    // 1-grams 5/5 = 100; 2-grams: only "a b" of 4 = 25
    // 3-grams 0 of 3 -> 100 / (2 * 3) = 16.67; 4-grams 0 of 2 -> 100 / (4 * 2) = 12.5
    // BLEU = (100 * 25 * 16.67 * 12.5)^(1/4) = 520833.3^(1/4) = 26.864 (sacreBLEU: 26.86424829558855)
    const b = corpusBleu(['a b c d e'], ['a b e d c']);
    expect(b.counts).toEqual([5, 1, 0, 0]);
    expect(b.precisions).toEqual([100, 25, 100 / 6, 12.5]);
    expect(b.score).toBeCloseTo(Math.pow(100 * 25 * (100 / 6) * 12.5, 0.25), CLOSE);
    expect(b.score).toBeCloseTo(26.86424829558855, CLOSE);
  });

  test('worked example: brevity penalty', () => {
    // hyp: the cat sat on (4) | ref: the cat sat on the mat (6): all precisions 100
    // BP = exp(1 - 6/4) = exp(-0.5) = 0.60653; BLEU = 60.653 (sacreBLEU: 60.653065971263366)
    const b = corpusBleu(['the cat sat on'], ['the cat sat on the mat']);
    expect(b.precisions).toEqual([100, 100, 100, 100]);
    expect(b.bp).toBeCloseTo(Math.exp(-0.5), CLOSE);
    expect(b.score).toBeCloseTo(60.653065971263366, CLOSE);
  });

  test('statistics are summed over the corpus before the score', () => {
    // Segment 1 is perfect (6/5/4/3), segment 2 "a dog" vs "a dog runs" adds 2/1/0/0.
    // Precisions all 100 (8/8, 6/6, 4/4, 3/3); BP = exp(1 - 9/8) = 0.8825 (sacreBLEU: 88.24969025845958)
    const b = corpusBleu(['the cat sat on the mat', 'a dog'], ['the cat sat on the mat', 'a dog runs']);
    expect(b.counts).toEqual([8, 6, 4, 3]);
    expect(b.totals).toEqual([8, 6, 4, 3]);
    expect([b.sysLen, b.refLen]).toEqual([8, 9]);
    expect(b.score).toBeCloseTo(100 * Math.exp(1 - 9 / 8), CLOSE);
  });

  test('known sacreBLEU behaviours', () => {
    // Perfect match: 100 (sacreBLEU prints 100.00000000000004: exp(log 100)).
    expect(corpusBleu(['The cat, sat.'], ['The cat, sat.']).score).toBeCloseTo(100, CLOSE);
    // Tokenization makes "mat." and "mat ." the same.
    expect(corpusBleu(['the cat sat on the mat.'], ['the cat sat on the mat .']).score).toBeCloseTo(100, CLOSE);
    // Empty hypotheses: BP 0, score 0.
    const e = corpusBleu(['', ''], ['the cat', 'a dog']);
    expect([e.score, e.bp, e.sysLen, e.refLen]).toEqual([0, 0, 0, 4]);
    // No matching n-gram at all: 0, precisions all 0.
    const z = corpusBleu(['x y z w'], ['a b c d']);
    expect([z.score, ...z.precisions]).toEqual([0, 0, 0, 0, 0]);
    // Fewer than 4 tokens in the whole corpus: no 4-grams, precision 0, score 0 (no effective order).
    const s = corpusBleu(['the cat'], ['the cat']);
    expect(s.score).toBe(0);
    expect(s.precisions).toEqual([100, 100, 0, 0]);
    // Cased by default; lowercase is opt-in.
    // Cased: 4/6, 3/5, 2/4, 1/3 -> (66.67 * 60 * 50 * 33.33)^(1/4) = 50.813 (sacreBLEU: 50.81327481546149)
    expect(corpusBleu(['The Cat sat on the mat'], ['the cat sat on the mat']).score).toBeCloseTo(50.81327481546149, CLOSE);
    expect(corpusBleu(['The Cat sat on the mat'], ['the cat sat on the mat'], { lowercase: true }).score).toBeCloseTo(100, CLOSE);
    // Trailing whitespace is ignored (rstrip), inner whitespace runs are one separator.
    expect(corpusBleu(['the  cat sat\ton the mat \n'], ['the cat sat on the mat']).score).toBeCloseTo(100, CLOSE);
    expect(() => corpusBleu(['a'], [])).toThrow(/1 hypotheses but 0 references/);
  });

  test('computeBleu from statistics', () => {
    // counts with a zero order in the middle: p = 50, 100/(2*4) = 12.5, 25, 100/(4*2) = 12.5
    const b = computeBleu([5, 0, 1, 0], [10, 4, 4, 2], 10, 10);
    expect(b.precisions).toEqual([50, 12.5, 25, 12.5]);
    expect(b.score).toBeCloseTo(Math.pow(50 * 12.5 * 25 * 12.5, 0.25), CLOSE);
  });
});

describe('corpusChrf', () => {
  test('worked examples', () => {
    // hyp "ab", ref "abc":
    //   1-grams: hyp {a,b}=2, ref {a,b,c}=3, match 2;  2-grams: hyp {ab}=1, ref {ab,bc}=2, match 1
    //   3-grams: hyp none -> order not counted; 4..6: no reference n-grams -> not counted
    //   P = (2/2 + 1/1)/2 = 1, R = (2/3 + 1/2)/2 = 7/12
    //   F2 = 5PR / (4P + R) = (35/12) / (55/12) = 7/11 -> 63.64 (sacreBLEU: 63.636363636363626)
    expect(corpusChrf(['ab'], ['abc']).score).toBeCloseTo(700 / 11, CLOSE);
    // hyp "aab", ref "ab": 1-grams hyp 3, ref 2, match 2 (a clipped to 1); 2-grams hyp {aa,ab}, ref {ab}: 1
    //   P = (2/3 + 1/2)/2 = 7/12, R = (1 + 1)/2 = 1 -> F2 = (35/12) / (28/12 + 1) = 0.875
    expect(corpusChrf(['aab'], ['ab']).score).toBeCloseTo(87.5, CLOSE);
  });

  test('known sacreBLEU behaviours', () => {
    expect(corpusChrf(['a b'], ['ab']).score).toBe(100); // whitespace is removed
    expect(corpusChrf([''], ['abc']).score).toBe(0);
    expect(corpusChrf(['the cat sat on the mat'], ['the cat is on the mat']).score).toBeCloseTo(64.5779420625287, CLOSE);
    // Statistics summed over segments, non-ASCII counted by character (sacreBLEU: 35.84606190817824).
    expect(corpusChrf(['Der Hund läuft.', 'Ein Mann'], ['Der Hund rennt.', 'Eine Frau']).score).toBeCloseTo(35.84606190817824, CLOSE);
    // Astral characters are one character each, as in Python.
    expect(corpusChrf(['😀😀'], ['😀😀']).score).toBe(100);
  });
});
