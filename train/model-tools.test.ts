// `mt quantize`, `mt export`, `mt eval --record` and `mt combine` through the CLI entry point, on random-weight models.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { expectEqual } from '../kernels/testing.ts';
import { paramLayout } from '../model/params.ts';
import { asF32, parse } from '../model/safetensors.ts';
import { createEngine } from '../model/translator.ts';
import { QUANTIZED_RATIO_GOAL } from './commands/quantize.ts';
import { main } from './main.ts';
import { writeRandomModel } from './micro-model.ts';
import { readModelDir } from './model-dir.ts';

ort.env.wasm.numThreads = 1;
const tmp = mkdtempSync(join(tmpdir(), 'mt-tools-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function mt(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const cerr = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const werr = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('') };
  } finally {
    log.mockRestore();
    cerr.mockRestore();
    werr.mockRestore();
  }
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('mt quantize', () => {
  const f32 = join(tmp, 'f32');
  const q8 = join(tmp, 'q8');
  // The tiny preset's width (1+1 layers to stay fast): linear weights dominate as in real models (micro
  // models are mostly biases and scales, 1/2.2).
  writeRandomModel(f32, { config: { dModel: 128, dFF: 256, heads: 4, encoderLayers: 1, decoderLayers: 1 } });

  it('writes int8 linears + f32 scales, f32 norms and biases, and meets the 1/3.5 size goal', async () => {
    const r = await mt('quantize', f32, '--out', q8);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/f32 .* MB -> int8 .* MB \(1\/\d\.\d\d; meets/);
    const src = readModelDir(f32);
    const dst = readModelDir(q8);
    expect(dst.weights.byteLength / src.weights.byteLength).toBeLessThanOrEqual(QUANTIZED_RATIO_GOAL);
    const { tensors } = parse(dst.weights);
    for (const t of paramLayout(src.meta).tensors) {
      const got = tensors.get(t.name)!;
      expect([t.name, got.dtype]).toEqual([t.name, t.linear ? 'I8' : 'F32']);
      if (t.linear) expect(tensors.get(`${t.name}.scale`)).toMatchObject({ dtype: 'F32', shape: [t.shape[0]] });
    }
    expect(tensors.get('embed.weight')!.dtype).toBe('I8'); // embeddings and output projection (tied) too
    expect(json(join(q8, 'config.json'))).toEqual({ ...json(join(f32, 'config.json')), quantized: 'int8' });
    expect(readFileSync(join(q8, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(f32, 'tokenizer.json'), 'utf8'));
  });

  it('the int8 model loads and translates; quantizing twice is refused', async () => {
    const engine = createEngine(readModelDir(q8), loadKernels());
    const [r] = await engine.translate(['a man rides a horse .'], { source: 'en', target: 'de', beam: 2 });
    expect(typeof r.text).toBe('string');
    const again = await mt('quantize', q8, '--out', join(tmp, 'qq'));
    expect([again.code, again.err]).toEqual([1, `mt quantize: ${q8} is already quantized\n`]);
  });

  it('mt eval runs on it and --record merges the cased BLEU into config.json', async () => {
    const tsv = join(tmp, 'dev.tsv');
    writeFileSync(tsv, 'a man rides a horse .\tein Mann reitet ein Pferd .\ntwo dogs play .\tzwei Hunde spielen .\n');
    writeFileSync(join(q8, 'config.json'), JSON.stringify({ ...json(join(q8, 'config.json')), bleu: { 'de-en': 12.5 } }));
    const r = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--beam', '1', '--record', '--json');
    expect(r.code).toBe(0);
    const bleu = JSON.parse(r.out).results[0].bleu;
    expect(JSON.parse(r.out).results[0].split).toBe('dev.tsv'); // the file evaluated, not --split's default
    expect(json(join(q8, 'config.json'))).toMatchObject({ quantized: 'int8', bleu: { 'de-en': 12.5, 'en-de': Math.round(bleu * 100) / 100 } });
    expect((await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--record', '--limit', '1')).err).toMatch(/drop --limit/);
    expect(json(join(q8, 'config.json')).alpha).toBeUndefined(); // no --alpha: the default stays the paper's
    const tuned = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--alpha', '1.2', '--record', '--json');
    expect([tuned.code, JSON.parse(tuned.out).alpha, json(join(q8, 'config.json')).alpha]).toEqual([0, 1.2, 1.2]);
    const again = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--json');
    expect(JSON.parse(again.out).alpha).toBe(1.2); // later runs default to the recorded alpha
  });
});

describe('mt eval --rerank', () => {
  const q8 = join(tmp, 'q8');
  const tsv = join(tmp, 'dev.tsv');

  it('reports and --record keeps the reranking weight per pair, leaving "bleu" as it was', async () => {
    const before = json(join(q8, 'config.json'));
    const r = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--rerank-weight', '0.7', '--record', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ beam: 8, rerank: true, results: [{ pair: 'en-de', rerankWeight: 0.7 }] });
    expect(json(join(q8, 'config.json'))).toEqual({ ...before, rerank: { 'en-de': 0.7 } });
    const again = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--rerank', '--beam', '2');
    expect(again.out).toMatch(/beam 2, alpha 1.2, reranked \(weight en-de 0.7\)/);
    const plain = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--json');
    expect(JSON.parse(plain.out)).toMatchObject({ beam: 4, rerank: false });
    expect(JSON.parse(plain.out).results[0].rerankWeight).toBeUndefined();
  });

  it('refuses a bad weight, and reranking a model without the reverse direction, with one line', async () => {
    const bad = await mt('eval', '--model', q8, '--pairs', 'en-de', '--tsv', tsv, '--rerank-weight=-1');
    expect([bad.code, bad.err]).toEqual([2, 'mt eval: --rerank-weight must be a number >= 0, got "-1"\n']); // a flag out of bounds: exit 2
    const oneWay = join(tmp, 'one-way');
    writeRandomModel(oneWay, { pairs: 'en-de' });
    const r = await mt('eval', '--model', oneWay, '--pairs', 'en-de', '--tsv', tsv, '--rerank');
    expect([r.code, r.err]).toEqual([1, 'mt eval: reranking en-de needs the reverse direction de-en, which this model does not serve\n']);
    const t = await mt('translate', '--model', oneWay, '--from', 'en', '--to', 'de', '--rerank');
    expect([t.code, t.err]).toEqual([1, 'mt translate: reranking en-de needs the reverse direction de-en, which this model does not serve\n']);
  });
});

describe('mt export', () => {
  const q8 = join(tmp, 'q8');

  it('safetensors: f32 weights equal to the int8 codes times their scales, config without "quantized"', async () => {
    const out = join(tmp, 'export-st');
    expect((await mt('export', q8, '--format', 'safetensors', '--out', out)).code).toBe(0);
    const q = parse(readModelDir(q8).weights).tensors;
    const files = readModelDir(out);
    const f = parse(files.weights).tensors;
    for (const t of paramLayout(files.meta).tensors) {
      const got = asF32(f.get(t.name)!);
      if (!t.linear) expectEqual(got, asF32(q.get(t.name)!), t.name);
      else {
        const codes = new Int8Array(q.get(t.name)!.data.slice().buffer);
        const scale = asF32(q.get(`${t.name}.scale`)!);
        expectEqual(got, Float32Array.from(codes, (c, i) => c * scale[Math.floor(i / t.shape[1])]), t.name);
      }
    }
    expect(f.size).toBe(paramLayout(files.meta).tensors.length); // no .scale tensors left
    expect(json(join(out, 'config.json')).quantized).toBeUndefined();
    createEngine(files, loadKernels()); // loads as an f32 model
  });

  it('onnx: encoder.onnx, decoder.onnx and the KV-cached decoder_model_merged.onnx that onnxruntime loads, with the documented inputs and outputs', async () => {
    const out = join(tmp, 'export-onnx');
    const r = await mt('export', q8, '--format', 'onnx', '--out', out);
    expect(r.code).toBe(0);
    for (const f of ['encoder.onnx', 'decoder.onnx', 'config.json', 'tokenizer.json']) expect(existsSync(join(out, f))).toBe(true);
    const enc = await ort.InferenceSession.create(readFileSync(join(out, 'encoder.onnx')));
    const dec = await ort.InferenceSession.create(readFileSync(join(out, 'decoder.onnx')));
    expect([enc.inputNames, enc.outputNames]).toEqual([['input_ids', 'attention_mask'], ['last_hidden_state']]);
    expect([dec.inputNames, dec.outputNames]).toEqual([['input_ids', 'encoder_hidden_states', 'encoder_attention_mask'], ['logits']]);
    const merged = await ort.InferenceSession.create(readFileSync(join(out, 'decoder_model_merged.onnx')));
    expect(merged.inputNames).toEqual(expect.arrayContaining(['input_ids', 'encoder_hidden_states', 'encoder_attention_mask', 'past_key_values.0.decoder.key', 'past_key_values.0.encoder.value', 'use_cache_branch']));
    expect(merged.outputNames).toEqual(expect.arrayContaining(['logits', 'present.0.decoder.key', 'present.0.encoder.value']));
  });

  it('refuses unknown formats and missing folders with one line', async () => {
    const tflite = await mt('export', q8, '--format', 'tflite', '--out', join(tmp, 'x'));
    expect([tflite.code, tflite.err]).toEqual([2, 'mt export: --format must be safetensors, onnx or hf, got "tflite"\n']);
    expect((await mt('export', join(tmp, 'nope'), '--format', 'onnx', '--out', join(tmp, 'x'))).err).toMatch(/^mt export: not a model folder: .*config.json is missing\n$/);
  });
});

describe('mt export --format hf', () => {
  const q8 = join(tmp, 'q8');

  it('writes the transformers.js folder (graphs with int8 weights a quarter of the f32 ones), and refuses an existing --out', async () => {
    const out = join(tmp, 'export-hf');
    expect((await mt('export', q8, '--format', 'hf', '--out', out)).code).toBe(0);
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) expect(existsSync(join(out, f))).toBe(true);
    expect(json(join(out, 'config.json'))).toMatchObject({ model_type: 'marian', architectures: ['MarianMTModel'], decoder_start_token_id: 2, eos_token_id: 3, pad_token_id: 0 });
    const onnx = (f: string) => readFileSync(join(out, 'onnx', f));
    for (const f of ['encoder_model', 'decoder_model_merged']) {
      const [f32, int8] = [onnx(`${f}.onnx`), onnx(`${f}_quantized.onnx`)];
      expect(int8.length / f32.length).toBeLessThan(0.5);
      await ort.InferenceSession.create(int8);
    }
    const again = await mt('export', q8, '--format', 'hf', '--out', out);
    expect([again.code, again.err]).toEqual([1, `mt export: ${out} already exists: remove it or choose another --out\n`]);
  });
});

describe('mt combine', () => {
  const ende = join(tmp, 'c-ende');
  const deen = join(tmp, 'c-deen');
  const both = join(tmp, 'c-both');
  writeRandomModel(ende, { seed: 1, pairs: 'en-de' });
  writeRandomModel(deen, { seed: 3, pairs: 'de-en' });
  writeFileSync(join(ende, 'config.json'), JSON.stringify({ ...json(join(ende, 'config.json')), alpha: 1.5, bleu: { 'en-de': 30.1 } }));
  const sents = ['a man rides a horse .', 'zwei Hunde spielen im Schnee .'];
  const tr = (dir: string, source: string, target: string) =>
    createEngine(readModelDir(dir), loadKernels()).translate(sents, { source, target, beam: 2 });

  it('serves each direction with its own model, keeping its alpha and BLEU', async () => {
    const r = await mt('combine', ende, deen, '--out', both, '--name', 'duo');
    expect([r.code, r.out]).toEqual([0, `wrote ${both}: en-de/ (en-de), de-en/ (de-en)`]);
    expect(json(join(both, 'config.json'))).toMatchObject({
      name: 'duo', directions: [['en', 'de'], ['de', 'en']], bleu: { 'en-de': 30.1 },
      parts: [{ prefix: 'en-de/', directions: [['en', 'de']], alpha: 1.5 }, { prefix: 'de-en/', directions: [['de', 'en']] }],
    });
    const seed1 = join(tmp, 'c-seed1'); // en-de's weights, serving both directions
    writeRandomModel(seed1, { seed: 1 });
    expect(await tr(deen, 'de', 'en')).not.toEqual(await tr(seed1, 'de', 'en')); // different weights, so the checks can fail
    expect(await tr(both, 'en', 'de')).toEqual(await tr(ende, 'en', 'de'));
    expect(await tr(both, 'de', 'en')).toEqual(await tr(deen, 'de', 'en'));
  });

  it('quantize, export and eval --record handle the parts', async () => {
    const q8 = join(tmp, 'c-q8');
    expect((await mt('quantize', both, '--out', q8)).code).toBe(0);
    const q = parse(readModelDir(q8).weights).tensors;
    expect([q.get('en-de/embed.weight')?.dtype, q.get('de-en/embed.weight.scale')?.dtype]).toEqual(['I8', 'F32']);
    const st = join(tmp, 'c-st');
    expect((await mt('export', q8, '--format', 'safetensors', '--out', st)).code).toBe(0);
    expect(parse(readModelDir(st).weights).tensors.get('de-en/embed.weight')?.dtype).toBe('F32');
    const onnx = join(tmp, 'c-onnx');
    expect((await mt('export', q8, '--format', 'onnx', '--out', onnx)).code).toBe(0);
    const hf = await mt('export', q8, '--format', 'hf', '--out', join(tmp, 'c-hf'));
    expect(hf.code).toBe(1);
    expect(hf.err).toMatch(/^mt export: cannot export .* for transformers.js: a model combined per direction .*\n$/);
    expect(existsSync(join(tmp, 'c-hf'))).toBe(false);
    for (const f of ['en-de/encoder.onnx', 'en-de/decoder.onnx', 'de-en/encoder.onnx', 'de-en/decoder.onnx']) expect(existsSync(join(onnx, f))).toBe(true);
    const tsv = join(tmp, 'c-dev.tsv');
    writeFileSync(tsv, 'zwei Hunde spielen .\ttwo dogs play .\n');
    const r = await mt('eval', '--model', q8, '--pairs', 'de-en', '--tsv', tsv, '--beam', '1', '--alpha', '0.9', '--record', '--json');
    expect([r.code, JSON.parse(r.out).results[0].alpha]).toEqual([0, 0.9]);
    const config = json(join(q8, 'config.json'));
    expect([config.alpha, config.parts[0].alpha, config.parts[1].alpha, Object.keys(config.bleu).sort()]).toEqual([undefined, 1.5, 0.9, ['de-en', 'en-de']]);
  });

  it('refuses what cannot be combined, with one line', async () => {
    const other = join(tmp, 'c-wide');
    writeRandomModel(other, { pairs: 'de-en', config: { dModel: 32 } });
    const vocab = join(tmp, 'c-vocab'); // same size, two token ids swapped
    writeRandomModel(vocab, { pairs: 'de-en' });
    const tok = json(join(vocab, 'tokenizer.json'));
    [tok.model.vocab.T, tok.model.vocab.H] = [tok.model.vocab.H, tok.model.vocab.T];
    writeFileSync(join(vocab, 'tokenizer.json'), JSON.stringify(tok));
    expect((await mt('quantize', deen, '--out', join(tmp, 'c-deen-q8'))).code).toBe(0);
    writeRandomModel(join(tmp, 'c-cut'), { pairs: 'de-en' });
    writeFileSync(join(tmp, 'c-cut', 'weights.safetensors'), readFileSync(join(deen, 'weights.safetensors')).subarray(0, 500));
    const out = join(tmp, 'c-x');
    const cases: Array<[string[], RegExp]> = [
      [[ende], /^mt combine: give at least two model folders to combine\n$/],
      [[ende, other], /^mt combine: .*c-wide has dModel 32, .*c-ende has 16: combine models of one shape\n$/],
      [[ende, vocab], /^mt combine: .*c-vocab\/tokenizer.json differs from .*: train the models with one tokenizer\n$/],
      [[ende, ende], /^mt combine: .*c-ende and an earlier model both serve en-de\n$/],
      [[both, deen], /^mt combine: .*c-both is already a combined model\n$/],
      [[ende, join(tmp, 'c-deen-q8')], /^mt combine: .*c-deen-q8 and .*c-ende differ in quantization: quantize all or none\n$/],
      [[ende, join(tmp, 'nope')], /^mt combine: not a model folder: .*nope.config.json is missing\n$/],
      [[ende, join(tmp, 'c-cut')], /^mt combine: .*c-cut does not load as a model: safetensors: /],
    ];
    for (const [dirs, message] of cases) {
      const r = await mt('combine', ...dirs, '--out', out);
      expect([r.code, r.err]).toEqual([1, expect.stringMatching(message)]);
    }
    expect((await mt('combine', ende, deen, '--out', ende)).err).toBe('mt combine: --out must be another folder than the input models\n');
    expect(existsSync(out)).toBe(false);
  });
});

describe('mt push (before any upload)', () => {
  it('refuses a folder the worker could not load, without opening the store', async () => {
    const dir = join(tmp, 'broken');
    writeRandomModel(dir);
    writeFileSync(join(dir, 'weights.safetensors'), readFileSync(join(dir, 'weights.safetensors')).subarray(0, 1000));
    const r = await mt('push', dir, '--persist-to', join(tmp, 'never-created'));
    expect([r.code, r.err]).toEqual([1, expect.stringMatching(/^mt push: .*broken does not load as a model: safetensors: .*\n$/)]);
    expect(existsSync(join(tmp, 'never-created'))).toBe(false);
  });
});
