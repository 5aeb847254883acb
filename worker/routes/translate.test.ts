import { describe, expect, it } from 'vitest';
import type { SentenceResult } from '../../model/engine.ts';
import type { Env } from '../env.ts';
import { type FakeEngine, fakeEngine, fakeProvider, postJson, routeApp } from '../testing.ts';
import { translateRoutes } from './translate.ts';

type Json = Record<string, any>;

function setup(engine: FakeEngine | null = fakeEngine()) {
  const app = routeApp(translateRoutes(), fakeProvider(engine));
  const post = (body: unknown, env: Env = {}, headers: Record<string, string> = {}) =>
    app.request('/v1/translate', postJson(body, headers), env);
  return { app, post, engine: engine! };
}

async function expectError(res: Response, status: number, code: string, message?: RegExp) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as Json;
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
}

describe('POST /v1/translate', () => {
  it('translates one text', async () => {
    const { post, engine } = setup();
    const res = await post({ text: 'A dog runs.', source: 'en', target: 'de' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ translation: 'v1:A DOG RUNS.', model: 'fake', version: 'v1' });
    expect(res.headers.get('X-Cache')).toBe('MISS');
    expect(engine.options[0]).toEqual({ source: 'en', target: 'de', alignments: false }); // the engine's DecodeConfig fills the rest
    expect(engine.decodeOptions(engine.options[0]).beam).toBe(4);
  });

  it('translates a batch in one engine call, empty texts included', async () => {
    const { post, engine } = setup();
    const res = await post({ text: ['Two cats.', '', 'A bird sings.'], source: 'en', target: 'de', beam: 1 });
    expect(await res.json()).toEqual({ translations: ['v1:TWO CATS.', '', 'v1:A BIRD SINGS.'], model: 'fake', version: 'v1' });
    expect(engine.calls).toEqual([['Two cats.', 'A bird sings.']]);
    expect(engine.options[0].beam).toBe(1);
  });

  it('splits long input into sentences and keeps whitespace and line breaks', async () => {
    const { post, engine } = setup();
    const res = await post({ text: '  First one.  Second one!\n\nThird?\n', source: 'en', target: 'de' });
    expect(((await res.json()) as Json).translation).toBe('  v1:FIRST ONE.  v1:SECOND ONE!\n\nv1:THIRD?\n');
    expect(engine.calls.flat().sort()).toEqual(['First one.', 'Second one!', 'Third?']); // in chunks, shortest first (model/texts.ts)
  });

  it('gives an empty translation for empty text', async () => {
    const { post, engine } = setup();
    const res = await post({ text: '', source: 'en', target: 'de' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).translation).toBe('');
    expect(engine.calls).toEqual([]);
  });

  it('returns tokens and the cross-attention matrix per sentence with alignments', async () => {
    const { post } = setup();
    const res = await post({ text: 'Big dog. Small cat.', source: 'en', target: 'de', alignments: true });
    const body = (await res.json()) as Json;
    expect(body.alignments).toHaveLength(2);
    expect(body.alignments[0]).toEqual({
      source: 'Big dog.',
      sourceTokens: ['Big', 'dog.'],
      targetTokens: ['BIG', 'DOG.'],
      alignment: [[1, 0], [0, 1]],
    });
    const batch = (await (await post({ text: ['One.', 'Two.'], source: 'en', target: 'de', alignments: true })).json()) as Json;
    expect(batch.alignments.map((a: Json[]) => a.length)).toEqual([1, 1]);
  });

  it('serves an identical request from the edge cache', async () => {
    const { post, engine } = setup();
    const req = { text: 'Cache me, please.', source: 'en', target: 'de', beam: 2 };
    const first = await post(req);
    const second = await post(req);
    expect(first.headers.get('X-Cache')).toBe('MISS');
    expect(second.headers.get('X-Cache')).toBe('HIT');
    expect(await second.json()).toEqual(await first.json());
    expect(engine.calls).toHaveLength(1);
    expect((await post({ ...req, beam: 3 })).headers.get('X-Cache')).toBe('MISS'); // options are in the key
  });

  it('keeps source "auto" and the source it detects apart in the cache: each gets its own body', async () => {
    const { post, engine } = setup();
    const text = 'The cached dog runs across the green park.';
    const asked = async (source: string) => {
      const res = await post({ text, source, target: 'de' });
      return { cache: res.headers.get('X-Cache'), body: (await res.json()) as Json };
    };
    const auto = await asked('auto');
    expect([auto.cache, auto.body.detected?.language]).toEqual(['MISS', 'en']);
    const given = await asked('en');
    expect([given.cache, given.body.translation]).toEqual(['MISS', auto.body.translation]);
    expect(given.body).not.toHaveProperty('detected');
    expect(await asked('auto')).toEqual({ ...auto, cache: 'HIT' });
    expect(await asked('en')).toEqual({ ...given, cache: 'HIT' });
    expect(engine.calls).toHaveLength(2);
  });

  it('streams tokens as server-sent events, then the full result', async () => {
    for (const [body, headers] of [
      [{ text: 'Stream it. Now.', source: 'en', target: 'de', stream: true }, {}],
      [{ text: 'Stream it. Now.', source: 'en', target: 'de' }, { Accept: 'text/event-stream' }],
    ] as const) {
      const { post, engine } = setup();
      const res = await post(body, {}, headers);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const events = parseSSE(await res.text());
      const tokens = events.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data));
      const done = events.at(-1)!;
      expect(done.event).toBe('done');
      expect(JSON.parse(done.data)).toEqual({ translation: 'v1:STREAM IT. v1:NOW.', model: 'fake', version: 'v1' });
      expect(tokens.map((t) => t.piece).join('')).toBe('v1:STREAM IT. v1:NOW.');
      expect(tokens.length).toBeGreaterThan(2);
      expect(engine.calls).toEqual([['Stream it.'], ['Now.']]);
    }
  });

  it('reports an engine failure inside a stream as an error event', async () => {
    const { post } = setup();
    const events = parseSSE(await (await post({ text: 'BOOM', source: 'en', target: 'de', stream: true })).text());
    expect(events.at(-1)).toEqual({ event: 'error', data: JSON.stringify({ error: { code: 'internal', message: 'internal error' } }) });
  });
});

describe('POST /v1/translate: texts that may miss words', () => {
  it('lists the texts whose translation stopped at the length bound, those of a pivot\'s first leg too', async () => {
    const fren = fakeEngine({ name: 'fren', languages: ['fr', 'en'], directions: [['fr', 'en']] });
    const ende = fakeEngine({ name: 'ende', languages: ['en', 'de'], directions: [['en', 'de']] });
    const flagging = (e: FakeEngine, word: string) => {
      const { translate, translateStream } = e;
      const flag = (r: SentenceResult) => (r.text.includes(word) ? { ...r, lengthLimited: true } : r);
      e.translate = async (s, o) => (await translate(s, o)).map(flag);
      e.translateStream = async (s, o, onToken) => flag(await translateStream(s, o, onToken));
    };
    flagging(fren, 'ENDLOS');
    flagging(ende, 'FOREVER');
    const app = routeApp(translateRoutes(), fakeProvider([fren, ende]));
    const post = (body: object) => app.request('/v1/translate', postJson(body));
    const direct = (await (await post({ text: ['Short.', 'It goes on forever.', 'Fine.'], source: 'en', target: 'de' })).json()) as Json;
    expect(direct).toMatchObject({ translations: ['v1:SHORT.', 'v1:IT GOES ON FOREVER.', 'v1:FINE.'], lengthLimited: [1] });
    expect(direct).not.toHaveProperty('truncated');
    const texts = ['Un texte endlos.', 'Court.', 'forever'];
    const pivot = (await (await post({ text: texts, source: 'fr', target: 'de' })).json()) as Json;
    expect(pivot).toMatchObject({ pivot: 'en', lengthLimited: [0, 2] }); // 0 on the first leg, 2 on the second
    const events = parseSSE(await (await post({ text: texts, source: 'fr', target: 'de', stream: true })).text());
    expect(JSON.parse(events.at(-1)!.data)).toEqual(pivot);
    expect((await (await post({ text: 'Court.', source: 'fr', target: 'de' })).json()) as Json).not.toHaveProperty('lengthLimited');
  });
});

describe('POST /v1/translate: the compute budget through a pivot', () => {
  it('charges both legs before the first decodes, the second at the first\'s longest output', async () => {
    const fren = fakeEngine({ name: 'fren', languages: ['fr', 'en'], directions: [['fr', 'en']] });
    const ende = fakeEngine({ name: 'ende', languages: ['en', 'de'], directions: [['en', 'de']] });
    const app = routeApp(translateRoutes(), fakeProvider([fren, ende]));
    const post = (maxWork: number) => app.request('/v1/translate', postJson({ text: 'Un deux trois.', source: 'fr', target: 'de', beam: 2 }), { MAX_WORK: String(maxWork) });
    // First leg: 3 tokens + 52 steps, x beam 2 = 110; second: its source at most those 55 tokens, + 52 steps, x 2 = 214.
    const both = 110 + 214;
    await expectError(await post(both - 1), 422, 'too_much_work', new RegExp(`needs up to ${both} .*the limit is ${both - 1}`));
    expect([fren.calls, ende.calls]).toEqual([[], []]);
    // Once the first leg is done, its real charge (3 tokens: 110) replaces the estimate: 110 + 110 <= both,
    // where estimate and charge together (110 + 214 + 110) would be over.
    const ok = await post(both);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as Json).translation).toBe('v1:V1:UN DEUX TROIS.');
  });
});

describe('POST /v1/translate errors', () => {
  it('rerank: the engine gets rerank and decodes at beam 8 unless a beam is given; refused without the reverse direction', async () => {
    const { post, engine } = setup(fakeEngine({ directions: [['en', 'de'], ['de', 'en']] }));
    expect((await post({ text: 'A dog.', source: 'en', target: 'de', rerank: true })).status).toBe(200);
    expect(engine.options[0]).toEqual({ source: 'en', target: 'de', alignments: false, rerank: true });
    expect(engine.decodeOptions(engine.options[0]).beam).toBe(8);
    await post({ text: 'A dog.', source: 'en', target: 'de', rerank: true, beam: 3 });
    expect(engine.options[1]).toMatchObject({ beam: 3, rerank: true });
    await post({ text: 'A dog.', source: 'en', target: 'de', rerank: false });
    expect(engine.options[2]).toEqual({ source: 'en', target: 'de', alignments: false });
    expect(engine.decodeOptions(engine.options[2]).beam).toBe(4);

    const oneWay = setup();
    await expectError(await oneWay.post({ text: 'a', source: 'en', target: 'de', rerank: true }), 400, 'rerank_unavailable', /reverse direction de-en/);
    await expectError(await oneWay.post({ text: 'a', source: 'en', target: 'de', rerank: true, stream: true }), 400, 'rerank_unavailable');
    expect(oneWay.engine.calls).toEqual([]);
    await expectError(await oneWay.post({ text: 'a', source: 'en', target: 'de', rerank: 'yes' }), 422, 'invalid_request', /rerank/);
  });

  it('400 malformed_json for bad JSON, 415 for a non-JSON body', async () => {
    const { app } = setup();
    await expectError(await app.request('/v1/translate', postJson('{"text": "a",')), 400, 'malformed_json');
    const plain = { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' } };
    await expectError(await app.request('/v1/translate', plain), 415, 'unsupported_media_type');
  });

  it('422 invalid_request for wrong types and missing fields, naming the field', async () => {
    const { post } = setup();
    await expectError(await post({ text: 5, source: 'en', target: 'de' }), 422, 'invalid_request', /text/);
    await expectError(await post({ text: 'a', source: 'en' }), 422, 'invalid_request', /target/);
    await expectError(await post({ text: 'a', source: 'en', target: 'de', beam: 9 }), 422, 'invalid_request', /beam/);
    await expectError(await post({ text: 'a', source: 'en', target: 'de', beam: 1.5 }), 422, 'invalid_request', /beam/);
    await expectError(await post({ text: ['a', 3], source: 'en', target: 'de' }), 422, 'invalid_request', /text/);
    await expectError(await post([1, 2]), 422, 'invalid_request');
  });

  it('400 for an unknown language or direction, listing what is supported', async () => {
    const { post } = setup();
    await expectError(await post({ text: 'a', source: 'xx', target: 'de' }), 400, 'unsupported_language', /supported languages: de, en/);
    await expectError(await post({ text: 'a', source: 'de', target: 'en' }), 400, 'unsupported_direction', /supported directions: en-de/);
    await expectError(await post({ text: 'UNSUPPORTED', source: 'en', target: 'de' }), 400, 'unsupported_input');
  });

  it('source "auto" detects the language among those the model translates into the target, and says so', async () => {
    const { post, engine } = setup(fakeEngine({ languages: ['en', 'de', 'fr', 'es', 'cs'], directions: [['en', 'de'], ['fr', 'de'], ['es', 'de'], ['de', 'en']] }));
    const res = await post({ text: ['Je voudrais un café, s\'il vous plaît.', 'Merci beaucoup.'], source: 'auto', target: 'de' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.detected.language).toBe('fr');
    expect(body.detected.confidence).toBeGreaterThan(0.5);
    expect(engine.options[0].source).toBe('fr');
    expect(((await (await post({ text: '¿Dónde está la estación de tren?', source: 'auto', target: 'de' })).json()) as Json).detected.language).toBe('es');
    // Only languages that translate into the target are candidates: German text into German is not one.
    expect(((await (await post({ text: 'Guten Morgen, wie geht es Ihnen?', source: 'auto', target: 'en' })).json()) as Json).detected.language).toBe('de');
    await expectError(await post({ text: '12345 !!!', source: 'auto', target: 'de' }), 422, 'language_not_detected', /give source explicitly/);
    await expectError(await post({ text: 'Hello', source: 'auto', target: 'fr' }), 422, 'language_not_detected', /nothing translates into 'fr'/);
  });

  it('rejects invalid UTF-8 and lone surrogates with 400, strips control characters', async () => {
    const { app, post, engine } = setup();
    const bytes = new Uint8Array([...new TextEncoder().encode('{"text":"a'), 0xff, 0xfe, ...new TextEncoder().encode('","source":"en","target":"de"}')]);
    const res = await app.request('/v1/translate', { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/json' } });
    await expectError(res, 400, 'invalid_utf8');
    await expectError(await post('{"text":"a\\ud800b","source":"en","target":"de"}'), 400, 'invalid_text', /surrogate/);
    const ok = await post({ text: 'Tab\there\u0000\u0007 ok\u007f', source: 'en', target: 'de' });
    expect(ok.status).toBe(200);
    expect(engine.calls).toEqual([['Tab\there ok']]);
  });

  it('enforces MAX_CHARS and MAX_TEXTS (422) and MAX_BODY_BYTES (413), naming the limit', async () => {
    const { post } = setup();
    const env = { MAX_CHARS: '10', MAX_TEXTS: '2', MAX_BODY_BYTES: '200' };
    await expectError(await post({ text: 'x'.repeat(11), source: 'en', target: 'de' }, env), 422, 'text_too_long', /MAX_CHARS is 10/);
    expect((await post({ text: '😀'.repeat(10), source: 'en', target: 'de' }, env)).status).toBe(200); // characters, not UTF-16 units
    await expectError(await post({ text: ['a', 'b', 'c'], source: 'en', target: 'de' }, env), 422, 'too_many_texts', /MAX_TEXTS is 2/);
    await expectError(await post({ text: ' '.repeat(300), source: 'en', target: 'de' }, env), 413, 'payload_too_large', /MAX_BODY_BYTES/);
  });

  it('503 model_unavailable without a model', async () => {
    const { post } = setup(null);
    await expectError(await post({ text: 'a', source: 'en', target: 'de' }), 503, 'model_unavailable', /no model yet/);
  });

  it('500 without internals when the engine fails', async () => {
    const { post } = setup();
    const res = await post({ text: 'BOOM goes the engine.', source: 'en', target: 'de' });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error' } });
  });

  it('405 with Allow for the wrong method, 404 JSON for an unknown route', async () => {
    const { app } = setup();
    const res = await app.request('/v1/translate');
    await expectError(res, 405, 'method_not_allowed');
    expect(res.headers.get('Allow')).toBe('POST');
    await expectError(await app.request('/v1/nope'), 404, 'not_found');
  });
});

function parseSSE(text: string): Array<{ event?: string; data: string }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const e: { event?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) e.event = line.slice(7);
        if (line.startsWith('data: ')) e.data += line.slice(6);
      }
      return e;
    });
}
