// BeamSearch under Hugging Face generate()'s rules (model/search.ts SearchRules) against a plain beam search
// written from transformers' BeamSearchScorer, on a toy language model whose next-token distribution is a
// fixed random function of the whole prefix: every combination of beam, early stopping, forced </s>,
// renormalized or dropped bad words and length penalty, on many prefixes.
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import type { DecoderState, InferenceModel } from './runtime.ts';
import { BeamSearch, type SearchRules } from './search.ts';

const V = 9;
const [EOS, PAD] = [0, V - 1];

// f32 log-probabilities of the next token after `prefix` (start token first), as a kernel would give them.
function logProbs(prefix: number[], seed: number, banned: number[], renormalize: boolean): number[] {
  let h = seed >>> 0;
  for (const t of prefix) h = Math.imul(h ^ (t + 0x9e37), 0x85ebca6b) >>> 0;
  const logits = Array.from({ length: V }, (_, v) => {
    let x = Math.imul(h ^ (v * 0x27d4eb2d), 0xc2b2ae35) >>> 0;
    x ^= x >>> 15;
    return ((x % 1000) / 1000) * 4 + (v === EOS ? 0.8 : 0);
  });
  if (renormalize) for (const b of banned) logits[b] = -Infinity;
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, x) => s + Math.exp(x - m), 0));
  const lp = logits.map((x) => Math.fround(x - lse));
  if (!renormalize) for (const b of banned) lp[b] = -Infinity;
  return lp;
}

// A model whose rows remember their prefixes (reordered as the cache would be).
const kernels = loadKernels('scalar');
function toyModel(seed: number) {
  const arena = new Arena(kernels); // over the memory the previous one used: that search is over
  let rows: number[][] = [];
  const model = {
    arena,
    config: { decoderLayers: 1, heads: 1 },
    stepTopK(st: DecoderState, tokens: Int32Array, K: number, idx: number, logp: number, banned?: number[]) {
      if (!rows.length) rows = Array.from({ length: st.R }, () => []);
      const I = arena.i32view(idx, st.R * K);
      const L = arena.f32view(logp, st.R * K);
      for (let r = 0; r < st.R; r++) {
        rows[r].push(tokens[r]);
        const lp = logProbs(rows[r], seed, banned ?? [], !!banned);
        const order = lp.map((_, v) => v).filter((v) => lp[v] > -Infinity).sort((a, b) => lp[b] - lp[a] || a - b);
        for (let k = 0; k < K; k++) [I[r * K + k], L[r * K + k]] = k < order.length ? [order[k], lp[order[k]]] : [-1, -Infinity];
      }
      st.t++;
    },
    reorder(_st: DecoderState, parents: Int32Array) {
      rows = Array.from(parents, (p) => rows[p].slice());
    },
  };
  const st = { R: 0, Bs: 1, group: 0, S: 1, Tmax: 64, t: 0 } as DecoderState;
  return { model: model as unknown as InferenceModel, st };
}

// transformers' beam search for one sentence (BeamSearchScorer, BeamHypotheses, finalize), or its greedy
// search at beam 1.
function hfSearch(seed: number, beam: number, alpha: number, r: SearchRules): number[] {
  const maxLength = r.maxLength!;
  const lpOf = (prefix: number[]) => {
    const forced = r.forcedEos && prefix.length === maxLength - 1;
    return forced ? Array.from({ length: V }, (_, v) => (v === r.eos ? 0 : -Infinity)) : logProbs(prefix, seed, r.banned, r.renormalize);
  };
  if (beam === 1) {
    const out = [r.start];
    while (out.length < maxLength) {
      const lp = lpOf(out);
      const t = lp.indexOf(Math.max(...lp));
      out.push(t);
      if (t === r.eos) break;
    }
    return out.slice(1).filter((t) => t !== r.eos);
  }
  let hyps = [[r.start]];
  let scores = [0];
  const done: Array<{ score: number; tokens: number[] }> = [];
  const add = (tokens: number[], sum: number, len: number) => {
    done.push({ score: sum / len ** alpha, tokens });
    done.sort((a, b) => b.score - a.score);
    done.splice(beam);
  };
  for (;;) {
    const cur = hyps[0].length;
    const cand = hyps.flatMap((h, b) => lpOf(h).map((l, t) => ({ score: scores[b] + l, b, t }))).sort((x, y) => y.score - x.score).slice(0, 2 * beam);
    const next: number[][] = [];
    const nextScores: number[] = [];
    for (const [rank, c] of cand.entries()) {
      if (c.score === -Infinity) break;
      if (c.t === r.eos) {
        if (rank < beam) add(hyps[c.b].slice(1), c.score, cur);
      } else {
        next.push([...hyps[c.b], c.t]);
        nextScores.push(c.score);
      }
      if (next.length === beam) break;
    }
    if (done.length >= beam && (r.earlyStopping || done[beam - 1].score >= cand[0].score / cur ** alpha)) break;
    if (!next.length) break;
    hyps = next;
    scores = nextScores;
    if (hyps[0].length >= maxLength) {
      hyps.forEach((h, b) => add(h.slice(1), scores[b], h.length - 1)); // finalize: the open beams
      break;
    }
  }
  return done[0].tokens;
}

describe('BeamSearch with Hugging Face rules', () => {
  const cases: Array<{ beam: number; alpha: number; rules: SearchRules }> = [];
  for (const beam of [1, 2, 3, 5])
    for (const earlyStopping of [false, true])
      for (const forcedEos of [true, false])
        for (const renormalize of [true, false])
          for (const alpha of [1, 0.6])
            cases.push({ beam, alpha, rules: { start: PAD, eos: EOS, banned: [PAD], renormalize, scorer: 'hf', earlyStopping, maxLength: 9, forcedEos } });

  it.each(cases.map((c) => [`beam ${c.beam} early ${c.rules.earlyStopping} forced ${c.rules.forcedEos} renormalize ${c.rules.renormalize} alpha ${c.alpha}`, c] as const))(
    '%s: the same best hypothesis on 25 prefixes',
    (_, { beam, alpha, rules }) => {
      const diff: string[] = [];
      for (let seed = 1; seed <= 25; seed++) {
        const { model, st } = toyModel(seed);
        st.R = beam;
        st.group = beam;
        const search = new BeamSearch(model, st, { beam, alpha, maxSteps: [100], rules });
        while (!search.finishedAll) search.step();
        const got = search.results()[0].tokens;
        const want = hfSearch(seed, beam, alpha, rules);
        if (got.join() !== want.join()) diff.push(`seed ${seed}: ${got} (HF ${want})`);
        expect(got.includes(PAD)).toBe(false);
        expect(got.length).toBeLessThanOrEqual(rules.forcedEos ? 7 : 8);
      }
      expect(diff).toEqual([]);
    },
  );
});
