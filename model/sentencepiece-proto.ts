// The parts of sentencepiece_model.proto a tokenizer needs, read by a small hand-written protobuf
// decoder (varint, 32/64-bit and length-delimited fields; unknown fields are skipped). Plain
// TypeScript over a Uint8Array, for every host.

import type { NormalizerSpec } from './sentencepiece-normalizer.ts';

// ModelProto.SentencePiece.Type
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface Piece {
  piece: string;
  score: number; // float
  type: number; // a PieceType
}

export interface TrainerSpec {
  modelType: number; // 1 unigram, 2 BPE, 3 word, 4 char
  vocabSize: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number; // -1: none
  unkSurface: string;
}

export interface ModelProto {
  pieces: Piece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Reader {
  readonly b: Uint8Array;
  pos: number;
  readonly end: number;
  constructor(b: Uint8Array, start = 0, end = b.length) {
    this.b = b;
    this.pos = start;
    this.end = end;
  }
  // A varint as a JS number: exact up to 2^53; int32 fields take the low 32 bits (negative ints are
  // written as 10-byte varints).
  varint(): number {
    let v = 0, mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const c = this.b[this.pos++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) return v;
      mul *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }
  int32(): number {
    const v = this.varint();
    return v >= 2 ** 31 ? Number(BigInt.asIntN(32, BigInt(v))) : v;
  }
  float(): number {
    if (this.pos + 4 > this.end) throw new Error('truncated float');
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error(`a field of ${n} bytes runs past the end`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  string(): string {
    return utf8.decode(this.bytes());
  }
  // Calls `field(number, wireType)` for each field; it reads the value or returns false to skip it.
  fields(field: (n: number, wire: number) => boolean): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const n = Math.floor(key / 8), wire = key % 8;
      if (n === 0) throw new Error('field number 0');
      if (field(n, wire)) continue;
      if (wire === 0) this.varint();
      else if (wire === 1) this.skip(8);
      else if (wire === 2) this.bytes();
      else if (wire === 5) this.skip(4);
      else throw new Error(`wire type ${wire} (field ${n})`);
    }
    if (this.pos !== this.end) throw new Error('a field runs past the end');
  }
  private skip(n: number): void {
    if (this.pos + n > this.end) throw new Error('truncated field');
    this.pos += n;
  }
}

// Reads `n`'s value if its wire type is `want`; a known field with another wire type is an error.
function expect(n: number, wire: number, want: number): true {
  if (wire !== want) throw new Error(`field ${n} has wire type ${wire}, expected ${want}`);
  return true;
}

function sub(r: Reader): Reader {
  const b = r.bytes();
  return new Reader(b);
}

function readPiece(r: Reader): Piece {
  const p: Piece = { piece: '', score: 0, type: PieceType.NORMAL };
  r.fields((n, w) => {
    if (n === 1 && expect(n, w, 2)) p.piece = r.string();
    else if (n === 2 && expect(n, w, 5)) p.score = r.float();
    else if (n === 3 && expect(n, w, 0)) p.type = r.int32();
    else return false;
    return true;
  });
  if (p.type < 1 || p.type > 6) throw new Error(`piece ${JSON.stringify(p.piece)} has unknown type ${p.type}`);
  return p;
}

function readTrainerSpec(r: Reader): TrainerSpec {
  const t: TrainerSpec = { modelType: 1, vocabSize: 8000, byteFallback: false, treatWhitespaceAsSuffix: false, unkId: 0, bosId: 1, eosId: 2, padId: -1, unkSurface: ' \u2047 ' };
  r.fields((n, w) => {
    if (n === 3 && expect(n, w, 0)) t.modelType = r.int32();
    else if (n === 4 && expect(n, w, 0)) t.vocabSize = r.int32();
    else if (n === 35 && expect(n, w, 0)) t.byteFallback = r.varint() !== 0;
    else if (n === 24 && expect(n, w, 0)) t.treatWhitespaceAsSuffix = r.varint() !== 0;
    else if (n === 40 && expect(n, w, 0)) t.unkId = r.int32();
    else if (n === 41 && expect(n, w, 0)) t.bosId = r.int32();
    else if (n === 42 && expect(n, w, 0)) t.eosId = r.int32();
    else if (n === 43 && expect(n, w, 0)) t.padId = r.int32();
    else if (n === 44 && expect(n, w, 2)) t.unkSurface = r.string();
    else return false;
    return true;
  });
  return t;
}

function readNormalizerSpec(r: Reader): NormalizerSpec {
  const s: NormalizerSpec = { name: '', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };
  r.fields((n, w) => {
    if (n === 1 && expect(n, w, 2)) s.name = r.string();
    else if (n === 2 && expect(n, w, 2)) s.precompiledCharsmap = r.bytes().slice();
    else if (n === 3 && expect(n, w, 0)) s.addDummyPrefix = r.varint() !== 0;
    else if (n === 4 && expect(n, w, 0)) s.removeExtraWhitespaces = r.varint() !== 0;
    else if (n === 5 && expect(n, w, 0)) s.escapeWhitespaces = r.varint() !== 0;
    else return false;
    return true;
  });
  return s;
}

// Parses a `.model` file. Anything that is not a well-formed ModelProto with pieces is one error
// naming `source`.
export function parseModelProto(bytes: Uint8Array, source = 'model'): ModelProto {
  const m: ModelProto = { pieces: [], trainerSpec: readTrainerSpec(new Reader(new Uint8Array(0))), normalizerSpec: readNormalizerSpec(new Reader(new Uint8Array(0))) };
  try {
    const r = new Reader(bytes);
    r.fields((n, w) => {
      if (n === 1 && expect(n, w, 2)) m.pieces.push(readPiece(sub(r)));
      else if (n === 2 && expect(n, w, 2)) m.trainerSpec = readTrainerSpec(sub(r));
      else if (n === 3 && expect(n, w, 2)) m.normalizerSpec = readNormalizerSpec(sub(r));
      else return false;
      return true;
    });
    if (m.pieces.length === 0) throw new Error('no pieces');
  } catch (e) {
    throw new Error(`${source}: not a SentencePiece model (${(e as Error).message})`);
  }
  return m;
}
