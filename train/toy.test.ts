// A small model learns to reverse sequences: training (threads, Adam, schedule, dropout) and inference
// (KV cache, beam search, int8 weights) agree end to end.
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { PRESETS, TRAIN_DEFAULTS, type ModelConfig } from '../model/config.ts';
import { mulberry32 } from '../model/params.ts';
import { quantizeTensors } from '../model/quant.ts';
import { InferenceModel } from '../model/runtime.ts';
import { parse, serialize } from '../model/safetensors.ts';
import { BeamSearch, paperRules } from '../model/search.ts';
import { modelTensors } from './checkpoint.ts';
import { SPECIAL_IDS } from '../model/tokenizer.ts';
import type { Example } from './data.ts';
import { Trainer } from './trainer.ts';

const V = 24;
const TAG = 4; // stands in for a <2xx> language tag
const config: ModelConfig = { ...PRESETS.micro, vocabSize: V, dModel: 32, dFF: 64, heads: 4, maxLen: 24, preNorm: true };

function reversal(n: number, seed: number): Example[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const x = Int32Array.from({ length: 2 + Math.floor(r() * 7) }, () => 5 + Math.floor(r() * (V - 5)));
    return { src: Int32Array.from([TAG, ...x, SPECIAL_IDS.eos]), tgt: x.slice().reverse() };
  });
}

function decodeAll(model: InferenceModel, examples: Example[], beam: number): number[][] {
  const S = Math.max(...examples.map((e) => e.src.length));
  const src = new Int32Array(examples.length * S);
  examples.forEach((e, i) => src.set(e.src, i * S));
  const lens = Int32Array.from(examples, (e) => e.src.length);
  const maxSteps = examples.map((e) => e.src.length + 4);
  const mark = model.arena.mark();
  const st = model.encode(src, lens, S, beam, Math.max(...maxSteps) + 1);
  const search = new BeamSearch(model, st, { beam, alpha: 0.6, maxSteps, rules: paperRules(SPECIAL_IDS) });
  while (!search.finishedAll) search.step();
  const out = search.results().map((h) => h.tokens);
  model.arena.reset(mark);
  return out;
}

describe('toy task', () => {
  it('learns to reverse sequences to >= 99% exact match (greedy, beam 4, and int8)', async () => {
    const train = reversal(3000, 1);
    const test = reversal(200, 2);
    const trainer = Trainer.create({ config, seed: 1, threads: 2, train: { ...TRAIN_DEFAULTS, warmupSteps: 100, lrScale: 2, clipNorm: 1, dropout: 0, labelSmoothing: 0 } });
    try {
      for (let epoch = 0; epoch < 80; epoch++) {
        for (let i = 0; i < train.length; i += 50) {
          await trainer.trainStep([train.slice(i, i + 50)]);
        }
      }
    } finally {
      await trainer.close();
    }
    const tensors = modelTensors(trainer.layout, trainer.paramsView());
    const kernels = loadKernels('simd');
    const exact = (out: number[][]) => out.filter((y, i) => y.join(',') === Array.from(test[i].tgt).join(',')).length / test.length;

    const f32 = new InferenceModel(kernels, new Arena(kernels), config, parse(serialize(tensors)));
    const greedy = exact(decodeAll(f32, test, 1));
    const beam = exact(decodeAll(f32, test, 4));
    const q8 = new InferenceModel(kernels, new Arena(kernels), config, parse(serialize(quantizeTensors(config, tensors, kernels))));
    const int8 = exact(decodeAll(q8, test, 4));
    const scores = `greedy ${greedy}, beam ${beam}, int8 ${int8}`;
    expect(greedy, scores).toBeGreaterThanOrEqual(0.99);
    expect(beam, scores).toBeGreaterThanOrEqual(0.99);
    expect(int8, scores).toBeGreaterThanOrEqual(0.99);
  });
});
