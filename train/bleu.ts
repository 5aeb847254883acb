// Corpus BLEU and chrF exactly as sacreBLEU 2.x computes them with its defaults, so numbers are
// comparable with published ones (the paper reports BLEU; sacreBLEU is how it is reported today).
// BLEU: 13a tokenization, n-grams up to 4, brevity penalty, 'exp' smoothing, cased (lowercase opt-in),
// one reference per hypothesis. chrF: character n-grams up to 6, no word n-grams, beta 2, whitespace
// removed. Plain TypeScript; Python string semantics (str.split, str.rstrip, code point indexing)
// are reproduced where they differ from JavaScript's.

export interface BleuScore {
  score: number; // 0..100
  counts: number[]; // matched n-grams, n = 1..4 (clipped by the reference counts)
  totals: number[]; // hypothesis n-grams, n = 1..4
  precisions: number[]; // percent, after smoothing
  bp: number; // brevity penalty
  sysLen: number; // hypothesis tokens
  refLen: number; // reference tokens
}

const MAX_ORDER = 4;
const CHAR_ORDER = 6;
const BETA = 2;

// Python's str.isspace() characters: what str.split() and str.rstrip() cut on.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACES = new RegExp(`[${PY_SPACE}]+`);
const PY_TRAILING_SPACES = new RegExp(`[${PY_SPACE}]+$`);
const pySplit = (s: string): string[] => s.split(PY_SPACES).filter((w) => w.length > 0);
const pyRstrip = (s: string): string => s.replace(PY_TRAILING_SPACES, '');

// sacreBLEU's tokenizer_13a (mteval-v13a.pl): the regexes are copied verbatim from
// sacrebleu/tokenizers/tokenizer_re.py (non-unicode JS regexes accept the same escapes).
const RE_13A: Array<[RegExp, string]> = [
  // language-dependent part (assuming Western languages)
  [/([\{-\~\[-\` -\&\(-\+\:-\@\/])/g, ' $1 '],
  // tokenize period and comma unless preceded by a digit
  [/([^0-9])([\.,])/g, '$1 $2 '],
  // tokenize period and comma unless followed by a digit
  [/([\.,])([^0-9])/g, ' $1 $2'],
  // tokenize dash when preceded by a digit
  [/([0-9])(-)/g, '$1 $2 '],
];

export function tokenize13a(line: string): string {
  line = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (line.includes('&')) {
    line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  line = ` ${line} `;
  for (const [re, repl] of RE_13A) line = line.replace(re, repl);
  return pySplit(line).join(' ');
}

// n-gram -> count for n = 1..maxOrder, keyed by the space-joined tokens (tokens hold no spaces).
function wordNgrams(tokens: string[]): Map<string, number>[] {
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= MAX_ORDER; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const g = tokens.slice(i, i + n).join(' ');
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

function checkLengths(hyps: string[], refs: string[]): void {
  if (hyps.length !== refs.length) throw new Error(`${hyps.length} hypotheses but ${refs.length} references`);
}

export function corpusBleu(hyps: string[], refs: string[], opts: { lowercase?: boolean } = {}): BleuScore {
  checkLengths(hyps, refs);
  const prep = (s: string): string[] => pySplit(tokenize13a(pyRstrip(opts.lowercase ? s.toLowerCase() : s)));
  const counts = new Array<number>(MAX_ORDER).fill(0);
  const totals = new Array<number>(MAX_ORDER).fill(0);
  let sysLen = 0, refLen = 0;
  for (let k = 0; k < hyps.length; k++) {
    const h = prep(hyps[k]), r = prep(refs[k]);
    sysLen += h.length;
    refLen += r.length;
    const hg = wordNgrams(h), rg = wordNgrams(r);
    for (let n = 0; n < MAX_ORDER; n++) {
      for (const [g, c] of hg[n]) {
        totals[n] += c;
        counts[n] += Math.min(c, rg[n].get(g) ?? 0);
      }
    }
  }
  return computeBleu(counts, totals, sysLen, refLen);
}

// sacreBLEU's BLEU.compute_bleu with smooth_method='exp', effective_order=False.
export function computeBleu(counts: number[], totals: number[], sysLen: number, refLen: number): BleuScore {
  // BP = 1 if c > r else exp(1 - r/c) (Papineni et al. 2002)
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(MAX_ORDER).fill(0);
  const result = (score: number): BleuScore => ({ score, counts, totals, precisions, bp, sysLen, refLen });
  if (!counts.some((c) => c > 0)) return result(0);
  // 'exp' smoothing (NIST mteval-v13a): the k-th order with no match gets precision 1 / (2^k * total).
  let smooth = 1;
  for (let n = 0; n < MAX_ORDER; n++) {
    if (totals[n] === 0) break; // its precision stays 0, which makes the score 0
    if (counts[n] === 0) {
      smooth *= 2;
      precisions[n] = 100 / (smooth * totals[n]);
    } else {
      precisions[n] = (100 * counts[n]) / totals[n];
    }
  }
  // BLEU = BP * exp(sum_n log p_n / N); log 0 is floored to -9999999999 as in sacreBLEU's my_log.
  let logSum = 0;
  for (const p of precisions) logSum += p === 0 ? -9999999999 : Math.log(p);
  return result(bp * Math.exp(logSum / MAX_ORDER));
}

// Character n-grams of `line` with Python whitespace removed, counted by code point, n = 1..6.
function charNgrams(line: string): Map<string, number>[] {
  const chars = Array.from(pySplit(line).join(''));
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= CHAR_ORDER; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= chars.length; i++) {
      const g = chars.slice(i, i + n).join('');
      m.set(g, (m.get(g) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

// chrF2 (Popović 2015) as sacreBLEU's CHRF(): per-order statistics [hyp, ref, match] summed over the
// corpus; the final score averages precision and recall over the orders where both sides have n-grams.
export function corpusChrf(hyps: string[], refs: string[]): { score: number } {
  checkLengths(hyps, refs);
  const stats = new Array<number>(3 * CHAR_ORDER).fill(0);
  for (let k = 0; k < hyps.length; k++) {
    const hg = charNgrams(hyps[k]), rg = charNgrams(refs[k]);
    for (let n = 0; n < CHAR_ORDER; n++) {
      let hypCount = 0, refCount = 0, match = 0;
      for (const [g, c] of hg[n]) {
        hypCount += c;
        match += Math.min(c, rg[n].get(g) ?? 0);
      }
      for (const c of rg[n].values()) refCount += c;
      stats[3 * n] += rg[n].size > 0 ? hypCount : 0; // no hits counted without reference n-grams
      stats[3 * n + 1] += refCount;
      stats[3 * n + 2] += match;
    }
  }
  const factor = BETA * BETA;
  let avgPrec = 0, avgRec = 0, order = 0;
  for (let n = 0; n < CHAR_ORDER; n++) {
    const [h, r, m] = stats.slice(3 * n, 3 * n + 3);
    if (h > 0 && r > 0) {
      avgPrec += m / h;
      avgRec += m / r;
      order++;
    }
  }
  if (order === 0) return { score: 0 };
  avgPrec /= order;
  avgRec /= order;
  if (avgPrec + avgRec === 0) return { score: 0 };
  // F_beta = (1 + beta^2) P R / (beta^2 P + R)
  // (same operation order as sacreBLEU, so the floats agree to the last bit)
  const f = ((1 + factor) * avgPrec * avgRec) / (factor * avgPrec + avgRec);
  return { score: 100 * f };
}
