// The interface every host (edge worker, browser, CLI) uses to translate: a loaded model bound to kernels.
// Implemented by model/translator.ts; hosts only see this.
import type { Decode, DecodeRequest } from './decode.ts';

// A request: the direction, and the decoding settings it chooses (beam, alpha, rerank, rerankWeight; unset:
// the model's, model/decode.ts). Reranking needs a model that also serves target -> source and costs one
// teacher-forced pass per candidate; translateStream then sends the whole sentence as one piece (the choice
// is known only at the end).
export interface TranslateOptions extends DecodeRequest {
  source: string; // ISO 639-1 code, e.g. 'en'
  target: string;
  alignments?: boolean; // return encoder-decoder attention per sentence
}

export interface SentenceResult {
  text: string; // detokenized translation
  // Decoding stopped at the longest output allowed (source tokens + extraSteps, within the model's
  // positions: model/decode.ts) before the model ended the sentence: the end of the text may be missing.
  lengthLimited?: boolean;
  sourceTokens?: string[]; // subword pieces, for alignment labels
  targetTokens?: string[];
  // alignment[t][s]: cross-attention weight of target token t on source token s, averaged over heads
  // of the last decoder layer; `layers[l][h][t][s]` holds every layer and head when requested.
  alignment?: number[][];
  layers?: number[][][][];
}

// Whether [source, target] is one of `directions`: the one test of "does this model (or part) serve it".
export function serves(directions: Array<[string, string]>, source: string, target: string): boolean {
  return directions.some(([s, t]) => s === source && t === target);
}

export interface ModelInfo {
  name: string;
  version: string;
  languages: string[]; // languages the model's tokenizer has tags for
  directions: Array<[string, string]>; // [source, target] pairs the model was trained on
  parameters: number;
  bytes: number; // weight bytes resident in memory
  created?: string;
  bleu?: Record<string, number>; // e.g. { 'en-de': 38.1 } as recorded by `mt eval`
}

export interface Engine {
  readonly info: ModelInfo;
  // The most source subword tokens a sentence can have (the model's positions less the language tag and
  // </s>); the engine cuts a longer one, so hosts split long sentences first (model/texts.ts).
  readonly maxSourceTokens: number;
  // Subword tokens of a sentence as the encoder sees it (without the tag and </s>).
  countTokens(sentence: string): number;
  // The request merged with the model's DecodeConfig for its direction (model/decode.ts), checked: what
  // translate() decodes with. Throws UnsupportedError for a beam, alpha or weight out of bounds.
  decodeOptions(options: TranslateOptions): Decode;
  // Translates independent sentences (already split), batched together. Empty strings give ''.
  // Calls on one engine share its wasm arena: they run one at a time, in arrival order, except that one
  // made while translateStream decodes runs at its next pause between steps when it fits the memory left.
  translate(sentences: string[], options: TranslateOptions): Promise<SentenceResult[]>;
  // Translates one sentence, calling onToken with each new piece of detokenized text as soon as it is
  // certain (greedy: every step; beam: the prefix all live beams agree on), yielding to the event loop
  // between decoder steps so a server can flush; resolves to what translate() would return.
  translateStream(sentence: string, options: TranslateOptions, onToken: (piece: string) => void): Promise<SentenceResult>;
}

// Thrown for requests the model cannot serve (unknown language, unsupported direction); hosts map it to 400.
export class UnsupportedError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
