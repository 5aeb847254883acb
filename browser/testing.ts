// Test doubles for the in-browser engine in Node: a fetch serving files by URL as the API's download route
// does, and a Worker whose other side is engineHost in this process (the code engine.worker.ts wires to
// `self`) over the real wasm kernels.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Flavor } from '../kernels/host.ts';
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
// the API's JSON 404. `tamper`: URLs whose hash header is wrong; `down`: URLs whose fetch fails as offline.
export function fakeServer(files: Record<string, Uint8Array>, opts: { tamper?: string[]; down?: string[] } = {}): FakeServer {
  const requests: string[] = [];
  const serve = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requests.push(url);
    if (opts.down?.includes(url)) throw new TypeError('Failed to fetch');
    const bytes = files[url] as Uint8Array<ArrayBuffer> | undefined;
    if (!bytes) return new Response(JSON.stringify({ error: { code: 'not_found', message: `no file ${url}` } }), { status: 404 });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const sha = opts.tamper?.includes(url) ? '0'.repeat(64) : [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 4096) c.enqueue(bytes.slice(i, i + 4096));
        c.close();
      },
    });
    return new Response(body, { headers: { 'Content-Length': String(bytes.length), 'X-Content-SHA256': sha } });
  }) as typeof fetch;
  return { fetch: serve, requests };
}

// A model folder's files under `base` (ending in '/'), as fakeServer takes them.
export const folder = (base: string, files: Record<string, Uint8Array>) => Object.fromEntries(Object.entries(files).map(([f, b]) => [base + f, b]));

// Messages are cloned as postMessage would clone them.
export function inProcessWorker(): WorkerLike {
  const listeners: Array<(e: Event) => void> = [];
  const handle = engineHost(
    (m) => setTimeout(() => listeners.forEach((fn) => fn(new MessageEvent<FromEngine>('message', { data: structuredClone(m) })))),
    async (flavor) => wasm(flavor),
  );
  return {
    postMessage: (m: ToEngine) => void handle(structuredClone(m)),
    addEventListener: (type, fn) => void (type === 'message' && listeners.push(fn)),
    terminate() {},
  };
}
