// The tokenizer of an imported Hugging Face MarianMT model (OPUS-MT), as transformers' MarianTokenizer
// (tokenization_marian.py) encodes and decodes, in every host:
//   source: text -> pieces of the source SentencePiece model (source.spm) -> ids through vocab.json
//           (Marian's ids are not SentencePiece's: a piece vocab.json lacks is <unk>), then </s>
//   target: ids -> pieces through target_vocab.json (separate vocabularies) or vocab.json -> the target
//           SentencePiece model's DecodePieces, '▁' -> ' ', trimmed; </s>, <unk> and <pad> are skipped
//           (skip_special_tokens, as the translation pipeline decodes).
// A model with several target languages has >>xx<< tokens in its source vocabulary; the engine puts the
// target's first (model/vocab.ts) instead of reading it from the text. Saved as one tokenizer.json of type
// "marian" (the .spm files in base64, byte for byte), so a model folder keeps its three files.
import { fromBase64 } from './sentencepiece-hf.ts';
import { SentencePiece } from './sentencepiece.ts';

// The ids the model gives its special tokens (config.json pad/eos/decoder_start_token_id, vocab.json <unk>).
export interface MarianSpecials {
  pad: number;
  eos: number;
  unk: number;
  start: number; // decoder_start_token_id: Marian starts decoding from <pad>
}

export interface MarianTokenizerJson {
  type: 'marian';
  source: string; // source.spm, base64
  target: string; // target.spm, base64
  vocab: Record<string, number>; // vocab.json: piece -> id (source side, and target side unless targetVocab)
  targetVocab?: Record<string, number>; // target_vocab.json of a model with separate vocabularies
  specials: MarianSpecials;
}

// A target-language code in the source vocabulary: ">>de<<" -> "de".
const LANGUAGE_CODE = /^>>(.+)<<$/;
// What Python's str.strip() strips (MarianTokenizer.convert_tokens_to_string ends with it).
const PY_SPACE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

export class MarianTokenizer {
  readonly source: SentencePiece;
  readonly target: SentencePiece;
  readonly specials: MarianSpecials;
  readonly sourceVocabSize: number; // 1 + the largest id of each side
  readonly targetVocabSize: number;
  readonly codes = new Map<string, number>(); // target language -> id of its >>xx<< token
  private readonly encoder: Map<string, number>; // source piece -> id
  private readonly sourcePieces: string[]; // id -> piece, for display
  private readonly targetPieces: string[];
  private readonly skip: Set<number>;

  constructor(json: MarianTokenizerJson) {
    if (json?.type !== 'marian') throw new Error('tokenizer.json: not a Marian tokenizer (type "marian")');
    this.source = SentencePiece.fromModel(fromBase64(json.source), 'tokenizer.json source');
    this.target = SentencePiece.fromModel(fromBase64(json.target), 'tokenizer.json target');
    this.encoder = pieceIds(json.vocab, 'vocab');
    this.sourcePieces = idPieces(this.encoder);
    this.targetPieces = json.targetVocab ? idPieces(pieceIds(json.targetVocab, 'targetVocab')) : this.sourcePieces;
    this.sourceVocabSize = this.sourcePieces.length;
    this.targetVocabSize = this.targetPieces.length;
    const s = json.specials;
    for (const k of ['pad', 'eos', 'unk', 'start'] as const) {
      if (!Number.isInteger(s?.[k]) || s[k] < 0) throw new Error(`tokenizer.json: specials.${k} must be a token id`);
    }
    if (this.sourcePieces[s.unk] === undefined || this.sourcePieces[s.eos] === undefined) throw new Error('tokenizer.json: specials.unk and specials.eos must be ids of vocab');
    this.specials = { pad: s.pad, eos: s.eos, unk: s.unk, start: s.start };
    this.skip = new Set([s.pad, s.eos, s.unk]);
    for (const [piece, id] of this.encoder) {
      const m = LANGUAGE_CODE.exec(piece);
      if (m) this.codes.set(m[1], id);
    }
  }

  static fromJSON(json: string | object): MarianTokenizer {
    return new MarianTokenizer((typeof json === 'string' ? JSON.parse(json) : json) as MarianTokenizerJson);
  }

  // Source ids of `text`, without </s> (and without a >>xx<< code: the engine adds the request's).
  encode(text: string): number[] {
    return this.source.encodePieces(text).map((p) => this.encoder.get(p) ?? this.specials.unk);
  }

  // Text of target ids.
  decode(ids: ArrayLike<number>): string {
    const pieces: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (this.skip.has(id)) continue;
      const piece = this.targetPieces[id];
      if (piece === undefined) throw new RangeError(`token id ${id} is not in the target vocabulary`);
      pieces.push(piece);
    }
    return this.target.decodePieces(pieces).replaceAll('\u2581', ' ').replace(PY_SPACE, '');
  }

  // The pieces of source or target ids, one per id, for display (alignments).
  sourceTokens(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.sourcePieces[id] ?? `<id ${id}>`);
  }
  targetTokens(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.targetPieces[id] ?? `<id ${id}>`);
  }
}

function pieceIds(vocab: Record<string, number>, name: string): Map<string, number> {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new Error(`tokenizer.json: ${name} must map pieces to ids`);
  const out = new Map<string, number>();
  for (const [piece, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0) throw new Error(`tokenizer.json: ${name}[${JSON.stringify(piece)}] must be a token id, got ${JSON.stringify(id)}`);
    out.set(piece, id);
  }
  return out;
}

// id -> piece; when several pieces share an id the later one wins, as MarianTokenizer's {v: k} inversion.
function idPieces(ids: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [piece, id] of ids) out[id] = piece;
  return out;
}
