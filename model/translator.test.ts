// The Engine on a micro model with random weights: batching, streaming, alignments and errors behave.
import { describe, expect, it } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { PRESETS } from './config.ts';
import { UnsupportedError } from './engine.ts';
import { initParams, paramLayout } from './params.ts';
import { f32Tensor, serialize, type Tensor } from './safetensors.ts';
import { Tokenizer } from './tokenizer.ts';
import { createEngine, type ModelFiles } from './translator.ts';

const corpus = ['a man rides a horse .', 'ein Mann reitet ein Pferd .', 'two dogs play in the snow .', 'zwei Hunde spielen im Schnee .'];

export function microModelFiles(seed = 1): ModelFiles {
  const tok = Tokenizer.train(corpus, { vocabSize: 300, languages: ['en', 'de'] });
  const config = { ...PRESETS.micro, vocabSize: tok.vocabSize, dModel: 16, heads: 2, maxLen: 64 };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, seed);
  const tensors = new Map<string, Tensor>();
  for (const t of layout.tensors) tensors.set(t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size)));
  return {
    config: { ...config, name: 'micro', version: 'v1', directions: [['en', 'de'], ['de', 'en']] },
    tokenizer: tok.toJSON(),
    weights: serialize(tensors),
  };
}

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
