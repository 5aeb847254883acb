import { describe, expect, test } from 'vitest';
import type { SentenceResult } from './engine.ts';
import { flagsOf, mergeFlags, translationBody } from './response.ts';
import type { TextResult } from './texts.ts';

const text = (translation: string, flags: Partial<TextResult> = {}, result: SentenceResult = { text: translation }): TextResult => ({
  translation, sentences: [{ source: 'src', result }], truncated: false, lengthLimited: false, ...flags,
});
const direct = { source: 'en', target: 'de', model: 'ende', version: 'v1' };
const second = { source: 'en', target: 'fr', model: 'enfr', version: 'v7' };

describe('translationBody', () => {
  test('one text or a batch, named by its model; flags only when some text has them', () => {
    expect(translationBody([text('Hallo')], { batch: false, alignments: false, legs: [direct] })).toEqual({ translation: 'Hallo', model: 'ende', version: 'v1' });
    const results = [text('a'), text('b', { lengthLimited: true }), text('c', { truncated: true, lengthLimited: true })];
    expect(translationBody(results, { batch: true, alignments: false, legs: [direct] })).toEqual({
      translations: ['a', 'b', 'c'], model: 'ende', version: 'v1', truncated: [2], lengthLimited: [1, 2],
    });
  });

  test('through a pivot: both legs named, and a text flagged by the first leg stays flagged', () => {
    const body = translationBody([text('x'), text('y')], {
      batch: true, alignments: false, legs: [{ ...direct, source: 'de', target: 'en' }, second], pivot: 'en',
      earlier: [flagsOf([text('x'), text('y', { lengthLimited: true })])],
      detected: { language: 'de', confidence: 0.98765, scores: { de: 0.98765 } },
    });
    expect(body).toMatchObject({ model: 'ende+enfr', version: 'v1+v7', pivot: 'en', lengthLimited: [1], detected: { language: 'de', confidence: 0.988 } });
    expect(body.legs).toHaveLength(2);
    expect(body).not.toHaveProperty('truncated');
  });

  test('alignments per sentence, a text\'s or each text\'s', () => {
    const aligned = text('Hallo', {}, { text: 'Hallo', sourceTokens: ['▁Hello'], targetTokens: ['▁Hallo', '</s>'], alignment: [[1], [1]] });
    const one = { source: 'src', sourceTokens: ['▁Hello'], targetTokens: ['▁Hallo', '</s>'], alignment: [[1], [1]] };
    expect(translationBody([aligned], { batch: false, alignments: true, legs: [direct] }).alignments).toEqual([one]);
    expect(translationBody([aligned], { batch: true, alignments: true, legs: [direct] }).alignments).toEqual([[one]]);
  });

  test('mergeFlags: each text once, in order', () => {
    expect(mergeFlags([{ truncated: [3, 1] }, { truncated: [1], lengthLimited: [0] }, {}])).toEqual({ truncated: [1, 3], lengthLimited: [0] });
    expect(mergeFlags([{}, { truncated: [] }])).toEqual({});
  });
});
