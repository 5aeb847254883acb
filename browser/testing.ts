// Test doubles for the in-browser engine in Node: a fetch serving files by URL as the API's download route
// does, and a Worker whose other side is engineHost in this process (the code engine.worker.ts wires to
// `self`) over the real wasm kernels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flavor } from '../kernels/host.ts';
import { hex } from '../model/sha256.ts';
import { engineHost } from './engine-host.ts';
import type { WorkerLike } from './translator.ts';
import type { FromEngine, ToEngine } from './protocol.ts';

const root = join(import.meta.dirname, '..');
export const wasm = (flavor: Flavor) => new WebAssembly.Module(readFileSync(join(root, `kernels/build/kernels.${flavor}.wasm`)));

export interface FakeServer {
  fetch: typeof fetch;
  requests: string[]; // every URL asked for, in order
}

// Serves `files` (URL -> bytes) with Content-Length and X-Content-SHA256, in chunks of 4 KiB; anything else is
// the API's JSON 404. `tamper`: URLs whose hash header is wrong; `down`: URLs whose fetch fails as offline;
// `alter`: URLs whose body is changed after the headers were made for the file (cut short, a byte changed);
// `breakAt`: URLs whose body fails after that many bytes, as a lost connection does.
export function fakeServer(
  files: Record<string, Uint8Array>,
  opts: { tamper?: string[]; down?: string[]; alter?: Record<string, (bytes: Uint8Array) => Uint8Array>; breakAt?: Record<string, number> } = {},
): FakeServer {
  const requests: string[] = [];
  const serve = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requests.push(url);
    if (opts.down?.includes(url)) throw new TypeError('Failed to fetch');
    const file = files[url] as Uint8Array<ArrayBuffer> | undefined;
    if (!file) return new Response(JSON.stringify({ error: { code: 'not_found', message: `no file ${url}` } }), { status: 404 });
    const sha = opts.tamper?.includes(url) ? '0'.repeat(64) : hex(await crypto.subtle.digest('SHA-256', file)); // not the hash under test
    const bytes = opts.alter?.[url]?.(file) ?? file;
    const end = Math.min(bytes.length, opts.breakAt?.[url] ?? Infinity);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at < end) c.enqueue(bytes.slice(at, (at = Math.min(at + 4096, end))));
        else if (end < bytes.length) c.error(new TypeError('network error'));
        else c.close();
      },
    });
    return new Response(body, { headers: { 'Content-Length': String(file.length), 'X-Content-SHA256': sha } });
  }) as typeof fetch;
  return { fetch: serve, requests };
}

// A model folder's files under `base` (ending in '/'), as fakeServer takes them.
export const folder = (base: string, files: Record<string, Uint8Array>) => Object.fromEntries(Object.entries(files).map(([f, b]) => [base + f, b]));

// Messages are cloned as postMessage would clone them, transferred objects (the weights' body) moved.
// `weightChunks`, when given, receives the byte length of every chunk of weights the engine reads.
export function inProcessWorker(weightChunks?: number[]): WorkerLike {
  const listeners: Array<(e: Event) => void> = [];
  const handle = engineHost(
    (m) => setTimeout(() => listeners.forEach((fn) => fn(new MessageEvent<FromEngine>('message', { data: structuredClone(m) })))),
    async (flavor) => wasm(flavor),
  );
  const seen = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      weightChunks?.push(chunk.byteLength);
      c.enqueue(chunk);
    },
  });
  return {
    postMessage(m: ToEngine, transfer: Transferable[] = []) {
      const moved = structuredClone(m, { transfer });
      if (moved.type === 'init' && weightChunks && moved.weights instanceof ReadableStream) moved.weights = moved.weights.pipeThrough(seen);
      void handle(moved);
    },
    addEventListener: (type, fn) => void (type === 'message' && listeners.push(fn)),
    terminate() {},
  };
}
