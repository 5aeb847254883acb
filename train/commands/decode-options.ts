// The decoding flags `mt eval` and `mt translate` share: beam size, length penalty and n-best reranking.
import { RERANK_BEAM, beamFor } from '../../model/rerank.ts';
import { num, optNum } from '../args.ts';

export const DECODE_OPTIONS = {
  beam: { type: 'string' }, alpha: { type: 'string' }, rerank: { type: 'boolean' }, 'rerank-weight': { type: 'string' },
} as const;

export const DECODE_USAGE = `
  --beam N        beam size, 1 = greedy (default 4; ${RERANK_BEAM} with --rerank)
  --alpha A       length penalty of beam search, GNMT's (5+|Y|)^A/6^A (default: the model's config.json
                  "alpha" (its part's, for a model combined per direction), else the paper's 0.6)
  --rerank        rescore the n-best with the reverse direction of the model, log P(y|x)/lp + W log P(x|y)/lp
                  (needs a model serving both directions; costs about one more beam search)
  --rerank-weight W   the weight W (implies --rerank; default: the model's config.json "rerank" for the
                  direction, else 0.5)`;

export interface DecodeFlags {
  beam: number;
  alpha?: number;
  rerank: boolean;
  rerankWeight?: number;
}

export function decodeFlags(v: Record<string, any>): DecodeFlags {
  const rerankWeight = optNum(v, 'rerank-weight', { min: 0 });
  const rerank = !!v.rerank || rerankWeight !== undefined;
  return { beam: num(v, 'beam', beamFor(undefined, rerank), { min: 1, integer: true }), alpha: optNum(v, 'alpha', { min: 0 }), rerank, rerankWeight };
}
