// The client against a fake fetch: request shape, error mapping, retries and backoff, SSE, fallback.
import { describe, expect, it } from 'vitest';
import { ApiError, Client, type ClientOptions, type LocalTranslator, type StreamEvent, parseRetryAfter } from './index.ts';

type Reply = Response | Error | (() => Response);
interface Call {
  url: string;
  init: RequestInit;
}

// Answers calls with the replies in order (the last one repeats) and records every call.
function fake(...replies: Reply[]) {
  const calls: Call[] = [];
  const fakeFetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    calls.push({ url: String(input), init });
    const r = replies[Math.min(calls.length - 1, replies.length - 1)];
    if (r instanceof Error) throw r;
    return typeof r === 'function' ? r() : r.clone();
  }) as typeof fetch;
  return { fetch: fakeFetch, calls };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
const apiErr = (status: number, code: string, headers: Record<string, string> = {}) => json({ error: { code, message: `${code}!` } }, status, headers);

// A client whose sleeps are recorded, not waited for, and whose jitter is fixed at its maximum.
function client(f: ReturnType<typeof fake>, opts: ClientOptions = {}) {
  const slept: number[] = [];
  const c = new Client({ baseUrl: 'https://mt.test/', fetch: f.fetch, sleep: async (ms) => void slept.push(ms), random: () => 1, ...opts });
  return { c, slept };
}

const sse = (chunks: string[], status = 200) => () =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(ctl) {
        for (const s of chunks) ctl.enqueue(new TextEncoder().encode(s));
        ctl.close();
      },
    }),
    { status, headers: { 'Content-Type': 'text/event-stream' } },
  );

async function collect(it: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const params = { source: 'en', target: 'de' };
const ok = { translation: 'Hallo.', model: 'm', version: 'v1' };

describe('client', () => {
  it('posts the request as JSON with the API key, and returns the body', async () => {
    const f = fake(json(ok));
    const { c } = client(f, { apiKey: 'sekrit' });
    expect(await c.translate('Hello.', { ...params, beam: 2, alignments: true })).toEqual(ok);
    expect(f.calls[0].url).toBe('https://mt.test/v1/translate');
    expect(f.calls[0].init.method).toBe('POST');
    expect(JSON.parse(f.calls[0].init.body as string)).toEqual({ text: 'Hello.', source: 'en', target: 'de', beam: 2, alignments: true });
    expect(f.calls[0].init.headers).toMatchObject({ Authorization: 'Bearer sekrit', 'Content-Type': 'application/json', Accept: 'application/json' });
  });

  it('sends a batch as an array and lists languages and models', async () => {
    const f = fake(json({ translations: ['a', 'b'], model: 'm', version: 'v1' }), json({ model: 'm', version: 'v1', languages: ['en', 'de'], directions: [] }), json({ models: [{ name: 'm', version: 'v1', current: true }] }));
    const { c } = client(f);
    expect((await c.translate(['x', 'y'], params)).translations).toEqual(['a', 'b']);
    expect(JSON.parse(f.calls[0].init.body as string).text).toEqual(['x', 'y']);
    expect((await c.languages()).languages).toEqual(['en', 'de']);
    expect((await c.models())[0]).toMatchObject({ version: 'v1', current: true });
    expect(f.calls.slice(1).map((x) => [x.init.method, x.url])).toEqual([
      ['GET', 'https://mt.test/v1/languages'],
      ['GET', 'https://mt.test/v1/models'],
    ]);
    expect(c.modelUrl('m', 'v 1')).toBe('https://mt.test/v1/models/m/v%201/');
  });

  it('turns error bodies into ApiError and does not retry client errors', async () => {
    const f = fake(apiErr(400, 'unsupported_direction'));
    const { c, slept } = client(f);
    const e = await c.translate('x', params).catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 400, code: 'unsupported_direction', message: 'unsupported_direction!' });
    expect(f.calls).toHaveLength(1);
    expect(slept).toEqual([]);
    // A body that is not the API's (a proxy's page) still gives a typed error.
    const g = fake(new Response('<h1>Bad gateway</h1>', { status: 502 }));
    await expect(client(g).c.languages()).rejects.toMatchObject({ status: 502, code: 'http_502', message: '<h1>Bad gateway</h1>' });
  });

  it('waits as long as a 429 Retry-After says, then retries', async () => {
    const f = fake(apiErr(429, 'rate_limited', { 'Retry-After': '2' }), json(ok));
    const { c, slept } = client(f);
    expect(await c.translate('x', params)).toEqual(ok);
    expect(slept).toEqual([2000]);
    expect(f.calls).toHaveLength(2);
  });

  it('gives up at once when Retry-After is longer than maxDelayMs, saying how long', async () => {
    const f = fake(apiErr(429, 'rate_limited', { 'Retry-After': '60' }), json(ok));
    const { c, slept } = client(f, { maxDelayMs: 5000 });
    await expect(c.translate('x', params)).rejects.toMatchObject({ status: 429, code: 'rate_limited', retryAfter: 60 });
    expect(slept).toEqual([]);
  });

  it('backs off exponentially on 503 and fails after the last retry', async () => {
    const f = fake(apiErr(503, 'model_unavailable'));
    const { c, slept } = client(f, { retries: 3, backoffMs: 100 });
    await expect(c.translate('x', params)).rejects.toMatchObject({ status: 503, code: 'model_unavailable' });
    expect(f.calls).toHaveLength(4);
    expect(slept).toEqual([100, 200, 400]);
    // Jitter keeps at least half of each delay.
    const h = client(fake(apiErr(503, 'x'), json(ok)), { backoffMs: 100, random: () => 0 });
    await h.c.translate('x', params);
    expect(h.slept).toEqual([50]);
  });

  it('retries network errors, then reports network_error with status 0', async () => {
    const f = fake(new TypeError('fetch failed'));
    const { c, slept } = client(f, { retries: 2, backoffMs: 10 });
    await expect(c.languages()).rejects.toMatchObject({ status: 0, code: 'network_error' });
    expect(slept).toEqual([10, 20]);
  });

  it('stops on abort, also while waiting to retry', async () => {
    const ctl = new AbortController();
    const f = fake(apiErr(503, 'model_unavailable'));
    const c = new Client({ fetch: f.fetch, backoffMs: 60_000 });
    const p = c.translate('x', params, { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 1);
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(f.calls).toHaveLength(1);
  });

  it('streams token events split anywhere, then the result', async () => {
    const done = { translation: 'Ein Mann.', model: 'm', version: 'v1' };
    const text = `event: token\r\ndata: {"index":0,"piece":"Ein"}\r\n\r\n: comment\n\nevent: token\ndata: {"index":0,"piece":" Mann."}\n\nevent: done\ndata: ${JSON.stringify(done)}\n\n`;
    // Cut into 7-byte chunks: lines, \r\n pairs and the JSON all break across chunks.
    const chunks = text.match(/[\s\S]{1,7}/g)!;
    const f = fake(sse(chunks));
    const { c } = client(f);
    const events = await collect(c.stream('A man.', params));
    expect(events).toEqual([
      { type: 'token', index: 0, piece: 'Ein' },
      { type: 'token', index: 0, piece: ' Mann.' },
      { type: 'done', result: done },
    ]);
    expect(JSON.parse(f.calls[0].init.body as string).stream).toBe(true);
    expect(f.calls[0].init.headers).toMatchObject({ Accept: 'text/event-stream' });
  });

  it('raises an error event or a stream cut short as ApiError; retries before the stream starts', async () => {
    const f = fake(apiErr(503, 'model_unavailable'), sse(['event: token\ndata: {"index":0,"piece":"a"}\n\n', 'event: error\ndata: {"error":{"code":"internal","message":"boom"}}\n\n']));
    const { c, slept } = client(f, { backoffMs: 10 });
    const seen: StreamEvent[] = [];
    const err = await (async () => {
      for await (const e of c.stream('x', params)) seen.push(e);
    })().catch((e) => e);
    expect(slept).toEqual([10]);
    expect(seen).toEqual([{ type: 'token', index: 0, piece: 'a' }]);
    expect(err).toMatchObject({ code: 'internal', message: 'boom' });
    const cut = client(fake(sse(['event: token\ndata: {"index":0,"piece":"a"}\n\nevent: done\ndata: {"transl'])));
    await expect(collect(cut.c.stream('x', params))).rejects.toMatchObject({ code: 'stream_ended' });
  });

  it('uses the fallback at once when the network is down, for translate and stream', async () => {
    const local: LocalTranslator = {
      translate: (async (text: string | string[]) =>
        Array.isArray(text) ? { translations: text.map((t) => `local ${t}`), model: 'm', version: 'local' } : { translation: `local ${text}`, model: 'm', version: 'local' }) as LocalTranslator['translate'],
      async *stream(text) {
        yield { type: 'token', index: 0, piece: 'local' };
        yield { type: 'done', result: { translation: `local ${text}`, model: 'm', version: 'local' } };
      },
    };
    const f = fake(new TypeError('Failed to fetch'));
    const { c, slept } = client(f, { fallback: local });
    expect(await c.translate('x', params)).toMatchObject({ translation: 'local x' });
    expect(await c.translate(['x', 'y'], params)).toMatchObject({ translations: ['local x', 'local y'] });
    expect((await collect(c.stream('x', params))).map((e) => e.type)).toEqual(['token', 'done']);
    expect(slept).toEqual([]);
    // Server errors are not the network being down: no fallback for them.
    const g = client(fake(apiErr(400, 'bad_request')), { fallback: local });
    await expect(g.c.translate('x', params)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
