// Beam search (paper 6.1: beam size 4, length penalty alpha = 0.6), batched across sentences: row
// s*beam + j of the decoder state is hypothesis j of sentence s. Greedy decoding is beam 1.
import type { DecoderState, InferenceModel } from './runtime.ts';
import type { SpecialIds } from './tokenizer.ts';

// A hypothesis is a chain of nodes, so beams share their common prefix.
interface Node {
  token: number;
  parent: Node | null;
  length: number;
}

interface Live {
  node: Node | null;
  score: number; // sum of log-probabilities
}

export interface Hypothesis {
  tokens: number[]; // without </s>
  score: number; // length-normalised
  logProb: number; // sum of log-probabilities, </s> included when finished
  ended: boolean; // by </s> (not at the length limit)
}

export interface SearchOptions {
  beam: number;
  alpha: number;
  maxSteps: number[]; // per sentence: source length + extraSteps (model/decode.ts), within the model's positions
  rules: SearchRules; // where it starts and ends, how it scores and stops (paperRules, or model/vocab.ts)
}

// The tokens a search starts and ends with, and how it scores and stops: the paper's for our models, Hugging
// Face generate()'s for an imported one (model/vocab.ts), so it finds what it was tuned to find.
export interface SearchRules {
  start: number; // the decoder's first input
  eos: number;
  banned: number[]; // never generated (HF bad_words_ids of one token: Marian's <pad>)
  // Banned ids leave the softmax (HF renormalize_logits), or are only dropped from its output (HF's default).
  renormalize: boolean;
  // 'gnmt': lp(L) = ((5 + L) / 6)^alpha (Wu et al. 2016, paper 6.1), L = tokens generated, </s> included;
  // at the length limit the live hypotheses join the finished ones. 'hf': HF's BeamSearchScorer, lp(L) =
  // L^alpha (its length counts the start token, not </s>: the same L), and at the limit the live hypotheses
  // join only a sentence that is not done yet.
  scorer: 'gnmt' | 'hf';
  // true: a sentence ends once `beam` hypotheses have finished (ours; HF early_stopping true). false: HF's
  // heuristic, also until the best candidate of the step, normalised by the current length, cannot beat
  // the worst of the `beam` best finished ones (early_stopping false, HF's default).
  earlyStopping: boolean;
  maxLength?: number; // HF max_length: the start token and at most maxLength - 1 generated ones
  forcedEos: boolean; // the last of those can only be </s> (HF forced_eos_token_id)
}

// The paper's rules for a tokenizer's special ids: start from bos, end at eos, nothing banned.
export function paperRules(specials: SpecialIds): SearchRules {
  return { start: specials.bos, eos: specials.eos, banned: [], renormalize: true, scorer: 'gnmt', earlyStopping: true, forcedEos: false };
}

// The most tokens a search under `rules` writes when `steps` would be allowed: HF's max_length counts the
// start token.
export function stepBound(steps: number, rules: SearchRules): number {
  return Math.min(steps, (rules.maxLength ?? Infinity) - 1);
}

// GNMT length penalty lp(Y) = (5 + |Y|)^alpha / (5 + 1)^alpha, or Hugging Face's |Y|^alpha
export function lengthPenalty(len: number, alpha: number, scorer: SearchRules['scorer'] = 'gnmt'): number {
  return scorer === 'hf' ? len ** alpha : ((5 + len) / 6) ** alpha;
}

export class BeamSearch {
  private live: Live[][]; // per sentence, beam entries
  private finished: Array<Array<{ node: Node; score: number; logProb: number }>>;
  private done: boolean[];
  // The sentences still searched, in the decoder state's order: rows i*group .. of st are active[i]'s.
  private active: number[];
  private K: number; // candidates per hypothesis and step
  private topIdx: number; // i32 (R,K): each row's K most likely next tokens, best first
  private topLogp: number; // f32 (R,K): their log-probabilities
  private model: InferenceModel;
  private st: DecoderState;
  private opts: SearchOptions;
  private rules: SearchRules;
  readonly maxSteps: number[]; // per sentence: opts.maxSteps within the rules' maxLength (a result that long was cut)

  constructor(model: InferenceModel, st: DecoderState, opts: SearchOptions) {
    this.model = model;
    this.st = st;
    this.opts = opts;
    const { Bs } = st;
    const beam = opts.beam;
    this.live = Array.from({ length: Bs }, () => Array.from({ length: beam }, (_, j) => ({ node: null, score: j === 0 ? 0 : -Infinity })));
    this.finished = Array.from({ length: Bs }, () => []);
    this.done = new Array(Bs).fill(false);
    this.active = Array.from({ length: Bs }, (_, s) => s);
    const rules = (this.rules = opts.rules);
    this.maxSteps = opts.maxSteps.map((m) => stepBound(m, rules));
    // 2*beam candidates per hypothesis: even if up to beam of them end in </s>, beam live ones remain
    // (and banned ids are among them when they are dropped only after the softmax).
    this.K = 2 * beam + (rules.renormalize ? 0 : rules.banned.length);
    const rows = Bs * beam;
    this.topIdx = model.arena.i32(rows * this.K);
    this.topLogp = model.arena.f32(rows * this.K);
  }

  get finishedAll(): boolean {
    return this.done.every(Boolean);
  }

  // The live hypotheses' tokens of sentence s, best first (for streaming the agreed prefix).
  liveTokens(s: number): number[][] {
    return this.live[s].filter((h) => h.score > -Infinity).map((h) => chain(h.node).map((n) => n.token));
  }

  // The next step's input of each row of the decoder state: its hypothesis's last token (first: the start).
  rowTokens(): Int32Array {
    const { R, group } = this.st;
    const tokens = new Int32Array(R);
    this.active.forEach((s, i) => {
      for (let j = 0; j < group; j++) tokens[i * group + j] = this.live[s][j].node?.token ?? this.rules.start;
    });
    return tokens;
  }

  // Runs one decoder step for every row and advances each unfinished sentence's beam; then the decoder
  // state keeps `beam` rows per sentence still searched, each continuing its hypothesis's parent row.
  step(): void {
    const { model, st, opts, rules } = this;
    const { beam } = opts;
    const lp = (len: number) => lengthPenalty(len, opts.alpha, rules.scorer);
    const { K } = this;
    const { R, group } = st;
    model.stepTopK(st, this.rowTokens(), K, this.topIdx, this.topLogp, rules.renormalize ? rules.banned : undefined);
    // HF's forced </s>: the step that reaches maxLength - 1 generated tokens can only end the hypothesis.
    const forced = rules.forcedEos && st.t === (rules.maxLength ?? 0) - 1;
    const topIdx = model.arena.i32view(this.topIdx, R * K);
    const topLogp = model.arena.f32view(this.topLogp, R * K);
    const kept: Array<{ at: number; parents: number[] }> = []; // sentences still searched: position, parent rows
    this.active.forEach((s, i) => {
      const cand: Array<{ score: number; token: number; j: number }> = [];
      for (let j = 0; j < Math.min(group, beam); j++) {
        const h = this.live[s][j];
        if (h.score === -Infinity) continue;
        if (forced) cand.push({ score: h.score, token: rules.eos, j });
        else for (let c = (i * group + j) * K, end = c + K; c < end && topIdx[c] >= 0; c++) {
          if (!rules.renormalize && rules.banned.includes(topIdx[c])) continue;
          cand.push({ score: h.score + topLogp[c], token: topIdx[c], j });
        }
      }
      cand.sort((a, b) => b.score - a.score || a.token - b.token);
      const next: Live[] = [];
      const parents: number[] = [];
      for (let k = 0; k < cand.length && next.length < beam; k++) {
        const c = cand[k];
        const parent = this.live[s][c.j].node;
        const node: Node = { token: c.token, parent, length: (parent?.length ?? 0) + 1 };
        if (c.token === rules.eos) {
          // A finished hypothesis counts only if it ranks among the top `beam` candidates.
          if (k < beam) this.finished[s].push({ node, score: c.score / lp(node.length), logProb: c.score });
          continue;
        }
        parents.push(i * group + c.j);
        next.push({ node, score: c.score });
      }
      while (next.length < beam) (next.push({ node: null, score: -Infinity }), parents.push(-1));
      this.live[s] = next;
      const atLimit = st.t >= this.maxSteps[s];
      const enough = this.finished[s].length >= beam && (rules.earlyStopping || this.worstKept(s) >= (cand[0]?.score ?? -Infinity) / lp(st.t));
      if (enough || atLimit || next[0].score === -Infinity) {
        if (!this.finished[s].length || (atLimit && !(enough && rules.scorer === 'hf'))) {
          for (const h of next) if (h.node) this.finished[s].push({ node: h.node, score: h.score / lp(h.node.length), logProb: h.score });
        }
        this.done[s] = true;
      } else kept.push({ at: i, parents });
    });
    if (!kept.length) return;
    // A sentence that finished leaves the decoder state; the last ones still searched take its place, so
    // only their rows move.
    const n = kept.length;
    const order = kept.filter((k) => k.at < n);
    const moved = kept.filter((k) => k.at >= n);
    for (let p = 0; p < n; p++) if (order[p]?.at !== p) order.splice(p, 0, moved.shift()!);
    this.active = order.map((k) => this.active[k.at]);
    model.reorder(st, Int32Array.from(order.flatMap((k) => k.parents)), beam);
  }

  // The score of the beam-th best finished hypothesis of sentence s (HF keeps only the beam best).
  private worstKept(s: number): number {
    return this.finished[s].map((f) => f.score).sort((a, b) => b - a)[this.opts.beam - 1];
  }

  // Best hypothesis per sentence.
  results(): Hypothesis[] {
    return this.nbest().map((hs) => hs[0] ?? { tokens: [], score: 0, logProb: 0, ended: false });
  }

  // Every finished hypothesis per sentence, best first (ties: the one found first); the live ones of a
  // sentence that finished none.
  nbest(): Hypothesis[][] {
    return this.finished.map((fin, s) => {
      const all = fin.length ? fin : this.live[s].filter((h) => h.node).map((h) => ({ node: h.node!, score: h.score, logProb: h.score }));
      return all
        .map((h, order) => ({ h, order }))
        .sort((a, b) => b.h.score - a.h.score || a.order - b.order)
        .map(({ h }) => {
          const nodes = chain(h.node);
          const tokens = nodes.map((n) => n.token).filter((t) => t !== this.rules.eos);
          return { tokens, score: h.score, logProb: h.logProb, ended: nodes.at(-1)?.token === this.rules.eos };
        });
    });
  }
}

function chain(node: Node | null): Node[] {
  const out: Node[] = [];
  for (let n = node; n; n = n.parent) out.push(n);
  return out.reverse();
}
