// BPE training (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with Subword Units"),
// in the SentencePiece flavour: a small character alphabet chosen by coverage, everything else falls
// back to UTF-8 bytes, merges never cross a word boundary and never touch a byte token.
// Plain TypeScript (no Node APIs), so it could run anywhere; the trainer CLI is its only user.
//
// Speed: pair counts are updated incrementally. Each merge visits only the words that contain the
// merged pair (an inverted index pair -> words), accumulates the count deltas of the neighbouring
// pairs, and pushes the changed pairs into a max-heap; stale heap entries are skipped when popped.
// No full recount per merge: 8k merges over Multi30k (4 languages) take a few seconds.

import { siftDown, siftUp } from './heap.ts';

export interface BpeTrainOptions {
  vocabSize: number; // upper bound on the final vocabulary, reserved tokens included
  reserved: string[]; // specials, language tags and the 256 byte tokens, in id order (ids 0..)
  minFrequency: number; // a pair seen fewer times than this is never merged
  characterCoverage: number; // fraction of character occurrences the alphabet must cover (SentencePiece's)
  metaspace: string; // '▁', always part of the alphabet
}

export interface BpeModel {
  vocab: string[]; // id -> token: reserved, then the alphabet, then one token per new merge
  merges: Array<[string, string]>; // in rank order
}

// A pair (a, b) of ids as one number: a * 2^21 + b (ids < 2^21, keys stay exact doubles).
const SHIFT = 2097152;

// Keeps the most frequent characters until `coverage` of all character occurrences is reached
// (SentencePiece's rule: stop before adding the character that would start past the threshold).
// Ties: more frequent first, then lower code point. The metaspace always comes first.
export function chooseAlphabet(charCounts: Map<string, number>, coverage: number, metaspace: string): string[] {
  const entries = [...charCounts].filter(([ch]) => ch !== metaspace);
  entries.sort((x, y) => y[1] - x[1] || x[0].codePointAt(0)! - y[0].codePointAt(0)!);
  let all = 0;
  for (const [, c] of entries) all += c;
  const alphabet = [metaspace];
  let covered = 0;
  for (const [ch, c] of entries) {
    if (covered >= all * coverage) break;
    covered += c;
    alphabet.push(ch);
  }
  return alphabet;
}

// Binary max-heap of (count, key); ties go to the smaller key, i.e. the pair whose left id (then right
// id) is smaller: ids follow character frequency, then merge order, so training is deterministic.
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  private above(i: number, j: number): boolean {
    const c = this.counts;
    return c[i] > c[j] || (c[i] === c[j] && this.keys[i] < this.keys[j]);
  }
  private swap(i: number, j: number): void {
    const c = this.counts[i], k = this.keys[i];
    this.counts[i] = this.counts[j];
    this.keys[i] = this.keys[j];
    this.counts[j] = c;
    this.keys[j] = k;
  }
  private readonly order = (i: number, j: number): boolean => this.above(i, j);
  private readonly exchange = (i: number, j: number): void => this.swap(i, j);
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    siftUp(this.keys.length - 1, this.order, this.exchange);
  }
  // Returns [count, key] of the top and removes it.
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!, lastK = this.keys.pop()!;
    const n = this.keys.length;
    if (n > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      siftDown(0, n, this.order, this.exchange);
    }
    return top;
  }
}

// Learns merges over `wordCounts` (word with its '▁' prefix -> occurrences).
export function trainBpe(wordCounts: Map<string, number>, opts: BpeTrainOptions): BpeModel {
  const vocab = [...opts.reserved];
  const tokenId = new Map<string, number>();
  vocab.forEach((t, i) => tokenId.set(t, i));
  const reservedCount = vocab.length;

  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  for (const ch of chooseAlphabet(charCounts, opts.characterCoverage, opts.metaspace)) {
    if (tokenId.has(ch)) throw new Error(`alphabet character ${JSON.stringify(ch)} clashes with a reserved token`);
    tokenId.set(ch, vocab.length);
    vocab.push(ch);
  }
  if (vocab.length > opts.vocabSize) {
    throw new Error(`vocabSize ${opts.vocabSize} is smaller than the ${vocab.length} reserved and alphabet tokens`);
  }

  // Words as id sequences. Characters outside the alphabet become -1: a barrier no pair crosses
  // (at encoding time they are byte tokens, which no merge involves).
  const syms: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of wordCounts) {
    const s: number[] = [];
    for (const ch of w) s.push(tokenId.get(ch) ?? -1);
    syms.push(s);
    freq.push(c);
  }

  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>(); // pair -> words that contain (or once contained) it
  for (let wi = 0; wi < syms.length; wi++) {
    const s = syms[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      if (s[i] < 0 || s[i + 1] < 0) continue;
      const key = s[i] * SHIFT + s[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + freq[wi]);
      let ws = where.get(key);
      if (!ws) where.set(key, (ws = new Set()));
      ws.add(wi);
    }
  }
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: Array<[string, string]> = [];
  const delta = new Map<number, number>();
  while (vocab.length < opts.vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale: a fresher entry holds its current count
    if (count < opts.minFrequency) break;
    const a = Math.floor(key / SHIFT), b = key - a * SHIFT;
    pairCount.delete(key);
    const merged = vocab[a] + vocab[b];
    let id = tokenId.get(merged);
    // A merge spelling a reserved token ("<s>", "<0x41>", ...) would be ambiguous: never learn it.
    if (id !== undefined && id < reservedCount) continue;
    if (id === undefined) {
      id = vocab.length;
      vocab.push(merged);
      tokenId.set(merged, id);
    }
    // (Two different pairs may spell the same token, e.g. "ab"+"c" and "a"+"bc": the second merge
    // reuses the id, as Hugging Face's trainer does, and the vocabulary does not grow.)
    merges.push([vocab[a], vocab[b]]);

    const addDelta = (x: number, y: number, d: number): void => {
      if (x < 0 || y < 0) return;
      const k = x * SHIFT + y;
      delta.set(k, (delta.get(k) ?? 0) + d);
    };
    for (const wi of where.get(key)!) {
      const s = syms[wi];
      let i = 0;
      while (i + 1 < s.length && !(s[i] === a && s[i + 1] === b)) i++;
      if (i + 1 >= s.length) continue; // the pair was merged away by an earlier merge
      const f = freq[wi];
      const out: number[] = s.slice(0, i);
      for (; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          // x a b y -> x ab y: (x,a) and (b,y) lose f, (x,ab) and (ab,y) gain f. When x is itself a
          // fresh `ab` (a b a b), the (ab,a) counted by the previous step cancels out here.
          if (out.length > 0) {
            addDelta(out[out.length - 1], a, -f);
            addDelta(out[out.length - 1], id, f);
          }
          if (i + 2 < s.length) {
            addDelta(b, s[i + 2], -f);
            addDelta(id, s[i + 2], f);
          }
          out.push(id);
          i++;
        } else {
          out.push(s[i]);
        }
      }
      syms[wi] = out;
      for (let j = 0; j + 1 < out.length; j++) {
        if (out[j] !== id && out[j + 1] !== id) continue;
        if (out[j] < 0 || out[j + 1] < 0) continue;
        const k = out[j] * SHIFT + out[j + 1];
        let ws = where.get(k);
        if (!ws) where.set(k, (ws = new Set()));
        ws.add(wi);
      }
    }
    where.delete(key);
    for (const [k, d] of delta) {
      if (d === 0 || k === key) continue;
      const c = (pairCount.get(k) ?? 0) + d;
      if (c > 0) {
        pairCount.set(k, c);
        heap.push(c, k);
      } else {
        pairCount.delete(k);
      }
    }
    delta.clear();
  }
  return { vocab, merges };
}
