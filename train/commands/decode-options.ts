// The decoding flags `mt eval` and `mt translate` share: beam size, length penalty and n-best reranking,
// bounded and defaulted by the engine's DecodeConfig (model/decode.ts).
import { DECODE_DEFAULTS as D, type DecodeRequest } from '../../model/decode.ts';
import { defineFlags, type FlagValues } from '../flags.ts';

export const DECODE_FLAGS = defineFlags({
  beam: { type: 'integer', arg: 'N', min: 1, max: D.maxBeam, help: `beam size, 1 = greedy (default ${D.beam}; ${D.rerankBeam} with --rerank)` },
  alpha: {
    type: 'number', arg: 'A', min: 0,
    help: `length penalty of beam search, GNMT's (5+|Y|)^A/6^A (default: the model's config.json\n"alpha" (its part's, for a model combined per direction), else the paper's ${D.alpha})`,
  },
  rerank: {
    type: 'boolean',
    help: 'rescore the n-best with the reverse direction of the model, log P(y|x)/lp + W log P(x|y)/lp\n(needs a model serving both directions; costs about one more beam search)',
  },
  'rerank-weight': {
    type: 'number', arg: 'W', min: 0,
    help: `the weight W (implies --rerank; default: the model's config.json "rerank" for the\ndirection, else ${D.rerankWeight})`,
  },
});

// The request's choices; the engine fills in the rest from the model's DecodeConfig.
export function decodeRequest(v: FlagValues<typeof DECODE_FLAGS>): DecodeRequest & { rerank: boolean } {
  return { beam: v.beam, alpha: v.alpha, rerank: v.rerank || v['rerank-weight'] !== undefined, rerankWeight: v['rerank-weight'] };
}
