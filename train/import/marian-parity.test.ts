// Imported Marian models compute what MarianMTModel computes: on each reference fixture (random tiny
// checkpoints in HF layout, scripts/marian-reference.py: every activation, tied and untied, shared and
// separate vocabularies, scale on and off, safetensors and .bin), `mt import` then our engine gives
// - the reference's teacher-forced next-token log-probabilities within TOL.marian_logprobs (f32) and
//   TOL.marian_int8_logprobs (after `mt quantize`);
// - the reference's greedy and beam-3 outputs (Hugging Face generate(): <pad> starts and is never generated,
//   max_length with a forced </s>, length_penalty 1, early_stopping false), token for token in f32; after
//   int8, BLEU of the int8 outputs against the f32 ones.
// It ends with the imported folder through `mt translate`, the path the CLI, the worker and the browser share.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Arena } from '../../kernels/host.ts';
import { loadKernels } from '../../kernels/node.ts';
import { TOL } from '../../kernels/tolerances.ts';
import { targetVocab } from '../../model/config.ts';
import { InferenceModel } from '../../model/runtime.ts';
import { parse } from '../../model/safetensors.ts';
import { BeamSearch } from '../../model/search.ts';
import { DECODE_DEFAULTS } from '../../model/decode.ts';
import { parseMeta } from '../../model/translator.ts';
import { modelVocab } from '../../model/vocab.ts';
import { corpusBleu } from '../bleu.ts';
import { importModelDir } from '../commands/import.ts';
import { quantizeModelDir } from '../commands/quantize.ts';
import { readModelDir } from '../model-dir.ts';
import { expected, FIXTURE_NAMES, hfFolder, type Expected } from './testing.ts';

// A model folder as the engine loads it (kernels of its own: its own wasm memory): InferenceModel and search rules.
function load(dir: string) {
  const files = readModelDir(dir);
  const meta = parseMeta(files.config);
  const kernels = loadKernels();
  const model = new InferenceModel(kernels, new Arena(kernels), meta, parse(files.weights));
  return { meta, model, rules: modelVocab(meta, files.tokenizer).rules };
}

// |ours - reference| over every next-token log-probability of the reference's teacher-forced inputs: max, mean.
function logProbDiff(model: InferenceModel, e: Expected): { max: number; mean: number } {
  const [B, T, V] = e.logits_shape;
  expect(V).toBe(targetVocab(model.config));
  const S = Math.max(...e.source_ids.map((s) => s.length));
  const src = new Int32Array(B * S);
  e.source_ids.forEach((s, b) => src.set(s, b * S));
  const st = model.encode(src, Int32Array.from(e.source_ids, (s) => s.length), S, 1, T);
  const probs = model.arena.f32(B * V);
  let [worst, sum] = [0, 0];
  for (let t = 0; t < T; t++) {
    model.step(st, Int32Array.from(e.decoder_input_ids, (ids) => ids[t]), probs);
    const p = model.arena.f32view(probs, B * V);
    for (let b = 0; b < B; b++) {
      const row = e.logits.slice((b * T + t) * V, (b * T + t + 1) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      for (let v = 0; v < V; v++) {
        const d = Math.abs(Math.log(p[b * V + v]) - (row[v] - lse));
        worst = Math.max(worst, d);
        sum += d;
      }
    }
  }
  return { max: worst, mean: sum / (B * T * V) };
}

// Our search on the reference's sources, all sentences in one batch as the engine runs them; each output
// with its </s> when it finished (the reference's form).
function decode(m: ReturnType<typeof load>, e: Expected, beam: number): number[][] {
  const { model, rules, meta } = m;
  const S = Math.max(...e.source_ids.map((s) => s.length));
  const src = new Int32Array(e.source_ids.length * S);
  e.source_ids.forEach((s, b) => src.set(s, b * S));
  const maxSteps = e.source_ids.map((s) => Math.min(s.length + DECODE_DEFAULTS.extraSteps, meta.maxLen - 1));
  const st = model.encode(src, Int32Array.from(e.source_ids, (s) => s.length), S, beam, Math.max(...maxSteps) + 1);
  const search = new BeamSearch(model, st, { beam, alpha: meta.alpha!, maxSteps, rules });
  while (!search.finishedAll) search.step();
  // Forced </s> at max_length: every hypothesis the reference returns ends in it.
  return search.results().map((h) => [...h.tokens, rules.eos]);
}

const words = (outs: number[][]) => outs.map((o) => o.join(' '));
const measured: Record<string, number> = {}; // f32 max |dlogp| per fixture, for the int8 line

describe.each(FIXTURE_NAMES)('%s imported', (name) => {
  const e = expected(name);
  const root = mkdtempSync(join(tmpdir(), 'mt-parity-'));
  const f32Dir = join(root, 'f32');
  const int8Dir = join(root, 'int8');
  importModelDir(hfFolder(name, root), f32Dir, { pairs: 'en-de' });
  quantizeModelDir(f32Dir, int8Dir);
  const f32 = load(f32Dir);
  const int8 = load(int8Dir);

  const tol = TOL.marian_logprobs;

  it(`f32: teacher-forced log-probabilities within ${tol} of the reference`, () => {
    const d = logProbDiff(f32.model, e).max;
    measured[name] = d;
    expect(d).toBeLessThanOrEqual(tol);
  });

  it('f32: greedy and beam-3 outputs identical to the reference', () => {
    expect(decode(f32, e, 1)).toEqual(e.greedy);
    expect(decode(f32, e, 3)).toEqual(e.beam3);
  });

  it(`int8: log-probabilities within ${TOL.marian_int8_logprobs} on average, outputs scored by BLEU against f32`, () => {
    const d = logProbDiff(int8.model, e);
    // The reference's outputs are the f32 engine's (the test above).
    const refs = [...e.greedy, ...e.beam3];
    const hyps = [...decode(int8, e, 1), ...decode(int8, e, 3)];
    const bleu = corpusBleu(words(hyps), words(refs)).score;
    const same = hyps.filter((h, i) => h.join() === refs[i].join()).length;
    console.log(`${name}: f32 max |dlogp| ${measured[name]?.toExponential(2)}; int8 mean ${d.mean.toFixed(3)}, max ${d.max.toFixed(2)}; int8 outputs BLEU ${bleu.toFixed(1)} against f32, ${same}/${refs.length} identical`);
    expect(d.mean).toBeLessThanOrEqual(TOL.marian_int8_logprobs);
    expect(bleu).toBeGreaterThanOrEqual(MIN_INT8_BLEU);
  });
});

// int8 outputs against f32 ones, BLEU over token ids (random tiny models: near-ties flip a token now and then).
const MIN_INT8_BLEU = 50;

describe('an imported folder through mt translate', () => {
  it('translates stdin with the Marian tokenizer, no tag, decoding as the model says', () => {
    const root = mkdtempSync(join(tmpdir(), 'mt-parity-'));
    const out = join(root, 'model');
    importModelDir(hfFolder('swish-tied-shared', root), out, { pairs: 'en-de' });
    const cli = new URL('../cli.ts', import.meta.url).pathname;
    const r = spawnSync(process.execPath, [cli, 'translate', '--model', out, '--from', 'en', '--to', 'de'], { input: 'a b c\n\nx\n', encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).generation.numBeams).toBe(3);
  });
});
