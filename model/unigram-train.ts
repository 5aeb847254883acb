// Unigram language-model tokenizer training (Kudo 2018, "Subword Regularization", 3.2), after
// sentencepiece's unigram_model_trainer.cc: "make a reasonably big seed vocabulary from the training
// corpus; repeat until the vocabulary reaches the desired size: optimize p(x) with the EM algorithm,
// compute the loss of each subword (how much the likelihood drops when it is removed), keep the top
// eta% (here 75%)". Plain TypeScript (no Node APIs); `mt tokenizer --type unigram` is its user.
//
// Like sentencepiece: EM runs over words ('▁' + characters, with their counts); seeds are substrings
// of up to 16 characters that occur at least twice, ranked by frequency x length, never crossing a
// script boundary (digits are a script of their own, '▁' only in front); the M step is the Bayesian
// one (digamma) that drops pieces expected fewer than 0.5 times; the characters of the alphabet
// (chosen by coverage, as for BPE) always stay. Seeds here are all such substrings rather than
// sentencepiece's suffix-array maximal repeats, capped at `seedSize`.

import { chooseAlphabet } from './bpe-train.ts';

export interface UnigramTrainOptions {
  vocabSize: number; // the final vocabulary, reserved tokens included
  reserved: string[]; // specials, language tags and byte tokens, ids 0.. in this order
  characterCoverage: number;
  metaspace: string;
  seedSize?: number; // default 200,000 seed pieces
  maxPieceLength?: number; // characters, default 16
  subIterations?: number; // EM iterations between prunings, default 2
  shrinkingFactor?: number; // default 0.75
}

export interface UnigramModel {
  vocab: string[]; // reserved, then pieces by score, highest first
  scores: number[]; // log probabilities; 0 for reserved tokens
}

const UNK_PENALTY = 10;
const MIN_EXPECTED = 0.5; // kExpectedFrequencyThreshold

// digamma(x) as sentencepiece computes it (asymptotic series after shifting x past 7).
function digamma(x: number): number {
  let r = 0;
  for (; x < 7; ++x) r -= 1 / x;
  x -= 0.5;
  const xx = 1 / x, xx2 = xx * xx, xx4 = xx2 * xx2;
  return r + Math.log(x) + xx2 / 24 - (7 / 960) * xx4 + (31 / 8064) * xx4 * xx2 - (127 / 30720) * xx4 * xx4;
}

// The lowest score that is set (NaN: an unscored character).
function minScore(scores: number[]): number {
  let m = Infinity;
  for (const v of scores) if (v < m) m = v;
  return m === Infinity ? 0 : m;
}

const logAdd = (x: number, y: number): number => {
  if (x === -Infinity) return y;
  const hi = Math.max(x, y), lo = Math.min(x, y);
  return hi > lo + 50 ? hi : hi + Math.log1p(Math.exp(lo - hi));
};

// Script class of a character for the seed rule; combining marks join the previous character.
const scriptCache = new Map<string, string>();
const SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Devanagari', 'Bengali', 'Thai', 'Georgian', 'Hangul', 'Ethiopic', 'Tamil'];
const SCRIPT_RES = SCRIPTS.map((s) => new RegExp(`^\\p{Script=${s}}$`, 'u'));
function scriptOf(ch: string): string {
  let s = scriptCache.get(ch);
  if (s !== undefined) return s;
  if (/^\p{N}$/u.test(ch)) s = 'N';
  else if (/^\p{M}$/u.test(ch)) s = 'M';
  else if (/^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\u30fc]$/u.test(ch)) s = 'Han';
  else s = SCRIPTS[SCRIPT_RES.findIndex((re) => re.test(ch))] ?? (/^\p{L}$/u.test(ch) ? 'L' : 'Common');
  scriptCache.set(ch, s);
  return s;
}

// Pieces as a trie over character ids: node * C + char -> child node; pieceAt[node] = piece or -1.
class Lattice {
  readonly next = new Map<number, number>();
  readonly pieceAt: number[] = [-1];
  readonly C: number;
  constructor(pieces: Int32Array[], C: number) {
    this.C = C;
    pieces.forEach((p, id) => {
      let node = 0;
      for (const c of p) {
        let child = this.next.get(node * C + c);
        if (child === undefined) {
          child = this.pieceAt.length;
          this.pieceAt.push(-1);
          this.next.set(node * C + c, child);
        }
        node = child;
      }
      this.pieceAt[node] = id;
    });
  }
  // Calls visit(start, end, id) for every piece in `w` (id -1: an unknown single character where no
  // piece covers it), in order of start then end.
  nodes(w: Int32Array, visit: (s: number, e: number, id: number) => void): void {
    for (let s = 0; s < w.length; s++) {
      let single = false;
      for (let node = 0, e = s; e < w.length; ) {
        const child = this.next.get(node * this.C + w[e++]);
        if (child === undefined) break;
        node = child;
        const id = this.pieceAt[node];
        if (id < 0) continue;
        if (e === s + 1) single = true;
        visit(s, e, id);
      }
      if (!single) visit(s, s + 1, -1);
    }
  }
}

export function trainUnigram(wordCounts: Map<string, number>, opts: UnigramTrainOptions): UnigramModel {
  const maxLen = opts.maxPieceLength ?? 16, seedSize = opts.seedSize ?? 200_000;
  const shrink = opts.shrinkingFactor ?? 0.75, subIterations = opts.subIterations ?? 2;
  const target = opts.vocabSize - opts.reserved.length;
  if (target < 1) throw new Error(`vocabSize ${opts.vocabSize} leaves no room after ${opts.reserved.length} reserved tokens`);

  // The alphabet, and each word as character ids (-1: outside the alphabet, a byte-fallback character).
  const charCounts = new Map<string, number>();
  for (const [w, n] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  const alphabet = chooseAlphabet(charCounts, opts.characterCoverage, opts.metaspace);
  const charId = new Map(alphabet.map((ch, i) => [ch, i]));
  const C = alphabet.length;
  const words: Int32Array[] = [], counts: number[] = [];
  for (const [w, n] of wordCounts) {
    words.push(Int32Array.from([...w], (ch) => charId.get(ch) ?? -1));
    counts.push(n);
  }

  // Seeds: substrings of 2..maxLen characters inside one script, '▁' only in front, seen twice.
  const scripts = alphabet.map(scriptOf);
  const meta = charId.get(opts.metaspace)!;
  const seedFreq = new Map<string, number>();
  words.forEach((w, wi) => {
    for (let s = 0; s < w.length; s++) {
      let script = '';
      for (let e = s; e < w.length && e - s < maxLen; e++) {
        const c = w[e];
        if (c < 0 || (c === meta && e > s)) break;
        const sc = scripts[c];
        if (c !== meta && sc !== 'M') {
          if (script !== '' && sc !== script) break;
          script = sc;
        }
        if (e > s) {
          const key = String.fromCharCode(...w.subarray(s, e + 1));
          seedFreq.set(key, (seedFreq.get(key) ?? 0) + counts[wi]);
        }
      }
    }
  });
  const seeds = [...seedFreq].filter(([, f]) => f >= 2).map(([k, f]): [string, number] => [k, f * k.length]);
  seeds.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  seeds.length = Math.min(seeds.length, seedSize);
  seedFreq.clear();

  // Pieces as char-id strings (String.fromCharCode of ids), scores initialised to log frequencies.
  let pieces: string[] = alphabet.map((_, i) => String.fromCharCode(i));
  let freq: number[] = alphabet.map((ch) => charCounts.get(ch) ?? 0);
  for (const [k, f] of seeds) pieces.push(k), freq.push(f);
  let total = freq.reduce((a, b) => a + b, 0);
  let scores = freq.map((f) => Math.log(f) - Math.log(total));
  const isChar = (p: string): boolean => p.length === 1;
  const codes = (p: string): Int32Array => Int32Array.from(p, (ch) => ch.charCodeAt(0));

  const desired = Math.floor(target * 1.1);
  for (;;) {
    for (let it = 0; it < subIterations; it++) {
      // E step: expected counts by forward-backward over each word's lattice.
      const lat = new Lattice(pieces.map(codes), C);
      const unk = minScore(scores) - UNK_PENALTY;
      const sc = (id: number): number => (id < 0 || Number.isNaN(scores[id]) ? unk : scores[id]);
      const expected = new Float64Array(pieces.length);
      words.forEach((w, wi) => {
        const n = w.length;
        const edges: number[] = []; // s, e, id triples
        lat.nodes(w, (s, e, id) => edges.push(s, e, id));
        const alpha = new Float64Array(n + 1).fill(-Infinity), beta = new Float64Array(n + 1).fill(-Infinity);
        alpha[0] = 0;
        beta[n] = 0;
        for (let k = 0; k < edges.length; k += 3) alpha[edges[k + 1]] = logAdd(alpha[edges[k + 1]], alpha[edges[k]] + sc(edges[k + 2]));
        for (let k = edges.length - 3; k >= 0; k -= 3) beta[edges[k]] = logAdd(beta[edges[k]], beta[edges[k + 1]] + sc(edges[k + 2]));
        const z = alpha[n];
        for (let k = 0; k < edges.length; k += 3) {
          const id = edges[k + 2];
          if (id >= 0) expected[id] += counts[wi] * Math.exp(alpha[edges[k]] + sc(id) + beta[edges[k + 1]] - z);
        }
      });
      // M step: drop rarely expected pieces, Bayesian re-estimate. A rare character stays, unscored (NaN):
      // it counts as unknown (min - 10) in lattices, as sentencepiece's dropped characters do.
      const keep = pieces.map((p, i) => isChar(p) || expected[i] >= MIN_EXPECTED);
      pieces = pieces.filter((_, i) => keep[i]);
      freq = [...expected].filter((_, i) => keep[i]);
      total = freq.reduce((a, b) => a + b, 0);
      const logsum = digamma(total);
      scores = freq.map((f) => (f >= MIN_EXPECTED ? digamma(f) - logsum : NaN));
    }
    if (pieces.length <= desired) break;
    const pruned = prune(pieces, scores, words, counts, C, Math.max(desired, Math.floor(shrink * pieces.length)));
    if (pruned.pieces.length === pieces.length) break; // only characters and unsplittable pieces left
    ({ pieces, scores } = pruned);
  }

  // Final: every character, then the best-scoring pieces up to the vocabulary size.
  const order = pieces.map((_, i) => i).filter((i) => !isChar(pieces[i])).sort((a, b) => scores[b] - scores[a] || (pieces[a] < pieces[b] ? -1 : 1));
  const chosen = pieces.map((_, i) => i).filter((i) => isChar(pieces[i]));
  if (chosen.length > target) throw new Error(`vocabSize ${opts.vocabSize} is smaller than the ${chosen.length} characters of the alphabet plus ${opts.reserved.length} reserved tokens`);
  // Unscored characters: the lowest score plus 0.0001 per frequency rank (FinalizeSentencePieces does so).
  const low = minScore(scores);
  let penalty = 0;
  const scored = scores.map((v) => (Number.isNaN(v) ? low + (penalty += 0.0001) - 0.0001 : v));
  for (const i of order) {
    if (chosen.length >= target) break;
    chosen.push(i);
  }
  const text = (p: string): string => Array.from(p, (ch) => alphabet[ch.charCodeAt(0)]).join('');
  const finalScore = (i: number): number => scored[i];
  chosen.sort((a, b) => finalScore(b) - finalScore(a) || (text(pieces[a]) < text(pieces[b]) ? -1 : 1));
  return {
    vocab: [...opts.reserved, ...chosen.map((i) => text(pieces[i]))],
    scores: [...opts.reserved.map(() => 0), ...chosen.map((i) => Math.fround(finalScore(i)))],
  };
}

// PruneSentencePieces: a piece whose own best segmentation splits it goes; a character stays; every
// other piece is scored by the likelihood lost when its occurrences are re-segmented into its
// second-best segmentation, and the `size` best survive.
function prune(pieces: string[], scores: number[], words: Int32Array[], counts: number[], C: number, size: number) {
  const lat = new Lattice(pieces.map((p) => Int32Array.from(p, (ch) => ch.charCodeAt(0))), C);
  const unk = minScore(scores) - UNK_PENALTY;
  // Viterbi over `w`, ignoring the node [0, w.length) of piece `skip`: [score, ids].
  const viterbi = (w: Int32Array, skip: number): [number, number[]] => {
    const n = w.length, best = new Float64Array(n + 1).fill(-Infinity), from = new Int32Array(n + 1), id = new Int32Array(n + 1);
    best[0] = 0;
    lat.nodes(w, (s, e, i) => {
      if (i === skip && s === 0 && e === n) return;
      const v = best[s] + (i < 0 || Number.isNaN(scores[i]) ? unk : scores[i]);
      if (v > best[e]) (best[e] = v), (from[e] = s), (id[e] = i);
    });
    const ids: number[] = [];
    for (let e = n; e > 0; e = from[e]) ids.push(id[e]);
    return [best[n], ids.reverse()];
  };
  const alternatives: Array<number[] | null> = []; // null: remove (split by its own Viterbi), []: keep
  pieces.forEach((p, i) => {
    const w = Int32Array.from(p, (ch) => ch.charCodeAt(0));
    if (w.length === 1) return void alternatives.push([]);
    const [altScore, alt] = viterbi(w, i);
    alternatives.push(altScore > scores[i] ? null : alt.includes(-1) ? [] : alt);
  });
  const freq = new Float64Array(pieces.length);
  let vsum = 0;
  words.forEach((w, wi) => {
    vsum += counts[wi];
    for (const id of viterbi(w, -2)[1]) if (id >= 0) freq[id] += counts[wi];
  });
  const sum = freq.reduce((a, b) => a + b, 0), logsum = Math.log(sum);
  const kept: number[] = [], candidates: Array<[number, number]> = [];
  pieces.forEach((_, i) => {
    const alt = alternatives[i];
    if (alt === null || (freq[i] === 0 && alt.length > 0)) return;
    if (alt.length === 0) return void kept.push(i);
    const logsumAlt = Math.log(sum + freq[i] * (alt.length - 1));
    let logprobAlt = 0;
    for (const a of alt) logprobAlt += Math.log(freq[a] + freq[i]) - logsumAlt;
    candidates.push([i, (freq[i] / vsum) * (Math.log(freq[i]) - logsum - logprobAlt)]);
  });
  candidates.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  for (const [i] of candidates) {
    if (kept.length >= size) break;
    kept.push(i);
  }
  kept.sort((a, b) => a - b);
  return { pieces: kept.map((i) => pieces[i]), scores: kept.map((i) => scores[i]) };
}
