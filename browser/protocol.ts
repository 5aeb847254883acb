// Messages between the page (browser/index.ts) and the engine's Web Worker (browser/engine.worker.ts).
import type { ModelInfo, TranslateOptions } from '../model/engine.ts';
import type { TextResult } from '../model/texts.ts';

export type ToEngine =
  | { type: 'init'; id: number; config: string; tokenizer: string; weights: ArrayBuffer; wasmBase: string }
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
