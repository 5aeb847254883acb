// The optimisation loop's core: parameters, Adam state and per-replica gradients in one shared wasm memory;
// each step runs the replicas (data parallel), sums their gradients, clips, and applies Adam.
import { availableParallelism } from 'node:os';
import { Arena, bestFlavor, instantiate, type Flavor, type Kernels } from '../kernels/host.ts';
import { compileKernels } from '../kernels/node.ts';
import { learningRate, type ModelConfig, type TrainConfig } from '../model/config.ts';
import { initParams, paramLayout, type ParamLayout } from '../model/params.ts';
import { SPECIAL_IDS, type SpecialIds } from '../model/tokenizer.ts';
import { splitExamples, targetTokens, type Example } from './data.ts';
import { LocalReplica, ThreadReplica, type JobResult, type Replica } from './replica.ts';

export interface TrainerOptions {
  config: ModelConfig;
  train: TrainConfig;
  threads?: number; // data-parallel replicas (default: available cores, at most 2 used well here)
  seed: number;
  flavor?: Flavor;
  specials?: SpecialIds; // the tokenizer's (default: every Tokenizer's of model/tokenizer.ts)
}

export interface StepResult {
  loss: number; // mean per target token
  kl: number; // R-Drop's symmetric KL, mean per target token (0 without R-Drop)
  tokens: number; // target tokens
  srcTokens: number;
  lr: number;
  gradNorm: number;
}

const MEMORY_BYTES = 4 * 2 ** 30 - 2 ** 20; // wasm32 address space, less a guard

export class Trainer {
  readonly layout: ParamLayout;
  readonly kernels: Kernels;
  readonly arena: Arena;
  readonly params: number;
  readonly m: number;
  readonly v: number;
  readonly grads: number[];
  readonly opts: TrainerOptions;
  step = 0;
  private replicas: Replica[] = [];

  private constructor(opts: TrainerOptions) {
    this.opts = opts;
    const threads = Math.max(1, opts.threads ?? Math.min(2, availableParallelism()));
    const flavor = opts.flavor ?? bestFlavor(threads > 1);
    const module = compileKernels(flavor);
    this.kernels = instantiate(module, flavor);
    this.layout = paramLayout(opts.config);
    this.arena = new Arena(this.kernels);
    const n = this.layout.total;
    this.params = this.arena.f32(n);
    this.m = this.arena.f32(n);
    this.v = this.arena.f32(n);
    this.grads = Array.from({ length: threads }, () => this.arena.f32(n));
    for (const p of [this.m, this.v, ...this.grads]) this.kernels.k.zero_f32(p, n);
    initParams(this.arena.f32view(this.params, n), this.layout, opts.seed);
    // The rest of the address space is split evenly between the replicas' activation arenas.
    const start = this.arena.mark();
    const share = Math.floor((MEMORY_BYTES - start) / threads / 65536) * 65536;
    for (let r = 0; r < threads; r++) {
      const spec = {
        module, flavor, memory: this.kernels.memory, config: opts.config, train: opts.train, specials: opts.specials ?? SPECIAL_IDS,
        params: this.params, grads: this.grads[r], arenaStart: start + r * share, arenaLimit: start + (r + 1) * share,
      };
      this.replicas.push(r === 0 ? new LocalReplica(spec, this.kernels) : new ThreadReplica(spec));
    }
  }

  static create(opts: TrainerOptions): Trainer {
    return new Trainer(opts);
  }

  get threads(): number {
    return this.replicas.length;
  }

  paramsView(): Float32Array {
    return this.arena.f32view(this.params, this.layout.total);
  }
  adamView(): { m: Float32Array; v: Float32Array } {
    return { m: this.arena.f32view(this.m, this.layout.total), v: this.arena.f32view(this.v, this.layout.total) };
  }

  // One optimizer step over `micro` micro-batches (gradient accumulation), data-parallel over the replicas.
  async trainStep(micro: Example[][]): Promise<StepResult> {
    const { k } = this.kernels;
    const t = this.opts.train;
    const n = this.layout.total;
    const step = this.step + 1;
    const tokens = micro.reduce((a, mb) => a + targetTokens(mb), 0);
    const r = await this.runAll(micro, 1 / Math.max(tokens, 1), step, true, true);
    // Sum the replicas' gradients into replica 0's buffer (fixed order: deterministic).
    for (let i = 1; i < this.grads.length; i++) {
      k.add_inplace(this.grads[0], this.grads[i], n);
      k.zero_f32(this.grads[i], n);
    }
    const g = this.grads[0];
    const gradNorm = Math.sqrt(k.sum_squares(g, n));
    if (t.clipNorm > 0 && gradNorm > t.clipNorm) k.scale_inplace(g, t.clipNorm / gradNorm, n);
    const lr = learningRate(step, this.opts.config.dModel, t);
    k.adam_update(this.params, g, this.m, this.v, n, lr, t.beta1, t.beta2, t.adamEps, 0, step);
    k.zero_f32(g, n);
    this.step = step;
    return { loss: r.loss / Math.max(r.tokens, 1), kl: r.kl / Math.max(r.tokens, 1), tokens: r.tokens, srcTokens: r.srcTokens, lr, gradNorm };
  }

  // Summed loss and token count without dropout or updates (validation loss).
  async evalLoss(batches: Example[][]): Promise<{ loss: number; tokens: number }> {
    let loss = 0;
    let tokens = 0;
    for (const b of batches) {
      const r = await this.runAll([b], 0, 0, false, false);
      loss += r.loss;
      tokens += r.tokens;
    }
    return { loss, tokens };
  }

  private async runAll(micro: Example[][], scale: number, step: number, dropout: boolean, backward: boolean): Promise<JobResult> {
    const R = this.replicas.length;
    const shares = micro.map((mb) => splitExamples(mb, R));
    const job = (r: number) => ({
      micro: shares.map((s) => s[r] ?? []),
      scale,
      seed: (Math.imul(this.opts.seed, 1000003) + Math.imul(step, 7919) + r * 104729) | 0,
      dropout,
      backward,
    });
    // Threads first (their jobs are posted synchronously), then replica 0 runs here in the meantime.
    const remote = this.replicas.slice(1).map((rep, i) => rep.run(job(i + 1)));
    const local = await this.replicas[0].run(job(0));
    const results = [local, ...(await Promise.all(remote))];
    return results.reduce((a, b) => ({ loss: a.loss + b.loss, tokens: a.tokens + b.tokens, kl: a.kl + b.kl, srcTokens: a.srcTokens + b.srcTokens }));
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.close()));
  }
}
