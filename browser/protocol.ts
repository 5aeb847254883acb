// Messages between the page (browser/index.ts) and the engine's Web Worker (browser/engine.worker.ts), and
// the one place a model's TextResult becomes the edge API's response shape (as worker/routes/translate.ts).
import type { ModelInfo, TranslateOptions } from '../model/engine.ts';
import { type TextResult, truncatedTexts } from '../model/texts.ts';
import type { BatchTranslation, SentenceAlignment, Translation } from '../client/types.ts';

export type ToEngine =
  | { type: 'init'; id: number; config: string; tokenizer: string; weights: ArrayBuffer; wasmBase: string }
  | { type: 'translate'; id: number; texts: string[]; options: TranslateOptions; stream: boolean };

export type FromEngine =
  | { type: 'ready'; id: number; info: ModelInfo; flavor: string }
  | { type: 'token'; id: number; index: number; piece: string }
  | { type: 'result'; id: number; results: TextResult[] }
  | { type: 'error'; id: number; code: string; message: string };

export function toTranslation(results: TextResult[], batch: boolean, model: { name: string; version: string }, alignments: boolean): Translation | BatchTranslation {
  const translations = results.map((r) => r.translation);
  const perText = results.map((r) =>
    r.sentences.map(
      ({ source, result }): SentenceAlignment => ({
        source,
        sourceTokens: result.sourceTokens ?? [],
        targetTokens: result.targetTokens ?? [],
        alignment: result.alignment ?? [],
        ...(result.layers ? { layers: result.layers } : {}),
      }),
    ),
  );
  const head = batch ? { translations } : { translation: translations[0] };
  const truncated = truncatedTexts(results);
  const body = { ...head, model: model.name, version: model.version, ...(truncated.length ? { truncated } : {}) };
  if (!alignments) return body as Translation | BatchTranslation;
  return { ...body, alignments: batch ? perText : perText[0] } as Translation | BatchTranslation;
}

// The API strips control characters other than tab, line feed and carriage return before translating
// (worker/input.ts); the in-browser engine does the same so both give the same translation.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
export const cleanText = (t: string) => t.replace(CONTROL, '');
