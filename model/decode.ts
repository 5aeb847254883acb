// The one place that defines decoding: every default a translation request gets, the bounds it is checked
// against, and the merge of the two. The engine (model/translator.ts) merges each request with its model's
// DecodeConfig once, as transformers.js merges a model's GenerationConfig with each generate() call; the API
// schema, the browser engine and the `mt` flags read their defaults and bounds from here.
import { UnsupportedError } from './engine.ts';
import { isNonNegative } from './parts.ts';

export interface DecodeConfig {
  // Beam width when a request names none; 1 is greedy. The paper's: 4 (6.1).
  beam: number;
  // Beam width when a request reranks and names none: the reranker can only pick among the n-best, so it
  // gets a wider one than plain search.
  rerankBeam: number;
  // The widest beam any request may ask for (API, browser, CLI): decoding work and the n-best grow with it.
  maxBeam: number;
  // GNMT length penalty lp(Y) = ((5 + |Y|) / 6)^alpha (Wu et al. 2016): higher prefers longer outputs. The
  // paper's 0.6 (6.1); a model's config.json "alpha" (per part, model/parts.ts) replaces it, tuned on val.
  alpha: number;
  // Weight w of the reverse direction's score when reranking, log P(y|x)/lp + w log P(x|y)/lp
  // (model/rerank.ts); a model's config.json "rerank" replaces it per direction, tuned on val.
  rerankWeight: number;
  // Longest output: source length + extraSteps tokens, within the model's positions (paper 6.1: + 50).
  extraSteps: number;
  // Decoder rows (sentences x beam) run together: bounds the KV caches, which dominate memory. At the
  // worst case (256 steps, d_model 256, 4 layers) 32 rows keep caches + scratch near 40 MiB, well inside
  // a Worker's 128 MB.
  maxRows: number;
  // Bytes of wasm memory a batch may take beyond the weights (encoder activations, the memory's keys and
  // values, KV caches, logits: InferenceModel.batchBytes). Batches are cut to fit, and a sentence alone
  // over it is split into shorter pieces or its output bound lowered (model/translator.ts), so a worst-case
  // request grows memory to at most the weights + this once (wasm memory never shrinks), and every later
  // request reuses it. 16 MiB: an OPUS-MT-sized int8 model (73 MiB of weights, 13 MiB of JS heap) stays
  // under 110 MB, inside a Worker's 128 MB (npm run bench:request -- --opus).
  scratchBytes: number;
}

export const DECODE_DEFAULTS: DecodeConfig = {
  beam: 4,
  rerankBeam: 8,
  maxBeam: 8,
  alpha: 0.6,
  rerankWeight: 0.5,
  extraSteps: 50,
  maxRows: 32,
  scratchBytes: 16 * 2 ** 20,
};

// What one request may choose; anything it leaves out comes from the model's DecodeConfig.
export interface DecodeRequest {
  beam?: number;
  alpha?: number;
  // Rescore the beam's n-best with the reverse direction of the model (model/rerank.ts).
  rerank?: boolean;
  rerankWeight?: number;
}

// A request merged with a DecodeConfig: what the engine decodes with.
export interface Decode extends DecodeConfig {
  rerank: boolean;
}

// The merge, checking what the request set (a bad value is the caller's error: UnsupportedError).
export function mergeDecode(config: DecodeConfig, request: DecodeRequest): Decode {
  const rerank = !!request.rerank;
  const beam = request.beam ?? (rerank ? config.rerankBeam : config.beam);
  if (!Number.isInteger(beam) || beam < 1 || beam > config.maxBeam) {
    throw new UnsupportedError('invalid_beam', `beam must be an integer from 1 to ${config.maxBeam}, got ${beam}`);
  }
  if (request.alpha !== undefined && !isNonNegative(request.alpha)) throw new UnsupportedError('invalid_alpha', 'alpha must be a number >= 0');
  if (request.rerankWeight !== undefined && !isNonNegative(request.rerankWeight)) {
    throw new UnsupportedError('invalid_rerank_weight', 'rerankWeight must be a number >= 0');
  }
  return { ...config, beam, rerank, alpha: request.alpha ?? config.alpha, rerankWeight: request.rerankWeight ?? config.rerankWeight };
}
