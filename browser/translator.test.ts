// The in-browser Translator in Node: downloads through a fake fetch, the engine's worker side runs in
// process (browser/testing.ts), the kernels are the real wasm.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../client/index.ts';
import { type Flavor, instantiate } from '../kernels/host.ts';
import { createEngine } from '../model/translator.ts';
import { tinyModel } from '../test/e2e/tiny-model.ts';
import { translateTexts } from '../model/texts.ts';
import { fakeServer, folder, inProcessWorker, wasm } from './testing.ts';
import { EngineError, type LoadProgress, Translator } from './translator.ts';

const files = tinyModel();
const BASE = 'http://api.test/v1/models/multi30k/sha-abc/';

const load = (opts: { tamper?: string; missing?: string } = {}, onProgress?: (p: LoadProgress) => void) => {
  const served = folder(BASE, files);
  if (opts.missing) delete served[BASE + opts.missing];
  const { fetch } = fakeServer(served, { tamper: opts.tamper ? [BASE + opts.tamper] : [] });
  return Translator.load(BASE, { fetch, worker: inProcessWorker, onProgress });
};

describe('in-browser Translator', () => {
  const params = { source: 'en', target: 'de', beam: 3 };
  const text = 'A man rides a bike.  Two dogs play in the snow!\n\nA woman reads.';

  it('reports download progress up to the total bytes', async () => {
    const seen: LoadProgress[] = [];
    const t = await load({}, (p) => seen.push(p));
    const total = Object.values(files).reduce((a, f) => a + f.length, 0);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((p) => p.total === total)).toBe(true);
    expect(seen.map((p) => p.loaded)).toEqual([...seen.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(seen.at(-1)!.loaded).toBe(total);
    // The download route names the model as the API does; config.json's own name is 'tiny'.
    expect(t.info).toMatchObject({ name: 'multi30k', version: 'sha-abc', languages: ['en', 'de'] });
    expect(['relaxed', 'simd']).toContain(t.flavor);
  });

  it('translates like the worker does with the same engine: split, batch, join', async () => {
    const t = await load();
    const engine = createEngine({ config: new TextDecoder().decode(files['config.json']), tokenizer: new TextDecoder().decode(files['tokenizer.json']), weights: files['weights.safetensors'] }, instantiate(wasm(t.flavor as Flavor), t.flavor as Flavor));
    const [want] = await translateTexts(engine, [text], { ...params, alignments: false });
    const got = await t.translate(text, params);
    expect(want.lengthLimited).toBe(true); // random weights never end a sentence: the response says so
    expect(got).toEqual({ translation: want.translation, model: 'multi30k', version: 'sha-abc', lengthLimited: [0] });
    expect(got.translation).toContain('\n\n'); // the paragraph break survives the round trip

    const batch = await t.translate(['a man rides a bike .', '', text], params);
    expect(batch.translations).toEqual([(await t.translate('a man rides a bike .', params)).translation, '', want.translation]);
  });

  it('returns the average alignment and every layer and head', async () => {
    const t = await load();
    const r = await t.translate(text, { ...params, alignments: true });
    expect(r.alignments).toHaveLength(3);
    const a = r.alignments![0];
    expect(a.source).toBe('A man rides a bike.');
    expect(a.alignment).toHaveLength(a.targetTokens.length);
    expect(a.layers).toHaveLength(2); // decoder layers
    expect(a.layers![1]).toHaveLength(4); // heads
    const avg = a.layers![1][0].map((row, i) => row.map((_, s) => a.layers![1].reduce((x, h) => x + h[i][s], 0) / 4));
    a.alignment.forEach((row, i) => row.forEach((v, s) => expect(v).toBeCloseTo(avg[i][s], 6)));
  });

  it('streams tokens that add up to the translation, then the result', async () => {
    const t = await load();
    const events = [];
    for await (const e of t.stream(text, params)) events.push(e);
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    const pieces = events.flatMap((e) => (e.type === 'token' ? [e.piece] : []));
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe((await t.translate(text, params)).translation);
    expect(done.type === 'done' && 'translation' in done.result && done.result.translation).toBe(pieces.join(''));
  });

  it('refuses unsupported directions with the engine code, and keeps working after', async () => {
    const t = await load();
    const err = await t.translate('x', { source: 'en', target: 'fr' }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe('unsupported_language');
    await expect(t.stream('x', { source: 'en', target: 'en' })[Symbol.asyncIterator]().next()).rejects.toThrow(/direction en-en/);
    expect((await t.translate('a bike', params)).translation).toBeTypeOf('string');
    t.dispose();
    await expect(t.translate('a bike', params)).rejects.toThrow(/disposed/);
  });

  it('fails loading with the API error of a missing file, or on a hash mismatch', async () => {
    const missing = await load({ missing: 'weights.safetensors' }).catch((e) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    await expect(load({ tamper: 'tokenizer.json' })).rejects.toMatchObject({ code: 'corrupt_download' });
  });
});
