// `mt export --format hf`: a model folder in the layout of Hugging Face's ONNX exports (optimum), which
// transformers.js loads as a MarianMTModel (model_type "marian": an encoder-decoder whose graphs it runs
// as they are, so our pre-norm, activation, positions and scales need no key of their own):
//   config.json               model_type marian, shapes, special ids (what transformers.js reads: the layer
//                             and head counts and d_model size the empty KV cache; the ids start and end generate())
//   generation_config.json    greedy decoding from <s> to </s>, as our engine with beam 1
//   tokenizer.json            ours, with a post-processor appending </s>; the text starts with its target tag
//   tokenizer_config.json     specials, no clean-up of spaces on decode, model_max_length
//   onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx           f32 (train/onnx/export.ts)
//   onnx/encoder_model_quantized.onnx, onnx/decoder_model_merged_quantized.onnx   int8 weights (dtype 'q8')
import type { Kernels } from '../../kernels/host.ts';
import { targetVocab } from '../../model/config.ts';
import { quantizeTensors } from '../../model/quant.ts';
import type { Tensor } from '../../model/safetensors.ts';
import { EOS, Tokenizer } from '../../model/tokenizer.ts';
import type { ModelMeta } from '../../model/translator.ts';
import { decoderMergedGraph, encoderGraph } from './export.ts';

// Ours -> transformers' ACT2FN names: our 'gelu' is the tanh approximation (its 'gelu_new'), our 'gelu_erf'
// the exact form (its 'gelu'); train/import/marian.ts maps the other way.
const ACTIVATION = { relu: 'relu', gelu: 'gelu_new', gelu_erf: 'gelu', silu: 'swish' } as const;

// Why a model folder cannot be exported in this layout, or undefined when it can.
export function hfUnsupported(meta: ModelMeta, tokenizer: object): string | undefined {
  if (meta.parts) return 'a model combined per direction (mt combine) has a weight set per direction; transformers.js loads one: export the parts\' source models';
  const t = tokenizer as { type?: string; model?: { type?: string } };
  if (t.type === 'marian') return 'an imported Marian model\'s SentencePiece source and target vocabularies have no exact single tokenizer.json that transformers.js encodes as we do';
  if (t.model?.type === 'Unigram') return 'transformers.js\'s Unigram tokenizer has no byte fallback: characters outside the vocabulary would become <unk> there (a BPE tokenizer exports exactly)';
  return undefined;
}

// The folder's files by path. `tensors`: the model's weights as stored (f32 or int8); `f32`: all of them as
// F32 (model/quant.ts dequantizeTensors).
export function hfFolder(meta: ModelMeta, tokenizerJson: object, tensors: Map<string, Tensor>, f32: Map<string, Tensor>, kernels: Kernels): Map<string, Uint8Array | string> {
  const why = hfUnsupported(meta, tokenizerJson);
  if (why) throw new Error(why);
  const tok = Tokenizer.fromJSON(tokenizerJson);
  const { pad, bos, eos } = tok.specials;
  const ids = { pad_token_id: pad, bos_token_id: bos, eos_token_id: eos, decoder_start_token_id: bos };
  const config = {
    architectures: ['MarianMTModel'],
    model_type: 'marian',
    is_encoder_decoder: true,
    vocab_size: meta.vocabSize,
    decoder_vocab_size: targetVocab(meta),
    share_encoder_decoder_embeddings: meta.targetVocabSize === undefined,
    tie_word_embeddings: meta.tiedOutput !== false,
    d_model: meta.dModel,
    encoder_layers: meta.encoderLayers,
    decoder_layers: meta.decoderLayers,
    encoder_attention_heads: meta.heads,
    decoder_attention_heads: meta.heads,
    encoder_ffn_dim: meta.dFF,
    decoder_ffn_dim: meta.dFF,
    activation_function: ACTIVATION[meta.activation],
    scale_embedding: meta.embedScale !== false,
    normalize_before: meta.preNorm, // HF Marian is post-norm; the graphs compute ours either way
    max_position_embeddings: meta.maxLen,
    ...ids,
    forced_eos_token_id: null,
    // The edge-mt model this was exported from: shape, variant, directions (a source starts with <2xx>).
    edge_mt: { ...meta, languages: tok.languages },
  };
  // Greedy, as our engine decodes with beam 1: argmax each step until </s>, nothing banned.
  const generation = { ...ids, max_length: meta.maxLen, num_beams: 1, do_sample: false };
  const json = (x: unknown) => JSON.stringify(x, null, 2) + '\n';
  const int8 = quantizeTensors(meta, tensors, kernels);
  return new Map<string, Uint8Array | string>([
    ['config.json', json(config)],
    ['generation_config.json', json(generation)],
    ...hfTokenizerFiles(tok, meta.maxLen),
    ['onnx/encoder_model.onnx', encoderGraph(meta, f32)],
    ['onnx/decoder_model_merged.onnx', decoderMergedGraph(meta, f32)],
    ['onnx/encoder_model_quantized.onnx', encoderGraph(meta, int8)],
    ['onnx/decoder_model_merged_quantized.onnx', decoderMergedGraph(meta, int8)],
  ]);
}

// tokenizer.json: ours with </s> appended to every encoding, so `<2de> text` encodes as the engine's source
// <2de> x1..xn </s> (the tags are special added tokens, split off before the text is normalized);
// tokenizer_config.json: the specials, and no clean-up of spaces on decode (ours keeps ' .' as it is).
export function hfTokenizerFiles(tok: Tokenizer, maxLen: number): Array<[string, string]> {
  const eos = { id: EOS, ids: [tok.eosId], tokens: [EOS] };
  const seq = (id: 'A' | 'B') => ({ Sequence: { id, type_id: 0 } });
  const end = { SpecialToken: { id: EOS, type_id: 0 } };
  const post_processor = { type: 'TemplateProcessing', single: [seq('A'), end], pair: [seq('A'), seq('B'), end], special_tokens: { [EOS]: eos } };
  // The trim of the one space left at each end, as a regex: transformers.js's Strip is JS trim(), which
  // would also drop U+FEFF (not White_Space, so ours keeps it).
  const json = tok.toJSON() as { normalizer: { normalizers: Array<{ type: string }> } };
  const normalizers = json.normalizer.normalizers.map((n) => (n.type === 'Strip' ? { type: 'Replace', pattern: { Regex: '^ | $' }, content: '' } : n));
  const { pad, unk, bos } = tok.specials;
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    pad_token: tok.idToToken(pad), unk_token: tok.idToToken(unk), bos_token: tok.idToToken(bos), eos_token: EOS,
    model_max_length: maxLen,
    clean_up_tokenization_spaces: false,
  };
  return [['tokenizer.json', JSON.stringify({ ...json, normalizer: { ...json.normalizer, normalizers }, post_processor })], ['tokenizer_config.json', JSON.stringify(config, null, 2) + '\n']];
}
