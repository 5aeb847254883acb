// Golden checks of the whole model: gradients against finite differences, and reproducible training.
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { TOL } from '../kernels/tolerances.ts';
import { PRESETS, TRAIN_DEFAULTS, type ModelConfig, type TrainConfig } from '../model/config.ts';
import { initParams, mulberry32, paramLayout } from '../model/params.ts';
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
  const batch = collate(randomExamples(3, config.vocabSize, 5), SPECIAL_IDS);
  // the objective backward() differentiates: cross-entropy plus R-Drop's weighted KL
  const loss = () => {
    arena.reset(base);
    const r = graph.forward(batch, 1);
    return r.loss + ((tc.rdrop ?? 0) * r.kl) / 2;
  };
  return { kernels, arena, layout, params, grads, graph, batch, base, loss };
}

describe('training graph', () => {
  for (const variant of ['post-norm relu', 'pre-norm gelu', 'post-norm gelu', 'pre-norm relu', 'pre-norm gelu R-Drop'] as const) {
    it(`gradients match finite differences for every tensor (${variant})`, () => {
      const pre = variant.startsWith('pre');
      const config: ModelConfig = { ...PRESETS.micro, preNorm: pre, activation: variant.includes('gelu') ? 'gelu' : 'relu' };
      const s = setup(config, variant.endsWith('R-Drop') ? { dropout: 0.2, attentionDropout: 0.1, rdrop: 5 } : {});
      const n = s.layout.total;
      s.kernels.k.zero_f32(s.grads, n);
      s.arena.reset(s.base);
      s.graph.forward(s.batch, 1);
      s.graph.backward(1);
      const g = s.arena.f32view(s.grads, n).slice();
      const p = s.arena.f32view(s.params, n);
      const r = mulberry32(11);
      // ReLU's kinks need a small step; f32 loss noise (~1e-6 relative) then bounds the precision (floor 0.1 below).
      const h = variant.endsWith('relu') ? 1e-3 : 1e-2;
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
