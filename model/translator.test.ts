// The Engine on a micro model with random weights: batching, streaming, alignments and errors behave.
import { describe, expect, it } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { readModelDir } from '../train/model-dir.ts';
import { defaultModelDir } from '../train/paths.ts';
import { DECODE_DEFAULTS } from './decode.ts';
import { UnsupportedError } from './engine.ts';
import { createEngine } from './translator.ts';
import { microModelFiles } from './testing.ts';

describe('translator engine', () => {
  const engine = createEngine(microModelFiles(), loadKernels('simd'));
  const opts = { source: 'en', target: 'de', beam: 3 };

  it('reports what the model is', () => {
    expect(engine.info).toMatchObject({ name: 'micro', version: 'v1', languages: ['en', 'de'] });
    expect(engine.info.parameters).toBeGreaterThan(1000);
  });

  it('a batch gives the same translations as one sentence at a time', async () => {
    const sents = ['a man rides', 'two dogs play in the snow .', '', 'a horse'];
    const batch = await engine.translate(sents, opts);
    const single = await Promise.all(sents.map(async (s) => (await engine.translate([s], opts))[0]));
    expect(batch.map((r) => r.text)).toEqual(single.map((r) => r.text));
    expect(batch[2].text).toBe('');
    // Random weights still decode to some bounded output: the length limit is source + 50.
    for (const r of batch) expect(r.text.length).toBeLessThan(2000);
  });

  it('streams pieces that add up to the final translation', async () => {
    for (const beam of [1, 3]) {
      const pieces: string[] = [];
      const res = await engine.translateStream('two dogs play', { ...opts, beam }, (p) => pieces.push(p));
      expect(pieces.join('')).toBe(res.text);
      expect(res.text).toBe((await engine.translate(['two dogs play'], { ...opts, beam }))[0].text);
    }
  });

  it('a short call made while a long sentence streams runs at its next pause, with the result it has alone', async () => {
    // eos never chosen: the long sentence decodes to its bound (63 steps), the short one to source + 50.
    const never = createEngine(microModelFiles(1, {}, -100), loadKernels('simd'));
    const long = 'two dogs play in the snow . a man rides a horse .';
    const short = ['a man', 'two dogs'];
    for (const o of [{ ...opts, beam: 1 }, { ...opts, alignments: true }]) {
      const alone = await never.translate(short, o);
      const longAlone = await never.translateStream(long, o, () => {});
      let streamed = false;
      const streaming = never.translateStream(long, o, () => {}).finally(() => (streamed = true));
      await new Promise((r) => setTimeout(r, 0)); // the stream has made its first step and paused
      const nested = await never.translate(short, o);
      expect(streamed).toBe(false); // it did not wait for the stream's 60-odd steps
      expect(nested).toEqual(alone);
      expect(await streaming).toEqual(longAlone);
    }
  });

  it('a reranked call made while a sentence streams waits for the stream (its reverse pass has no bound there)', async () => {
    const never = createEngine(microModelFiles(1, {}, -100), loadKernels('simd'));
    const o = { ...opts, beam: 1 };
    const alone = await never.translate(['a man'], { ...o, rerank: true });
    let streamed = false;
    const streaming = never.translateStream('two dogs play in the snow .', o, () => {}).finally(() => (streamed = true));
    await new Promise((r) => setTimeout(r, 0));
    const reranked = await never.translate(['a man'], { ...o, rerank: true });
    expect(streamed).toBe(true);
    expect(reranked).toEqual(alone);
    await streaming;
  });

  it('returns cross-attention alignments as probability rows', async () => {
    const [r] = await engine.translate(['a man rides a horse .'], { ...opts, alignments: true });
    expect(r.sourceTokens!.length).toBeGreaterThan(2);
    expect(r.alignment!.length).toBe(r.targetTokens!.length);
    for (const row of r.alignment!) {
      expect(row.length).toBe(r.sourceTokens!.length);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    }
    expect(r.layers!.length).toBe(2);
  });

  it('flags a translation that stopped at the output length bound, not one the model ended', async () => {
    const sentence = 'a man rides a horse .';
    // maxLen 12: at most 11 output tokens, however long the source.
    const never = createEngine(microModelFiles(1, { maxLen: 12 }, -100), loadKernels('simd'));
    const ends = createEngine(microModelFiles(1, { maxLen: 12 }, 100), loadKernels('simd'));
    for (const beam of [1, 3]) {
      const [cut] = await never.translate([sentence], { ...opts, beam });
      expect(cut.lengthLimited).toBe(true);
      expect(cut.text).not.toBe('');
      const streamed = await never.translateStream(sentence, { ...opts, beam }, () => {});
      expect(streamed).toEqual(cut);
      const [done] = await ends.translate([sentence], { ...opts, beam });
      expect([done.text, done.lengthLimited]).toEqual(['', undefined]);
      // The rule reads the bound, not a fixed length: a shorter source bounds the output at its length + 50,
      // which a maxLen-64 model reaches first.
      const [long] = await createEngine(microModelFiles(1, {}, -100), loadKernels('simd')).translate(['a'], { ...opts, beam });
      expect(long.lengthLimited).toBe(true);
    }
  });

  it('rejects unknown languages and directions with the supported list', async () => {
    await expect(engine.translate(['x'], { ...opts, target: 'fr' })).rejects.toThrow(UnsupportedError);
    await expect(engine.translate(['x'], { ...opts, target: 'fr' })).rejects.toThrow(/supported: en, de/);
    await expect(engine.translate(['x'], { ...opts, source: 'de', target: 'de' })).rejects.toThrow(/direction de-de/);
  });

  it('rejects a config length penalty that is not a number >= 0', () => {
    const files = microModelFiles();
    for (const alpha of [-1, 'x', null]) {
      expect(() => createEngine({ ...files, config: { ...(files.config as object), alpha } as never }, loadKernels('simd'))).toThrow(/config.alpha must be a number >= 0/);
    }
  });

  it('refuses weights that do not match the config', () => {
    const files = microModelFiles();
    expect(() => createEngine({ ...files, weights: files.weights.slice(0, 100) }, loadKernels('simd'))).toThrow(/safetensors/);
    expect(() => createEngine({ ...files, config: { ...(files.config as object), dModel: 32 } as never }, loadKernels('simd'))).toThrow(/shape/);
  });
});

// Wasm memory never shrinks: a request may grow it once, by at most the scratch budget beyond the weights
// (batches are cut to fit: DecodeConfig.scratchBytes), and the next request reuses what it grew.
describe('translator engine memory', () => {
  it('a heavy request grows wasm memory by at most scratchBytes; a second one does not grow it', async () => {
    const kernels = loadKernels('simd');
    const engine = createEngine(readModelDir(defaultModelDir()), kernels);
    const loaded = kernels.memory.buffer.byteLength;
    const words = 'a man in a blue shirt and two dogs play in the snow near the red house while children watch'.split(' ');
    const long = (n: number) => Array.from({ length: 60 }, (_, i) => words[(i * 7 + n) % words.length]).join(' ');
    const heavy = Array.from({ length: 3 }, (_, n) => long(n));
    const options = { source: 'en', target: 'de', beam: 4, alignments: true };
    await engine.translate(heavy, options);
    const grown = kernels.memory.buffer.byteLength;
    expect(grown - loaded).toBeLessThanOrEqual(DECODE_DEFAULTS.scratchBytes + 65536);
    await engine.translate(heavy, options);
    expect(kernels.memory.buffer.byteLength).toBe(grown);
  });

  it('a heavy call nested in a stream\'s pause stays within the same budget, above the stream\'s state', async () => {
    const kernels = loadKernels('simd');
    const engine = createEngine(readModelDir(defaultModelDir()), kernels);
    const loaded = kernels.memory.buffer.byteLength;
    const options = { source: 'en', target: 'de', beam: 4, alignments: true };
    const heavy = [0, 1, 2].map((n) => Array.from({ length: 60 }, (_, i) => `word${(i * 7 + n) % 23}`).join(' '));
    const alone = await createEngine(readModelDir(defaultModelDir()), loadKernels('simd')).translate(heavy, options);
    let streamed = false;
    const streaming = engine.translateStream(heavy[0], options, () => {}).finally(() => (streamed = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(await engine.translate(heavy, options)).toEqual(alone);
    expect(streamed).toBe(false);
    await streaming;
    expect(kernels.memory.buffer.byteLength - loaded).toBeLessThanOrEqual(DECODE_DEFAULTS.scratchBytes + 65536);
  });
});
