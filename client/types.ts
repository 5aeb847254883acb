// The edge API's wire format, shared by the client SDK and the in-browser engine so that either can answer
// the same call: derived from the API's zod schemas (worker/schemas.ts), the one definition. Types only:
// `import type` leaves nothing at run time, so the client bundle never loads zod.
import type { z } from 'zod';
import type * as api from '../worker/schemas.ts';

// A translate call's parameters: the request body without the text and the stream flag.
export type TranslateParams = Omit<z.input<typeof api.TranslateRequest>, 'text' | 'stream'>;

// One sentence of a text: alignment[t][s] is the attention of target token t on source token s, averaged
// over the heads of the last decoder layer. `layers[l][h][t][s]` (every layer and head) comes only from
// the in-browser engine; the edge API sends the average.
export type SentenceAlignment = z.infer<typeof api.SentenceAlignment>;

// Through a pivot, `model` and `version` join each leg's with '+', and `pivot` and `legs` say how it went.
export type Leg = z.infer<typeof api.Leg>;

// The response to one text; `truncated` is present when a word longer than the model takes was cut: [0];
// `lengthLimited` when a sentence's translation stopped at the output length bound instead of ending: [0].
export type Translation = z.infer<typeof api.Translation>;

// The response to a batch; `truncated` lists the texts in which a word longer than the model takes was cut,
// `lengthLimited` those in which a sentence's translation stopped at the output length bound.
export type BatchTranslation = z.infer<typeof api.BatchTranslation>;

// What a stream yields: pieces of text `index` as they are decoded (a text's pieces concatenate to its
// translation), then the full result, as the API's `token` and `done` server-sent events.
export type StreamEvent = ({ type: 'token' } & z.infer<typeof api.StreamToken>) | { type: 'done'; result: Translation | BatchTranslation };

// Every direction some model serves, directly or through English, and what each model serves directly.
export type Languages = z.infer<typeof api.Languages>;

export type ModelVersion = z.infer<typeof api.ModelVersion>;

export type ErrorBody = z.infer<typeof api.ErrorSchema>;

// Anything that translates locally with the API's semantics (browser/index.ts's Translator): the client
// falls back to it when the network is down.
export interface LocalTranslator {
  translate(text: string, params: TranslateParams): Promise<Translation>;
  translate(texts: string[], params: TranslateParams): Promise<BatchTranslation>;
  stream(text: string | string[], params: TranslateParams): AsyncIterable<StreamEvent>;
}
