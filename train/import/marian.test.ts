// `mt import` of Hugging Face MarianMT folders: the mapping of every tensor onto edge-mt's names and
// variants, the generation settings, and the refusals (one line, exit 1, nothing left behind). The numbers
// the imported models compute are checked against the torch reference in marian-parity.test.ts.
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { positional_encoding } from '../../kernels/ref/embedding.ts';
import { paramLayout } from '../../model/params.ts';
import { asF32, f32Tensor, parse, serialize, type Tensor } from '../../model/safetensors.ts';
import { writeFolderAtomic } from '../checkpoint.ts';
import { main } from '../main.ts';
import { importMarian } from './marian.ts';
import { FIXTURE_NAMES, hfFolder } from './testing.ts';
import { readTorchCheckpoint } from './torch-bin.ts';

const EN_DE: Array<[string, string]> = [['en', 'de']];

// The fixture's own tensors, by HF name, from whichever file it has.
function hfTensors(dir: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  if (existsSync(join(dir, 'model.safetensors'))) for (const [k, t] of parse(readFileSync(join(dir, 'model.safetensors'))).tensors) out.set(k, asF32(t));
  else for (const [k, t] of readTorchCheckpoint(readFileSync(join(dir, 'pytorch_model.bin')))) out.set(k, t.values);
  return out;
}

const cat = (...xs: Float32Array[]) => Float32Array.from(xs.flatMap((x) => [...x]));

describe('importMarian', () => {
  it.each(FIXTURE_NAMES)('%s: config.json variants and generation settings from the HF config', (name) => {
    const dir = hfFolder(name);
    const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const { config, tokenizer } = importMarian(dir, { pairs: EN_DE, name: 'm', created: 'then' });
    expect(config).toMatchObject({
      name: 'm', directions: EN_DE, vocabSize: hf.vocab_size, dModel: 16, dFF: 32, heads: 2, maxLen: 64, preNorm: false,
      encoderLayers: hf.encoder_layers, decoderLayers: hf.decoder_layers,
      activation: { swish: 'silu', gelu: 'gelu_erf', relu: 'relu' }[hf.activation_function as string],
      embedScale: hf.scale_embedding, positions: 'halves', logitsBias: true, tiedOutput: hf.tie_word_embeddings, alpha: 1,
      generation: { numBeams: 3, maxLength: 16, earlyStopping: false, forcedEos: true, badWords: [hf.pad_token_id], renormalizeLogits: true },
    });
    expect(config.targetVocabSize).toBe(hf.share_encoder_decoder_embeddings ? undefined : hf.decoder_vocab_size);
    expect(tokenizer.specials).toEqual({ pad: hf.pad_token_id, eos: 0, unk: 1, start: hf.pad_token_id });
    expect(tokenizer.targetVocab === undefined).toBe(hf.share_encoder_decoder_embeddings);
  });

  it.each(FIXTURE_NAMES)('%s: every tensor renamed, q/k/v stacked, nothing else', (name) => {
    const dir = hfFolder(name);
    const { config, tensors } = importMarian(dir, { pairs: EN_DE });
    const hf = hfTensors(dir);
    const C = config.dModel;
    const Vt = config.targetVocabSize ?? config.vocabSize;
    // Exactly our layout's tensors (model/params.ts), in its order, the variants' included.
    expect([...tensors].map(([k, t]) => [k, t.shape])).toEqual(paramLayout(config).tensors.map((t) => [t.name, t.shape]));
    expect([...tensors.keys()].filter((k) => !k.includes('layers'))).toEqual(
      ['embed.weight', ...(config.targetVocabSize ? ['tgt_embed.weight'] : []), ...(config.tiedOutput ? [] : ['lm_head.weight']), 'final_logits_bias'].map((k) => k),
    );
    expect(tensors.get('final_logits_bias')!.shape).toEqual([Vt]);
    expect(tensors.get('embed.weight')!.shape).toEqual([config.vocabSize, C]);
    const ours = (k: string) => asF32(tensors.get(k)!);
    const p = (k: string) => hf.get(`model.${k}`)!;
    expect(ours('embed.weight')).toEqual(p('encoder.embed_tokens.weight') ?? p('shared.weight'));
    if (config.targetVocabSize) expect(ours('tgt_embed.weight')).toEqual(p('decoder.embed_tokens.weight'));
    if (!config.tiedOutput) expect(ours('lm_head.weight')).toEqual(hf.get('lm_head.weight'));
    expect(ours('final_logits_bias')).toEqual(hf.get('final_logits_bias'));
    for (let l = 0; l < config.decoderLayers; l++) {
      const d = `decoder.layers.${l}`;
      for (const [from, to] of [['self_attn', 'self_attn.qkv'], ['encoder_attn', 'cross_attn.kv']]) {
        const parts = to.endsWith('qkv') ? ['q', 'k', 'v'] : ['k', 'v'];
        expect(ours(`${d}.${to}.weight`)).toEqual(cat(...parts.map((x) => p(`${d}.${from}.${x}_proj.weight`))));
        expect(ours(`${d}.${to}.bias`)).toEqual(cat(...parts.map((x) => p(`${d}.${from}.${x}_proj.bias`))));
      }
      expect(ours(`${d}.cross_attn.q.weight`)).toEqual(p(`${d}.encoder_attn.q_proj.weight`));
      expect(ours(`${d}.cross_attn.out.bias`)).toEqual(p(`${d}.encoder_attn.out_proj.bias`));
      expect(ours(`${d}.ln1.weight`)).toEqual(p(`${d}.self_attn_layer_norm.weight`));
      expect(ours(`${d}.ln2.bias`)).toEqual(p(`${d}.encoder_attn_layer_norm.bias`));
      expect(ours(`${d}.ln3.weight`)).toEqual(p(`${d}.final_layer_norm.weight`));
      expect(ours(`${d}.ffn.fc2.weight`)).toEqual(p(`${d}.fc2.weight`));
    }
    const e = `encoder.layers.${config.encoderLayers - 1}`;
    expect(ours(`${e}.self_attn.out.weight`)).toEqual(p(`${e}.self_attn.out_proj.weight`));
    expect(ours(`${e}.ln1.bias`)).toEqual(p(`${e}.self_attn_layer_norm.bias`));
    expect(ours(`${e}.ln2.weight`)).toEqual(p(`${e}.final_layer_norm.weight`));
    expect(ours(`${e}.ffn.fc1.bias`)).toEqual(p(`${e}.fc1.bias`));
  });

  it('reads model.safetensors and pytorch_model.bin of one model alike', () => {
    const dir = hfFolder('relu-separate-noscale');
    const a = importMarian(dir, { pairs: EN_DE });
    expect(a.config.imported.weights).toBe('model.safetensors');
    rmSync(join(dir, 'model.safetensors'));
    const b = importMarian(dir, { pairs: EN_DE });
    expect(b.config.imported.weights).toBe('pytorch_model.bin');
    expect(Buffer.from(serialize(b.tensors)).equals(Buffer.from(serialize(a.tensors)))).toBe(true);
  });

  it('reads BF16 (and F16, F64) safetensors as f32', () => {
    const dir = hfFolder('swish-tied-shared');
    const f32 = importMarian(dir, { pairs: EN_DE }).tensors;
    // bf16 is the top half of an f32: the values truncated to it.
    withTensors(dir, (m) => {
      for (const [k, t] of m) {
        const v = new Uint32Array(asF32(t).slice().buffer);
        m.set(k, { dtype: 'BF16', shape: t.shape, data: new Uint8Array(Uint16Array.from(v, (x) => x >>> 16).buffer) });
      }
    });
    const bf16 = importMarian(dir, { pairs: EN_DE }).tensors;
    for (const [k, t] of f32) expect(asF32(bf16.get(k)!)).toEqual(new Float32Array(new Uint32Array(asF32(t).slice().buffer).map((x) => x & 0xffff0000).buffer));
  });

  it("accepts saved positions equal to Marian's sinusoids (sines, then cosines) and refuses any other table", () => {
    const dir = hfFolder('swish-tied-shared');
    const [T, C] = [64, 16];
    const interleaved = new Float32Array(T * C);
    positional_encoding(interleaved, T, C);
    const halves = new Float32Array(T * C);
    for (let t = 0; t < T; t++) for (let i = 0; i < C / 2; i++) [halves[t * C + i], halves[t * C + C / 2 + i]] = [interleaved[t * C + 2 * i], interleaved[t * C + 2 * i + 1]];
    withTensors(dir, (m) => {
      m.set('model.encoder.embed_positions.weight', f32Tensor([T, C], halves));
      m.set('model.decoder.embed_positions.weight', f32Tensor([T, C], halves));
    });
    expect(importMarian(dir, { pairs: EN_DE }).tensors.has('encoder.embed_positions.weight')).toBe(false);
    withTensors(dir, (m) => m.set('model.decoder.embed_positions.weight', f32Tensor([T, C], interleaved)));
    expect(() => importMarian(dir, { pairs: EN_DE })).toThrow(/model\.decoder\.embed_positions\.weight is not Marian's sinusoidal table .*learned positions are not supported/);
  });

  it('takes the direction from an OPUS-MT folder name, else asks for --pairs', () => {
    const dir = hfFolder('swish-tied-shared');
    expect(() => importMarian(dir)).toThrow(/give the model's direction with --pairs SRC-TGT/);
    const opus = join(dir, '..', 'opus-mt-fr-en');
    renameSync(dir, opus);
    expect(importMarian(opus).config.directions).toEqual([['fr', 'en']]);
  });
});

// Rewrites the fixture's model.safetensors through `edit`.
function withTensors(dir: string, edit: (m: Map<string, Tensor>) => void): void {
  const path = join(dir, 'model.safetensors');
  const m = new Map(parse(readFileSync(path)).tensors);
  edit(m);
  writeFileSync(path, serialize(m));
}
function editJson(dir: string, file: string, edit: (j: Record<string, any>) => void): void {
  const j = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  edit(j);
  writeFileSync(join(dir, file), JSON.stringify(j));
}

// `mt import` in process: exit code and what it printed.
async function mtImport(args: string[]) {
  const err: string[] = [];
  const out: string[] = [];
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  const o = vi.spyOn(console, 'log').mockImplementation((s) => void out.push(String(s)));
  try {
    return { code: await main(['import', ...args]), stderr: err.join(''), stdout: out.join('\n') };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

describe('mt import', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes config.json, tokenizer.json and weights.safetensors, and refuses to overwrite a folder', async () => {
    const dir = hfFolder('swish-separate-untied-2x1');
    const out = join(dir, '..', 'model');
    const r = await mtImport([dir, '--out', out, '--pairs', 'en-de']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2\+1 layers, d_model 16, 2 heads, d_ff 32, vocabularies 44 \+ 36, silu\nwrote .*model: weights.safetensors .* MB, tokenizer.json .* MB; en-de, beam 3/);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'tokenizer.json', 'weights.safetensors']);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).name).toBe('model');
    expect(JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')).type).toBe('marian');
    const again = await mtImport([dir, '--out', out, '--pairs', 'en-de']);
    expect(again.stderr).toMatch(/^mt import: .*model already exists: remove it or choose another --out\n$/);
    expect(again.code).toBe(1);
  });

  // [what is wrong, how the folder is broken, the one line that names it]
  const BAD: Array<[string, (dir: string) => void, RegExp]> = [
    ['no config.json', (d) => rmSync(join(d, 'config.json')), /config\.json is missing: not a Hugging Face MarianMT folder/],
    ['another model type', (d) => editJson(d, 'config.json', (j) => (j.model_type = 'bart')), /config\.json: model_type "bart" is not supported \(only "marian"\)/],
    ['pre-norm layers', (d) => editJson(d, 'config.json', (j) => (j.normalize_before = true)), /config\.json: normalize_before true is not supported/],
    ['final layer norms', (d) => editJson(d, 'config.json', (j) => (j.add_final_layer_norm = true)), /config\.json: add_final_layer_norm true is not supported/],
    ['an unknown activation', (d) => editJson(d, 'config.json', (j) => (j.activation_function = 'tanh')), /config\.json: activation_function "tanh" is not supported/],
    ['a shape the weights do not have', (d) => editJson(d, 'config.json', (j) => (j.encoder_ffn_dim = j.decoder_ffn_dim = 64)), /tensor model\.encoder\.layers\.0\.fc1\.weight: shape \[32,16\], config\.json implies \[64,16\]/],
    ['no source.spm', (d) => rmSync(join(d, 'source.spm')), /source\.spm is missing/],
    ['a broken target.spm', (d) => writeFileSync(join(d, 'target.spm'), 'not a model'), /target\.spm is not a usable SentencePiece model/],
    ['no vocab.json', (d) => rmSync(join(d, 'vocab.json')), /vocab\.json is missing/],
    ['a vocab.json with a gap', (d) => editJson(d, 'vocab.json', (j) => delete j.tok7), /vocab\.json names no piece for id 7 of 40/],
    ['no weights', (d) => rmSync(join(d, 'model.safetensors')), /no weights in .*: model\.safetensors or pytorch_model\.bin is missing/],
    ['a missing tensor', (d) => withTensors(d, (m) => m.delete('model.decoder.layers.1.fc2.bias')), /the checkpoint has no tensor model\.decoder\.layers\.1\.fc2\.bias/],
    ['an extra tensor', (d) => withTensors(d, (m) => m.set('model.encoder.layernorm_embedding.weight', f32Tensor([16], new Float32Array(16)))), /unexpected tensor model\.encoder\.layernorm_embedding\.weight/],
    ['an lm_head that is not the tied embedding', (d) => withTensors(d, (m) => m.set('lm_head.weight', f32Tensor([40, 16], new Float32Array(640)))), /lm_head\.weight differs from the decoder embedding although tie_word_embeddings is true/],
    ['a bad word of two tokens', (d) => editJson(d, 'generation_config.json', (j) => (j.bad_words_ids = [[39], [5, 6]])), /generation_config\.json: bad_words_ids .*only single-token entries are supported/],
    ['sampling', (d) => editJson(d, 'generation_config.json', (j) => (j.do_sample = true)), /generation_config\.json: do_sample true is not supported/],
    ['an eos the vocabulary disagrees with', (d) => editJson(d, 'generation_config.json', (j) => (j.eos_token_id = j.forced_eos_token_id = 2)), /vocab\.json gives <\/s> id 0, the model's eos_token_id is 2/],
  ];

  it.each(BAD)('%s: one line naming it, exit 1, nothing written', async (_, breakIt, line) => {
    const dir = hfFolder('swish-tied-shared');
    breakIt(dir);
    const out = join(dir, '..', 'out');
    const r = await mtImport([dir, '--out', out, '--pairs', 'en-de']);
    expect(r.stderr).toMatch(new RegExp(`^mt import: .*${line.source}.*\\n$`));
    expect(r.code).toBe(1);
    expect(readdirSync(join(dir, '..')).sort()).toEqual(['swish-tied-shared']);
  });

  it('writes a folder whole or not at all', () => {
    const root = mkdtempSync(join(tmpdir(), 'mt-atomic-'));
    writeFolderAtomic(join(root, 'ok'), [['a.json', '{}'], ['b.bin', new Uint8Array([1, 2])]]);
    expect(readdirSync(join(root, 'ok')).sort()).toEqual(['a.json', 'b.bin']);
    writeFolderAtomic(join(root, 'sub'), [['onnx/a.onnx', new Uint8Array([1])]]);
    expect(readdirSync(join(root, 'sub', 'onnx'))).toEqual(['a.onnx']);
    // The second file cannot be written (its folder would be the file a.json): the first must not stay behind either.
    expect(() => writeFolderAtomic(join(root, 'broken'), [['a.json', '{}'], ['a.json/b.bin', new Uint8Array(1)]])).toThrow(/ENOTDIR|EEXIST/);
    expect(readdirSync(root).sort()).toEqual(['ok', 'sub']);
  });
});
