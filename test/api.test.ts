// The whole worker in workerd: composition of middleware and routes over a model loaded from local R2.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../registry/manifest.ts';
import { call, fakeFiles, json, putVersion } from './helpers.ts';

type Json = Record<string, any>;
const M = { MODEL_NAME: 'api' };
const post = (body: unknown, overrides = {}, headers: Record<string, string> = {}) => call('/v1/translate', json(body, headers), { ...M, ...overrides });
const errorOf = async (res: Response) => [res.status, ((await res.json()) as Json).error?.code];

beforeEach(async () => {
  await putVersion('api', 'v1', fakeFiles('api'));
});

describe('API over a model in R2', () => {
  it('translates single texts and batches', async () => {
    expect(await (await post({ text: 'Hi there. Bye!', source: 'en', target: 'de' })).json()).toEqual({
      translation: 'v1:HI THERE. v1:BYE!',
      model: 'api',
      version: 'v1',
    });
    const batch = (await (await post({ text: ['One.', 'Two.'], source: 'en', target: 'de' })).json()) as Json;
    expect(batch.translations).toEqual(['v1:ONE.', 'v1:TWO.']);
  });

  it('streams server-sent events', async () => {
    const res = await post({ text: 'Stream me.', source: 'en', target: 'de', stream: true });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain('event: token');
    expect(text).toMatch(/event: done\ndata: \{"translation":"v1:STREAM ME."/);
  });

  it('caches identical requests at the edge', async () => {
    const body = { text: 'Cached at the edge.', source: 'en', target: 'de' };
    expect((await post(body)).headers.get('X-Cache')).toBe('MISS');
    const hit = await post(body);
    expect(hit.headers.get('X-Cache')).toBe('HIT');
    expect(((await hit.json()) as Json).translation).toBe('v1:CACHED AT THE EDGE.');
    expect((await post({ ...body, stream: true })).headers.get('X-Cache')).toBeNull(); // streams are not cached
  });

  it('lists languages and models, serves /openapi.json and /docs', async () => {
    expect(await (await call('/v1/languages', {}, M)).json()).toMatchObject({ languages: ['de', 'en'], directions: [{ source: 'en', target: 'de', route: 'direct', models: ['api'] }] });
    expect(((await (await call('/v1/models', {}, M)).json()) as Json).models[0]).toMatchObject({ name: 'api', version: 'v1', current: true });
    const doc = (await (await call('/openapi.json')).json()) as Json;
    expect(Object.keys(doc.paths).sort()).toEqual(['/healthz', '/v1/languages', '/v1/models', '/v1/models/{name}/{version}/{file}', '/v1/translate']);
    expect(doc.components.schemas.TranslateRequest.required).toEqual(['text', 'source', 'target']);
    expect((await call('/docs')).headers.get('content-type')).toContain('text/html');
  });

  it('answers every client error in one JSON shape', async () => {
    const bad = (body: string) => call('/v1/translate', { method: 'POST', body, headers: { 'Content-Type': 'application/json' } }, M);
    expect(await errorOf(await bad('{nope'))).toEqual([400, 'malformed_json']);
    expect(await errorOf(await post({ text: 1, source: 'en', target: 'de' }))).toEqual([422, 'invalid_request']);
    expect(await errorOf(await post({ text: 'a', source: 'en', target: 'fr' }))).toEqual([400, 'unsupported_language']);
    expect(await errorOf(await post({ text: 'a'.repeat(11), source: 'en', target: 'de' }, { MAX_CHARS: '10' }))).toEqual([422, 'text_too_long']);
    expect(await errorOf(await post({ text: ['a', 'b'], source: 'en', target: 'de' }, { MAX_TEXTS: '1' }))).toEqual([422, 'too_many_texts']);
    expect(await errorOf(await post({ text: 'a'.repeat(100), source: 'en', target: 'de' }, { MAX_BODY_BYTES: '50' }))).toEqual([413, 'payload_too_large']);
    expect(await errorOf(await call('/v1/translate', { method: 'PUT' }, M))).toEqual([405, 'method_not_allowed']);
    expect(await errorOf(await call('/nowhere'))).toEqual([404, 'not_found']);
    const empty = await post({ text: '', source: 'en', target: 'de' });
    expect([empty.status, ((await empty.json()) as Json).translation]).toEqual([200, '']);
  });
});

describe('API keys, rate limits, CORS', () => {
  it('is open without keys, and requires a listed key when API_KEY_HASHES is set', async () => {
    const req = { text: 'Key?', source: 'en', target: 'de' };
    expect((await post(req)).status).toBe(200);
    const keys = { API_KEY_HASHES: `${await sha256Hex(new TextEncoder().encode('other'))}, ${await sha256Hex(new TextEncoder().encode('s3cret'))}` };
    const missing = await post(req, keys);
    expect(await errorOf(missing)).toEqual([401, 'unauthorized']);
    expect(missing.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(await errorOf(await post(req, keys, { Authorization: 'Bearer wrong' }))).toEqual([401, 'unauthorized']);
    expect((await post(req, keys, { Authorization: 'Bearer s3cret' })).status).toBe(200);
    expect((await call('/healthz', {}, { ...M, ...keys })).status).toBe(200); // health and docs stay open
  });

  it('accepts keys stored in a KV namespace', async () => {
    const kv = new Map([[await sha256Hex(new TextEncoder().encode('kv-key')), '{}']]);
    const API_KEYS = { get: async (k: string) => kv.get(k) ?? null } as unknown as KVNamespace;
    const req = { text: 'KV?', source: 'en', target: 'de' };
    expect((await post(req, { API_KEYS })).status).toBe(401);
    expect((await post(req, { API_KEYS }, { Authorization: 'Bearer kv-key' })).status).toBe(200);
  });

  it('rate limits per key with 429 and Retry-After, and skips when the binding is absent', async () => {
    const limited = { RATE_LIMITER: env.TIGHT_LIMITER, RATE_LIMIT_PERIOD_SECONDS: '60' };
    const statuses = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await call('/v1/languages', { headers: { 'CF-Connecting-IP': '203.0.113.9' } }, { ...M, ...limited });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(last!.headers.get('Retry-After')).toBe('60');
    expect(((await last!.json()) as Json).error.code).toBe('rate_limited');
    const other = await call('/v1/languages', { headers: { 'CF-Connecting-IP': '203.0.113.10' } }, { ...M, ...limited });
    expect(other.status).toBe(200); // another client has its own budget
    expect((await call('/v1/languages', {}, { ...M, RATE_LIMITER: undefined })).status).toBe(200);
  });

  it('answers CORS preflights for the configured origins', async () => {
    const preflight = (origin: string, CORS_ORIGINS: string) =>
      call('/v1/translate', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } }, { ...M, CORS_ORIGINS });
    const ok = await preflight('https://app.example', 'https://app.example,https://other.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('Access-Control-Allow-Origin')).toBe('https://app.example');
    expect(ok.headers.get('Access-Control-Allow-Headers')).toContain('Authorization');
    expect((await preflight('https://evil.example', 'https://app.example')).headers.get('Access-Control-Allow-Origin')).toBeNull();
    const res = await post({ text: 'CORS.', source: 'en', target: 'de' }, { CORS_ORIGINS: '*' }, { Origin: 'https://x.example' });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe('*');
    expect(res.headers.get('Access-Control-Expose-Headers')).toContain('X-Cache');
  });
});
