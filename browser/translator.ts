// One model in the browser: `await Translator.load(url, { onProgress })` downloads config.json,
// tokenizer.json and weights.safetensors from a model folder URL (or the API's /v1/models/<name>/<version>/
// route), then translates in a Web Worker (engine.worker.ts) so the page never freezes. The weights' body
// flows into the worker as it downloads and into wasm memory chunk by chunk, hashed on the way: the file is
// never whole in the JS heap, and a cut or changed one fails the load with corrupt_download. Same results and
// response shape as the edge API for the same model and options, plus every layer's and head's attention.
// Several models, routed and pivoted as the API does: catalog.ts.
import { ApiError } from '../client/index.ts';
import type { BatchTranslation, LocalTranslator, StreamEvent, TranslateParams, Translation } from '../client/types.ts';
import type { ModelInfo, TranslateOptions } from '../model/engine.ts';
import type { TextResult } from '../model/texts.ts';
import { translationBody } from '../model/response.ts';
import { VerifiedBody } from '../model/verified-body.ts';
import { CORRUPT_DOWNLOAD, type FromEngine, type ToEngine, cleanText, sha256Check, streamToPort, streamsTransferable } from './protocol.ts';

export type { BatchTranslation, StreamEvent, TranslateParams, Translation } from '../client/types.ts';

export interface LoadProgress {
  loaded: number; // bytes received so far, all three files together
  total?: number; // bytes expected, when every response said its length
}

// What the Translator needs of a Worker (tests pass an in-process fake): 'message' events carry FromEngine
// data, 'error' events an ErrorEvent.
export interface WorkerLike {
  postMessage(message: ToEngine, transfer?: Transferable[]): void;
  addEventListener(type: 'message' | 'error', fn: (e: Event) => void): void;
  terminate(): void;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  fetch?: typeof fetch;
  headers?: Record<string, string>; // e.g. Authorization for the API's download route
  signal?: AbortSignal;
  // Where the engine's worker script and the kernels (kernels.simd.wasm, kernels.relaxed.wasm) are served.
  // The defaults suit bundlers that understand `new URL(path, import.meta.url)` (Vite, webpack 5).
  workerUrl?: string | URL;
  wasmBase?: string | URL;
  worker?: () => WorkerLike;
}

// A request the engine refused (code 'unsupported_language', 'unsupported_direction', ...) or could not run.
export class EngineError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'EngineError';
    this.code = code;
  }
}

const FILES = ['config.json', 'tokenizer.json', 'weights.safetensors'] as const;

interface Pending {
  resolve(v: FromEngine): void;
  reject(e: Error): void;
  onToken?(index: number, piece: string): void;
}

export class Translator implements LocalTranslator {
  readonly info: ModelInfo;
  readonly flavor: string; // which kernels the browser runs: 'relaxed' or 'simd'
  private readonly worker: WorkerLike;
  private readonly pending: Map<number, Pending>;
  private nextId: number;
  private dead: Error | null = null;

  private constructor(worker: WorkerLike, pending: Map<number, Pending>, nextId: number, info: ModelInfo, flavor: string) {
    this.worker = worker;
    this.pending = pending;
    this.nextId = nextId;
    this.info = info;
    this.flavor = flavor;
  }

  static async load(url: string | URL, opts: LoadOptions = {}): Promise<Translator> {
    const base = new URL(String(url).replace(/\/?$/, '/'), globalThis.location?.href);
    const files = await download(base, opts);
    let worker: WorkerLike;
    try {
      worker = opts.worker?.() ?? new Worker(opts.workerUrl ?? new URL('./engine.worker.ts', import.meta.url), { type: 'module' });
    } catch (e) {
      void files.weights.cancel();
      throw e;
    }
    const pending = new Map<number, Pending>();
    const fail = (e: Error) => {
      for (const p of pending.values()) p.reject(e);
      pending.clear();
    };
    worker.addEventListener('message', (e) => {
      const m = (e as MessageEvent<FromEngine>).data;
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === 'token') return p.onToken?.(m.index, m.piece);
      pending.delete(m.id);
      if (m.type === 'error') p.reject(new EngineError(m.code, m.message));
      else p.resolve(m);
    });
    worker.addEventListener('error', (e) => fail(new EngineError('worker_failed', `the engine's worker failed: ${(e as ErrorEvent).message || 'could not start'}`)));
    const wasmBase = String(opts.wasmBase ?? new URL('../kernels/build/', import.meta.url));
    const ready = new Promise<FromEngine>((resolve, reject) => pending.set(0, { resolve, reject }));
    const weights = streamsTransferable() ? files.weights : streamToPort(files.weights);
    const init: ToEngine = { type: 'init', id: 0, config: files.config, tokenizer: files.tokenizer, weights, sha256: files.sha256, wasmBase: new URL(wasmBase, globalThis.location?.href).href };
    worker.postMessage(init, [weights]);
    let msg: FromEngine;
    try {
      msg = await ready;
    } catch (e) {
      worker.terminate(); // with it the half-built engine and its wasm memory
      opts.signal?.throwIfAborted();
      throw downloadError(e, files.status);
    }
    if (msg.type !== 'ready') throw new Error('unexpected engine answer');
    // Served through the API's download route, the manifest's name and version are the ones the API reports.
    const served = /\/v1\/models\/([^/]+)\/([^/]+)\/$/.exec(base.pathname);
    const info = served ? { ...msg.info, name: decodeURIComponent(served[1]), version: decodeURIComponent(served[2]) } : msg.info;
    const t = new Translator(worker, pending, 1, info, msg.flavor);
    worker.addEventListener('error', () => (t.dead = new EngineError('worker_failed', "the engine's worker stopped")));
    return t;
  }

  translate(text: string, params: TranslateParams): Promise<Translation>;
  translate(texts: string[], params: TranslateParams): Promise<BatchTranslation>;
  async translate(text: string | string[], params: TranslateParams): Promise<Translation | BatchTranslation> {
    const batch = Array.isArray(text);
    return this.body(await this.run(batch ? text : [text], params, false), batch, params);
  }

  // Token events as the engine decodes, then `done` with what translate() returns.
  async *stream(text: string | string[], params: TranslateParams): AsyncGenerator<StreamEvent> {
    const batch = Array.isArray(text);
    const queue: StreamEvent[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: unknown = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    this.run(batch ? text : [text], params, true, (index, piece) => {
      queue.push({ type: 'token', index, piece });
      notify();
    }).then(
      (results) => {
        queue.push({ type: 'done', result: this.body(results, batch, params) });
        finished = true;
        notify();
      },
      (e) => {
        failure = e;
        finished = true;
        notify();
      },
    );
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (finished) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  }

  // Stops the worker and frees the model's memory; pending calls fail.
  dispose(): void {
    this.dead = new EngineError('disposed', 'the translator was disposed');
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  // The API's response to the request (model/response.ts).
  private body(results: TextResult[], batch: boolean, params: TranslateParams): Translation | BatchTranslation {
    const leg = { source: params.source, target: params.target, model: this.info.name, version: this.info.version };
    return translationBody(results, { batch, alignments: !!params.alignments, legs: [leg] });
  }

  private run(texts: string[], params: TranslateParams, stream: boolean, onToken?: Pending['onToken']): Promise<TextResult[]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const options: TranslateOptions = {
      source: params.source, target: params.target, beam: params.beam, alignments: !!params.alignments,
      ...(params.rerank ? { rerank: true } : {}),
    };
    return new Promise<TextResult[]>((resolve, reject) => {
      this.pending.set(id, { resolve: (m) => resolve((m as Extract<FromEngine, { type: 'result' }>).results), reject, onToken });
      this.worker.postMessage({ type: 'translate', id, texts: texts.map(cleanText), options, stream });
    });
  }
}

// Fetches the three files at once, reporting bytes as they arrive. config.json and tokenizer.json are read
// here and checked against X-Content-SHA256 when the server sends it (the API's download route does); the
// weights' body is left to stream into the engine's worker, which checks it the same way as it passes.
async function download(base: URL, opts: LoadOptions): Promise<{ config: string; tokenizer: string; weights: ReadableStream<Uint8Array>; sha256?: string; status: number }> {
  const responses = await Promise.all(FILES.map((f) => fetchOk(new URL(f, base), opts)));
  const lengths = responses.map((r) => Number(r.headers.get('content-length') ?? NaN));
  const known = lengths.every((n) => Number.isFinite(n) && n >= 0);
  let loaded = 0;
  const report = () => opts.onProgress?.({ loaded, total: known ? Math.max(loaded, lengths.reduce((a, b) => a + b, 0)) : undefined });
  report();
  const bodies = responses.map((res) => counted(res, (n) => {
    loaded += n;
    report();
  }));
  const sha256 = (i: number) => responses[i].headers.get('x-content-sha256') ?? undefined;
  try {
    const text = (i: number) => readText(bodies[i], sha256Check(FILES[i], sha256(i))).catch((e) => Promise.reject(downloadError(e, responses[i].status)));
    const [config, tokenizer] = await Promise.all([text(0), text(1)]);
    return { config, tokenizer, weights: bodies[2], sha256: sha256(2), status: responses[2].status };
  } catch (e) {
    void bodies[2].cancel();
    throw e;
  }
}

// A corrupt_download from a check, here or in the engine's worker, as the ApiError the API's client gives.
const downloadError = (e: unknown, status: number) =>
  (e as { code?: unknown }).code === CORRUPT_DOWNLOAD ? new ApiError(status, CORRUPT_DOWNLOAD, (e as Error).message) : e;

// A response's body with every chunk counted as it passes (an empty stream when the response has none).
function counted(res: Response, onChunk: (n: number) => void): ReadableStream<Uint8Array> {
  const body = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        onChunk(chunk.byteLength);
        c.enqueue(chunk);
      },
    }),
  );
}

// A small file's text, once its bytes passed `check`.
async function readText(body: ReadableStream<Uint8Array>, check: (size: number, sha256: string) => void): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of new VerifiedBody(body, check).chunks()) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

// GET with the load options' fetch, headers and signal: no answer is ApiError network_error, an error status
// the API's error (its JSON body when there is one).
export async function fetchOk(url: URL, opts: Pick<LoadOptions, 'fetch' | 'headers' | 'signal'>): Promise<Response> {
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  let res: Response;
  try {
    res = await doFetch(url, { headers: opts.headers, signal: opts.signal });
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', `cannot download ${url}: ${e instanceof Error ? e.message : e}`);
  }
  if (!res.ok) throw await loadError(res, url);
  return res;
}

async function loadError(res: Response, url: URL): Promise<ApiError> {
  try {
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    return new ApiError(res.status, error.code, `cannot download ${url.pathname}: ${error.message}`);
  } catch {
    return new ApiError(res.status, `http_${res.status}`, `cannot download ${url.pathname}: HTTP ${res.status}`);
  }
}
