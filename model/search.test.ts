// Beam search on the bundled model gives exactly the translations stored in search.fixture.json (written by
// scripts/search-fixture.ts before the search step moved into the logsoftmax_topk kernel), greedy, beam 4
// and beam 4 reranked, both directions, on a sample of Multi30k test_2016_flickr ($MULTI30K_DIR). The weights
// are read in odd-sized chunks straight into wasm memory (model/weights-reader.ts), as the worker streams them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { FIXTURE, RUNS, SAMPLE, sampleSource, type SearchFixture } from '../scripts/search-fixture.ts';
import { openModelDir } from '../train/model-dir.ts';
import { defaultModelDir } from '../train/paths.ts';
import { createEngine } from './translator.ts';

describe('beam search on the bundled model', () => {
  const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as SearchFixture;
  const engine = createEngine(openModelDir(defaultModelDir(), 65_537), loadKernels('simd'));

  it('the fixture is of this sample', () => expect(fixture.sample).toBe(SAMPLE));

  for (const [dir, runs] of Object.entries(fixture.outputs)) {
    const [source, target] = dir.split('-');
    for (const name of Object.keys(RUNS)) {
      it(`${dir} ${name}: the same ${SAMPLE} translations`, async () => {
        const got = (await engine.translate(sampleSource(source), { source, target, ...RUNS[name] })).map((r) => r.text);
        const diff = got.flatMap((g, i) => (g === runs[name][i] ? [] : [`[${i}] ${JSON.stringify(g)} (was ${JSON.stringify(runs[name][i])})`]));
        expect(diff, `${diff.length} differ`).toEqual([]);
      });
    }
  }
});
