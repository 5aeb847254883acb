// Language identification for `source: "auto"`: multinomial naive Bayes over hashed character n-grams
// (1- to 3-grams of the lower-cased text with word-boundary spaces, as in Cavnar & Trenkle's n-gram
// profiles and fastText's hashed features). Plain TypeScript without Node APIs: every host runs it.
// A few hundred kilobytes of int8 log-probabilities tell apart the five languages we serve on a sentence.

export const LANGID_ORDERS = [1, 2, 3];

export interface LangIdJson {
  type: 'edge-mt-langid';
  languages: string[];
  buckets: number; // hash buckets per language (a power of two)
  orders: number[];
  scale: number; // log-prob = int8 value * scale + offset
  offset: number;
  table: string; // base64 of Int8Array[language * buckets + bucket]
}

export interface Detection {
  language: string;
  confidence: number; // posterior of the best language under the model, 0..1
  scores: Record<string, number>; // posterior per language
}

// FNV-1a over UTF-16 code units: the same bucket in every host.
function hash(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// Calls f(bucket) for every n-gram of the text; returns how many there were.
export function forEachNgram(text: string, buckets: number, orders: number[], f: (bucket: number) => void): number {
  const s = ` ${text.normalize('NFC').toLowerCase().replace(/[\p{P}\p{S}\p{N}\s]+/gu, ' ').trim()} `;
  if (s.length <= 2) return 0;
  const mask = buckets - 1;
  let n = 0;
  for (const k of orders) {
    for (let i = 0; i + k <= s.length; i++) {
      if (k === 1 && s[i] === ' ') continue;
      f((hash(s, i, i + k) ^ (k * 0x9e3779b1)) & mask);
      n++;
    }
  }
  return n;
}

export class LanguageDetector {
  readonly languages: string[];
  private readonly buckets: number;
  private readonly orders: number[];
  private readonly logp: Float32Array;
  private constructor(languages: string[], buckets: number, orders: number[], logp: Float32Array) {
    this.languages = languages;
    this.buckets = buckets;
    this.orders = orders;
    this.logp = logp;
  }

  // Counts n-grams per language; add-one smoothing over the buckets.
  static train(texts: Record<string, Iterable<string>>, { buckets = 1 << 15, orders = LANGID_ORDERS } = {}): LanguageDetector {
    if (buckets & (buckets - 1)) throw new Error('buckets must be a power of two');
    const languages = Object.keys(texts);
    if (languages.length < 2) throw new Error('language identification needs at least two languages');
    const logp = new Float32Array(languages.length * buckets);
    languages.forEach((l, li) => {
      const counts = new Float64Array(buckets);
      let total = 0;
      for (const t of texts[l]) total += forEachNgram(t, buckets, orders, (b) => counts[b]++);
      if (!total) throw new Error(`no text for language ${l}`);
      const denom = Math.log(total + buckets);
      for (let b = 0; b < buckets; b++) logp[li * buckets + b] = Math.log(counts[b] + 1) - denom;
    });
    return new LanguageDetector(languages, buckets, orders, quantizeLogp(logp).values);
  }

  detect(text: string, among?: string[]): Detection | undefined {
    const L = this.languages.length;
    const score = new Float64Array(L);
    const n = forEachNgram(text, this.buckets, this.orders, (b) => {
      for (let l = 0; l < L; l++) score[l] += this.logp[l * this.buckets + b];
    });
    if (!n) return undefined;
    const idx = this.languages.map((_, i) => i).filter((i) => !among || among.includes(this.languages[i]));
    if (!idx.length) return undefined;
    // Naive Bayes over-counts overlapping n-grams: scores per n-gram give calibrated-enough posteriors.
    const z = idx.map((i) => score[i] / Math.sqrt(n));
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    let best = 0;
    for (let k = 1; k < idx.length; k++) if (z[k] > z[best]) best = k;
    const scores: Record<string, number> = {};
    idx.forEach((i, k) => (scores[this.languages[i]] = e[k] / sum));
    return { language: this.languages[idx[best]], confidence: e[best] / sum, scores };
  }

  toJSON(): LangIdJson {
    const { q, scale, offset } = quantizeLogp(this.logp);
    return { type: 'edge-mt-langid', languages: this.languages, buckets: this.buckets, orders: this.orders, scale, offset, table: toBase64(new Uint8Array(q.buffer)) };
  }

  static fromJSON(json: string | object): LanguageDetector {
    const j = (typeof json === 'string' ? JSON.parse(json) : json) as LangIdJson;
    if (j?.type !== 'edge-mt-langid') throw new Error('langid.json: type must be "edge-mt-langid"');
    if (!Array.isArray(j.languages) || j.languages.length < 2) throw new Error('langid.json: needs at least two languages');
    if (!Number.isInteger(j.buckets) || j.buckets < 2 || j.buckets & (j.buckets - 1)) throw new Error('langid.json: buckets must be a power of two');
    const q = new Int8Array(fromBase64(j.table).buffer);
    if (q.length !== j.languages.length * j.buckets) throw new Error(`langid.json: table has ${q.length} entries, ${j.languages.length * j.buckets} expected`);
    const logp = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) logp[i] = q[i] * j.scale + j.offset;
    return new LanguageDetector(j.languages, j.buckets, j.orders ?? LANGID_ORDERS, logp);
  }
}

// int8 over [min, max] of the table: the detector trains and runs on the same rounded values, so a
// saved detector answers exactly as the trained one did.
function quantizeLogp(logp: Float32Array): { q: Int8Array; values: Float32Array; scale: number; offset: number } {
  let lo = Infinity, hi = -Infinity;
  for (const v of logp) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const scale = Math.fround((hi - lo) / 254 || 1);
  const offset = Math.fround(lo + 127 * scale);
  const q = new Int8Array(logp.length);
  const values = new Float32Array(logp.length);
  for (let i = 0; i < logp.length; i++) {
    q[i] = Math.max(-127, Math.min(127, Math.round((logp[i] - offset) / scale)));
    values[i] = q[i] * scale + offset;
  }
  return { q, values, scale, offset };
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// source "auto": the language of the texts among those the model translates into `target` (the texts
// of one request are taken as one language, as translation APIs do). Undefined when nothing is detectable.
export function detectSource(det: LanguageDetector, texts: string[], directions: Array<[string, string]>, target: string): Detection | undefined {
  const among = directions.filter(([, t]) => t === target).map(([s]) => s);
  if (!among.length) return undefined;
  return det.detect(texts.join('\n').slice(0, 2000), among);
}
