// The bundled default model (models/multi30k): it loads, it is int8, beam search takes its tuned length
// penalty, reranking helps, and a worst-case request keeps the wasm memory far inside a Worker's 128 MB.
// Its BLEU floor, like every bundled model's, is train/floor.test.ts's.
import { describe, expect, it } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { DECODE_DEFAULTS } from '../model/decode.ts';
import { createEngine } from '../model/translator.ts';
import { corpusBleu } from './bleu.ts';
import { readLines, splitFile } from './data.ts';
import { readModelDir } from './model-dir.ts';
import { defaultModelDir, multi30kDir } from './paths.ts';

const SAMPLE = 200;

describe('bundled default model', () => {
  const files = readModelDir(defaultModelDir());
  const kernels = loadKernels('simd');
  const engine = createEngine(files, kernels);

  it('is the int8 model with its tokenizer and directions', () => {
    expect(files.weights.byteLength).toBeLessThan(4_000_000);
    expect(engine.info.directions).toEqual(expect.arrayContaining([['en', 'de'], ['de', 'en']]));
  });

  it("beam search takes the config's length penalty when a request sets none", async () => {
    const source = readLines(splitFile(multi30kDir(), 'test_2016_flickr', 'en')).slice(0, 40);
    const text = async (e: typeof engine, alpha?: number) => (await e.translate(source, { source: 'en', target: 'de', beam: 4, alpha })).map((r) => r.text);
    const [flat, strong] = [await text(engine, 0), await text(engine, 3)];
    expect(flat).not.toEqual(strong); // alpha matters for these sentences, so the checks below can fail
    expect(await text(engine)).toEqual(await text(engine, files.meta.alpha ?? DECODE_DEFAULTS.alpha));
    const tuned = createEngine({ ...files, config: { ...files.meta, alpha: 3 } }, loadKernels('simd'));
    expect(await text(tuned)).toEqual(strong);
    expect(await text(tuned, 0)).toEqual(flat);
  });

  it('reranking with the reverse direction changes some choices and scores no lower than the plain beam on 200 sentences en->de', async () => {
    const dir = multi30kDir();
    const source = readLines(splitFile(dir, 'test_2016_flickr', 'en')).slice(0, SAMPLE);
    const refs = readLines(splitFile(dir, 'test_2016_flickr', 'de')).slice(0, SAMPLE);
    const run = async (o: object) => (await engine.translate(source, { source: 'en', target: 'de', beam: DECODE_DEFAULTS.rerankBeam, ...o })).map((r) => r.text);
    const [plain, reranked] = [await run({}), await run({ rerank: true })]; // the config's weight
    const changed = plain.filter((t, i) => t !== reranked[i]).length;
    const [b0, b1] = [corpusBleu(plain, refs).score, corpusBleu(reranked, refs).score];
    expect(changed, `${changed} changed`).toBeGreaterThan(10);
    expect(b1, `plain ${b0.toFixed(2)}, reranked ${b1.toFixed(2)}`).toBeGreaterThanOrEqual(b0);
  });

  it('keeps a worst-case request (max-length sentences, beam 8, reranked too) under 64 MiB of wasm memory', async () => {
    const long = Array.from({ length: 8 }, (_, i) => `${'A very long sentence about a man who walks a dog in the park '.repeat(25)} ${i}`);
    await engine.translate(long, { source: 'en', target: 'de', beam: 8 });
    await engine.translate(long, { source: 'en', target: 'de', beam: 8, rerank: true, rerankWeight: 0.5 });
    expect(kernels.memory.buffer.byteLength).toBeLessThan(64 * 2 ** 20);
  });
});
