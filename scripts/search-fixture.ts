// Writes model/search.fixture.json: the bundled model's translations of the first SAMPLE sentences of
// Multi30k test_2016_flickr in both directions, greedy, beam 4 and beam 4 reranked, as the engine gives
// them now. model/search.test.ts checks the engine still gives exactly these, so a change to the search
// (or the kernels under it) that alters a single output shows. Rerun after changing the bundled model:
//   node scripts/search-fixture.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadKernels } from '../kernels/node.ts';
import { createEngine } from '../model/translator.ts';
import type { TranslateOptions } from '../model/engine.ts';
import { readLines, splitFile } from '../train/data.ts';
import { readModelDir } from '../train/model-dir.ts';
import { defaultModelDir, multi30kDir } from '../train/paths.ts';

export const SAMPLE = 100;
export const FIXTURE = fileURLToPath(new URL('../model/search.fixture.json', import.meta.url));

// The requests the fixture holds, by name.
export const RUNS: Record<string, Omit<TranslateOptions, 'source' | 'target'>> = {
  greedy: { beam: 1 },
  beam4: { beam: 4 },
  beam4_rerank: { beam: 4, rerank: true },
};

export interface SearchFixture {
  sample: number;
  // direction "en-de" -> run name -> translations
  outputs: Record<string, Record<string, string[]>>;
}

export function sampleSource(lang: string): string[] {
  return readLines(splitFile(multi30kDir(), 'test_2016_flickr', lang)).slice(0, SAMPLE);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const engine = createEngine(readModelDir(defaultModelDir()), loadKernels('simd'));
  const fixture: SearchFixture = { sample: SAMPLE, outputs: {} };
  for (const [source, target] of [['en', 'de'], ['de', 'en']]) {
    const src = sampleSource(source);
    const runs: Record<string, string[]> = {};
    for (const [name, o] of Object.entries(RUNS)) runs[name] = (await engine.translate(src, { source, target, ...o })).map((r) => r.text);
    fixture.outputs[`${source}-${target}`] = runs;
  }
  writeFileSync(FIXTURE, JSON.stringify(fixture, null, 1) + '\n');
  console.log(`wrote ${FIXTURE}`);
}
