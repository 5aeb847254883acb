// `mt export --format hf` in transformers.js (@huggingface/transformers, offline, in Node on onnxruntime-node):
// the bundled model's folder translates as our engine does, and its tokenizer.json encodes and decodes as ours.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AutoModelForSeq2SeqLM, AutoTokenizer, env, pipeline, type PreTrainedModel, type PreTrainedTokenizer, type Tensor as HfTensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKernels } from '../../kernels/node.ts';
import { parse, serialize } from '../../model/safetensors.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { createEngine, type ModelFiles } from '../../model/translator.ts';
import { writeFolderAtomic } from '../checkpoint.ts';
import { dequantizeTensors } from '../../model/quant.ts';
import { main } from '../main.ts';
import { readModelDir } from '../model-dir.ts';
import { multi30kDir, REPO_ROOT } from '../paths.ts';
import { hfTokenizerFiles, hfUnsupported } from './hf.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mt-hf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
env.allowRemoteModels = false;
env.localModelPath = tmp;

const BUNDLED = join(REPO_ROOT, 'models', 'multi30k');
const lines = (name: string, n: number): string[] =>
  gunzipSync(readFileSync(join(multi30kDir(), `${name}.gz`))).toString('utf8').split('\n').filter((l) => l.length > 0).slice(0, n);

// The source with its target tag, as a transformers.js user writes it.
const tagged = (target: string, text: string) => `<2${target}> ${text}`;

describe('mt export --format hf in transformers.js', () => {
  // 12 sentences each way; the bundled model is int8: the engine on the same weights dequantized is what the f32 graphs compute.
  const cases = [...lines('test_2016_flickr.en', 12).map((s) => ({ s, source: 'en', target: 'de' })), ...lines('test_2016_flickr.de', 12).map((s) => ({ s, source: 'de', target: 'en' }))];
  const kernels = loadKernels();
  const bundled = readModelDir(BUNDLED);
  const f32Files: ModelFiles = { ...bundled, weights: serialize(dequantizeTensors(bundled.meta, parse(bundled.weights).tensors, kernels)) };
  let tokenizer: PreTrainedTokenizer;
  let greedy: Array<{ ids: number[]; text: string }>; // transformers.js, fp32, num_beams 1

  beforeAll(async () => {
    expect(await main(['export', BUNDLED, '--format', 'hf', '--out', join(tmp, 'multi30k')])).toBe(0);
    tokenizer = await AutoTokenizer.from_pretrained('multi30k');
  }, 400_000);

  const tok = Tokenizer.fromJSON(bundled.tokenizer);

  // Our engine, greedy: each sentence's output ids (</s> included) and text.
  async function ours(files: ModelFiles): Promise<Array<{ ids: number[]; text: string }>> {
    const engine = createEngine(files, kernels);
    const out = [];
    for (const c of cases) {
      const [r] = await engine.translate([c.s], { source: c.source, target: c.target, beam: 1, alignments: true });
      out.push({ ids: r.targetTokens!.map((p) => tok.tokenToId(p)!), text: r.text });
    }
    return out;
  }

  // transformers.js, one sentence a call (generate() keeps extending a batch's finished rows past </s>), with
  // our engine's length limit: source tokens (tag and </s> included) + 50, within the positions.
  async function theirs(dtype: 'fp32' | 'q8', numBeams = 1): Promise<Array<{ ids: number[]; text: string }>> {
    const model = (await AutoModelForSeq2SeqLM.from_pretrained('multi30k', { dtype })) as PreTrainedModel;
    const translate = await pipeline('translation', 'multi30k', { dtype });
    const out = [];
    for (const c of cases) {
      const inputs = tokenizer(tagged(c.target, c.s));
      const maxNewTokens = Math.min(inputs.input_ids.dims[1] + 50, bundled.meta.maxLen - 1);
      const ids = (await model.generate({ ...inputs, max_new_tokens: maxNewTokens, num_beams: numBeams })) as HfTensor;
      const generated = (ids.tolist()[0] as bigint[]).slice(1).map(Number); // after the start token
      const [t] = (await translate(tagged(c.target, c.s), { max_new_tokens: maxNewTokens, num_beams: numBeams })) as Array<{ translation_text: string }>;
      out.push({ ids: generated, text: t.translation_text });
    }
    await model.dispose();
    return out;
  }

  it('greedy: the same tokens and texts as our engine (f32 graphs against the engine on the f32 weights)', async () => {
    const want = await ours(f32Files);
    greedy = await theirs('fp32');
    expect(greedy).toEqual(want);
    expect(new Set(want.map((w) => w.text)).size).toBe(cases.length); // real translations, not one degenerate output
  }, 400_000);

  it('q8: int8 weights dequantized in the graph give the f32 graphs\' outputs; against our int8 engine most sentences agree', async () => {
    const q8 = await theirs('q8');
    expect(q8).toEqual(greedy); // the model is int8: the f32 graphs hold the same weights, dequantized
    const int8 = await ours(bundled); // the engine's int8 kernels also quantize activations
    const same = q8.filter((x, i) => x.text === int8[i].text).length;
    expect(same / cases.length).toBeGreaterThanOrEqual(0.8);
    const size = (f: string) => statSync(join(tmp, 'multi30k', 'onnx', f)).size;
    expect(size('decoder_model_merged_quantized.onnx') / size('decoder_model_merged.onnx')).toBeLessThan(0.35);
  }, 400_000);

  it('num_beams 4: transformers.js (4.3) decodes greedily whatever num_beams says, so beam search has no peer there', async () => {
    expect(await theirs('fp32', 4)).toEqual(greedy);
  }, 400_000);

  it('a combined model, an imported Marian one and a unigram tokenizer are refused with the reason', () => {
    expect(hfUnsupported({ ...bundled.meta, parts: [] }, {})).toMatch(/combined per direction/);
    expect(hfUnsupported(bundled.meta, { type: 'marian' })).toMatch(/Marian/);
    expect(hfUnsupported(bundled.meta, { model: { type: 'Unigram' } })).toMatch(/no byte fallback/);
    expect(hfUnsupported(bundled.meta, JSON.parse(bundled.tokenizer as string))).toBeUndefined();
  });
});

describe('the exported tokenizer.json in transformers.js', () => {
  // A few hundred sentences of each language, and the corners: whitespace runs and kinds, NFKC, bytes.
  const texts = [
    ...['en', 'de', 'fr', 'cs'].flatMap((l) => lines(`val.${l}`, 150)),
    '', ' ', 'a  b\t\tc\n', '\u00a0Stra\u00dfe\u2003\u00bd \ufb01le \u2581x', 'emoji \u{1f600}\u{1f3fd} \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627', 'e\u0301 \u1100\u1161', '\ufeffbom',
  ];

  async function check(name: string, tok: Tokenizer): Promise<void> {
    writeFolderAtomic(join(tmp, name), hfTokenizerFiles(tok, 256));
    const hf = await AutoTokenizer.from_pretrained(name);
    const target = tok.languages[0];
    let mismatches = 0;
    for (const text of texts) {
      const want = [tok.langId(target), ...tok.encode(text), tok.eosId];
      const got = (hf(tagged(target, text)).input_ids.tolist()[0] as bigint[]).map(Number);
      if (got.join() !== want.join() && mismatches++ < 3) expect({ text, got }).toEqual({ text, want });
      const ids = tok.encode(text);
      // transformers.js's ByteFallback decoder (TextDecoder without ignoreBOM) drops a U+FEFF that starts a byte run.
      if (ids.length) expect(hf.decode(ids, { skip_special_tokens: true })).toBe(tok.decode(ids).replace(/^\ufeff/, ''));
    }
    expect(mismatches).toBe(0);
  }

  it('BPE (the bundled model\'s): the same ids for <2xx> text </s> and the same text back', async () => {
    await check('tok-bpe', Tokenizer.fromJSON(readModelDir(BUNDLED).tokenizer));
  }, 60_000);


});
