// The edge API's wire format (worker/routes/*), shared by the client SDK and the in-browser engine so
// that either can answer the same call. Plain types: no runtime code.

export interface TranslateParams {
  source: string; // ISO 639-1, e.g. 'en'
  target: string;
  model?: string; // a catalogued model (default: the first serving the direction, else through English)
  beam?: number; // 1 is greedy; the API's default is 4 (8 with rerank)
  alignments?: boolean; // return tokens and cross-attention per sentence
  rerank?: boolean; // rescore the n-best with the reverse direction (needs a model serving target -> source)
}

// One sentence of a text: alignment[t][s] is the attention of target token t on source token s, averaged
// over the heads of the last decoder layer. `layers[l][h][t][s]` (every layer and head) comes only from
// the in-browser engine; the edge API sends the average.
export interface SentenceAlignment {
  source: string;
  sourceTokens: string[];
  targetTokens: string[];
  alignment: number[][];
  layers?: number[][][][];
}

// Through a pivot, `model` and `version` join each leg's with '+', and `pivot` and `legs` say how it went.
export interface Leg {
  source: string;
  target: string;
  model: string;
  version: string;
}

export interface Translation {
  translation: string;
  model: string;
  version: string;
  pivot?: string; // e.g. 'en': no model serves the direction, it went source -> en -> target
  legs?: Leg[];
  alignments?: SentenceAlignment[];
  truncated?: number[]; // present when a word longer than the model takes was cut: [0]
}

export interface BatchTranslation {
  translations: string[];
  model: string;
  version: string;
  pivot?: string;
  legs?: Leg[];
  alignments?: SentenceAlignment[][];
  truncated?: number[]; // indices of the texts in which a word longer than the model takes was cut
}

// What a stream yields: pieces of text `index` as they are decoded (a text's pieces concatenate to its
// translation), then the full result, as the API's `token` and `done` server-sent events.
export type StreamEvent =
  | { type: 'token'; index: number; piece: string }
  | { type: 'done'; result: Translation | BatchTranslation };

// Every direction some model serves, directly or through English, and what each model serves directly.
export interface Languages {
  languages: string[];
  directions: Array<{ source: string; target: string; route: 'direct' | 'pivot'; models: string[]; pivot?: string }>;
  models: Array<{ name: string; version?: string; directions: Array<{ source: string; target: string }> }>;
}

export interface ModelVersion {
  name: string;
  version: string;
  current: boolean; // the manifest's current version
  serving: boolean; // the version the API translates with (an older one when the current one does not verify)
  size: number; // bytes of all files
  created: string; // when this version was pushed
  bleu?: Record<string, number>;
}

export interface ErrorBody {
  error: { code: string; message: string };
}

// Anything that translates locally with the API's semantics (browser/index.ts's Translator): the client
// falls back to it when the network is down.
export interface LocalTranslator {
  translate(text: string, params: TranslateParams): Promise<Translation>;
  translate(texts: string[], params: TranslateParams): Promise<BatchTranslation>;
  stream(text: string | string[], params: TranslateParams): AsyncIterable<StreamEvent>;
}
