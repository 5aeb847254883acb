// Subword tokenizer shared by the trainer, the Worker and the browser: byte-level-fallback BPE in the
// SentencePiece style, saved as a Hugging Face tokenizer.json. Plain TypeScript: no Node APIs.
//
// "We used byte-pair encoding, which has a shared source-target vocabulary" (Vaswani et al. 2017, 5.1):
// one vocabulary for every language; the trainer prepends <2xx> of the target language to the source.
//
// Pipeline (the same one tokenizer.json declares, so Hugging Face `tokenizers` encodes alike):
//   normalize: lone surrogates -> U+FFFD, NFKC, every run of whitespace (Unicode White_Space, plus
//              the metaspace '▁' itself) -> one ' ', trimmed at both ends
//   pre-tokenize: split on ' ', prepend '▁' to each word (Metaspace, prepend_scheme "always")
//   model: each character of the alphabet is a token, any other character is its UTF-8 bytes
//          <0x00>..<0xFF>; BPE merges by rank within the word (byte tokens never merge)
//   decode: drop specials, '▁' -> ' ', byte runs -> UTF-8 (invalid runs -> one U+FFFD per byte, as
//           Hugging Face's ByteFallback does), fuse, strip one leading ' '.
// Hence decode(encode(x)) === normalize(x) for every string x: nothing is ever <unk>.
// Specials in the input text ("<s>") are plain characters here, never special ids.

import { trainBpe } from './bpe-train.ts';
import { PieceType, SentencePiece } from './sentencepiece.ts';
import { trainUnigram } from './unigram-train.ts';

export const METASPACE = '\u2581'; // '▁'
export const PAD = '<pad>', UNK = '<unk>', BOS = '<s>', EOS = '</s>';
const SPECIALS = [PAD, UNK, BOS, EOS]; // fixed ids 0..3; language tags follow from id 4

// Ids of the special tokens, the one definition that the engine, beam search, reranking, the trainer and
// its batches read (through Tokenizer.specials): a source is <2xx> x1..xn eos, the decoder starts from bos
// and stops at eos, batches are filled with pad past a sentence's end. Ours are SPECIALS' positions; a
// model imported with other ids sets its own (Marian: eos 0, pad V-1, and the decoder starts from pad).
export interface SpecialIds {
  pad: number;
  unk: number;
  bos: number; // the decoder's first input (HF's decoder_start_token_id)
  eos: number;
}
export const SPECIAL_IDS: SpecialIds = { pad: SPECIALS.indexOf(PAD), unk: SPECIALS.indexOf(UNK), bos: SPECIALS.indexOf(BOS), eos: SPECIALS.indexOf(EOS) };
export const langTag = (lang: string): string => `<2${lang}>`;
const byteToken = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

// Unicode White_Space (what Rust's char::is_whitespace and Python's str.split mostly agree on) plus
// '▁', as literal characters so the same class works in JS and in Hugging Face's (Oniguruma) regex.
const WHITESPACE_CLASS = '[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u2581]+';
const WHITESPACE_RUN = new RegExp(WHITESPACE_CLASS, 'g');
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// The one definition of text normalization: what decode(encode(x)) returns.
export function normalize(text: string): string {
  if (/[\ud800-\udfff]/.test(text)) text = text.replace(LONE_SURROGATE, '\ufffd');
  text = text.normalize('NFKC').replace(WHITESPACE_RUN, ' ');
  // Not String.trim(): it would also strip U+FEFF, which is not White_Space.
  const start = text.startsWith(' ') ? 1 : 0;
  const end = text.endsWith(' ') ? text.length - 1 : text.length;
  return start < end ? text.slice(start, end) : '';
}

export interface TrainOptions {
  vocabSize: number; // upper bound; training stops earlier if no pair is frequent enough
  languages: string[]; // one <2xx> tag each, ids 4.. in this order
  minFrequency?: number; // default 2
  characterCoverage?: number; // default 0.9999, SentencePiece's default for alphabetic languages
  // 'unigram': a unigram language model (Kudo 2018) instead of BPE merges, same pipeline and specials;
  // words are segmented by Viterbi over piece scores (model/unigram-train.ts, model/sentencepiece.ts).
  type?: 'bpe' | 'unigram';
}

// Shape of the parts of a Hugging Face tokenizer.json we read.
interface HfAddedToken {
  id: number;
  content: string;
  special?: boolean;
}
interface HfTokenizerJson {
  added_tokens?: HfAddedToken[];
  model:
    | { type: 'BPE'; vocab: Record<string, number>; merges: Array<string | [string, string]>; byte_fallback?: boolean }
    | { type: 'Unigram'; vocab: Array<[string, number]>; unk_id?: number; byte_fallback?: boolean };
}

const WORD_CACHE_SIZE = 50_000; // words; bounded so a long-lived Worker cannot grow without limit
const SHIFT = 2097152; // pair key a * 2^21 + b

// BPE-dropout for training: skip each applicable merge with probability p; rand() uniform in [0, 1).
export interface BpeDropout {
  p: number;
  rand: () => number;
}

export class Tokenizer {
  readonly languages: string[];
  readonly specials: SpecialIds = SPECIAL_IDS;
  private readonly vocab: string[]; // id -> token
  private readonly ids = new Map<string, number>(); // token -> id
  private readonly merges: Array<[string, string]>;
  private readonly charIds = new Map<string, number>(); // single characters of the alphabet
  private readonly byteIds = new Int32Array(256); // byte -> id of <0xHH>
  private readonly byteOf: Int16Array; // id -> byte value, or -1
  private readonly special: Uint8Array; // id -> 1 for <pad> <unk> <s> </s> and <2xx>
  private readonly mergeRank = new Map<number, number>(); // pair key -> rank
  private readonly mergeResult: Int32Array; // rank -> id of the merged token
  private readonly cache = new Map<string, number[]>();
  private readonly unigram?: SentencePiece; // set for a unigram tokenizer (then merges are empty)
  private readonly scores?: number[];

  // `scores` (one per vocab entry) makes a unigram tokenizer; `merges` must then be empty.
  constructor(vocab: string[], merges: Array<[string, string]>, languages: string[], scores?: number[]) {
    this.vocab = vocab;
    this.merges = merges;
    this.languages = [...languages];
    vocab.forEach((t, i) => {
      if (this.ids.has(t)) throw new Error(`duplicate token ${JSON.stringify(t)} in vocab`);
      this.ids.set(t, i);
    });
    SPECIALS.forEach((t, i) => {
      if (vocab[i] !== t) throw new Error(`vocab id ${i} must be ${t}, got ${JSON.stringify(vocab[i])}`);
    });
    this.special = new Uint8Array(vocab.length);
    for (let i = 0; i < SPECIALS.length; i++) this.special[i] = 1;
    for (const lang of languages) {
      const id = this.ids.get(langTag(lang));
      if (id === undefined) throw new Error(`vocab has no tag ${langTag(lang)}`);
      this.special[id] = 1;
    }
    this.byteOf = new Int16Array(vocab.length).fill(-1);
    for (let b = 0; b < 256; b++) {
      const id = this.ids.get(byteToken(b));
      if (id === undefined) throw new Error(`vocab has no byte token ${byteToken(b)}: byte fallback needs all 256`);
      this.byteIds[b] = id;
      this.byteOf[id] = b;
    }
    vocab.forEach((t, i) => {
      if (!this.special[i] && this.byteOf[i] < 0 && t.length <= 2 && [...t].length === 1) this.charIds.set(t, i);
    });
    this.mergeResult = new Int32Array(merges.length);
    merges.forEach(([x, y], rank) => {
      const a = this.ids.get(x), b = this.ids.get(y), m = this.ids.get(x + y);
      if (a === undefined || b === undefined || m === undefined) {
        throw new Error(`merge ${JSON.stringify(`${x} ${y}`)} uses a token missing from vocab`);
      }
      const key = a * SHIFT + b;
      if (!this.mergeRank.has(key)) this.mergeRank.set(key, rank); // first (lowest) rank wins
      this.mergeResult[rank] = m;
    });
    if (scores) {
      if (merges.length > 0 || scores.length !== vocab.length) throw new Error('a unigram tokenizer has one score per token and no merges');
      this.scores = scores;
      this.unigram = new SentencePiece({
        pieces: vocab.map((piece, id) => ({
          piece,
          score: scores[id],
          type: id === this.unkId ? PieceType.UNKNOWN : this.special[id] ? PieceType.CONTROL : this.byteOf[id] >= 0 ? PieceType.BYTE : PieceType.NORMAL,
        })),
        trainerSpec: { modelType: 1, vocabSize: vocab.length, byteFallback: true, treatWhitespaceAsSuffix: false, unkId: this.unkId, bosId: this.bosId, eosId: this.eosId, padId: this.padId, unkSurface: UNK },
        // Words arrive normalized and split here, each with its '▁': nothing more to do.
        normalizerSpec: { name: 'identity', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: false, removeExtraWhitespaces: false, escapeWhitespaces: true },
      }, 'tokenizer.json');
    }
  }

  get padId(): number {
    return this.specials.pad;
  }
  get unkId(): number {
    return this.specials.unk;
  }
  get bosId(): number {
    return this.specials.bos;
  }
  get eosId(): number {
    return this.specials.eos;
  }

  get type(): 'bpe' | 'unigram' {
    return this.unigram ? 'unigram' : 'bpe';
  }

  // Learns a vocabulary from raw sentences (any language mix).
  static train(texts: Iterable<string>, opts: TrainOptions): Tokenizer {
    const langs = opts.languages;
    if (new Set(langs).size !== langs.length) throw new Error(`duplicate language in ${langs.join(', ')}`);
    for (const l of langs) if (!/^[A-Za-z0-9_-]+$/.test(l)) throw new Error(`bad language code ${JSON.stringify(l)}`);
    const wordCounts = new Map<string, number>();
    for (const text of texts) {
      const n = normalize(text);
      if (n === '') continue;
      for (const w of n.split(' ')) {
        const word = METASPACE + w;
        wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      }
    }
    const reserved = [...SPECIALS, ...langs.map(langTag)];
    for (let b = 0; b < 256; b++) reserved.push(byteToken(b));
    if (opts.type === 'unigram') {
      const { vocab, scores } = trainUnigram(wordCounts, { vocabSize: opts.vocabSize, reserved, characterCoverage: opts.characterCoverage ?? 0.9999, metaspace: METASPACE });
      return new Tokenizer(vocab, [], langs, scores);
    }
    const { vocab, merges } = trainBpe(wordCounts, {
      vocabSize: opts.vocabSize,
      reserved,
      minFrequency: opts.minFrequency ?? 2,
      characterCoverage: opts.characterCoverage ?? 0.9999,
      metaspace: METASPACE,
    });
    return new Tokenizer(vocab, merges, langs);
  }

  // Reads a tokenizer.json (as written by toJSON, or any BPE or Unigram one with byte fallback and our
  // specials; for other SentencePiece models see model/sentencepiece.ts).
  static fromJSON(json: string | object): Tokenizer {
    const j = (typeof json === 'string' ? JSON.parse(json) : json) as HfTokenizerJson;
    if (j?.model?.type !== 'BPE' && j?.model?.type !== 'Unigram') throw new Error('tokenizer.json: model.type must be "BPE" or "Unigram"');
    if (j.model.byte_fallback !== true) throw new Error('tokenizer.json: model.byte_fallback must be true');
    const languages = (j.added_tokens ?? [])
      .filter((t) => t.special !== false)
      .sort((x, y) => x.id - y.id)
      .map((t) => /^<2(.+)>$/.exec(t.content)?.[1])
      .filter((l): l is string => l !== undefined);
    if (j.model.type === 'Unigram') {
      const entries = j.model.vocab;
      if (!Array.isArray(entries) || entries.some((e) => !Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number')) {
        throw new Error('tokenizer.json: a Unigram model.vocab is an array of [token, score]');
      }
      return new Tokenizer(entries.map((e) => e[0]), [], languages, entries.map((e) => e[1]));
    }
    const vocab: string[] = [];
    for (const [t, id] of Object.entries(j.model.vocab)) vocab[id] = t;
    for (let i = 0; i < vocab.length; i++) if (vocab[i] === undefined) throw new Error(`tokenizer.json: vocab has no id ${i}`);
    const merges = j.model.merges.map((m): [string, string] => {
      if (Array.isArray(m)) return [m[0], m[1]];
      const sp = m.indexOf(' ');
      if (sp < 0) throw new Error(`tokenizer.json: bad merge ${JSON.stringify(m)}`);
      return [m.slice(0, sp), m.slice(sp + 1)];
    });
    return new Tokenizer(vocab, merges, languages);
  }

  // Hugging Face tokenizer.json, laid out as Llama's (byte-fallback BPE, Metaspace, ByteFallback decoder).
  toJSON(): object {
    const vocab: Record<string, number> = {};
    this.vocab.forEach((t, i) => (vocab[t] = i));
    const added_tokens = [];
    for (let id = 0; id < this.vocab.length; id++) {
      if (!this.special[id]) continue;
      added_tokens.push({ id, content: this.vocab[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens,
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'NFKC' },
          { type: 'Replace', pattern: { Regex: WHITESPACE_CLASS }, content: ' ' },
          { type: 'Strip', strip_left: true, strip_right: true },
        ],
      },
      pre_tokenizer: { type: 'Metaspace', replacement: METASPACE, prepend_scheme: 'always', split: true },
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: METASPACE }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: this.scores ? {
        type: 'Unigram',
        unk_id: this.unkId,
        vocab: this.vocab.map((t, i) => [t, this.scores![i]]),
        byte_fallback: true,
      } : {
        type: 'BPE',
        dropout: null,
        unk_token: UNK,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        ignore_merges: false,
        vocab,
        merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  idToToken(id: number): string | undefined {
    return this.vocab[id];
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  isSpecial(id: number): boolean {
    return this.special[id] === 1;
  }

  langId(lang: string): number {
    const id = this.languages.includes(lang) ? this.ids.get(langTag(lang)) : undefined;
    if (id === undefined) {
      throw new Error(`unknown language ${JSON.stringify(lang)}: this tokenizer knows ${this.languages.join(', ') || 'no languages'}`);
    }
    return id;
  }

  // Token ids of `text`, no specials added. With `dropout` (training only: BPE-dropout, Provilkov et al.
  // 2020), each applicable merge is skipped with probability p at every merge step, so one text gets varied
  // segmentations across epochs; decode(encode(x, dropout)) is still normalize(x).
  encode(text: string, dropout?: BpeDropout): number[] {
    if (dropout && dropout.p > 0 && this.unigram) throw new Error('BPE-dropout needs a BPE tokenizer; this one is unigram');
    const n = normalize(text);
    if (n === '') return [];
    const out: number[] = [];
    for (const w of n.split(' ')) {
      const word = METASPACE + w;
      for (const id of dropout && dropout.p > 0 ? this.merge(this.symbols(word), dropout) : this.encodeWord(word)) out.push(id);
    }
    return out;
  }

  // Text of `ids`; specials are skipped.
  decode(ids: ArrayLike<number>): string {
    let text = '';
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = this.vocab[id];
      if (token === undefined) throw new RangeError(`token id ${id} out of range 0..${this.vocab.length - 1}`);
      if (this.special[id]) continue;
      const b = this.byteOf[id];
      if (b >= 0) {
        bytes.push(b);
        continue;
      }
      if (bytes.length > 0) text += decodeBytes(bytes);
      text += token.replaceAll(METASPACE, ' ');
    }
    if (bytes.length > 0) text += decodeBytes(bytes);
    return text.startsWith(' ') ? text.slice(1) : text;
  }

  // The pieces of `ids` as stored in the vocab ('▁the', '<0xE2>', '<2de>'), one per id, for display.
  tokens(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.vocab[id] ?? `<id ${id}>`);
  }

  // One word ('▁' + characters) -> ids: characters (or their bytes), then merges by rank, lowest first,
  // leftmost on ties, which is what Hugging Face's BPE model does.
  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const s = this.unigram ? this.unigram.encode(word) : this.merge(this.symbols(word));
    if (this.cache.size >= WORD_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(word, s);
    return s;
  }

  // Characters of the alphabet as themselves, anything else as its UTF-8 bytes.
  private symbols(word: string): number[] {
    const s: number[] = [];
    for (const ch of word) {
      const id = this.charIds.get(ch);
      if (id !== undefined) s.push(id);
      else pushUtf8(ch.codePointAt(0)!, s, this.byteIds);
    }
    return s;
  }

  // Applies merges to `s` in place: the lowest-ranked applicable pair each step (minus dropped ones).
  private merge(s: number[], dropout?: BpeDropout): number[] {
    while (s.length > 1) {
      let best = -1, at = -1;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.mergeRank.get(s[i] * SHIFT + s[i + 1]);
        if (r !== undefined && (best < 0 || r < best) && !(dropout && dropout.rand() < dropout.p)) {
          best = r;
          at = i;
        }
      }
      if (at < 0) break;
      s.splice(at, 2, this.mergeResult[best]);
    }
    return s;
  }
}

function pushUtf8(cp: number, out: number[], byteIds: Int32Array): void {
  if (cp < 0x80) out.push(byteIds[cp]);
  else if (cp < 0x800) out.push(byteIds[0xc0 | (cp >> 6)], byteIds[0x80 | (cp & 63)]);
  else if (cp < 0x10000) out.push(byteIds[0xe0 | (cp >> 12)], byteIds[0x80 | ((cp >> 6) & 63)], byteIds[0x80 | (cp & 63)]);
  else out.push(byteIds[0xf0 | (cp >> 18)], byteIds[0x80 | ((cp >> 12) & 63)], byteIds[0x80 | ((cp >> 6) & 63)], byteIds[0x80 | (cp & 63)]);
}

// ignoreBOM: keep a leading U+FEFF (by default TextDecoder would swallow it).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// A run of byte tokens -> text; invalid UTF-8 -> one U+FFFD per byte (Hugging Face's ByteFallback).
function decodeBytes(bytes: number[]): string {
  let s: string;
  try {
    s = utf8.decode(new Uint8Array(bytes));
  } catch {
    s = '\ufffd'.repeat(bytes.length);
  }
  bytes.length = 0;
  return s;
}
