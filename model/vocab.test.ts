// Which tokenizer and ids a model folder uses (model/vocab.ts), and the Marian tokenizer as transformers'
// MarianTokenizer behaves: source pieces -> vocab.json ids (not SentencePiece's), target ids -> pieces ->
// the target model's DecodePieces; then an engine over a Marian tokenizer translates text end to end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { PRESETS } from './config.ts';
import { MarianTokenizer, type MarianTokenizerJson } from './marian-tokenizer.ts';
import { initParams, paramLayout } from './params.ts';
import { f32Tensor, serialize, type Tensor } from './safetensors.ts';
import { SentencePiece } from './sentencepiece.ts';
import { microModelFiles } from './testing.ts';
import { createEngine } from './translator.ts';
import { modelVocab, type Generation, type VocabConfig } from './vocab.ts';

const spm = (name: string) => gunzipSync(readFileSync(join(import.meta.dirname, 'fixtures/sentencepiece', `${name}.model.gz`)));
const SOURCE = spm('unigram-identity');
const TARGET = spm('bpe-identity');
const src = SentencePiece.fromModel(SOURCE);
const tgt = SentencePiece.fromModel(TARGET);
const piecesOf = (sp: SentencePiece) => Array.from({ length: sp.vocabSize }, (_, i) => sp.idToPiece(i)).filter((p) => !['<unk>', '<s>', '</s>'].includes(p));

// A joint vocab.json as OPUS-MT has: </s> 0, <unk> 1, the pieces of both models in an order of its own
// (here: the source's backwards, then the target's new ones), <pad> last.
function jointVocab(extra: string[] = []): Record<string, number> {
  const pieces = [...new Set([...piecesOf(src).reverse(), ...piecesOf(tgt), ...extra])];
  const v: Record<string, number> = { '</s>': 0, '<unk>': 1 };
  pieces.forEach((p, i) => (v[p] = i + 2));
  v['<pad>'] = pieces.length + 2;
  return v;
}

function marianJson(vocab: Record<string, number>, targetVocab?: Record<string, number>): MarianTokenizerJson {
  const pad = vocab['<pad>'];
  return {
    type: 'marian', source: SOURCE.toString('base64'), target: TARGET.toString('base64'), vocab, ...(targetVocab ? { targetVocab } : {}),
    specials: { pad, eos: 0, unk: 1, start: pad },
  };
}

const GENERATION: Generation = { numBeams: 4, maxLength: 40, earlyStopping: false, forcedEos: true, badWords: [], renormalizeLogits: true };
const sentence = 'Ein Mann fährt Fahrrad, zwei Hunde spielen.';

describe('MarianTokenizer', () => {
  const vocab = jointVocab();
  const tok = new MarianTokenizer(marianJson(vocab));

  it("encodes the source model's pieces to vocab.json's ids, not SentencePiece's", () => {
    const pieces = src.encodePieces(sentence);
    expect(tok.encode(sentence)).toEqual(pieces.map((p) => vocab[p]));
    expect(tok.encode(sentence)).not.toEqual(src.encode(sentence));
  });

  it('gives <unk> to a piece vocab.json lacks', () => {
    const pieces = src.encodePieces(sentence);
    const without = { ...vocab };
    delete without[pieces[1]];
    expect(new MarianTokenizer(marianJson(without)).encode(sentence)).toEqual(pieces.map((p, i) => (i === 1 ? 1 : vocab[p])));
  });

  it('decodes target ids through vocab.json and the target model, skipping </s>, <unk> and <pad>', () => {
    const ids = tgt.encodePieces(sentence).map((p) => vocab[p]);
    expect(tok.decode(ids)).toBe(tgt.decode(tgt.encode(sentence)));
    expect(tok.decode([vocab['<pad>'], ...ids.slice(0, 3), 1, ...ids.slice(3), 0, vocab['<pad>']])).toBe(tgt.decode(tgt.encode(sentence)));
  });

  it("decodes a piece the target model does not know as its own text, '▁' as a space, trimmed as Python's strip", () => {
    const v = jointVocab(['▁Qxzy', 'qq▁']);
    const t = new MarianTokenizer(marianJson(v));
    expect(t.decode([v['▁Qxzy'], ...tgt.encodePieces(' ok').map((p) => v[p]), v['qq▁']])).toBe('Qxzy okqq');
  });

  it('reads target ids through target_vocab.json when the vocabularies are separate', () => {
    const targetVocab: Record<string, number> = { '</s>': 0, '<unk>': 1 };
    piecesOf(tgt).forEach((p, i) => (targetVocab[p] = i + 2));
    targetVocab['<pad>'] = Object.keys(targetVocab).length;
    const t = new MarianTokenizer(marianJson(vocab, targetVocab));
    expect(t.targetVocabSize).toBe(piecesOf(tgt).length + 3);
    expect(t.decode(tgt.encodePieces(sentence).map((p) => targetVocab[p]))).toBe(tgt.decode(tgt.encode(sentence)));
    expect(t.encode(sentence)).toEqual(tok.encode(sentence));
  });
});

describe('modelVocab', () => {
  const vocab = jointVocab();
  const size = vocab['<pad>'] + 1;
  const marian = (extra: object = {}): VocabConfig => ({ ...PRESETS.micro, vocabSize: size, directions: [['en', 'de']], generation: GENERATION, ...extra });

  it("ours: <2xx> before the source, <s> starts, the paper's search", () => {
    const m = microModelFiles();
    const v = modelVocab(m.config as VocabConfig, m.tokenizer);
    expect(v.rules).toMatchObject({ start: 2, eos: 3, banned: [], scorer: 'gnmt', earlyStopping: true, forcedEos: false });
    expect(v.prefix('de')).toHaveLength(1);
    expect(() => modelVocab({ ...(m.config as VocabConfig), vocabSize: 5 }, m.tokenizer)).toThrow(/tokenizer has \d+ tokens, config.vocabSize is 5/);
  });

  it("Marian: no tag, <pad> starts, Hugging Face's search with the model's settings", () => {
    const v = modelVocab(marian(), marianJson(vocab));
    expect(v.prefix('de')).toEqual([]);
    expect(v.languages).toEqual(['en', 'de']);
    expect(v.rules).toEqual({ start: size - 1, eos: 0, banned: [], renormalize: true, scorer: 'hf', earlyStopping: false, maxLength: 40, forcedEos: true });
    expect(() => modelVocab(marian({ vocabSize: size + 1 }), marianJson(vocab))).toThrow(/tokenizer has \d+ source tokens, config.vocabSize is \d+/);
    expect(() => modelVocab(marian({ targetVocabSize: 7 }), marianJson(vocab))).toThrow(/tokenizer has \d+ target tokens, the model 7/);
    expect(() => modelVocab(marian({ generation: undefined }), marianJson(vocab))).toThrow(/config.generation is missing/);
    expect(() => modelVocab(marian({ generation: { ...GENERATION, maxLength: 1 } }), marianJson(vocab))).toThrow(/config.generation.maxLength must be an integer >= 2/);
  });

  it('a model with several target languages gets the >>xx<< token of the target first', () => {
    const v = { ...vocab, '>>de<<': size, '>>fr<<': size + 1, '<pad>': size + 2 };
    const config = marian({ vocabSize: size + 3, directions: [['en', 'de'], ['en', 'fr']] });
    expect(modelVocab(config, marianJson(v)).prefix('fr')).toEqual([size + 1]);
    expect(() => modelVocab({ ...config, directions: [['en', 'es']] }, marianJson(v))).toThrow(/the model has no >>es<< token; its target codes are de, fr/);
  });
});

describe('an engine with a Marian tokenizer', () => {
  it('translates text: the source without a tag, ended by vocab.json\'s </s>; <pad> starts and is never generated', async () => {
    const vocab = jointVocab();
    const V = vocab['<pad>'] + 1;
    const config = { ...PRESETS.micro, vocabSize: V, dModel: 16, heads: 2, maxLen: 64 };
    const layout = paramLayout(config);
    const flat = new Float32Array(layout.total);
    initParams(flat, layout, 3);
    const tensors = new Map<string, Tensor>(layout.tensors.map((t) => [t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size))]));
    const engine = createEngine(
      { config: { ...config, name: 'm', directions: [['en', 'de']], alpha: 1, generation: { ...GENERATION, badWords: [V - 1], maxLength: 12 } }, tokenizer: marianJson(vocab), weights: serialize(tensors) },
      loadKernels(),
    );
    expect(engine.info.languages).toEqual(['en', 'de']);
    for (const beam of [1, 3]) {
      const [r] = await engine.translate([sentence], { source: 'en', target: 'de', beam, alignments: true });
      expect(r.sourceTokens).toEqual([...src.encodePieces(sentence), '</s>']);
      expect(r.targetTokens!.length).toBeLessThanOrEqual(11); // max_length 12: the start token and 11 more, </s> forced last
      expect(r.targetTokens).not.toContain('<pad>');
      expect(r.text).toBe(new MarianTokenizer(marianJson(vocab)).decode(r.targetTokens!.map((p) => vocab[p])));
    }
  });
});
