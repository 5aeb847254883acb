// A Hugging Face MarianMT folder (OPUS-MT, or a model fine-tuned with transformers) as an edge-mt model.
// What MarianMTModel computes (transformers' modeling_marian.py, configuration_marian.py) is one set of
// ModelConfig's variants: post-norm layers with no final stack norms, the FFN activation (swish = SiLU, gelu,
// relu), scale_embedding, the sinusoidal table in halves (sines, then cosines; not weights: checked and
// dropped), final_logits_bias, shared or separate vocabularies and embeddings, a tied or separate lm_head.
// Tensors are renamed, q/k/v stacked into qkv and cross-attention k/v into kv. Every tensor of the
// checkpoint must be accounted for: one this importer does not know means an architecture option it does
// not implement, and it refuses rather than dropping weights. Tokenization (vocab.json ids, the two
// SentencePiece models) and generation (generation_config.json) come along: model/marian-tokenizer.ts,
// model/vocab.ts.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { positional_encoding } from '../../kernels/ref/embedding.ts';
import { checkConfig, type ModelConfig } from '../../model/config.ts';
import { paramLayout } from '../../model/params.ts';
import type { MarianSpecials, MarianTokenizerJson } from '../../model/marian-tokenizer.ts';
import { asF32, f32Tensor, parse, type DType, type Tensor } from '../../model/safetensors.ts';
import { SentencePiece } from '../../model/sentencepiece.ts';
import { positionTable } from '../../model/transformer.ts';
import type { ModelMeta } from '../../model/translator.ts';
import { checkGeneration, modelVocab, type Generation } from '../../model/vocab.ts';
import { CliError } from '../args.ts';
import { floatsOf, readTorchCheckpoint } from './torch-bin.ts';

// config.json of a MarianMT folder: what the import reads, with MarianConfig's defaults where absent.
interface HfConfig {
  model_type?: string;
  d_model?: number;
  encoder_layers?: number;
  decoder_layers?: number;
  encoder_attention_heads?: number;
  decoder_attention_heads?: number;
  encoder_ffn_dim?: number;
  decoder_ffn_dim?: number;
  activation_function?: string;
  scale_embedding?: boolean;
  max_position_embeddings?: number;
  vocab_size?: number;
  decoder_vocab_size?: number | null;
  share_encoder_decoder_embeddings?: boolean;
  tie_word_embeddings?: boolean;
  transformers_version?: string;
  [key: string]: unknown;
}

const MARIAN_DEFAULTS = {
  d_model: 1024, encoder_layers: 12, decoder_layers: 12, encoder_attention_heads: 16, decoder_attention_heads: 16,
  encoder_ffn_dim: 4096, decoder_ffn_dim: 4096, activation_function: 'gelu', scale_embedding: false,
  max_position_embeddings: 1024, vocab_size: 58101, share_encoder_decoder_embeddings: true, tie_word_embeddings: true,
  pad_token_id: 58100, eos_token_id: 0, decoder_start_token_id: 58100, forced_eos_token_id: 0,
};

// transformers' ACT2FN names -> ours: its 'gelu' is the exact erf form (our 'gelu_erf'), its 'gelu_new' and
// 'gelu_pytorch_tanh' the tanh approximation (our 'gelu').
const ACTIVATIONS: Record<string, ModelConfig['activation']> = { swish: 'silu', silu: 'silu', gelu: 'gelu_erf', gelu_new: 'gelu', gelu_pytorch_tanh: 'gelu', relu: 'relu' };

// Options that would change what the model computes, with the value under which this importer is right.
const ARCHITECTURE_OPTIONS: Record<string, unknown> = {
  normalize_before: false, add_final_layer_norm: false, normalize_embedding: false, static_position_embeddings: true,
  add_bias_logits: false, scale_attention: undefined,
};

// The edge-mt folder's config.json: Marian's variants of ModelConfig, and where the model came from.
export interface ImportedMeta extends ModelMeta {
  generation: Generation;
  imported: { from: 'huggingface-marian'; weights: string; transformers?: string };
}

export interface MarianImport {
  config: ImportedMeta; // config.json
  tokenizer: MarianTokenizerJson; // tokenizer.json
  tensors: Map<string, Tensor>; // weights.safetensors: f32, our names, in our layout's order
}

export interface ImportOptions {
  pairs?: Array<[string, string]>; // default: from an OPUS-MT folder name (opus-mt-en-de)
  name?: string; // default: the folder's name
  created?: string;
}

const fail = (msg: string): never => {
  throw new CliError(msg);
};

// Reads and checks the whole folder in memory; writes nothing.
export function importMarian(dir: string, opts: ImportOptions = {}): MarianImport {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`${dir} is not a folder`);
  const hf = readJson<HfConfig>(dir, 'config.json');
  if (hf.model_type !== 'marian') fail(`config.json: model_type ${JSON.stringify(hf.model_type)} is not supported (only "marian")`);
  const get = <K extends keyof typeof MARIAN_DEFAULTS>(k: K): (typeof MARIAN_DEFAULTS)[K] => (hf[k] ?? MARIAN_DEFAULTS[k]) as (typeof MARIAN_DEFAULTS)[K];
  for (const [k, want] of Object.entries(ARCHITECTURE_OPTIONS)) {
    if (hf[k] !== undefined && hf[k] !== want) fail(`config.json: ${k} ${JSON.stringify(hf[k])} is not supported (MarianMTModel's is ${JSON.stringify(want ?? 'absent')})`);
  }
  const activation = ACTIVATIONS[get('activation_function')] ?? fail(`config.json: activation_function ${JSON.stringify(hf.activation_function)} is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  if (get('encoder_attention_heads') !== get('decoder_attention_heads')) fail(`config.json: encoder_attention_heads ${get('encoder_attention_heads')} and decoder_attention_heads ${get('decoder_attention_heads')} differ (edge-mt has one head count)`);
  if (get('encoder_ffn_dim') !== get('decoder_ffn_dim')) fail(`config.json: encoder_ffn_dim ${get('encoder_ffn_dim')} and decoder_ffn_dim ${get('decoder_ffn_dim')} differ (edge-mt has one d_ff)`);
  if (typeof get('scale_embedding') !== 'boolean') fail('config.json: scale_embedding must be true or false');
  const C = get('d_model');
  const share = get('share_encoder_decoder_embeddings');
  const tie = get('tie_word_embeddings');
  const V = get('vocab_size');
  const Vt = share ? V : (hf.decoder_vocab_size ?? V);
  const shape = {
    vocabSize: V, dModel: C, dFF: get('encoder_ffn_dim'), heads: get('encoder_attention_heads'), encoderLayers: get('encoder_layers'),
    decoderLayers: get('decoder_layers'), maxLen: get('max_position_embeddings'),
  };
  for (const [k, v] of Object.entries({ ...shape, decoder_vocab_size: Vt })) {
    if (!Number.isInteger(v) || v < 1) fail(`config.json: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (C % shape.heads !== 0 || C % 2 !== 0) fail(`config.json: d_model ${C} must be even and divisible by the ${shape.heads} heads`);

  const { generation, alpha, specials } = readGeneration(dir, hf, get);
  const tokenizer = readTokenizer(dir, specials, V, Vt);
  const weights = readWeights(dir);
  const tensors = mapTensors(weights.tensors, { ...shape, share, tie, Vt });

  const name = opts.name ?? basename(dir);
  const directions = opts.pairs ?? pairsFromName(dir);
  const config: ImportedMeta = {
    name, directions, created: opts.created ?? new Date().toISOString(),
    ...shape, ...(share ? {} : { targetVocabSize: Vt }), preNorm: false, activation,
    embedScale: get('scale_embedding'), positions: 'halves', logitsBias: tensors.has('final_logits_bias'), tiedOutput: tie,
    alpha, generation,
    imported: { from: 'huggingface-marian', weights: weights.file, ...(hf.transformers_version ? { transformers: hf.transformers_version } : {}) },
  };
  // What the engine will check when it loads the folder: the config, every tensor of its layout (and no
  // other), the vocabularies, >>xx<< codes and generation settings.
  try {
    checkConfig(config);
    const layout = paramLayout(config).tensors;
    const missing = layout.find((t) => tensors.get(t.name)?.shape.join() !== t.shape.join());
    if (missing || layout.length !== tensors.size) throw new Error(`the mapped weights do not fit the layout (${missing?.name ?? 'extra tensors'})`);
    modelVocab(config, tokenizer);
    return { config, tokenizer, tensors: new Map(layout.map((t) => [t.name, tensors.get(t.name)!])) };
  } catch (e) {
    return fail((e as Error).message);
  }
}

function readJson<T>(dir: string, file: string, required = true): T {
  const path = join(dir, file);
  if (!existsSync(path)) {
    if (required) fail(`${path} is missing: not a Hugging Face MarianMT folder`);
    return undefined as T;
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    return fail(`${path} is not JSON: ${(e as Error).message}`);
  }
}

// Generation settings as generate() finds them: generation_config.json (GenerationConfig's defaults for what
// it leaves out), or without one those of config.json. Options that change outputs and that search does not
// implement are refused.
function readGeneration(dir: string, hf: HfConfig, get: (k: 'pad_token_id' | 'eos_token_id' | 'decoder_start_token_id' | 'forced_eos_token_id') => number) {
  const file = readJson<Record<string, unknown> | undefined>(dir, 'generation_config.json', false);
  const where = file ? 'generation_config.json' : 'config.json';
  const g = file ?? hf;
  const id = (k: 'pad_token_id' | 'eos_token_id' | 'decoder_start_token_id' | 'forced_eos_token_id') => (g[k] !== undefined ? g[k] : get(k)) as number;
  const eosIds = [id('eos_token_id')].flat();
  if (eosIds.length !== 1 || !Number.isInteger(eosIds[0])) fail(`${where}: eos_token_id must be one token id, got ${JSON.stringify(id('eos_token_id'))}`);
  const eos = eosIds[0] as number;
  const forced = id('forced_eos_token_id');
  if (forced !== null && forced !== undefined && forced !== eos) fail(`${where}: forced_eos_token_id ${forced} is not the eos ${eos}`);
  const refuse = (k: string, ok: (v: unknown) => boolean) => {
    if (g[k] !== undefined && g[k] !== null && !ok(g[k])) fail(`${where}: ${k} ${JSON.stringify(g[k])} is not supported`);
  };
  refuse('do_sample', (v) => v === false);
  refuse('num_beam_groups', (v) => v === 1);
  refuse('repetition_penalty', (v) => v === 1);
  refuse('no_repeat_ngram_size', (v) => v === 0);
  refuse('encoder_no_repeat_ngram_size', (v) => v === 0);
  refuse('min_length', (v) => v === 0);
  refuse('min_new_tokens', (v) => v === 0);
  refuse('forced_bos_token_id', () => false);
  refuse('begin_suppress_tokens', (v) => Array.isArray(v) && !v.length);
  refuse('exponential_decay_length_penalty', () => false);
  refuse('early_stopping', (v) => typeof v === 'boolean');
  const words = (g.bad_words_ids ?? []) as unknown[];
  if (!Array.isArray(words) || words.some((w) => !Array.isArray(w) || w.length !== 1 || !Number.isInteger(w[0]))) {
    fail(`${where}: bad_words_ids ${JSON.stringify(g.bad_words_ids)}: only single-token entries are supported`);
  }
  const suppress = (g.suppress_tokens ?? []) as number[]; // suppressed at every step: the same as a one-token bad word
  const maxNew = g.max_new_tokens as number | undefined;
  const generation = checkGeneration({
    numBeams: (g.num_beams ?? 1) as number,
    maxLength: maxNew !== undefined && maxNew !== null ? maxNew + 1 : ((g.max_length ?? 20) as number),
    earlyStopping: (g.early_stopping ?? false) as boolean,
    forcedEos: forced !== null && forced !== undefined,
    badWords: [...new Set([...words.map((w) => (w as number[])[0]), ...suppress])],
    renormalizeLogits: (g.renormalize_logits ?? false) as boolean,
  });
  const alpha = (g.length_penalty ?? 1) as number;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) fail(`${where}: length_penalty must be a number`);
  const specials = { pad: id('pad_token_id'), eos, start: id('decoder_start_token_id') };
  for (const [k, v] of Object.entries(specials)) if (!Number.isInteger(v) || v < 0) fail(`${where}: ${k} token id must be an integer, got ${JSON.stringify(v)}`);
  return { generation, alpha, specials };
}

// source.spm, target.spm, vocab.json (and target_vocab.json) as one tokenizer.json of type "marian".
function readTokenizer(dir: string, ids: Omit<MarianSpecials, 'unk'>, V: number, Vt: number): MarianTokenizerJson {
  const spm = (file: string): string => {
    const path = join(dir, file);
    if (!existsSync(path)) fail(`${path} is missing: not a Hugging Face MarianMT folder`);
    const bytes = readFileSync(path);
    try {
      SentencePiece.fromModel(bytes, file);
    } catch (e) {
      fail(`${path} is not a usable SentencePiece model: ${(e as Error).message}`);
    }
    return bytes.toString('base64');
  };
  const tc = readJson<Record<string, unknown> | undefined>(dir, 'tokenizer_config.json', false) ?? {};
  const token = (k: string, def: string): string => {
    const t = tc[k] as string | { content?: string } | undefined;
    return (typeof t === 'string' ? t : t?.content) ?? def;
  };
  const vocab = readVocab(dir, 'vocab.json', V);
  const separate = existsSync(join(dir, 'target_vocab.json'));
  if (tc.separate_vocabs === true && !separate) fail(`${join(dir, 'target_vocab.json')} is missing (tokenizer_config.json says separate_vocabs)`);
  const targetVocab = separate ? readVocab(dir, 'target_vocab.json', Vt) : undefined;
  if (!separate && V !== Vt) fail(`vocab.json serves both sides but the decoder has ${Vt} tokens, the encoder ${V} (target_vocab.json missing?)`);
  const unk = vocab[token('unk_token', '<unk>')] ?? fail(`vocab.json has no ${token('unk_token', '<unk>')} (the unknown token)`);
  const eos = vocab[token('eos_token', '</s>')];
  if (eos !== ids.eos) fail(`vocab.json gives ${token('eos_token', '</s>')} id ${eos}, the model's eos_token_id is ${ids.eos}`);
  for (const [k, v] of Object.entries(ids)) if (v >= Vt) fail(`${k} token id ${v} is outside the target vocabulary (${Vt})`);
  return { type: 'marian', source: spm('source.spm'), target: spm('target.spm'), vocab, ...(targetVocab ? { targetVocab } : {}), specials: { ...ids, unk } };
}

// A vocab.json: every id of the embedding named by exactly the pieces it lists, each id below `size`.
function readVocab(dir: string, file: string, size: number): Record<string, number> {
  const vocab = readJson<Record<string, number>>(dir, file);
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) fail(`${join(dir, file)} must map pieces to ids`);
  const seen = new Uint8Array(size);
  for (const [piece, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || id < 0 || id >= size) fail(`${file}: ${JSON.stringify(piece)} has id ${JSON.stringify(id)}, outside the embedding's ${size} rows`);
    seen[id] = 1;
  }
  const hole = seen.indexOf(0);
  if (hole >= 0) fail(`${file} names no piece for id ${hole} of ${size}`);
  return vocab;
}

interface Weights {
  file: string;
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
}

const SAFETENSORS_FLOATS: Partial<Record<DType, string>> = { F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

function readWeights(dir: string): Weights {
  const st = join(dir, 'model.safetensors');
  const bin = join(dir, 'pytorch_model.bin');
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  if (existsSync(st)) {
    let tensors: Map<string, Tensor>;
    try {
      tensors = parse(readFileSync(st)).tensors;
    } catch (e) {
      return fail(`${st}: ${(e as Error).message}`);
    }
    for (const [name, t] of tensors) {
      const dtype = SAFETENSORS_FLOATS[t.dtype];
      if (t.dtype !== 'F32' && !dtype) fail(`${st}: tensor ${name} is ${t.dtype}, not a float`);
      out.set(name, { shape: t.shape, values: dtype ? floatsOf(t.data, dtype) : asF32(t) });
    }
    return { file: 'model.safetensors', tensors: out };
  }
  if (existsSync(bin)) {
    let tensors;
    try {
      tensors = readTorchCheckpoint(readFileSync(bin));
    } catch (e) {
      return fail(`${bin}: ${(e as Error).message}`);
    }
    for (const [name, t] of tensors) {
      if (!t.dtype.startsWith('float') && t.dtype !== 'bfloat16') fail(`${bin}: tensor ${name} is ${t.dtype}, not a float`);
      out.set(name, { shape: t.shape, values: t.values });
    }
    return { file: 'pytorch_model.bin', tensors: out };
  }
  for (const f of ['model.safetensors.index.json', 'pytorch_model.bin.index.json']) {
    if (existsSync(join(dir, f))) fail(`${join(dir, f)}: sharded checkpoints are not supported`);
  }
  return fail(`no weights in ${dir}: model.safetensors or pytorch_model.bin is missing`);
}

// The model's shape, and how its embeddings and output projection are shared.
type Shape = Pick<ModelConfig, 'vocabSize' | 'dModel' | 'dFF' | 'encoderLayers' | 'decoderLayers' | 'maxLen'> & { share: boolean; tie: boolean; Vt: number };

// HF names (with or without the "model." prefix of MarianMTModel) -> ours, checked against the config.
function mapTensors(hfTensors: Weights['tensors'], s: Shape): Map<string, Tensor> {
  const byName = new Map<string, { key: string; shape: number[]; values: Float32Array }>();
  for (const [key, t] of hfTensors) {
    const name = key.startsWith('model.') ? key.slice(6) : key;
    if (byName.has(name)) fail(`the checkpoint has both ${byName.get(name)!.key} and ${key}`);
    byName.set(name, { key, ...t });
  }
  const used = new Set<string>();
  const C = s.dModel;
  const has = (name: string) => byName.has(name);
  const take = (name: string, shape: number[]): Float32Array => {
    const t = byName.get(name) ?? fail(`the checkpoint has no tensor ${name === 'lm_head.weight' || name === 'final_logits_bias' ? name : `model.${name}`}`);
    const squeezed = t.shape.length === 2 && t.shape[0] === 1 && shape.length === 1 ? [t.shape[1]] : t.shape; // final_logits_bias (1, V)
    if (squeezed.join(',') !== shape.join(',')) fail(`tensor ${t.key}: shape [${t.shape}], config.json implies [${shape}]`);
    used.add(name);
    return t.values;
  };
  const out = new Map<string, Tensor>();
  const put = (name: string, shape: number[], values: Float32Array) => out.set(name, f32Tensor(shape, values));
  const cat = (parts: Float32Array[]): Float32Array => {
    const v = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) v.set(p, (at += p.length) - p.length);
    return v;
  };
  // One tensor under several names that must agree (tied or shared ones saved more than once).
  const same = (names: string[], shape: number[], why: string): Float32Array => {
    const present = names.filter(has);
    if (!present.length) fail(`the checkpoint has no tensor ${names.map((n) => (n === 'lm_head.weight' ? n : `model.${n}`)).join(' or ')}`);
    const [first, ...rest] = present.map((n) => take(n, shape));
    rest.forEach((v, i) => v.some((x, j) => x !== first[j]) && fail(`tensor ${byName.get(present[i + 1])!.key} differs from ${byName.get(present[0])!.key} although ${why}`));
    return first;
  };

  const sourceNames = s.share ? ['shared.weight', 'encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'] : ['encoder.embed_tokens.weight'];
  const embed = same(sourceNames, [s.vocabSize, C], 'share_encoder_decoder_embeddings is true');
  put('embed.weight', [s.vocabSize, C], embed);
  const target = s.share ? embed : same(['decoder.embed_tokens.weight'], [s.Vt, C], '');
  const attention = (from: string, to: string, cross: boolean) => {
    const w = (p: string) => take(`${from}.${p}_proj.weight`, [C, C]);
    const b = (p: string) => take(`${from}.${p}_proj.bias`, [C]);
    if (cross) {
      put(`${to}.q.weight`, [C, C], w('q'));
      put(`${to}.q.bias`, [C], b('q'));
    } else {
      put(`${to}.qkv.weight`, [3 * C, C], cat([w('q'), w('k'), w('v')]));
      put(`${to}.qkv.bias`, [3 * C], cat([b('q'), b('k'), b('v')]));
    }
    put(`${to}.out.weight`, [C, C], w('out'));
    put(`${to}.out.bias`, [C], b('out'));
    if (cross) {
      put(`${to}.kv.weight`, [2 * C, C], cat([w('k'), w('v')]));
      put(`${to}.kv.bias`, [2 * C], cat([b('k'), b('v')]));
    }
  };
  const norm = (from: string, to: string) => {
    put(`${to}.weight`, [C], take(`${from}.weight`, [C]));
    put(`${to}.bias`, [C], take(`${from}.bias`, [C]));
  };
  const ffn = (from: string, to: string) => {
    put(`${to}.fc1.weight`, [s.dFF, C], take(`${from}.fc1.weight`, [s.dFF, C]));
    put(`${to}.fc1.bias`, [s.dFF], take(`${from}.fc1.bias`, [s.dFF]));
    put(`${to}.fc2.weight`, [C, s.dFF], take(`${from}.fc2.weight`, [C, s.dFF]));
    put(`${to}.fc2.bias`, [C], take(`${from}.fc2.bias`, [C]));
  };
  for (let l = 0; l < s.encoderLayers; l++) {
    const [hf, ours] = [`encoder.layers.${l}`, `encoder.layers.${l}`];
    attention(`${hf}.self_attn`, `${ours}.self_attn`, false);
    norm(`${hf}.self_attn_layer_norm`, `${ours}.ln1`);
    ffn(hf, `${ours}.ffn`);
    norm(`${hf}.final_layer_norm`, `${ours}.ln2`);
  }
  for (let l = 0; l < s.decoderLayers; l++) {
    const [hf, ours] = [`decoder.layers.${l}`, `decoder.layers.${l}`];
    attention(`${hf}.self_attn`, `${ours}.self_attn`, false);
    norm(`${hf}.self_attn_layer_norm`, `${ours}.ln1`);
    attention(`${hf}.encoder_attn`, `${ours}.cross_attn`, true);
    norm(`${hf}.encoder_attn_layer_norm`, `${ours}.ln2`);
    ffn(hf, `${ours}.ffn`);
    norm(`${hf}.final_layer_norm`, `${ours}.ln3`);
  }
  if (!s.share) put('tgt_embed.weight', [s.Vt, C], target);
  // Tied: logits = y E_target^T; a saved lm_head must then be that embedding.
  if (s.tie) {
    if (has('lm_head.weight')) take('lm_head.weight', [s.Vt, C]).some((x, j) => x !== target[j]) && fail('tensor lm_head.weight differs from the decoder embedding although tie_word_embeddings is true');
  } else put('lm_head.weight', [s.Vt, C], take('lm_head.weight', [s.Vt, C]));
  // final_logits_bias is a buffer HF fills with zeros when absent: store it only when it adds something.
  if (has('final_logits_bias')) {
    const bias = take('final_logits_bias', [s.Vt]);
    if (bias.some((x) => x !== 0)) put('final_logits_bias', [s.Vt], bias);
  }
  // Positions are computed, not stored; a saved table must be Marian's, or the model is something else.
  const table = positionTable(interleaved(s.maxLen, C), { dModel: C, positions: 'halves' } as ModelConfig);
  for (const name of ['encoder.embed_positions.weight', 'decoder.embed_positions.weight']) {
    if (!has(name)) continue;
    const pe = take(name, [s.maxLen, C]);
    const worst = pe.reduce((m, x, i) => Math.max(m, Math.abs(x - table[i])), 0);
    if (!(worst <= POSITION_TOLERANCE)) fail(`tensor ${byName.get(name)!.key} is not Marian's sinusoidal table (off by ${worst.toPrecision(3)}): learned positions are not supported`);
  }
  for (const [name, t] of byName) if (!used.has(name)) fail(`unexpected tensor ${t.key}: not part of MarianMTModel as this importer reads it (an unsupported architecture option?)`);
  return out;
}

// HF computes the table in float64 and stores float32: the same values up to the last bit of sin's libm.
const POSITION_TOLERANCE = 1e-6;

// The paper's sinusoids computed in f64 and stored in f32, as HF computes Marian's.
function interleaved(T: number, C: number): Float32Array {
  const pe = new Float32Array(T * C);
  positional_encoding(pe, T, C);
  return pe;
}

// Helsinki-NLP's OPUS-MT folders are named opus-mt-SRC-TGT.
function pairsFromName(dir: string): Array<[string, string]> {
  const m = /(?:^|\/)opus-mt-([a-z]{2,3})-([a-z]{2,3})\/?$/.exec(dir);
  if (!m) fail(`give the model's direction with --pairs SRC-TGT (the folder's name ${JSON.stringify(basename(dir))} does not say it)`);
  return [[m![1], m![2]]];
}
