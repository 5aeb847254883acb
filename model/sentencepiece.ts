// SentencePiece tokenizers (the ones OPUS-MT/Marian and T5 ship) in every host: plain TypeScript over
// bytes, no Node APIs. Reads a `.model` (ModelProto protobuf) or a Hugging Face tokenizer.json with a
// Unigram model, and encodes exactly as sentencepiece's C++ does (checked against Debian's
// python3-sentencepiece 0.1.97 by model/sentencepiece.test.ts):
//   normalize (sentencepiece-normalizer.ts) -> unigram Viterbi (unigram_model.cc EncodeOptimized) or
//   BPE merges by piece score (bpe_model.cc) -> unknown runs fused into one <unk>, or with byte_fallback
//   spelled as <0xNN> pieces (sentencepiece_processor.cc Encode).
// Decoding: control pieces vanish, <unk> is " ⁇ ", byte runs become UTF-8 (a malformed byte U+FFFD),
// '▁' becomes ' ', and the first piece loses its leading '▁' (the dummy prefix; unless the model has
// neither add_dummy_prefix nor remove_extra_whitespaces).

import { ByteBuffer, Normalizer, PrefixMatcher, SPACE_SYMBOL, oneCharLen, validCharLen, type NormalizerSpec } from './sentencepiece-normalizer.ts';
import { siftDown, siftUp } from './heap.ts';
import { modelFromTokenizerJson } from './sentencepiece-hf.ts';
import { parseModelProto, PieceType, type ModelProto } from './sentencepiece-proto.ts';

export { PieceType, type ModelProto } from './sentencepiece-proto.ts';

const UNK_PENALTY = 10; // unigram: an unknown character scores min_score - 10
const FLT_MAX = 3.4028234663852886e38, FLT_MIN = 1.1754943508222875e-38; // <cfloat>
const f32 = Math.fround;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

// A byte-string dictionary: piece bytes -> id (the role of sentencepiece's darts trie over pieces).
class ByteTrie {
  private readonly next = new Map<number, number>(); // node * 256 + byte -> child node
  private values: Int32Array = new Int32Array(1).fill(-1); // node -> id, or -1
  private nodes = 1;
  insert(key: Uint8Array, id: number): boolean {
    let node = 0;
    for (const b of key) {
      let child = this.next.get(node * 256 + b);
      if (child === undefined) {
        child = this.nodes++;
        this.next.set(node * 256 + b, child);
        if (child >= this.values.length) {
          const grown = new Int32Array(this.values.length * 2).fill(-1);
          grown.set(this.values);
          this.values = grown;
        }
      }
      node = child;
    }
    if (this.values[node] >= 0) return false;
    this.values[node] = id;
    return true;
  }
  // The child of `node` by byte `b`, or -1.
  step(node: number, b: number): number {
    return this.next.get(node * 256 + b) ?? -1;
  }
  value(node: number): number {
    return this.values[node];
  }
  get(s: Uint8Array, start: number, end: number): number {
    let node = 0;
    for (let i = start; i < end && node >= 0; i++) node = this.step(node, s[i]);
    return node < 0 ? -1 : this.values[node];
  }
}

export class SentencePiece {
  readonly model: ModelProto;
  readonly type: 'unigram' | 'bpe';
  readonly unkId: number;
  readonly bosId: number; // -1 when the model has none
  readonly eosId: number;
  readonly padId: number;
  private readonly normalizer: Normalizer;
  private readonly pieceBytes: Uint8Array[];
  private readonly types: Uint8Array;
  private readonly scores: Float32Array;
  private readonly pieces = new ByteTrie(); // NORMAL, USER_DEFINED and UNUSED pieces
  private readonly reserved = new ByteTrie(); // the others (control, unknown, bytes)
  private readonly matcher: PrefixMatcher;
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly byteOf: Int16Array; // id -> byte of a <0xNN> piece, or -1
  private readonly minScore: number;
  private readonly maxScore: number;

  constructor(model: ModelProto, source = 'model') {
    this.model = model;
    const { pieces, trainerSpec: t } = model;
    if (t.modelType !== 1 && t.modelType !== 2) {
      throw new Error(`${source}: SentencePiece model_type ${t.modelType} (word or char) is not supported; unigram (1) and BPE (2) are`);
    }
    if (t.treatWhitespaceAsSuffix) throw new Error(`${source}: treat_whitespace_as_suffix is not supported`);
    this.type = t.modelType === 1 ? 'unigram' : 'bpe';
    const n = pieces.length;
    this.pieceBytes = pieces.map((p) => utf8Encoder.encode(p.piece));
    this.types = new Uint8Array(n);
    this.scores = new Float32Array(n);
    this.byteOf = new Int16Array(n).fill(-1);
    const userDefined: Uint8Array[] = [];
    let unk = -1, min = FLT_MAX, max = FLT_MIN;
    for (let i = 0; i < n; i++) {
      const { piece, type, score } = pieces[i];
      if (piece === '') throw new Error(`${source}: piece ${i} is empty`);
      this.types[i] = type;
      this.scores[i] = score;
      const normal = type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED;
      if (!(normal ? this.pieces : this.reserved).insert(this.pieceBytes[i], i)) throw new Error(`${source}: piece ${JSON.stringify(piece)} is defined twice`);
      if (type === PieceType.USER_DEFINED) userDefined.push(this.pieceBytes[i]);
      if (type === PieceType.UNKNOWN) {
        if (unk >= 0) throw new Error(`${source}: two unknown pieces (${unk} and ${i})`);
        unk = i;
      }
      if (type === PieceType.NORMAL) {
        min = Math.min(min, this.scores[i]);
        max = Math.max(max, this.scores[i]);
      }
      if (type === PieceType.BYTE) {
        const m = /^<0x([0-9A-F]{2})>$/.exec(piece);
        if (!t.byteFallback) throw new Error(`${source}: byte piece ${piece} although byte_fallback is false`);
        if (!m) throw new Error(`${source}: bad byte piece ${JSON.stringify(piece)}`);
        this.byteIds[parseInt(m[1], 16)] = i;
        this.byteOf[i] = parseInt(m[1], 16);
      }
    }
    if (unk < 0) throw new Error(`${source}: the model has no unknown piece`);
    if (t.byteFallback && this.byteIds.includes(-1)) throw new Error(`${source}: byte_fallback needs all 256 <0xNN> pieces`);
    this.unkId = unk;
    const idOf = (id: number): number => (id >= 0 && id < n ? id : -1);
    this.bosId = idOf(t.bosId);
    this.eosId = idOf(t.eosId);
    this.padId = idOf(t.padId);
    this.minScore = min;
    this.maxScore = max;
    this.matcher = new PrefixMatcher(userDefined);
    this.normalizer = new Normalizer(model.normalizerSpec, this.matcher, source);
  }

  // A `.model` file's bytes; `source` names it in errors.
  static fromModel(bytes: Uint8Array, source = 'model'): SentencePiece {
    return new SentencePiece(parseModelProto(bytes, source), source);
  }

  // A Hugging Face tokenizer.json with a Unigram model (sentencepiece-hf.ts).
  static fromTokenizerJson(json: string | object, source = 'tokenizer.json'): SentencePiece {
    return new SentencePiece(modelFromTokenizerJson(json, source), source);
  }

  get vocabSize(): number {
    return this.pieceBytes.length;
  }
  get byteFallback(): boolean {
    return this.model.trainerSpec.byteFallback;
  }
  get normalizerSpec(): NormalizerSpec {
    return this.model.normalizerSpec;
  }

  idToPiece(id: number): string {
    const p = this.model.pieces[id];
    if (p === undefined) throw new RangeError(`piece id ${id} out of range 0..${this.vocabSize - 1}`);
    return p.piece;
  }
  // The id of `piece`, or the unknown id (SentencePieceProcessor::PieceToId).
  pieceToId(piece: string): number {
    const b = utf8Encoder.encode(piece);
    const r = this.reserved.get(b, 0, b.length);
    if (r >= 0) return r;
    const id = this.pieces.get(b, 0, b.length);
    return id >= 0 ? id : this.unkId;
  }
  score(id: number): number {
    return this.scores[id];
  }
  isControl(id: number): boolean {
    return this.types[id] === PieceType.CONTROL;
  }
  isUnknown(id: number): boolean {
    return this.types[id] === PieceType.UNKNOWN;
  }
  isByte(id: number): boolean {
    return this.types[id] === PieceType.BYTE;
  }

  // The normalized text, with '▁' for spaces, as sentencepiece feeds it to the model.
  normalize(text: string | Uint8Array): string {
    return utf8Decoder.decode(this.normalizer.normalize(toBytes(text)));
  }

  // Ids of `text` (no <s> or </s> added), as SentencePieceProcessor::Encode gives them.
  encode(text: string | Uint8Array): number[] {
    const ids: number[] = [];
    this.segment(text, (_s, _e, id) => ids.push(id));
    return ids;
  }

  // The pieces of `text` ('▁the', '<0xE2>', an unknown run as its own text).
  encodePieces(text: string | Uint8Array): string[] {
    const out: string[] = [];
    this.segment(text, (s, e, id, bytes) => out.push(s < 0 ? this.idToPiece(id) : utf8Decoder.decode(bytes.subarray(s, e))));
    return out;
  }

  // Text of `ids` (SentencePieceProcessor::Decode).
  decode(ids: ArrayLike<number>): string {
    return this.decodeRun(ids);
  }

  // Text of `pieces` (SentencePieceProcessor::DecodePieces): each piece by its id, except that a piece the
  // model does not know comes out as its own text (not as the unknown surface, which only "<unk>" gives).
  decodePieces(pieces: string[]): string {
    const ids = pieces.map((p) => this.pieceToId(p));
    return this.decodeRun(ids, (k) => (this.isUnknown(ids[k]) && pieces[k] !== this.idToPiece(ids[k]) ? pieces[k] : undefined));
  }

  // `raw(k)`: the text to emit as it is for the k-th id instead of its piece, if any.
  private decodeRun(ids: ArrayLike<number>, raw?: (k: number) => string | undefined): string {
    const out = new ByteBuffer();
    const bytes = new ByteBuffer();
    const flushBytes = (): void => {
      const b = bytes.bytes;
      for (let i = 0; i < bytes.length; ) {
        const len = validCharLen(b, i, bytes.length);
        if (len === 0) out.append(REPLACEMENT_CHAR, 0, 3), i++;
        else out.append(b, i, i + len), (i += len);
      }
      bytes.length = 0;
    };
    const unkSurface = utf8Encoder.encode(this.model.trainerSpec.unkSurface);
    // sentencepiece drops the text's first '▁' when the normalizer may have added it or removed spaces
    const stripFirst = this.normalizerSpec.addDummyPrefix || this.normalizerSpec.removeExtraWhitespaces;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`piece id ${id} out of range 0..${this.vocabSize - 1}`);
      if (this.byteOf[id] >= 0) {
        bytes.push(this.byteOf[id]);
        continue;
      }
      flushBytes();
      const text = raw?.(k);
      if (text !== undefined) {
        const b = utf8Encoder.encode(text);
        out.append(b, 0, b.length);
        continue;
      }
      const type = this.types[id];
      if (type === PieceType.CONTROL) continue;
      if (type === PieceType.UNKNOWN) {
        out.append(unkSurface, 0, unkSurface.length);
        continue;
      }
      const p = this.pieceBytes[id];
      let i = out.length === 0 && stripFirst && startsWithSpace(p, 0) ? 3 : 0; // the dummy prefix
      while (i < p.length) {
        if (startsWithSpace(p, i)) out.push(0x20), (i += 3);
        else out.push(p[i++]);
      }
    }
    flushBytes();
    return utf8Decoder.decode(out.bytes.subarray(0, out.length));
  }

  // Calls `emit(start, end, id, normalized)` for each piece: [start, end) in the normalized bytes, or
  // start -1 for a byte piece.
  private segment(text: string | Uint8Array, emit: (start: number, end: number, id: number, normalized: Uint8Array) => void): void {
    const norm = this.normalizer.normalize(toBytes(text));
    if (norm.length === 0) return;
    const res = this.type === 'unigram' ? this.viterbi(norm) : this.bpe(norm);
    let prevUnk = false;
    for (let k = 0; k < res.length; k += 3) {
      const s = res[k], e = res[k + 1], id = res[k + 2];
      const unk = id === this.unkId;
      if (unk && this.byteFallback) {
        for (let i = s; i < e; i++) emit(-1, -1, this.byteIds[norm[i]], norm);
      } else if (unk && prevUnk) {
        continue; // "Merge continuous run of unknown pieces": still one <unk>
      } else {
        emit(s, e, id, norm);
      }
      prevUnk = unk;
    }
  }

  // unigram_model.cc EncodeOptimized: the best path ending at each byte position. Path scores are
  // stored as float; a piece's candidate is a double sum compared with the stored float (the ternary
  // with the user-defined bonus `length * max_score - 0.1` is double), an unknown's is float throughout.
  // Returns [start, end, id] triples.
  private viterbi(s: Uint8Array): number[] {
    const size = s.length;
    const best = new Float32Array(size + 1);
    const from = new Int32Array(size + 1).fill(-1);
    const ids = new Int32Array(size + 1).fill(-1);
    const unkScore = f32(this.minScore - UNK_PENALTY);
    const trie = this.pieces;
    for (let start = 0; start < size; ) {
      const till = best[start];
      const mblen = Math.min(oneCharLen(s[start]), size - start);
      let single = false;
      for (let node = 0, pos = start; pos < size; ) {
        node = trie.step(node, s[pos++]);
        if (node < 0) break;
        const id = trie.value(node);
        if (id < 0) continue;
        const type = this.types[id];
        if (type === PieceType.UNUSED) continue;
        const length = pos - start;
        const score = type === PieceType.USER_DEFINED ? f32(length * this.maxScore) - 0.1 : this.scores[id];
        const candidate = score + till;
        if (from[pos] === -1 || candidate > best[pos]) {
          best[pos] = candidate;
          from[pos] = start;
          ids[pos] = id;
        }
        if (length === mblen) single = true;
      }
      if (!single) {
        const pos = start + mblen;
        const candidate = f32(unkScore + till);
        if (from[pos] === -1 || candidate > best[pos]) {
          best[pos] = candidate;
          from[pos] = start;
          ids[pos] = this.unkId;
        }
      }
      start += mblen;
    }
    const out: number[] = [];
    for (let end = size; end > 0; end = from[end]) out.push(ids[end], end, from[end]);
    return out.reverse();
  }

  // bpe_model.cc: characters (user-defined symbols whole and frozen), then repeatedly merge the
  // adjacent pair whose concatenation is the highest-scoring piece (leftmost on ties); an UNUSED piece
  // made on the way is split back into the pair that formed it. Returns [start, end, id] triples.
  private bpe(s: Uint8Array): number[] {
    const size = s.length;
    const start: number[] = [], end: number[] = [], prev: number[] = [], next: number[] = [], frozen: boolean[] = [];
    for (let pos = 0; pos < size; ) {
      const user = this.matcher.empty ? 0 : this.matcher.match(s, pos, size);
      const len = user > 0 ? user : Math.min(oneCharLen(s[pos]), size - pos);
      const i = start.length;
      start.push(pos);
      end.push(pos + len);
      frozen.push(user > 0);
      prev.push(i - 1);
      pos += len;
      next.push(pos < size ? i + 1 : -1);
    }
    const heap = new PairHeap();
    const revMerge = new Map<number, [number, number, number, number]>(); // UNUSED id -> the pair's ranges
    const consider = (l: number, r: number): void => {
      if (l < 0 || r < 0 || frozen[l] || frozen[r]) return;
      const id = this.pieces.get(s, start[l], end[r]);
      if (id < 0) return;
      heap.push(l, r, this.scores[id], end[r] - start[l]);
      if (this.types[id] === PieceType.UNUSED) revMerge.set(id, [start[l], end[l], start[r], end[r]]);
    };
    for (let i = 1; i < start.length; i++) consider(i - 1, i);
    while (heap.size > 0) {
      const [l, r, len] = heap.pop();
      const ll = end[l] - start[l], rl = end[r] - start[r];
      if (ll === 0 || rl === 0 || ll + rl !== len) continue; // stale
      end[l] = end[r];
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      end[r] = start[r]; // emptied
      consider(prev[l], l);
      consider(l, next[l]);
    }
    const out: number[] = [];
    const resegment = (a: number, b: number): void => {
      const r = this.reserved.get(s, a, b);
      const found = r >= 0 ? r : this.pieces.get(s, a, b);
      const id = found >= 0 ? found : this.unkId;
      const split = this.types[id] === PieceType.UNUSED ? revMerge.get(id) : undefined;
      if (split === undefined) {
        out.push(a, b, id);
        return;
      }
      resegment(split[0], split[1]);
      resegment(split[2], split[3]);
    };
    for (let i = 0; i >= 0 && start.length > 0; i = next[i]) resegment(start[i], end[i]);
    return out;
  }
}

const REPLACEMENT_CHAR = new Uint8Array([0xef, 0xbf, 0xbd]);
const startsWithSpace = (p: Uint8Array, i: number): boolean =>
  p[i] === SPACE_SYMBOL[0] && p[i + 1] === SPACE_SYMBOL[1] && p[i + 2] === SPACE_SYMBOL[2];
const toBytes = (text: string | Uint8Array): Uint8Array => (typeof text === 'string' ? utf8Encoder.encode(text) : text);

// Max-heap of symbol pairs: higher score first, then smaller left index (bpe_model.cc's comparator).
class PairHeap {
  private left: number[] = [];
  private right: number[] = [];
  private score: number[] = [];
  private len: number[] = [];
  get size(): number {
    return this.left.length;
  }
  push(l: number, r: number, score: number, len: number): void {
    const i = this.left.length;
    this.left.push(l), this.right.push(r), this.score.push(score), this.len.push(len);
    siftUp(i, this.order, this.exchange);
  }
  // [left, right, length] of the top pair.
  pop(): [number, number, number] {
    const top: [number, number, number] = [this.left[0], this.right[0], this.len[0]];
    const last = this.left.length - 1;
    this.swap(0, last);
    this.left.pop(), this.right.pop(), this.score.pop(), this.len.pop();
    siftDown(0, last, this.order, this.exchange);
    return top;
  }
  private readonly order = (i: number, j: number): boolean => this.before(i, j);
  private readonly exchange = (i: number, j: number): void => this.swap(i, j);
  private before(i: number, j: number): boolean {
    return this.score[i] > this.score[j] || (this.score[i] === this.score[j] && this.left[i] < this.left[j]);
  }
  private swap(i: number, j: number): void {
    swap(this.left, i, j), swap(this.right, i, j), swap(this.score, i, j), swap(this.len, i, j);
  }
}

function swap(a: number[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
