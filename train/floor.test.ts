// Regression guard for every bundled model (models/*/ with a config.json): each direction it serves scores
// above the floor in its floor.json on the first lines of its recipe's valid data (train/floor.ts). The data
// comes from $MT_DATA, else ../shared/data; missing data or a missing floor fails, never skips.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from './model-dir.ts';
import { bundledModels } from './paths.ts';
import { belowFloor, readFloor, sampleScores, validSamples } from './floor.ts';

const models = bundledModels();

describe('bundled models stay above their BLEU floors', () => {
  it('there is a bundled model to guard', () => expect(models.map((m) => m.name)).toContain('multi30k'));

  for (const { name, dir } of models) {
    it(`${name}: every direction it serves, on its recipe's valid data`, async () => {
      const floor = readFloor(dir);
      const served = readModelDir(dir).meta.directions.map(([s, t]) => `${s}-${t}`);
      expect(Object.keys(floor.bleu).sort(), `${dir}/floor.json has a floor for every direction the model serves`).toEqual([...served].sort());
      const samples = validSamples(name, floor.lines);
      for (const d of served) expect(samples.get(d)?.src.length, `${floor.lines} valid pairs of ${d}`).toBe(floor.lines);
      const scores = await sampleScores(dir, samples, floor.beam);
      const measured = Object.entries(scores).map(([d, s]) => `${d} ${s.toFixed(2)}`).join(', ');
      expect(belowFloor(scores, floor), `cased BLEU on ${floor.lines} valid lines, beam ${floor.beam}: ${measured}`).toEqual([]);
      // The same check fails for a floor one BLEU above what the model scores.
      const above = { ...floor, bleu: Object.fromEntries(served.map((d) => [d, scores[d] + 1])) };
      expect(belowFloor(scores, above)).toHaveLength(served.length);
    }, 600_000);
  }

  it('reads floor.json strictly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'floor-'));
    expect(() => readFloor(dir)).toThrow(/floor.json is missing/);
    const write = (o: object) => writeFileSync(join(dir, 'floor.json'), JSON.stringify(o));
    write({ lines: 100, beam: 1, bleu: { 'en-de': 30 } });
    expect(readFloor(dir)).toEqual({ lines: 100, beam: 1, bleu: { 'en-de': 30 } });
    write({ lines: 0, beam: 1, bleu: { 'en-de': 30 } });
    expect(() => readFloor(dir)).toThrow(/"lines"/);
    write({ lines: 100, beam: 1, bleu: { 'en-de': '30' } });
    expect(() => readFloor(dir)).toThrow(/"en-de"/);
    expect(belowFloor({ 'en-de': 31 }, { lines: 1, beam: 1, bleu: { 'en-de': 30, 'de-en': 30 } })).toEqual(['de-en: no score <= 30']);
  });
});
