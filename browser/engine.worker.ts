// The Web Worker the in-browser Translator runs in (a module worker): translation never blocks the page.
import { engineHost } from './engine-host.ts';
import type { FromEngine, ToEngine } from './protocol.ts';

const scope = self as unknown as {
  postMessage(m: FromEngine): void;
  onmessage: ((e: MessageEvent<ToEngine>) => void) | null;
};
const handle = engineHost((m) => scope.postMessage(m));
scope.onmessage = (e) => void handle(e.data);
