// A replica runs forward + backward of its share of every micro-batch into its own gradient buffer.
// Replica 0 runs in the calling thread; the others in worker_threads over the same shared wasm memory.
import { Worker } from 'node:worker_threads';
import { Arena, instantiate, type Flavor, type Kernels } from '../kernels/host.ts';
import type { ModelConfig, TrainConfig } from '../model/config.ts';
import { paramLayout } from '../model/params.ts';
import type { SpecialIds } from '../model/tokenizer.ts';
import { collate, type Example } from './data.ts';
import { TrainGraph } from './graph.ts';

export interface ReplicaSpec {
  module: WebAssembly.Module;
  flavor: Flavor;
  memory: WebAssembly.Memory;
  config: ModelConfig;
  train: TrainConfig;
  specials: SpecialIds; // what batches are framed and padded with (data.ts collate)
  params: number; // pointer to the shared parameters
  grads: number; // pointer to this replica's gradient buffer
  arenaStart: number;
  arenaLimit: number;
}

export interface Job {
  micro: Example[][]; // this replica's share of each micro-batch
  scale: number; // 1 / target tokens of the whole step: gradients sum to the mean over the step
  seed: number;
  dropout: boolean;
  backward: boolean;
}

export interface JobResult {
  loss: number; // summed over target tokens
  tokens: number; // target tokens
  kl: number; // R-Drop's symmetric KL, summed over target tokens (0 without R-Drop)
  srcTokens: number;
}

export interface Replica {
  run(job: Job): Promise<JobResult>;
  close(): Promise<void>;
}

// The work itself, shared by the in-thread replica and the worker thread's entry point.
export function makeRunner(spec: ReplicaSpec, kernels?: Kernels): (job: Job) => JobResult {
  kernels ??= instantiate(spec.module, spec.flavor, spec.memory);
  const arena = new Arena(kernels, spec.arenaStart, spec.arenaLimit);
  const graph = new TrainGraph(kernels, arena, paramLayout(spec.config), spec.train, spec.params, spec.grads);
  const base = arena.mark();
  return (job) => {
    const out: JobResult = { loss: 0, tokens: 0, kl: 0, srcTokens: 0 };
    graph.dropout = job.dropout;
    job.micro.forEach((examples, i) => {
      if (!examples.length) return;
      arena.reset(base);
      const r = graph.forward(collate(examples, spec.specials), (job.seed + i * 7919) | 0);
      if (job.backward) graph.backward(job.scale);
      out.loss += r.loss;
      out.tokens += r.tokens;
      out.kl += r.kl;
      out.srcTokens += examples.reduce((a, e) => a + e.src.length, 0);
    });
    arena.reset(base);
    return out;
  };
}

export class LocalReplica implements Replica {
  private runner: (job: Job) => JobResult;
  constructor(spec: ReplicaSpec, kernels?: Kernels) {
    this.runner = makeRunner(spec, kernels);
  }
  async run(job: Job): Promise<JobResult> {
    return this.runner(job);
  }
  async close(): Promise<void> {}
}

export class ThreadReplica implements Replica {
  private worker: Worker;
  private pending?: { resolve: (r: JobResult) => void; reject: (e: Error) => void };
  private ready: Promise<void>;
  private isReady = false;
  constructor(spec: ReplicaSpec) {
    this.worker = new Worker(new URL('./thread.ts', import.meta.url), { workerData: spec });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (m) => {
        this.isReady = m === 'ready';
        if (this.isReady) resolve();
        else reject(new Error(String(m)));
      });
      this.worker.once('error', (e: Error) => reject(e));
    });
    this.worker.on('message', (m) => {
      if (m === 'ready' || !this.pending) return;
      const p = this.pending;
      this.pending = undefined;
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m as JobResult);
    });
    this.worker.on('error', (e: Error) => this.pending?.reject(e));
  }
  // Posts the job synchronously once the thread is up, so it starts before the caller's own share runs.
  async run(job: Job): Promise<JobResult> {
    if (!this.isReady) await this.ready;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(job);
    });
  }
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
