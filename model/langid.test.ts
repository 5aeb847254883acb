// The language detector: trained on the general corpora's training side, measured on their valid files;
// its JSON round trip answers exactly as the trained detector; the bundled models/langid.json is the one
// `mt langid` writes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { langidAccuracy, langidTexts } from '../train/commands/langid.ts';
import { defaultDataRoot } from '../train/mix.ts';
import { LanguageDetector } from './langid.ts';

const GENERAL = join(defaultDataRoot(), 'general');
const BUNDLED = fileURLToPath(new URL('../models/langid.json', import.meta.url));

describe('LanguageDetector', () => {
  it('tells the five languages apart on the valid files (trained on 5k sentences each)', () => {
    expect(existsSync(GENERAL), `general corpora in ${GENERAL} ($MT_DATA)`).toBe(true);
    const det = LanguageDetector.train(langidTexts(GENERAL, 'train', 5000), { buckets: 1 << 14 });
    const acc = langidAccuracy(det, langidTexts(GENERAL, 'valid', Infinity));
    expect(acc.map((a) => a.language).sort()).toEqual(['cs', 'de', 'en', 'es', 'fr']);
    for (const a of acc) expect(a.accuracy, a.language).toBeGreaterThan(94);
    const again = LanguageDetector.fromJSON(JSON.stringify(det.toJSON()));
    for (const s of ['Das ist gut.', 'Où est la gare ?', '¿Dónde está la estación?', 'Kde je nádraží?', 'Where is it?', 'ok']) {
      expect(again.detect(s)).toEqual(det.detect(s));
    }
  });

  it('answers everyday sentences with the bundled detector, within a subset when asked', () => {
    const det = LanguageDetector.fromJSON(readFileSync(BUNDLED, 'utf8'));
    const cases: Array<[string, string]> = [
      ['Thank you very much for your help!', 'en'],
      ['Könnten Sie mir sagen, wo der Bahnhof ist?', 'de'],
      ['Je voudrais réserver une table pour deux personnes.', 'fr'],
      ['¿Puedes ayudarme con mi equipaje, por favor?', 'es'],
      ['Děkuji vám za pomoc, bylo to velmi milé.', 'cs'],
    ];
    for (const [text, lang] of cases) expect(det.detect(text)?.language, text).toBe(lang);
    const d = det.detect('Danke schön!')!;
    expect(d.confidence).toBeGreaterThan(0.5);
    expect(Object.values(d.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(det.detect('Guten Morgen', ['en', 'fr'])?.language).toMatch(/^(en|fr)$/);
    expect(det.detect('1234 !!!')).toBeUndefined();
    expect(det.detect('')).toBeUndefined();
  });

  it('refuses a broken file with the reason', () => {
    expect(() => LanguageDetector.fromJSON({ type: 'other' })).toThrow(/type must be "edge-mt-langid"/);
    const j = JSON.parse(readFileSync(BUNDLED, 'utf8'));
    expect(() => LanguageDetector.fromJSON({ ...j, buckets: 1000 })).toThrow(/power of two/);
    expect(() => LanguageDetector.fromJSON({ ...j, table: j.table.slice(0, 100) })).toThrow(/table has \d+ entries/);
  });
});
