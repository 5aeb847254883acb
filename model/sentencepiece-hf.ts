// A Hugging Face tokenizer.json with a Unigram model (what transformers' SpmConverter writes for
// Marian and T5, and what transformers.js loads) as the SentencePiece ModelProto it was converted
// from, so the one SentencePiece encoder serves both files.
//   model: Unigram {vocab: [[piece, score]], unk_id, byte_fallback}
//   normalizer: Precompiled {precompiled_charsmap: base64} (alone or in a Sequence), optionally
//               Replace / {2,}/ -> ' ' or Strip (SentencePiece's remove_extra_whitespaces)
//   pre_tokenizer: Metaspace {replacement '▁', add_prefix_space or prepend_scheme}, optionally after
//                  WhitespaceSplit (T5)
// added_tokens: special ones are CONTROL pieces, others USER_DEFINED.

import type { NormalizerSpec } from './sentencepiece-normalizer.ts';
import { PieceType, type ModelProto, type Piece } from './sentencepiece-proto.ts';

interface Json {
  type?: string;
  [k: string]: unknown;
}

const list = (j: Json | null | undefined, key: string): Json[] => (j == null ? [] : j.type === 'Sequence' ? ((j[key] as Json[]) ?? []) : [j]);

// Base64 text to bytes, in every host (atob).
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function modelFromTokenizerJson(json: string | object, source = 'tokenizer.json'): ModelProto {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a SentencePiece Unigram tokenizer.json (${why})`);
  };
  let j: Json;
  try {
    j = (typeof json === 'string' ? JSON.parse(json) : json) as Json;
  } catch (e) {
    return fail(`not JSON: ${(e as Error).message}`);
  }
  const model = j?.model as Json | undefined;
  if (model?.type !== 'Unigram') return fail(`model.type is ${JSON.stringify(model?.type)}, expected "Unigram"`);
  const vocab = model.vocab as unknown;
  if (!Array.isArray(vocab) || vocab.length === 0) return fail('model.vocab must be a non-empty array of [piece, score]');
  const byteFallback = model.byte_fallback === true;
  const unkId = typeof model.unk_id === 'number' ? model.unk_id : fail('model.unk_id is missing');
  const added = new Map<number, boolean>(); // id -> special
  for (const t of (j.added_tokens as Json[] | undefined) ?? []) added.set(t.id as number, t.special !== false);
  const pieces: Piece[] = vocab.map((v: unknown, id: number) => {
    if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'number') return fail(`model.vocab[${id}] is not [piece, score]`);
    const piece = v[0] as string;
    const type =
      id === unkId ? PieceType.UNKNOWN
      : added.has(id) ? (added.get(id) ? PieceType.CONTROL : PieceType.USER_DEFINED)
      : byteFallback && /^<0x[0-9A-F]{2}>$/.test(piece) ? PieceType.BYTE
      : PieceType.NORMAL;
    return { piece, score: Math.fround(v[1]), type };
  });
  if (pieces[unkId] === undefined) fail(`model.unk_id ${unkId} is not in the vocab`);
  const idOf = (p: string): number => pieces.findIndex((x) => x.piece === p && x.type === PieceType.CONTROL);

  const spec: NormalizerSpec = { name: 'tokenizer.json', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: false, removeExtraWhitespaces: false, escapeWhitespaces: true };
  for (const n of list(j.normalizer as Json, 'normalizers')) {
    if (n.type === 'Precompiled') spec.precompiledCharsmap = fromBase64(String(n.precompiled_charsmap ?? ''));
    else if (n.type === 'Replace' && (n.pattern as Json)?.Regex === ' {2,}' && n.content === ' ') spec.removeExtraWhitespaces = true;
    else if (n.type === 'Strip') spec.removeExtraWhitespaces = true;
    else fail(`normalizer ${n.type} has no SentencePiece equivalent`);
  }
  let metaspace = false;
  for (const p of list(j.pre_tokenizer as Json, 'pretokenizers')) {
    if (p.type === 'WhitespaceSplit') spec.removeExtraWhitespaces = true;
    else if (p.type === 'Metaspace') {
      if (p.replacement !== '\u2581') fail(`Metaspace replacement ${JSON.stringify(p.replacement)} is not "▁"`);
      metaspace = true;
      spec.addDummyPrefix = p.prepend_scheme !== undefined ? p.prepend_scheme !== 'never' : p.add_prefix_space !== false;
    } else fail(`pre_tokenizer ${p.type} has no SentencePiece equivalent`);
  }
  if (!metaspace) fail('no Metaspace pre_tokenizer');
  return {
    pieces,
    trainerSpec: {
      modelType: 1, vocabSize: pieces.length, byteFallback, treatWhitespaceAsSuffix: false,
      unkId, bosId: idOf('<s>'), eosId: idOf('</s>'), padId: idOf('<pad>'), unkSurface: ' \u2047 ',
    },
    normalizerSpec: spec,
  };
}
