// A small typed client for the edge API (worker/routes/*): translate one text or a batch, stream tokens
// as they are decoded, list languages and model versions. Needs only fetch and ReadableStream, so it runs in
// browsers, Node 18+ and Workers. Errors are ApiError { status, code, message }, as the API's error body;
// 429 and 503 are retried with exponential backoff (a 429's Retry-After is honoured). With a `fallback`
// (browser/index.ts's Translator) a request that cannot reach the network is translated locally.
import { readSse } from './sse.ts';
import type {
  BatchTranslation,
  ErrorBody,
  Languages,
  LocalTranslator,
  ModelVersion,
  StreamEvent,
  TranslateParams,
  Translation,
} from './types.ts';

export type * from './types.ts';

export class ApiError extends Error {
  readonly status: number; // HTTP status; 0 when no answer came (network_error)
  readonly code: string; // the API's error code: 'rate_limited', 'model_unavailable', 'unsupported_language', ...
  readonly retryAfter?: number; // seconds, from a Retry-After header
  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export interface ClientOptions {
  baseUrl?: string; // e.g. 'https://mt.example.com'; '' (the default) means same origin, for pages
  apiKey?: string; // sent as Authorization: Bearer <key>
  fetch?: typeof fetch;
  headers?: Record<string, string>;
  retries?: number; // retries after a 429, a 503 or a network error; default 3
  backoffMs?: number; // the first retry's delay, doubled for each next one (with jitter); default 500
  maxDelayMs?: number; // longest wait; a longer Retry-After fails at once (see ApiError.retryAfter); default 30000
  fallback?: LocalTranslator; // used at once when the network is down (no retries then)
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>; // for tests
  random?: () => number; // jitter source in [0, 1), for tests
}

export interface RequestOptions {
  signal?: AbortSignal;
}

const RETRY_STATUS = new Set([429, 503]);

export class Client {
  readonly baseUrl: string;
  private readonly opts: ClientOptions;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: ClientOptions = {}) {
    this.opts = opts;
    this.baseUrl = (opts.baseUrl ?? '').replace(/\/+$/, '');
    // Called through a closure: a bare reference to window.fetch stored on an object throws "Illegal invocation".
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  translate(text: string, params: TranslateParams, opts?: RequestOptions): Promise<Translation>;
  translate(texts: string[], params: TranslateParams, opts?: RequestOptions): Promise<BatchTranslation>;
  async translate(text: string | string[], params: TranslateParams, opts: RequestOptions = {}): Promise<Translation | BatchTranslation> {
    try {
      const res = await this.send('POST', '/v1/translate', { text, ...params }, opts);
      return (await res.json()) as Translation | BatchTranslation;
    } catch (e) {
      if (this.opts.fallback && isNetworkError(e)) return this.opts.fallback.translate(text as string, params);
      throw e;
    }
  }

  // Yields `token` events as the server decodes, then one `done` event with the full result. A request
  // that fails before streaming starts is retried like translate(); an `error` event becomes an ApiError.
  async *stream(text: string | string[], params: TranslateParams, opts: RequestOptions = {}): AsyncGenerator<StreamEvent> {
    let res: Response;
    try {
      res = await this.send('POST', '/v1/translate', { text, ...params, stream: true }, opts, 'text/event-stream');
    } catch (e) {
      if (this.opts.fallback && isNetworkError(e)) {
        yield* this.opts.fallback.stream(text, params);
        return;
      }
      throw e;
    }
    if (!res.body) throw new ApiError(res.status, 'bad_response', 'the streaming response has no body');
    try {
      for await (const m of readSse(res.body, opts.signal)) {
        if (m.event === 'token') {
          const { index, piece } = JSON.parse(m.data) as { index: number; piece: string };
          yield { type: 'token', index, piece };
        } else if (m.event === 'done') {
          yield { type: 'done', result: JSON.parse(m.data) as Translation | BatchTranslation };
          return;
        } else if (m.event === 'error') {
          const { error } = JSON.parse(m.data) as ErrorBody;
          throw new ApiError(res.status, error.code, error.message);
        }
      }
    } catch (e) {
      if (e instanceof ApiError || isAbort(e)) throw e;
      throw new ApiError(0, 'network_error', `the stream broke: ${errorText(e)}`);
    }
    throw new ApiError(res.status, 'stream_ended', 'the stream ended before its done event');
  }

  async languages(opts: RequestOptions = {}): Promise<Languages> {
    return (await (await this.send('GET', '/v1/languages', undefined, opts)).json()) as Languages;
  }

  // Versions of every catalogued model, newest first within a model; `serving` marks the one the API translates with.
  async models(opts: RequestOptions = {}): Promise<ModelVersion[]> {
    return ((await (await this.send('GET', '/v1/models', undefined, opts)).json()) as { models: ModelVersion[] }).models;
  }

  // Where a version's files download from: the base URL for Translator.load.
  modelUrl(name: string, version: string): string {
    return `${this.baseUrl}/v1/models/${encodeURIComponent(name)}/${encodeURIComponent(version)}/`;
  }

  // Headers every call sends (an in-browser Translator loading through the API needs the key too).
  headers(): Record<string, string> {
    return { ...this.opts.headers, ...(this.opts.apiKey ? { Authorization: `Bearer ${this.opts.apiKey}` } : {}) };
  }

  // One call with retries: 429 and 503 wait (Retry-After, else exponential backoff) and try again; so does a
  // network error unless a fallback will take over. Resolves to an ok response; throws ApiError otherwise.
  private async send(method: string, path: string, body: unknown, opts: RequestOptions, accept = 'application/json'): Promise<Response> {
    const retries = this.opts.retries ?? 3;
    const maxDelay = this.opts.maxDelayMs ?? 30_000;
    const headers: Record<string, string> = { Accept: accept, ...this.headers() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal };
    for (let attempt = 0; ; attempt++) {
      let err: ApiError;
      try {
        const res = await this.fetchImpl(this.baseUrl + path, init);
        if (res.ok) return res;
        err = await apiError(res);
        if (!RETRY_STATUS.has(res.status)) throw err;
      } catch (e) {
        if (e instanceof ApiError || isAbort(e)) throw e;
        err = new ApiError(0, 'network_error', `cannot reach ${this.baseUrl || 'the API'}: ${errorText(e)}`);
        if (this.opts.fallback) throw err;
      }
      if (attempt >= retries) throw err;
      const delay = err.retryAfter !== undefined ? err.retryAfter * 1000 : this.backoff(attempt, maxDelay);
      if (delay > maxDelay) throw err;
      await (this.opts.sleep ?? sleep)(delay, opts.signal);
    }
  }

  // Exponential backoff with "equal jitter": half the delay fixed, half random, so clients spread out.
  private backoff(attempt: number, maxDelay: number): number {
    const d = Math.min(maxDelay, (this.opts.backoffMs ?? 500) * 2 ** attempt);
    return d / 2 + (d / 2) * (this.opts.random ?? Math.random)();
  }
}

export function createClient(opts: ClientOptions = {}): Client {
  return new Client(opts);
}

async function apiError(res: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    if (error && typeof error.code === 'string') return new ApiError(res.status, error.code, error.message ?? error.code, retryAfter);
  } catch {
    // not the API's JSON error body (a proxy's page, say): fall through
  }
  return new ApiError(res.status, `http_${res.status}`, text.slice(0, 200) || res.statusText || `HTTP ${res.status}`, retryAfter);
}

// Retry-After is either seconds or an HTTP date.
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

const isNetworkError = (e: unknown) => e instanceof ApiError && e.code === 'network_error';
const isAbort = (e: unknown) => e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
