// Several models side by side in workerd: routing by direction, the pivot through English, lazy loading
// within MODEL_MEMORY_BYTES, one load per model, per-model failures and deploys, and the fallback to an
// older good version after a restart. Engines are the fakes of helpers.ts (`v1:TEXT` upper-cased).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CATALOG_KEY, fileKey, manifestKey, parseManifestText, withDeploy, withRollback } from '../registry/manifest.ts';
import { built, call, fakeApp, fakeFiles, json, putVersion } from './helpers.ts';

type Json = Record<string, any>;
const enc = new TextEncoder();
const EN_DE: Array<[string, string]> = [['en', 'de'], ['de', 'en']];
const FR_EN: Array<[string, string]> = [['fr', 'en'], ['en', 'fr']];

async function translate(names: string, body: Json, overrides: Json = {}, target = undefined as ReturnType<typeof fakeApp> | undefined) {
  const res = await call('/v1/translate', json({ text: 'Bonjour.', ...body }), { MODEL_NAMES: names, ...overrides }, target);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}
const get = async (path: string, names: string, overrides: Json = {}) => (await (await call(path, {}, { MODEL_NAMES: names, ...overrides })).json()) as Json;
const builds = (name: string) => built.filter((m) => m.name === name).map((m) => m.version);

async function deploy(name: string, version: string) {
  const m = parseManifestText(await (await env.MODELS.get(manifestKey(name)))!.text());
  await env.MODELS.put(manifestKey(name), JSON.stringify(withDeploy(m, version)));
}

describe('a catalog of models', () => {
  it('routes each direction to the first model serving it, and pivots through English for the rest', async () => {
    await putVersion('r-ende', 'v1', fakeFiles('ende', EN_DE));
    await putVersion('r-fren', 'v1', fakeFiles('fren', [...FR_EN, ['en', 'de']]));
    const names = 'r-ende,r-fren';
    expect((await translate(names, { text: 'A dog.', source: 'en', target: 'de' })).body).toEqual({ translation: 'v1:A DOG.', model: 'r-ende', version: 'v1' });
    expect((await translate('r-fren,r-ende', { text: 'A dog.', source: 'en', target: 'de' })).body.model).toBe('r-fren'); // preference order
    expect((await translate(names, { text: 'A dog.', source: 'en', target: 'de', model: 'r-fren' })).body.model).toBe('r-fren'); // named
    expect((await translate(names, { source: 'fr', target: 'en' })).body).toEqual({ translation: 'v1:BONJOUR.', model: 'r-fren', version: 'v1' });

    const pivot = await translate(names, { text: 'Bonjour. Ça va?', source: 'fr', target: 'de' });
    expect(pivot.status).toBe(200);
    const first = (await translate(names, { text: 'Bonjour. Ça va?', source: 'fr', target: 'en' })).body.translation;
    const second = (await translate(names, { text: first, source: 'en', target: 'de' })).body.translation;
    expect(pivot.body).toEqual({
      translation: second, // the two legs, one after the other
      model: 'r-fren+r-ende',
      version: 'v1+v1',
      pivot: 'en',
      legs: [
        { source: 'fr', target: 'en', model: 'r-fren', version: 'v1' },
        { source: 'en', target: 'de', model: 'r-ende', version: 'v1' },
      ],
    });
    expect(pivot.headers.get('X-Model-Version')).toBe('v1+v1');

    // Streaming through a pivot streams the second leg; alignments are refused through a pivot.
    const stream = await call('/v1/translate', json({ text: 'Bonjour. Ça va?', source: 'fr', target: 'de', stream: true }), { MODEL_NAMES: names });
    const events = (await stream.text()).split('\n\n').filter(Boolean);
    const tokens = events.filter((e) => e.startsWith('event: token')).map((e) => JSON.parse(e.split('data: ')[1]).piece);
    expect(tokens.join('')).toBe(second);
    expect(JSON.parse(events.at(-1)!.split('data: ')[1])).toEqual(pivot.body);
    const aligned = await translate(names, { source: 'fr', target: 'de', alignments: true });
    expect([aligned.status, aligned.body.error.code]).toEqual([400, 'alignments_unavailable']);

    const none = await translate('r-ende', { source: 'fr', target: 'de' }); // no model serves fr at all
    expect([none.status, none.body.error.code]).toEqual([400, 'unsupported_language']);
    const unknown = await translate(names, { source: 'en', target: 'de', model: 'nope' });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, 'unknown_model']);

    const langs = await get('/v1/languages', names);
    expect(langs.languages).toEqual(['de', 'en', 'fr']);
    expect(langs.directions).toContainEqual({ source: 'fr', target: 'de', route: 'pivot', models: ['r-fren', 'r-ende'], pivot: 'en' });
    expect(langs.directions).toContainEqual({ source: 'en', target: 'de', route: 'direct', models: ['r-ende'] });
  });

  it('loads a model only when a request needs it, and evicts the least recently used idle one beyond MODEL_MEMORY_BYTES', async () => {
    // Same-length weights: the budget holds exactly one of them.
    await putVersion('lazy-a', 'v1', fakeFiles('aaaa', EN_DE));
    await putVersion('lazy-b', 'v1', fakeFiles('bbbb', FR_EN));
    const names = 'lazy-a,lazy-b';
    const budget = { MODEL_MEMORY_BYTES: String(fakeFiles('aaaa')['weights.safetensors'].byteLength) };
    await get('/v1/languages', names, budget);
    await get('/healthz', names, budget);
    expect([builds('lazy-a'), builds('lazy-b')]).toEqual([[], []]); // routing reads configs, not weights

    expect((await translate(names, { source: 'en', target: 'de' }, budget)).status).toBe(200);
    expect([builds('lazy-a'), builds('lazy-b')]).toEqual([['v1'], []]);
    expect((await translate(names, { source: 'en', target: 'de' }, budget)).status).toBe(200);
    expect(builds('lazy-a')).toEqual(['v1']); // kept in memory

    expect((await translate(names, { source: 'fr', target: 'en' }, budget)).status).toBe(200);
    expect((await get('/healthz', names, budget)).models.map((m: Json) => [m.name, m.loaded, m.version])).toEqual([
      ['lazy-a', false, 'v1'], // evicted for lazy-b, still known good
      ['lazy-b', true, 'v1'],
    ]);
    expect((await translate(names, { source: 'en', target: 'de' }, budget)).status).toBe(200);
    expect([builds('lazy-a'), builds('lazy-b')]).toEqual([['v1', 'v1'], ['v1']]); // loaded again on demand

  });

  it('a model larger than MODEL_MEMORY_BYTES is 503 with the reason', async () => {
    await putVersion('huge', 'v1', fakeFiles('huge', EN_DE));
    const res = await translate('huge', { source: 'en', target: 'de' }, { MODEL_MEMORY_BYTES: '3' }, fakeApp());
    expect(res.status).toBe(503);
    expect(res.body.error.message).toMatch(/more than MODEL_MEMORY_BYTES \(3\)/);
  });

  it('loads a model once for concurrent requests', async () => {
    await putVersion('once', 'v1', fakeFiles('once', EN_DE));
    const all = await Promise.all([0, 1, 2, 3].map((i) => translate('once', { text: `Dog ${i}.`, source: 'en', target: 'de' })));
    expect(all.map((r) => r.body.translation)).toEqual(['v1:DOG 0.', 'v1:DOG 1.', 'v1:DOG 2.', 'v1:DOG 3.']);
    expect(builds('once')).toEqual(['v1']);
  });

  it('a missing or corrupt model is 503 for its directions only; the others keep serving', async () => {
    await putVersion('ok-ende', 'v1', fakeFiles('ok', EN_DE));
    const ghost = await translate('ok-ende,ghost', { source: 'fr', target: 'en' }); // ghost has no manifest: it might serve fr-en
    expect([ghost.status, ghost.body.error.code]).toEqual([503, 'model_unavailable']);
    expect(ghost.body.error.message).toMatch(/ghost: no model yet/);
    expect((await translate('ok-ende,ghost', { source: 'en', target: 'de' })).status).toBe(200);
    const health = await call('/healthz', {}, { MODEL_NAMES: 'ok-ende,ghost' });
    expect([health.status, ((await health.json()) as Json).status]).toEqual([200, 'degraded']);

    await putVersion('bad-fren', 'v1', fakeFiles('bad', FR_EN), { tamper: { file: 'weights.safetensors', bytes: enc.encode('weights of BAD') } });
    const bad = await translate('ok-ende,bad-fren', { source: 'fr', target: 'en' });
    expect([bad.status, bad.body.error.code]).toEqual([503, 'model_unavailable']);
    expect(bad.body.error.message).toMatch(/bad-fren.*sha256/);
    expect((await translate('ok-ende,bad-fren', { source: 'en', target: 'de' })).status).toBe(200);
  });

  it('deploys and rolls back one model while another keeps serving, without reloading it', async () => {
    await putVersion('dep-a', 'v1', fakeFiles('a1', EN_DE));
    await putVersion('dep-b', 'v1', fakeFiles('b1', FR_EN));
    const names = 'dep-a,dep-b';
    const versions = async () => [(await translate(names, { source: 'en', target: 'de' })).body.version, (await translate(names, { source: 'fr', target: 'en' })).body.version];
    expect(await versions()).toEqual(['v1', 'v1']);
    await putVersion('dep-b', 'v2', fakeFiles('b2', FR_EN), { current: false });
    await deploy('dep-b', 'v2');
    expect(await versions()).toEqual(['v1', 'v2']);
    const m = parseManifestText(await (await env.MODELS.get(manifestKey('dep-b')))!.text());
    await env.MODELS.put(manifestKey('dep-b'), JSON.stringify(withRollback(m)));
    expect(await versions()).toEqual(['v1', 'v1']);
    expect([builds('dep-a'), builds('dep-b')]).toEqual([['v1'], ['v1', 'v2', 'v1']]);
  });

  it('after a restart with a corrupt current version, serves the newest good one from the history and says so', async () => {
    await putVersion('fall', 'v1', fakeFiles('f1', EN_DE));
    await putVersion('fall', 'v2', fakeFiles('f2', EN_DE), { current: false, tamper: { file: 'weights.safetensors', bytes: enc.encode('weights of XX') } });
    await deploy('fall', 'v2');
    const fresh = fakeApp(); // a new isolate: nothing in memory
    const res = await translate('fall', { source: 'en', target: 'de' }, {}, fresh);
    expect([res.status, res.body.version, res.headers.get('X-Model-Version')]).toEqual([200, 'v1', 'v1']);
    const health = (await (await call('/healthz', {}, { MODEL_NAMES: 'fall' }, fresh)).json()) as Json;
    expect(health).toEqual({
      status: 'ok',
      models: [{ name: 'fall', current: 'v2', version: 'v1', loaded: true, error: expect.stringMatching(/version v2: weights.safetensors sha256 .*; serving v1 from the manifest's history/) }],
    });
    const models = (await (await call('/v1/models', {}, { MODEL_NAMES: 'fall' }, fresh)).json()) as Json;
    expect(models.models.map((v: Json) => [v.version, v.current, v.serving])).toEqual([['v2', true, false], ['v1', false, true]]);
  });

  it('downloads only files whose bytes match the manifest', async () => {
    await putVersion('dl-bad', 'v1', fakeFiles('dl', EN_DE), { tamper: { file: 'weights.safetensors', bytes: enc.encode('weights of xy') } });
    const bad = await call('/v1/models/dl-bad/v1/weights.safetensors', {}, { MODEL_NAMES: 'dl-bad' });
    expect(bad.status).toBe(503);
    expect(bad.headers.get('Cache-Control')).toBeNull();
    expect(((await bad.json()) as Json).error.code).toBe('file_unverified');
    const good = await call('/v1/models/dl-bad/v1/config.json', {}, { MODEL_NAMES: 'dl-bad' });
    expect(good.status).toBe(200);
    expect(await good.text()).toBe(new TextDecoder().decode(fakeFiles('dl', EN_DE)['config.json']));

    // Bytes that verified once, then replaced in the bucket: refused again.
    await putVersion('dl-swap', 'v1', fakeFiles('dl', EN_DE));
    const path = '/v1/models/dl-swap/v1/weights.safetensors';
    expect((await call(path, {}, { MODEL_NAMES: 'dl-swap' })).status).toBe(200);
    expect((await call(path, {}, { MODEL_NAMES: 'dl-swap' })).status).toBe(200); // streamed: same etag
    await env.MODELS.put(fileKey('dl-swap', 'v1', 'weights.safetensors'), enc.encode('weights of zz'));
    expect((await call(path, {}, { MODEL_NAMES: 'dl-swap' })).status).toBe(503);
    expect((await call('/v1/models/other/v1/config.json', {}, { MODEL_NAMES: 'dl-swap' })).status).toBe(404);
  });

  it('without MODEL_NAMES, serves the models of models/catalog.json in its order', async () => {
    await putVersion('cat-a', 'v1', fakeFiles('ca', EN_DE));
    await putVersion('cat-b', 'v1', fakeFiles('cb', EN_DE));
    await env.MODELS.put(CATALOG_KEY, JSON.stringify({ schema: 1, models: ['cat-b', 'cat-a'] }));
    expect((await translate('', { source: 'en', target: 'de' })).body.model).toBe('cat-b');
    const listed = await get('/v1/models', '');
    expect(listed.models.map((v: Json) => v.name)).toEqual(['cat-b', 'cat-a']);
    await env.MODELS.put(CATALOG_KEY, JSON.stringify({ schema: 1, models: ['cat-a', 'cat-b'] }));
    expect((await translate('', { source: 'en', target: 'de' })).body.model).toBe('cat-a');
  });
});
