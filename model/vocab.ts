// Which tokenizer and which special ids a model folder uses, decided here once for the engine
// (model/translator.ts):
// - ours: tokenizer.json of model/tokenizer.ts (BPE or unigram, one vocabulary); the source is
//   <2xx> x1..xn </s> with xx the target language, the decoder starts from <s>, and search follows the paper.
// - an imported Marian model (train/import/marian.ts): tokenizer.json of type "marian"
//   (model/marian-tokenizer.ts) with the model's own ids; the source is x1..xn </s>, or >>xx<< x1..xn </s>
//   for a model with several target languages; the decoder starts from <pad>, and search follows Hugging
//   Face generate() with the settings of config.json "generation".
import { targetVocab, type ModelConfig } from './config.ts';
import { MarianTokenizer } from './marian-tokenizer.ts';
import { paperRules, type SearchRules } from './search.ts';
import { Tokenizer, type SpecialIds } from './tokenizer.ts';

// Hugging Face generation settings of an imported model (its generation_config.json), the ones search
// honours (model/search.ts SearchRules); alpha (config.json) is its length_penalty.
export interface Generation {
  numBeams: number; // num_beams: the model's default beam
  maxLength: number; // max_length: the decoder start token included
  earlyStopping: boolean;
  forcedEos: boolean; // forced_eos_token_id is the eos: the last position can only end the sentence
  badWords: number[]; // bad_words_ids, each one token: never generated (Marian: <pad>)
  renormalizeLogits: boolean;
}

export interface ModelVocab {
  readonly languages: string[];
  readonly specials: SpecialIds; // what the decoder starts from and ends at, in search and reranking
  readonly rules: SearchRules;
  // Source ids of a text, no specials.
  encode(text: string): number[];
  // The ids before a source's pieces when translating into `target`.
  prefix(target: string): number[];
  // Text of target ids.
  decode(ids: ArrayLike<number>): string;
  sourceTokens(ids: ArrayLike<number>): string[];
  targetTokens(ids: ArrayLike<number>): string[];
}

// What of config.json the choice needs.
export type VocabConfig = ModelConfig & { directions: Array<[string, string]>; generation?: Generation };

export function modelVocab(config: VocabConfig, tokenizer: object | string): ModelVocab {
  const json = (typeof tokenizer === 'string' ? JSON.parse(tokenizer) : tokenizer) as { type?: string };
  return json?.type === 'marian' ? marianVocab(config, MarianTokenizer.fromJSON(json)) : ourVocab(config, Tokenizer.fromJSON(json));
}

function ourVocab(config: VocabConfig, tok: Tokenizer): ModelVocab {
  if (tok.vocabSize !== config.vocabSize) throw new Error(`tokenizer has ${tok.vocabSize} tokens, config.vocabSize is ${config.vocabSize}`);
  if (config.targetVocabSize !== undefined) throw new Error('config.targetVocabSize needs a tokenizer with a target vocabulary (type "marian")');
  return {
    languages: tok.languages,
    specials: tok.specials,
    rules: config.generation ? generationRules(config.generation, tok.specials) : paperRules(tok.specials),
    encode: (text) => tok.encode(text),
    prefix: (target) => [tok.langId(target)],
    decode: (ids) => tok.decode(ids),
    sourceTokens: (ids) => tok.tokens(ids),
    targetTokens: (ids) => tok.tokens(ids),
  };
}

function marianVocab(config: VocabConfig, tok: MarianTokenizer): ModelVocab {
  if (tok.sourceVocabSize !== config.vocabSize) throw new Error(`tokenizer has ${tok.sourceVocabSize} source tokens, config.vocabSize is ${config.vocabSize}`);
  const targetSize = targetVocab(config);
  if (tok.targetVocabSize !== targetSize) throw new Error(`tokenizer has ${tok.targetVocabSize} target tokens, the model ${targetSize}`);
  if (!config.generation) throw new Error('config.generation is missing: an imported Marian model decodes with its Hugging Face generation settings');
  const prefix = (target: string): number[] => {
    if (!tok.codes.size) return [];
    const id = tok.codes.get(target);
    if (id === undefined) throw new Error(`the model has no >>${target}<< token; its target codes are ${[...tok.codes.keys()].join(', ')}`);
    return [id];
  };
  for (const [, t] of config.directions) prefix(t);
  const { pad, unk, eos, start } = tok.specials;
  const specials: SpecialIds = { pad, unk, bos: start, eos };
  return {
    languages: [...new Set(config.directions.flat())],
    specials,
    rules: generationRules(config.generation, specials),
    encode: (text) => tok.encode(text),
    prefix,
    decode: (ids) => tok.decode(ids),
    sourceTokens: (ids) => tok.sourceTokens(ids),
    targetTokens: (ids) => tok.targetTokens(ids),
  };
}

function generationRules(g: Generation, specials: SpecialIds): SearchRules {
  checkGeneration(g);
  return {
    start: specials.bos,
    eos: specials.eos,
    banned: g.badWords,
    renormalize: g.renormalizeLogits,
    scorer: 'hf',
    earlyStopping: g.earlyStopping,
    maxLength: g.maxLength,
    forcedEos: g.forcedEos,
  };
}

export function checkGeneration(g: Generation): Generation {
  const int = (k: 'numBeams' | 'maxLength', min: number) => {
    if (!Number.isInteger(g[k]) || g[k] < min) throw new Error(`config.generation.${k} must be an integer >= ${min}, got ${JSON.stringify(g[k])}`);
  };
  int('numBeams', 1);
  int('maxLength', 2);
  for (const k of ['earlyStopping', 'forcedEos', 'renormalizeLogits'] as const) {
    if (typeof g[k] !== 'boolean') throw new Error(`config.generation.${k} must be a boolean`);
  }
  if (!Array.isArray(g.badWords) || g.badWords.some((id) => !Number.isInteger(id) || id < 0)) throw new Error('config.generation.badWords must list token ids');
  return g;
}
