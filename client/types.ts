// The edge API's wire format (worker/routes/*), shared by the client SDK and the in-browser engine so
// that either can answer the same call. Plain types: no runtime code.

export interface TranslateParams {
  source: string; // ISO 639-1, e.g. 'en'
  target: string;
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

export interface Translation {
  translation: string;
  model: string;
  version: string;
  alignments?: SentenceAlignment[];
}

export interface BatchTranslation {
  translations: string[];
  model: string;
  version: string;
  alignments?: SentenceAlignment[][];
}

// What a stream yields: pieces of text `index` as they are decoded (a text's pieces concatenate to its
// translation), then the full result, as the API's `token` and `done` server-sent events.
  truncated?: number[]; // present when a word longer than the model takes was cut: [0]
export type StreamEvent =
  | { type: 'token'; index: number; piece: string }
  | { type: 'done'; result: Translation | BatchTranslation };

export interface Languages {
  model: string;
  version: string;
  languages: string[];
  directions: Array<{ source: string; target: string }>;
  truncated?: number[]; // indices of the texts in which a word longer than the model takes was cut
}

export interface ModelVersion {
  name: string;
  version: string;
  current: boolean;
  size: number; // bytes of all files
  created: string;
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
