// SentencePiece's normalizer (sentencepiece src/normalizer.cc), on UTF-8 bytes as the C++ works, so
// every host gets the same bytes: the precompiled charsmap (a darts-clone double-array trie of source
// strings whose values point into a blob of NUL-terminated replacements), longest match first;
// user-defined symbols pass through untouched; whitespace runs collapse and become '▁'.

export const SPACE_SYMBOL = new Uint8Array([0xe2, 0x96, 0x81]); // '▁' U+2581
const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]); // U+FFFD for a malformed byte
const MAX_TRIE_RESULTS = 32; // Normalizer::kMaxTrieResultsSize: matches past the 32nd are not seen

export interface NormalizerSpec {
  name: string;
  precompiledCharsmap: Uint8Array; // empty: no rules (identity)
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

// Bytes of one UTF-8 character by its first byte (string_util::OneCharLen).
export const oneCharLen = (b: number): number => (b < 0xc0 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4);

// Length of the valid UTF-8 character at `pos`, or 0 when it is malformed (string_util::DecodeUTF8:
// shortest form only, no surrogates, at most U+10FFFF).
export function validCharLen(s: Uint8Array, pos: number, end: number): number {
  const b = s[pos];
  if (b < 0x80) return 1;
  const trail = (i: number): boolean => pos + i < end && (s[pos + i] & 0xc0) === 0x80;
  if ((b & 0xe0) === 0xc0) return trail(1) && b >= 0xc2 ? 2 : 0;
  if ((b & 0xf0) === 0xe0) {
    if (!trail(1) || !trail(2)) return 0;
    const cp = ((b & 0x0f) << 12) | ((s[pos + 1] & 0x3f) << 6) | (s[pos + 2] & 0x3f);
    return cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff) ? 3 : 0;
  }
  if ((b & 0xf8) === 0xf0) {
    if (!trail(1) || !trail(2) || !trail(3)) return 0;
    const cp = ((b & 0x07) << 18) | ((s[pos + 1] & 0x3f) << 12) | ((s[pos + 2] & 0x3f) << 6) | (s[pos + 3] & 0x3f);
    return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
  }
  return 0;
}

// A growable byte buffer, reused across calls.
export class ByteBuffer {
  bytes = new Uint8Array(256);
  length = 0;
  push(b: number): void {
    if (this.length === this.bytes.length) this.grow(1);
    this.bytes[this.length++] = b;
  }
  append(src: Uint8Array, start: number, end: number): void {
    if (this.length + end - start > this.bytes.length) this.grow(end - start);
    this.bytes.set(src.subarray(start, end), this.length);
    this.length += end - start;
  }
  endsWith(tail: Uint8Array): boolean {
    if (this.length < tail.length) return false;
    for (let i = 0; i < tail.length; i++) if (this.bytes[this.length - tail.length + i] !== tail[i]) return false;
    return true;
  }
  private grow(extra: number): void {
    const next = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

// Longest user-defined symbol at a position (normalizer::PrefixMatcher), by first byte.
export class PrefixMatcher {
  private readonly byFirst = new Map<number, Uint8Array[]>();
  constructor(symbols: Uint8Array[]) {
    for (const s of symbols) {
      if (s.length === 0) continue;
      const list = this.byFirst.get(s[0]) ?? [];
      list.push(s);
      this.byFirst.set(s[0], list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.length - a.length);
  }
  get empty(): boolean {
    return this.byFirst.size === 0;
  }
  // Length of the longest symbol that `s[pos..end)` starts with, or 0.
  match(s: Uint8Array, pos: number, end: number): number {
    const list = this.byFirst.get(s[pos]);
    if (list === undefined) return 0;
    outer: for (const sym of list) {
      if (pos + sym.length > end) continue;
      for (let i = 1; i < sym.length; i++) if (s[pos + i] !== sym[i]) continue outer;
      return sym.length;
    }
    return 0;
  }
}

export class Normalizer {
  readonly spec: NormalizerSpec;
  private readonly units: Uint32Array | null = null; // the double array, one uint32 unit each
  private readonly normalized: Uint8Array = new Uint8Array(0); // NUL-terminated replacement strings
  private readonly matcher: PrefixMatcher;
  private readonly out = new ByteBuffer();
  // NormalizePrefix's result: the replacement is src[start..end), `consumed` input bytes.
  private src: Uint8Array = REPLACEMENT;
  private start = 0;
  private end = 0;

  constructor(spec: NormalizerSpec, matcher: PrefixMatcher, source = 'model') {
    this.spec = spec;
    this.matcher = matcher;
    const blob = spec.precompiledCharsmap;
    if (blob.length > 0) {
      // <trie size: uint32 LE><double array, uint32 LE units><normalized strings>
      const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
      const trieSize = blob.length > 4 ? view.getUint32(0, true) : 0;
      if (blob.length <= 4 || trieSize >= blob.length || trieSize % 4 !== 0 || trieSize < 4) {
        throw new Error(`${source}: the normalizer's precompiled_charsmap is broken`);
      }
      this.units = new Uint32Array(trieSize / 4);
      for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
      this.normalized = blob.subarray(4 + trieSize);
    }
  }

  // Normalizer::Normalize: the normalized UTF-8 bytes of `input` (a view into a reused buffer).
  normalize(input: Uint8Array): Uint8Array {
    const spec = this.spec, out = this.out, n = input.length;
    out.length = 0;
    let pos = 0;
    if (spec.removeExtraWhitespaces) {
      // Heading spaces go: the prefix normalizes to exactly " ".
      while (pos < n) {
        const used = this.prefix(input, pos);
        if (this.end - this.start !== 1 || this.src[this.start] !== 0x20) break;
        pos += used;
      }
    }
    if (pos === n) return out.bytes.subarray(0, 0);
    const space = (): void => (spec.escapeWhitespaces ? out.append(SPACE_SYMBOL, 0, 3) : out.push(0x20));
    if (spec.addDummyPrefix) space();
    let prevSpace = spec.removeExtraWhitespaces;
    while (pos < n) {
      const used = this.prefix(input, pos);
      const src = this.src, end = this.end;
      let s = this.start;
      while (prevSpace && s < end && src[s] === 0x20) s++; // extra spaces after a space go
      if (s < end) {
        for (let i = s; i < end; i++) {
          if (spec.escapeWhitespaces && src[i] === 0x20) out.append(SPACE_SYMBOL, 0, 3);
          else out.push(src[i]);
        }
        prevSpace = src[end - 1] === 0x20;
      }
      pos += used;
      if (!spec.removeExtraWhitespaces) prevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      const tail = spec.escapeWhitespaces ? SPACE_SYMBOL : new Uint8Array([0x20]);
      while (out.endsWith(tail)) out.length -= tail.length;
    }
    return out.bytes.subarray(0, out.length);
  }

  // Normalizer::NormalizePrefix: sets src/start/end to the replacement of the longest rule at `pos`
  // (or the character itself, or U+FFFD for one malformed byte) and returns the input bytes consumed.
  private prefix(input: Uint8Array, pos: number): number {
    const n = input.length;
    const user = this.matcher.empty ? 0 : this.matcher.match(input, pos, n);
    if (user > 0) return this.set(input, pos, pos + user, user);
    const units = this.units;
    if (units !== null) {
      // darts-clone commonPrefixSearch: the longest of the first 32 keys that prefix the input.
      let node = offset(units[0]), found = 0, longest = 0, value = 0;
      for (let i = pos; i < n; i++) {
        const c = input[i];
        node ^= c;
        const unit = units[node];
        if (unit === undefined || (unit & 0x800000ff) >>> 0 !== c) break;
        node ^= offset(unit);
        if ((unit >>> 8) & 1) {
          if (found++ < MAX_TRIE_RESULTS) {
            longest = i + 1 - pos;
            value = units[node] & 0x7fffffff;
          }
        }
      }
      if (longest > 0) {
        let e = value;
        while (e < this.normalized.length && this.normalized[e] !== 0) e++;
        return this.set(this.normalized, value, e, longest);
      }
    }
    const len = validCharLen(input, pos, n);
    return len === 0 ? this.set(REPLACEMENT, 0, 3, 1) : this.set(input, pos, pos + len, len);
  }

  private set(src: Uint8Array, start: number, end: number, consumed: number): number {
    this.src = src;
    this.start = start;
    this.end = end;
    return consumed;
  }
}

// DoubleArrayUnit::offset()
const offset = (unit: number): number => ((unit >>> 10) << ((unit & (1 << 9)) >>> 6)) >>> 0;
