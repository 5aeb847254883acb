// Golden checks of the whole model: gradients against finite differences, and reproducible training.
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { TOL } from '../kernels/tolerances.ts';
import { PRESETS, TRAIN_DEFAULTS, targetVocab, type ModelConfig, type TrainConfig } from '../model/config.ts';
import { initParams, mulberry32, paramLayout } from '../model/params.ts';
import { MODEL_VARIANTS } from '../model/testing.ts';
import { SPECIAL_IDS } from '../model/tokenizer.ts';
import { collate, type Example } from './data.ts';
import { TrainGraph } from './graph.ts';
import { Trainer } from './trainer.ts';

function randomExamples(n: number, V: number, seed: number): Example[] {
  const r = mulberry32(seed);
  const ids = (len: number) => Int32Array.from({ length: len }, () => 4 + Math.floor(r() * (V - 4)));
  return Array.from({ length: n }, () => ({ src: ids(2 + Math.floor(r() * 6)), tgt: ids(1 + Math.floor(r() * 6)) }));
}

// Loss as a function of the flat parameters, through the wasm graph (dropout off unless `train` asks for R-Drop,
// whose dropout masks are fixed by the forward's seed, so the objective is still a function of the parameters).
function setup(config: ModelConfig, train: Partial<TrainConfig> = {}) {
  const kernels = loadKernels('scalar');
  const arena = new Arena(kernels);
  const layout = paramLayout(config);
  const params = arena.f32(layout.total);
  const grads = arena.f32(layout.total);
  initParams(arena.f32view(params, layout.total), layout, 3);
  // Non-trivial layer norms and biases, so their gradients are exercised.
  const p = arena.f32view(params, layout.total);
  const r = mulberry32(9);
  for (const t of layout.tensors) if (!t.linear) for (let i = 0; i < t.size; i++) p[t.offset + i] += (r() - 0.5) * 0.2;
  const tc = { ...TRAIN_DEFAULTS, labelSmoothing: 0.1, ...train };
  const graph = new TrainGraph(kernels, arena, layout, tc, params, grads);
  graph.dropout = !!tc.rdrop;
  const base = arena.mark();
  const batch = collate(randomExamples(3, Math.min(config.vocabSize, targetVocab(config)), 5), SPECIAL_IDS);
  // the objective backward() differentiates: cross-entropy plus R-Drop's weighted KL
  const loss = () => {
    arena.reset(base);
    const r = graph.forward(batch, 1);
    return r.loss + ((tc.rdrop ?? 0) * r.kl) / 2;
  };
  return { kernels, arena, layout, params, grads, graph, batch, base, loss };
}

// Variants for the gradient check: each activation and norm placement, R-Drop, and the options of
// model/testing.ts's MODEL_VARIANTS (untied and separate target embeddings, logits bias, embedding scale).
const GRAD_VARIANTS: Array<[string, Partial<ModelConfig>, Partial<TrainConfig>]> = [
  ['post-norm relu', {}, {}],
  ['pre-norm gelu', { preNorm: true, activation: 'gelu' }, {}],
  ['post-norm gelu', { activation: 'gelu' }, {}],
  ['pre-norm relu', { preNorm: true }, {}],
  ['post-norm silu', { activation: 'silu' }, {}],
  ['pre-norm gelu R-Drop', { preNorm: true, activation: 'gelu' }, { dropout: 0.2, attentionDropout: 0.1, rdrop: 5 }],
  ...MODEL_VARIANTS.slice(2).map(([label, over]): [string, Partial<ModelConfig>, Partial<TrainConfig>] => [label, { ...over, targetVocabSize: over.targetVocabSize && 30 }, {}]),
];

describe('training graph', () => {
  for (const [variant, over, trainOver] of GRAD_VARIANTS) {
    it(`gradients match finite differences for every tensor (${variant})`, () => {
      const config: ModelConfig = { ...PRESETS.micro, ...over };
      const s = setup(config, trainOver);
      const n = s.layout.total;
      s.kernels.k.zero_f32(s.grads, n);
      s.arena.reset(s.base);
      s.graph.forward(s.batch, 1);
      s.graph.backward(1);
      const g = s.arena.f32view(s.grads, n).slice();
      const p = s.arena.f32view(s.params, n);
      const r = mulberry32(11);
      // ReLU's kinks need a small step; f32 loss noise (~1e-6 relative) then bounds the precision (floor 0.1 below).
      const h = (over.activation ?? 'relu') === 'relu' ? 1e-3 : 1e-2;
      const failures: string[] = [];
      for (const t of s.layout.tensors) {
        // Directional derivative along a random unit direction inside this tensor.
        const dir = Float64Array.from({ length: t.size }, () => r() - 0.5);
        const norm = Math.hypot(...dir);
        let analytic = 0;
        for (let i = 0; i < t.size; i++) analytic += (g[t.offset + i] * dir[i]) / norm;
        const orig = p.slice(t.offset, t.offset + t.size);
        const shift = (sgn: number) => {
          for (let i = 0; i < t.size; i++) p[t.offset + i] = orig[i] + (sgn * h * dir[i]) / norm;
          return s.loss();
        };
        const numeric = (shift(1) - shift(-1)) / (2 * h);
        p.set(orig, t.offset);
        const err = Math.abs(numeric - analytic) / Math.max(0.1, Math.abs(numeric));
        if (!(err <= TOL.gradcheck)) failures.push(`${t.name}: analytic ${analytic.toExponential(4)} numeric ${numeric.toExponential(4)}`);
      }
      expect(failures, failures.slice(0, 5).join('\n')).toEqual([]);
    });
  }

  it('R-Drop: the two passes differ (kl > 0), loss stays the mean over both, and without dropout it is off', () => {
    const config: ModelConfig = { ...PRESETS.micro, preNorm: true };
    const s = setup(config, { dropout: 0.2, rdrop: 5 });
    s.arena.reset(s.base);
    const r = s.graph.forward(s.batch, 1);
    const tokens = Array.from(s.batch.tgtOut).filter((t) => t >= 0).length;
    expect(r.tokens).toBe(tokens);
    expect(r.kl).toBeGreaterThan(0);
    expect(Number.isFinite(r.loss) && r.loss > 0).toBe(true);
    s.graph.dropout = false; // evaluation: one pass, no KL, the plain loss
    s.arena.reset(s.base);
    const plain = s.graph.forward(s.batch, 1);
    const off = setup(config);
    off.arena.reset(off.base);
    expect(plain).toEqual({ ...off.graph.forward(off.batch, 1) });
    expect(plain.kl).toBe(0);
  });

  // The first steps' losses and gradient norms, stored: any change to the training graph's kernel calls
  // or their inputs (a reordered sum, another dropout mask) shows here, bit for bit.
  const STORED: Array<[string, Partial<ModelConfig>, Partial<TrainConfig>, number[], number[]]> = [
    ['post-norm relu', {}, {}, [3.934961642830036, 3.8820957253208235, 3.367495860799485, 3.384018544364376], [2.5160949211390577, 1.520004619066541, 0.9789720423533871, 0.7379024682262487]],
    ['pre-norm gelu', { preNorm: true, activation: 'gelu' }, {}, [3.9910806798086105, 3.698995261938959, 3.508849351909912, 3.5179287105498815], [1.6947377352423063, 1.3802029342707844, 0.9927228890698636, 0.6528336114282528]],
    ['pre-norm relu R-Drop', { preNorm: true }, { rdrop: 5 }, [3.9686159481436754, 3.726826298613182, 3.641709283039947, 3.505040198809828], [3.16204977013368, 1.6601172020647268, 1.1510517670031264, 0.6341606221632469]],
  ];
  for (const [label, over, trainOver, losses, norms] of STORED) {
    it(`training steps reproduce the stored losses and gradient norms bit for bit (${label}, dropout on)`, async () => {
      const config: ModelConfig = { ...PRESETS.micro, vocabSize: 30, ...over };
      const train = { ...TRAIN_DEFAULTS, warmupSteps: 10, dropout: 0.1, attentionDropout: 0.1, ...trainOver };
      const data = randomExamples(24, 30, 7);
      const trainer = Trainer.create({ config, train, seed: 5, threads: 1, flavor: 'simd' });
      const got: number[][] = [[], []];
      try {
        for (let i = 0; i < 4; i++) {
          const r = await trainer.trainStep([data.slice(i * 6, i * 6 + 6)]);
          got[0].push(r.loss);
          got[1].push(r.gradNorm);
        }
      } finally {
        await trainer.close();
      }
      expect(got).toEqual([losses, norms]);
    });
  }

  it('the same seed gives the same losses, with 1 and with 2 threads', async () => {
    const config: ModelConfig = { ...PRESETS.micro, vocabSize: 30 };
    const train = { ...TRAIN_DEFAULTS, warmupSteps: 10, dropout: 0.1, attentionDropout: 0.1 };
    const data = randomExamples(24, 30, 7);
    const run = async (threads: number) => {
      const trainer = Trainer.create({ config, train, seed: 5, threads, flavor: threads > 1 ? 'threads' : 'simd' });
      const losses: number[] = [];
      try {
        for (let i = 0; i < 4; i++) losses.push((await trainer.trainStep([data.slice(i * 6, i * 6 + 6)])).loss);
      } finally {
        await trainer.close();
      }
      return losses;
    };
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    const b = await run(2);
    expect(await run(2)).toEqual(b);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(a[3]).not.toBe(a[0]);
  });
});
