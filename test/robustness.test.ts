// Heavy and hostile requests in workerd: the compute budget, long sentences, cancellation, yielding between
// chunks, rate limits before authentication, JSON errors on the demo page's paths, and what /healthz tells
// a caller without a key.
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../registry/manifest.ts';
import worker, { createApp } from '../worker/index.ts';
import { r2Models } from '../worker/model-store.ts';
import { type FakeEngine, fakeEngine } from '../worker/testing.ts';
import { microModelFiles } from '../model/testing.ts';
import { call, fakeFiles, json, putVersion, tinyModelFiles } from './helpers.ts';

type Json = Record<string, any>;
const M = { MODEL_NAME: 'robust' };
const manySentences = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`).join(' ');

beforeEach(async () => {
  await putVersion('robust', 'v1', fakeFiles('robust'));
});

// An app whose one engine is `engine`, so a test can watch (and act inside) its calls.
function appWith(engine: FakeEngine) {
  return createApp({ models: r2Models(async () => engine) });
}

describe('heavy requests', () => {
  it('refuses a request over MAX_WORK with a 422 that states the limit, before decoding', async () => {
    const engine = fakeEngine({ name: 'robust', version: 'v1' });
    const res = await call('/v1/translate', json({ text: ['One two three.', 'Four.'], source: 'en', target: 'de', beam: 2 }), { ...M, MAX_WORK: '200' }, appWith(engine));
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as Json;
    expect(error.code).toBe('too_much_work');
    expect(error.message).toContain('needs up to 216'); // (3 + 52 + 1 + 52) steps x beam 2
    expect(error.message).toContain('the limit is 200');
    expect(error.message).toContain('MAX_WORK');
    expect(engine.calls).toHaveLength(0);
    const stream = await call('/v1/translate', json({ text: 'One two three.', source: 'en', target: 'de', stream: true }), { ...M, MAX_WORK: '10' }, appWith(engine));
    expect([stream.status, ((await stream.json()) as Json).error.code]).toEqual([422, 'too_much_work']); // before the stream starts
    const aligned = await call('/v1/translate', json({ text: 'One two three.', source: 'en', target: 'de', alignments: true }), { ...M, MAX_ALIGNMENT_CELLS: '100' }, appWith(engine));
    expect(aligned.status).toBe(422);
    expect(((await aligned.json()) as Json).error.message).toMatch(/up to 275 attention cells.*the limit is 100.*MAX_ALIGNMENT_CELLS/);
  });

  it('splits a sentence longer than the model takes and loses nothing', async () => {
    const words = Array.from({ length: 450 }, (_, i) => `word${i}`).join(' ');
    const body = (await (await post({ text: `${words}.`, source: 'en', target: 'de' })).json()) as Json;
    expect(body.translation.replaceAll('v1:', '')).toBe(`${words}.`.toUpperCase());
    expect(body.translation.match(/v1:/g)).toHaveLength(3); // pieces of at most 200 words
    expect(body.truncated).toBeUndefined();
  });

  it('flags a text in which a word longer than the real model takes was cut', async () => {
    await putVersion('tinyr', 'r1', tinyModelFiles());
    const res = await call('/v1/translate', json({ text: ['a man .', `a ${'€'.repeat(200)} .`], source: 'en', target: 'de', beam: 1 }), { MODEL_NAME: 'tinyr' }, worker);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).truncated).toEqual([1]);
  });

  it('flags a text whose translation by the real model stopped at its longest output', async () => {
    const files = microModelFiles(1, { maxLen: 12 }, -100); // never ends a sentence: stops at 11 tokens
    const enc = new TextEncoder();
    await putVersion('endless', 'e1', {
      'config.json': enc.encode(JSON.stringify({ ...(files.config as object), name: 'endless' })),
      'tokenizer.json': enc.encode(JSON.stringify(files.tokenizer)),
      'weights.safetensors': files.weights,
    });
    for (const stream of [false, true]) {
      const res = await call('/v1/translate', json({ text: ['a man .', ''], source: 'en', target: 'de', beam: 2, stream }), { MODEL_NAME: 'endless' }, worker);
      expect(res.status).toBe(200);
      const text = await res.text();
      const body = (stream ? JSON.parse(text.split('data: ').at(-1)!) : JSON.parse(text)) as Json;
      expect(body.translations[0]).not.toBe('');
      expect(body.lengthLimited).toEqual([0]);
    }
  });

  it('stops decoding at the next chunk when the client aborts', async () => {
    const abort = new AbortController();
    const engine = fakeEngine({ name: 'robust', version: 'v1' });
    const translate = engine.translate;
    engine.translate = (s, o) => (abort.abort(), translate(s, o));
    const res = await call('/v1/translate', { ...json({ text: manySentences, source: 'en', target: 'de' }), signal: abort.signal }, M, appWith(engine));
    expect(res.status).toBe(499);
    expect(((await res.json()) as Json).error.code).toBe('cancelled');
    expect(engine.calls).toHaveLength(1);
  });

  it('yields to the event loop between chunks, so other requests interleave', async () => {
    const order: string[] = [];
    const engine = fakeEngine({ name: 'robust', version: 'v1' });
    const translate = engine.translate;
    engine.translate = (s, o) => {
      order.push('chunk');
      if (order.length === 1) setTimeout(() => order.push('other'), 0);
      return translate(s, o);
    };
    const res = await call('/v1/translate', json({ text: manySentences, source: 'en', target: 'de' }), M, appWith(engine));
    expect(res.status).toBe(200);
    expect(order.length).toBeGreaterThan(2);
    expect(order.indexOf('other')).toBe(1);
  });
});

describe('hostile requests', () => {
  it('rate limits by client address before authentication, so 401s count too', async () => {
    const keys = { API_KEY_HASHES: await sha256Hex(new TextEncoder().encode('s3cret')), RATE_LIMITER: env.TIGHT_LIMITER };
    const guess = () => call('/v1/languages', { headers: { 'CF-Connecting-IP': '198.51.100.7', Authorization: 'Bearer guess' } }, { ...M, ...keys });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await guess()).status);
    expect(statuses).toEqual([401, 401, 429]);
    const last = await guess();
    expect(last.headers.get('Retry-After')).toBe('60');
    expect(((await last.json()) as Json).error.code).toBe('rate_limited');
    const good = await call('/v1/languages', { headers: { 'CF-Connecting-IP': '198.51.100.8', Authorization: 'Bearer s3cret' } }, { ...M, ...keys });
    expect(good.status).toBe(200);
  });

  it('answers other methods on the demo page files with a JSON 405 and Allow', async () => {
    const ASSETS = { fetch: async (r: Request) => (new URL(r.url).pathname === '/' ? new Response(r.method === 'HEAD' ? null : 'page') : new Response('', { status: 404 })) } as unknown as Fetcher;
    const post = await call('/', { method: 'POST', body: 'x' }, { ASSETS });
    expect(post.status).toBe(405);
    expect(post.headers.get('Allow')).toBe('GET, HEAD');
    expect(((await post.json()) as Json).error.code).toBe('method_not_allowed');
    expect(await (await call('/', {}, { ASSETS })).text()).toBe('page');
    const missing = await call('/nothing.js', { method: 'DELETE' }, { ASSETS });
    expect([missing.status, ((await missing.json()) as Json).error.code]).toEqual([404, 'not_found']);
  });

  it('shows /healthz details to key holders only', async () => {
    const keys = { API_KEY_HASHES: await sha256Hex(new TextEncoder().encode('s3cret')) };
    const open = (await (await call('/healthz', {}, { ...M, ...keys })).json()) as Json;
    expect(open).toEqual({ status: 'ok' });
    const held = (await (await call('/healthz', { headers: { Authorization: 'Bearer s3cret' } }, { ...M, ...keys })).json()) as Json;
    expect(held.models[0]).toMatchObject({ name: 'robust', version: 'v1' });
  });
});

function post(body: unknown) {
  return call('/v1/translate', json(body), M);
}
