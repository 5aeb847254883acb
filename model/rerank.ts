// n-best reranking with the reverse direction of the same model. A model trained on en->de and de->en
// can also say how well a German candidate y explains the English source x, log P(x | y): the "channel"
// score of noisy-channel reranking (Yee et al. 2019) and the target-to-source rescoring of Edinburgh's
// WMT systems (Sennrich et al. 2016). It penalizes fluent candidates that drop or invent content.
//
//   score(y) = log P(y | x) / lp(|y|) + weight * log P(x | y) / lp(|x|)      lp: GNMT length penalty
//
// weight 0 is plain beam search. The weight is tuned per direction on the validation set
// (`mt eval --rerank --rerank-weight W --record`, kept in config.json "rerank"); its default and the beam
// of a reranked request are in model/decode.ts.
import { lengthPenalty, type Hypothesis } from './search.ts';
import type { InferenceModel } from './runtime.ts';
import type { SpecialIds } from './tokenizer.ts';

// Padded positions (rows x max(source, target) length) of one teacher-forced pass: bounds its buffers,
// whose largest, the (rows, heads, T, T) attention, grows with the square of the length (about 4 MiB at
// 4 heads and the longest sentences; 32 sentences of typical length fit at once).
const FORCED_POSITIONS = 1024;

// Sum of log P(tgt_1..tgt_n </s> | src) for each pair, by teacher forcing, up to maxRows pairs (and
// FORCED_POSITIONS) in one decoder pass. src: <2xx> x1..xm </s>; tgt: token ids without </s>.
export function forcedLogProbs(model: InferenceModel, pairs: Array<{ src: number[]; tgt: number[] }>, maxRows: number, specials: SpecialIds): number[] {
  const { bos, eos } = specials;
  const { arena } = model;
  const out = new Array<number>(pairs.length).fill(0);
  // Similar lengths together: less padding.
  const order = pairs.map((_, i) => i).sort((a, b) => pairs[a].src.length - pairs[b].src.length || pairs[a].tgt.length - pairs[b].tgt.length);
  const len = (i: number) => Math.max(pairs[i].src.length, pairs[i].tgt.length + 1);
  for (let b = 0, e = 0; b < order.length; b = e) {
    let longest = len(order[b]);
    for (e = b + 1; e < order.length && e - b < maxRows; e++) {
      const l = Math.max(longest, len(order[e]));
      if ((e - b + 1) * l > FORCED_POSITIONS) break;
      longest = l;
    }
    const rows = order.slice(b, e);
    const mark = arena.mark();
    const S = Math.max(...rows.map((i) => pairs[i].src.length));
    const src = new Int32Array(rows.length * S);
    rows.forEach((i, r) => src.set(pairs[i].src, r * S));
    const T = Math.max(...rows.map((i) => pairs[i].tgt.length)) + 1; // </s> included
    const st = model.encode(src, Int32Array.from(rows, (i) => pairs[i].src.length), S, 1, 1);
    // inputs <s> y1..yn (then padding), targets y1..yn </s>
    const inputs = new Int32Array(rows.length * T).fill(eos);
    const targets = new Int32Array(rows.length * T).fill(eos);
    rows.forEach((i, r) => {
      inputs[r * T] = bos;
      inputs.set(pairs[i].tgt, r * T + 1);
      targets.set(pairs[i].tgt, r * T);
    });
    const logp = model.forced(st, inputs, targets, T);
    rows.forEach((i, r) => {
      for (let t = 0; t <= pairs[i].tgt.length; t++) out[i] += logp[r * T + t];
    });
    arena.reset(mark);
  }
  return out;
}

// The candidate of `nbest` with the best combined score: its beam score (already length-normalized)
// plus weight * reverse[j] / lp(|x|), where reverse[j] is log P(x | nbest[j]) and sourceLen |x| counts
// </s> as the hypotheses' lengths do. Weight 0 keeps the beam's choice.
export function pickReranked(nbest: Hypothesis[], reverse: number[], sourceLen: number, alpha: number, weight: number): Hypothesis {
  const lpSource = lengthPenalty(sourceLen, alpha);
  let best = 0;
  let bestScore = -Infinity;
  nbest.forEach((h, j) => {
    const s = h.score + (weight * reverse[j]) / lpSource;
    if (s > bestScore) {
      bestScore = s;
      best = j;
    }
  });
  return nbest[best];
}
