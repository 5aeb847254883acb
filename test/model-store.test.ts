// Loading from R2 in workerd: verification, corrupt and partial uploads, swaps without a redeploy.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { fileKey } from '../registry/manifest.ts';
import { built, call, fakeFiles, json, putVersion, setCurrent } from './helpers.ts';

type Json = Record<string, any>;
const req = { text: 'A dog.', source: 'en', target: 'de' };

async function translate(name: string, overrides = {}) {
  const res = await call('/v1/translate', json(req), { MODEL_NAME: name, ...overrides });
  return { status: res.status, body: (await res.json()) as Json };
}

describe('model store (R2)', () => {
  it('answers 503 model_unavailable until a model is uploaded, and /healthz says so', async () => {
    const { status, body } = await translate('absent');
    expect(status).toBe(503);
    expect(body.error).toEqual({ code: 'model_unavailable', message: expect.stringMatching(/no model yet/) });
    const health = await call('/healthz', {}, { MODEL_NAME: 'absent' });
    expect(health.status).toBe(503);
    expect(((await health.json()) as Json).status).toBe('model_unavailable');
  });

  it('never serves a corrupt model: sha256 mismatch gives 503, and the worker keeps answering', async () => {
    await putVersion('corrupt', 'v1', fakeFiles('a'), { tamper: { file: 'weights.safetensors', bytes: new TextEncoder().encode('weights of b') } });
    for (let i = 0; i < 2; i++) {
      const { status, body } = await translate('corrupt');
      expect(status).toBe(503);
      expect(body.error.message).toMatch(/weights.safetensors sha256 .* does not match/);
    }
    const models = (await (await call('/v1/models', {}, { MODEL_NAME: 'corrupt' })).json()) as Json;
    expect(models.models.map((m: Json) => m.version)).toEqual(['v1']); // listed, not served
    expect((await call('/healthz', {}, { MODEL_NAME: 'corrupt' })).status).toBe(503);
  });

  it('rejects partial uploads, missing files and engines that fail to build', async () => {
    await putVersion('partial', 'v1', fakeFiles('a'), { tamper: { file: 'config.json', bytes: new Uint8Array(3) } });
    expect((await translate('partial')).body.error.message).toMatch(/config.json has 3 bytes.*partial/);
    // weights stream into the engine: an engine that never reads them is still refused on their size
    await putVersion('partialw', 'v1', fakeFiles('a'), { tamper: { file: 'weights.safetensors', bytes: new Uint8Array(3) } });
    expect((await translate('partialw')).body.error.message).toMatch(/weights.safetensors has 3 bytes.*partial/);
    await putVersion('missing', 'v1', fakeFiles('a'));
    await env.MODELS.delete(fileKey('missing', 'v1', 'tokenizer.json'));
    expect((await translate('missing')).body.error.message).toMatch(/tokenizer.json is missing/);
    await putVersion('broken', 'v1', { ...fakeFiles('a'), 'config.json': new TextEncoder().encode('{"broken":true,"directions":[["en","de"]]}') });
    expect((await translate('broken')).body.error.message).toMatch(/engine build failed/);
  });

  it('notices a new current version without a redeploy, keeps the old one when the new one is bad', async () => {
    await putVersion('swap', 'v1', fakeFiles('one'));
    expect((await translate('swap')).body).toEqual({ translation: 'v1:A DOG.', model: 'swap', version: 'v1' });
    await putVersion('swap', 'v2', fakeFiles('two'));
    expect((await translate('swap')).body.version).toBe('v2');

    await putVersion('swap', 'v3', fakeFiles('three'), { tamper: { file: 'weights.safetensors', bytes: new TextEncoder().encode('garbage') } });
    const { status, body } = await translate('swap');
    expect([status, body.version]).toEqual([200, 'v2']); // the good version keeps serving
    const health = (await (await call('/healthz', {}, { MODEL_NAME: 'swap' })).json()) as Json;
    expect(health).toMatchObject({ status: 'ok', models: [{ name: 'swap', current: 'v3', version: 'v2', error: expect.stringMatching(/v3/) }] });

    await setCurrent('swap', 'v1'); // rollback
    expect((await translate('swap')).body.version).toBe('v1');
    // v3's weights stream into its builds and fail their sha256 at the stream's end: tried, never served
    expect(built.filter((m) => m.name === 'swap' && m.version !== 'v3').map((m) => m.version)).toEqual(['v1', 'v2', 'v1']);
  });

  it('re-reads the manifest at most every MANIFEST_TTL_SECONDS', async () => {
    const ttl = { MANIFEST_TTL_SECONDS: '3600' };
    await putVersion('ttl', 'v1', fakeFiles('one'));
    expect((await translate('ttl', ttl)).body.version).toBe('v1');
    await putVersion('ttl', 'v2', fakeFiles('two'));
    expect((await translate('ttl', ttl)).body.version).toBe('v1'); // not re-checked yet
    expect((await translate('ttl', { MANIFEST_TTL_SECONDS: '0' })).body.version).toBe('v2');
  });

  it('lets an in-flight request finish on the model it started with', async () => {
    await putVersion('inflight', 'v1', fakeFiles('one'));
    const streaming = await call('/v1/translate', json({ ...req, text: 'One two three four.', stream: true }), { MODEL_NAME: 'inflight' });
    await putVersion('inflight', 'v2', fakeFiles('two'));
    expect((await translate('inflight')).body.version).toBe('v2');
    const done = (await streaming.text()).split('\n\n').find((e) => e.startsWith('event: done'))!;
    expect(JSON.parse(done.split('data: ')[1])).toMatchObject({ translation: 'v1:ONE TWO THREE FOUR.', version: 'v1' });
  });

  it('serves model files listed in the manifest for the in-browser engine', async () => {
    const files = fakeFiles('dl');
    await putVersion('dl', 'v1', files);
    const res = await call('/v1/models/dl/v1/weights.safetensors', {}, { MODEL_NAME: 'dl' });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(files['weights.safetensors']);
    expect((await call('/v1/models/dl/v2/weights.safetensors', {}, { MODEL_NAME: 'dl' })).status).toBe(404);
  });
});
