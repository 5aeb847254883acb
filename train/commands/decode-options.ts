// The decoding flags `mt eval` and `mt translate` share: beam size, length penalty and n-best reranking.
import { DECODE_DEFAULTS as D, type DecodeRequest } from '../../model/decode.ts';
import { optNum } from '../args.ts';

export const DECODE_OPTIONS = {
  beam: { type: 'string' }, alpha: { type: 'string' }, rerank: { type: 'boolean' }, 'rerank-weight': { type: 'string' },
} as const;

export const DECODE_USAGE = `
  --beam N        beam size, 1 = greedy, at most ${D.maxBeam} (default ${D.beam}; ${D.rerankBeam} with --rerank)
  --alpha A       length penalty of beam search, GNMT's (5+|Y|)^A/6^A (default: the model's config.json
                  "alpha" (its part's, for a model combined per direction), else the paper's ${D.alpha})
  --rerank        rescore the n-best with the reverse direction of the model, log P(y|x)/lp + W log P(x|y)/lp
                  (needs a model serving both directions; costs about one more beam search)
  --rerank-weight W   the weight W (implies --rerank; default: the model's config.json "rerank" for the
                  direction, else ${D.rerankWeight})`;

// The request's choices; the engine fills in the rest from the model's DecodeConfig (model/decode.ts).
export function decodeFlags(v: Record<string, any>): DecodeRequest & { rerank: boolean } {
  const rerankWeight = optNum(v, 'rerank-weight', { min: 0 });
  const rerank = !!v.rerank || rerankWeight !== undefined;
  return { beam: optNum(v, 'beam', { min: 1, integer: true }), alpha: optNum(v, 'alpha', { min: 0 }), rerank, rerankWeight };
}
