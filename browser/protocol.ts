// Messages between the page (browser/index.ts) and the engine's Web Worker (browser/engine.worker.ts).
import type { ModelInfo, TranslateOptions } from '../model/engine.ts';
import type { TextResult } from '../model/texts.ts';

export type ToEngine =
  // `weights`: weights.safetensors' body as it downloads, read by the worker chunk by chunk into wasm memory
  // and checked against `sha256` (the X-Content-SHA256 header, when the server sent one) as it passes.
  | { type: 'init'; id: number; config: string; tokenizer: string; weights: WeightsBody; sha256?: string; wasmBase: string }
  | { type: 'translate'; id: number; texts: string[]; options: TranslateOptions; stream: boolean };

export type FromEngine =
  | { type: 'ready'; id: number; info: ModelInfo; flavor: string }
  | { type: 'token'; id: number; index: number; piece: string }
  | { type: 'result'; id: number; results: TextResult[] }
  | { type: 'error'; id: number; code: string; message: string };

// The API strips control characters other than tab, line feed and carriage return before translating
// (worker/input.ts); the in-browser engine does the same so both give the same translation.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
export const cleanText = (t: string) => t.replace(CONTROL, '');

// The code of a download whose bytes are not the server's: cut short, or not matching X-Content-SHA256 (the
// API's error code for it; the page reports it as an ApiError).
export const CORRUPT_DOWNLOAD = 'corrupt_download';

// The check (model/verified-body.ts) of a file against the sha256 its server sent; none sent: nothing to check.
export function sha256Check(file: string, want: string | null | undefined): (size: number, sha256: string) => void {
  return (size, got) => {
    if (want && got !== want.toLowerCase()) {
      throw Object.assign(new Error(`${file}: sha256 ${got} of ${size} bytes does not match ${want}`), { code: CORRUPT_DOWNLOAD });
    }
  };
}

// A body crosses to the worker as a transferred ReadableStream where streams are transferable (Chromium 87+,
// Firefox 103+): the browser moves the chunks with backpressure and the fetch stays on the page, with its
// headers, AbortSignal and progress. Where they are not (Safari), as a MessagePort that carries the same
// chunks one per request, so the body is never whole there either.
export type WeightsBody = ReadableStream<Uint8Array> | MessagePort;

let transferable: boolean | undefined;
export function streamsTransferable(): boolean {
  if (transferable === undefined) {
    const probe = new ReadableStream();
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(probe, [probe]);
      transferable = true;
    } catch {
      transferable = false;
    }
    port1.close();
    port2.close();
  }
  return transferable;
}

type PortMessage = { chunk: Uint8Array } | { done: true } | { error: string };

// The page's end of a MessagePort body: each 'pull' from the worker is answered with the next chunk (its
// buffer moved, not copied), the end, or the read error; 'cancel' stops the download.
export function streamToPort(body: ReadableStream<Uint8Array>): MessagePort {
  const { port1, port2 } = new MessageChannel();
  const reader = body.getReader();
  port1.onmessage = async (e: MessageEvent<'pull' | 'cancel'>) => {
    if (e.data === 'cancel') return void reader.cancel().finally(() => port1.close());
    try {
      const { value, done } = await reader.read();
      if (done) return port1.postMessage({ done: true } satisfies PortMessage);
      const chunk = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
      port1.postMessage({ chunk } satisfies PortMessage, [chunk.buffer]);
    } catch (err) {
      port1.postMessage({ error: err instanceof Error ? err.message : String(err) } satisfies PortMessage);
    }
  };
  return port2;
}

// The worker's end: the body as a ReadableStream again, one chunk asked for at a time.
export function portStream(port: MessagePort): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull: (c) =>
      new Promise<void>((resolve) => {
        port.onmessage = (e: MessageEvent<PortMessage>) => {
          const m = e.data;
          if ('chunk' in m) c.enqueue(m.chunk);
          else {
            port.close();
            if ('done' in m) c.close();
            else c.error(new Error(m.error));
          }
          resolve();
        };
        port.postMessage('pull');
      }),
    cancel: () => port.postMessage('cancel'),
  });
}
