import { describe, expect, it } from 'vitest';
import { describeVersion, emptyManifest, withVersion } from '../../registry/manifest.ts';
import { fakeEngine, fakeProvider, routeApp } from '../testing.ts';
import { modelRoutes } from './models.ts';

const enc = new TextEncoder();
const files = (tag: string) => ({
  'config.json': enc.encode(`{"tag":"${tag}"}`),
  'tokenizer.json': enc.encode('{}'),
  'weights.safetensors': new Uint8Array(100),
});

async function setup() {
  const v1 = await describeVersion('v1', files('a'), { created: '2026-01-01T00:00:00Z', bleu: { 'en-de': 30.1 } });
  const v2 = await describeVersion('v2', files('b'), { created: '2026-02-01T00:00:00Z' });
  const manifest = withVersion(emptyManifest('fake', v1), v2);
  const bytes = { 'v1/config.json': files('a')['config.json'] };
  return { app: routeApp(modelRoutes(), fakeProvider(fakeEngine(), { manifest, files: bytes })), v1 };
}

describe('GET /v1/models', () => {
  it('lists versions newest first with size, created and BLEU', async () => {
    const { app, v1 } = await setup();
    const res = await app.request('/v1/models');
    expect(res.status).toBe(200);
    const { models } = (await res.json()) as { models: Array<Record<string, unknown>> };
    expect(models.map((m) => [m.version, m.current, m.serving])).toEqual([['v2', false, false], ['v1', true, true]]);
    expect(models[1]).toEqual({ name: 'fake', version: 'v1', current: true, serving: true, size: v1.files['config.json'].size + 2 + 100, created: v1.created, bleu: { 'en-de': 30.1 } });
    expect(models[0]).not.toHaveProperty('bleu');
  });

  it('is an empty list without a manifest', async () => {
    const res = await routeApp(modelRoutes(), fakeProvider(null)).request('/v1/models');
    expect(await res.json()).toEqual({ models: [] });
  });
});

describe('GET /v1/models/:name/:version/:file', () => {
  it('downloads a file with its sha256 and immutable caching', async () => {
    const { app, v1 } = await setup();
    const res = await app.request('/v1/models/fake/v1/config.json');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"tag":"a"}');
    expect(res.headers.get('X-Content-SHA256')).toBe(v1.files['config.json'].sha256);
    expect(res.headers.get('Cache-Control')).toContain('immutable');
  });

  it('is 404 JSON for unknown models, versions and files', async () => {
    const { app } = await setup();
    for (const path of ['/v1/models/other/v1/config.json', '/v1/models/fake/v9/config.json', '/v1/models/fake/v2/config.json']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
    expect((await app.request('/v1/models/fake/v1/manifest.json')).status).toBe(404); // not a model file
  });
});
