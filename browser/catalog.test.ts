// The in-browser Catalog in Node over two tiny models (en<->de, en<->fr) served as the API's download
// route and as static folders: routing as the API does, lazy loads (one per model), the pivot through
// English, source "auto" with the bundled language identifier, and the API's errors before any download.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Languages } from '../client/types.ts';
import { tinyModel } from '../test/e2e/tiny-model.ts';
import { Catalog } from './catalog.ts';
import { fakeServer, folder, inProcessWorker } from './testing.ts';
import { Translator } from './translator.ts';

const API = 'http://api.test';
const LANGID = `${API}/langid.json`;
const models = { ende: tinyModel(1, ['en', 'de']), enfr: tinyModel(2, ['en', 'fr']) };
const both = (a: string, b: string) => [{ source: a, target: b }, { source: b, target: a }];
const listing: Languages = {
  languages: ['de', 'en', 'fr'],
  directions: [], // the catalog routes itself: only `models` is read
  models: [{ name: 'ende', version: 'v1', directions: both('en', 'de') }, { name: 'enfr', version: 'v7', directions: both('en', 'fr') }],
};
const apiFiles = {
  ...folder(`${API}/v1/models/ende/v1/`, models.ende),
  ...folder(`${API}/v1/models/enfr/v7/`, models.enfr),
  [`${API}/v1/languages`]: new TextEncoder().encode(JSON.stringify(listing)),
  [LANGID]: new Uint8Array(readFileSync(join(import.meta.dirname, '../models/langid.json'))),
};
const weightsOf = (requests: string[]) => requests.filter((u) => u.endsWith('weights.safetensors')).map((u) => u.split('/')[5]);

function api(down: string[] = []) {
  const server = fakeServer(apiFiles, { down });
  const open = () => Catalog.fromApi(API, { fetch: server.fetch, worker: inProcessWorker, langidUrl: LANGID });
  return { server, open };
}

// Each model on its own, to compare with.
async function single(name: keyof typeof models) {
  const { fetch } = fakeServer(folder('http://one.test/', models[name]));
  return Translator.load('http://one.test/', { fetch, worker: inProcessWorker });
}

const p = (source: string, target: string) => ({ source, target, beam: 2 });
const text = 'Two dogs play in the snow. A man rides a bike.';

describe('in-browser Catalog', () => {
  it("lists the API's directions, direct or through English, without downloading a model", async () => {
    const { server, open } = api();
    const c = await open();
    const l = c.languages();
    expect(l.languages).toEqual(['de', 'en', 'fr']);
    expect(l.directions).toContainEqual({ source: 'en', target: 'de', route: 'direct', models: ['ende'] });
    expect(l.directions).toContainEqual({ source: 'de', target: 'fr', route: 'pivot', models: ['ende', 'enfr'], pivot: 'en' });
    expect(l.directions).toHaveLength(6);
    expect(l.models.map((m) => [m.name, m.version])).toEqual([['ende', 'v1'], ['enfr', 'v7']]);
    expect(c.route('fr', 'de')?.legs.map((x) => x.model)).toEqual(['enfr', 'ende']);
    expect(server.requests).toEqual([`${API}/v1/languages`]);
    expect(c.loaded()).toEqual([]);
  });

  it('loads only the model a direct direction needs, once for concurrent requests', async () => {
    const { server, open } = api();
    const c = await open();
    const [a, b, back] = await Promise.all([c.translate(text, p('en', 'de')), c.translate([text, ''], p('en', 'de')), c.translate('Ein Hund.', p('de', 'en'))]);
    expect(weightsOf(server.requests)).toEqual(['ende']);
    expect(c.loaded()).toEqual(['ende']);
    const ende = await single('ende');
    const alone = await ende.translate(text, p('en', 'de'));
    expect(a).toEqual({ translation: alone.translation, model: 'ende', version: 'v1', lengthLimited: [0] }); // random weights never end
    expect(b.translations).toEqual([a.translation, '']);
    expect(back.translation).toBe((await ende.translate('Ein Hund.', p('de', 'en'))).translation);
    expect(['relaxed', 'simd']).toContain(c.flavor);
  });

  it('pivots through English with both models, and says so as the API does', async () => {
    const { server, open } = api();
    const c = await open();
    const got = await c.translate(text, p('de', 'fr'));
    const english = (await (await single('ende')).translate(text, p('de', 'en'))).translation;
    const second = await (await single('enfr')).translate(english, p('en', 'fr'));
    const french = second.translation;
    // The last leg's result (with its `truncated`: the random model writes long byte runs), named by both.
    const legs = [{ source: 'de', target: 'en', model: 'ende', version: 'v1' }, { source: 'en', target: 'fr', model: 'enfr', version: 'v7' }];
    expect(got).toEqual({ ...second, model: 'ende+enfr', version: 'v1+v7', pivot: 'en', legs });
    expect(weightsOf(server.requests).sort()).toEqual(['ende', 'enfr']);

    // Streaming through the pivot streams the second leg; batches go through whole.
    const events = [];
    for await (const e of c.stream(text, p('de', 'fr'))) events.push(e);
    expect(events.flatMap((e) => (e.type === 'token' ? [e.piece] : [])).join('')).toBe(french);
    expect(events.at(-1)).toEqual({ type: 'done', result: got });
    expect((await c.translate([text, text], p('de', 'fr'))).translations).toEqual([french, french]);
  });

  it('detects source "auto" among the languages that reach the target, pivot included', async () => {
    const { server, open } = api();
    const c = await open();
    const german = 'Zwei Hunde spielen im Schnee, und ein Mann fährt mit dem Fahrrad.';
    const got = await c.translate(german, { ...p('auto', 'fr') });
    expect(got.detected?.language).toBe('de');
    expect(got.detected!.confidence).toBeGreaterThan(0.5);
    expect(got).toEqual({ ...(await c.translate(german, p('de', 'fr'))), detected: got.detected });
    expect((await c.translate('A man and two dogs are walking in the park.', p('auto', 'de'))).detected?.language).toBe('en');
    await expect(c.translate('1234 !!', p('auto', 'de'))).rejects.toMatchObject({ code: 'language_not_detected' });
    expect(server.requests.filter((u) => u === LANGID)).toHaveLength(1);
  });

  it("refuses what the API refuses, before downloading anything", async () => {
    const { server, open } = api();
    const c = await open();
    const fail = (params: object) => c.translate('x', params as never).catch((e) => e.code);
    expect(await fail({ ...p('de', 'fr'), alignments: true })).toBe('alignments_unavailable');
    expect(await fail(p('xx', 'de'))).toBe('unsupported_language');
    expect(await fail(p('en', 'en'))).toBe('unsupported_direction');
    expect(await fail({ ...p('en', 'de'), model: 'nope' })).toBe('unknown_model');
    expect(await fail({ ...p('de', 'fr'), model: 'ende' })).toBe('unsupported_language'); // one model: no pivot
    const oneWay = new Catalog([{ name: 'ende', directions: [['en', 'de']], url: `${API}/v1/models/ende/v1/` }], { fetch: server.fetch, worker: inProcessWorker });
    expect(await oneWay.translate('x', { ...p('en', 'de'), rerank: true }).catch((e) => e.code)).toBe('rerank_unavailable');
    expect(weightsOf(server.requests)).toEqual([]);
  });

  it('forgets a failed load so the next request tries again; dispose stops every model', async () => {
    const down = [`${API}/v1/models/enfr/v7/weights.safetensors`];
    const { open } = api(down);
    const c = await open();
    await expect(c.translate(text, p('de', 'fr'))).rejects.toMatchObject({ code: 'network_error' });
    expect(c.loaded()).not.toContain('enfr');
    down.length = 0; // back online
    expect((await c.translate(text, p('de', 'fr'))).pivot).toBe('en');
    expect(c.loaded().sort()).toEqual(['ende', 'enfr']);
    c.dispose();
    await expect(c.translate(text, p('en', 'de'))).rejects.toMatchObject({ code: 'disposed' });
  });

  it('serves static model folders, reading each config.json for its directions', async () => {
    const server = fakeServer({ ...folder('http://static.test/models/ende/', models.ende), ...folder('http://static.test/models/enfr/', models.enfr) });
    const c = await Catalog.fromFolders('http://static.test/models', ['enfr', 'ende'], { fetch: server.fetch, worker: inProcessWorker });
    expect(server.requests.sort()).toEqual(['http://static.test/models/ende/config.json', 'http://static.test/models/enfr/config.json']);
    expect(c.route('de', 'fr')?.pivot).toBe('en');
    const fromApi = await (await api().open()).translate(text, p('de', 'fr'));
    expect(await c.translate(text, p('de', 'fr'))).toMatchObject({ translation: fromApi.translation, model: 'ende+enfr', version: 'v1+v1' });
    await expect(Catalog.fromFolders('http://static.test/models', ['nope'], { fetch: server.fetch })).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });
});
