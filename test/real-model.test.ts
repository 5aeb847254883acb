// The real worker (default export): a tiny random-weight model from local R2 through the real engine and the
// wasm kernels bundled as compiled modules. Checks the plumbing, not translation quality.
import { describe, expect, it } from 'vitest';
import worker from '../worker/index.ts';
import { call, json, putVersion, tinyModelFiles } from './helpers.ts';

type Json = Record<string, any>;
const T = { MODEL_NAME: 'tiny' };

describe('real engine in workerd', () => {
  it('loads a tiny model from R2 and translates, batches, aligns and streams', async () => {
    await putVersion('tiny', 'r1', tinyModelFiles());
    const langs = (await (await call('/v1/languages', {}, T, worker)).json()) as Json;
    expect(langs).toMatchObject({ languages: ['de', 'en'], models: [{ name: 'tiny', version: 'r1' }] });

    const one = await call('/v1/translate', json({ text: 'a man rides a bike .', source: 'en', target: 'de', beam: 2, alignments: true }), T, worker);
    expect(one.status).toBe(200);
    const body = (await one.json()) as Json;
    expect(typeof body.translation).toBe('string');
    expect(body.alignments[0].sourceTokens.length).toBeGreaterThan(0);
    expect(body.alignments[0].alignment.length).toBe(body.alignments[0].targetTokens.length);

    const batch = (await (await call('/v1/translate', json({ text: ['two dogs play .', ''], source: 'en', target: 'de', beam: 1 }), T, worker)).json()) as Json;
    expect(batch.translations).toHaveLength(2);
    expect(batch.translations[1]).toBe('');

    const stream = await (await call('/v1/translate', json({ text: 'two dogs play .', source: 'en', target: 'de', beam: 1, stream: true }), T, worker)).text();
    const done = JSON.parse(stream.split('event: done\ndata: ')[1]);
    expect(done.translation).toBe(batch.translations[0]); // greedy stream = greedy batch
  });

  it('refuses weights cut short or changed while they stream into the engine, with the manifest check', async () => {
    expect(typeof (crypto as { DigestStream?: unknown }).DigestStream).toBe('function'); // the streaming path, not the fallback
    const files = tinyModelFiles();
    const w = files['weights.safetensors'];
    const changed = w.slice();
    changed[w.byteLength - 1] ^= 1; // a tensor byte: parses, loads, and must still not be served
    for (const [name, bytes, error] of [['tinycut', w.slice(0, w.byteLength - 100), /weights.safetensors has \d+ bytes.*partial/], ['tinyflip', changed, /weights.safetensors sha256 .* does not match/]] as const) {
      await putVersion(name, 'r1', files, { tamper: { file: 'weights.safetensors', bytes } });
      const res = await call('/v1/translate', json({ text: 'two dogs play .', source: 'en', target: 'de', beam: 1 }), { MODEL_NAME: name }, worker);
      expect(res.status).toBe(503);
      expect(((await res.json()) as Json).error.message).toMatch(error);
    }
  });

  it('reranks with the reverse direction when the model serves it, else answers 400 before any stream', async () => {
    const M = { MODEL_NAME: 'tiny2' };
    await putVersion('tiny2', 'r1', tinyModelFiles([['en', 'de'], ['de', 'en']]));
    const req = { text: ['a man rides a bike .', 'two dogs play .'], source: 'en', target: 'de' };
    const reranked = await call('/v1/translate', json({ ...req, rerank: true }), M, worker);
    expect(reranked.status).toBe(200);
    expect(((await reranked.json()) as Json).translations).toHaveLength(2);
    const stream = await (await call('/v1/translate', json({ ...req, text: req.text[0], rerank: true, stream: true }), M, worker)).text();
    expect(stream).toContain('event: done');

    for (const stream of [false, true]) {
      const oneWay = await call('/v1/translate', json({ ...req, rerank: true, stream }), T, worker);
      expect(oneWay.status).toBe(400);
      expect(((await oneWay.json()) as Json).error.code).toBe('rerank_unavailable');
    }
  });

  it('answers 503 model_unavailable when no model was uploaded', async () => {
    const res = await call('/v1/translate', json({ text: 'a', source: 'en', target: 'de' }), { MODEL_NAME: 'none' }, worker);
    expect(res.status).toBe(503);
  });
});
