// `npm run bench:train`: training throughput (source + target tokens/s) at the shapes we train: every
// bundled model's config (models/*/config.json) and the tiny preset, on Multi30k-shaped batches. The peer is
// the same model in PyTorch (Debian's python3-torch with OpenBLAS), kept running in one process and measured
// in rounds interleaved with ours (ours 2 threads, PyTorch 2 threads, ours 1 thread, repeat): this machine
// is shared and noisy, so a ratio only means something between runs taken side by side.
// Last line: one JSON object; <shape>_vs_torch > 1 means we are faster (median of the per-round ratios).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PRESETS, TRAIN_DEFAULTS, type ModelConfig } from '../../model/config.ts';
import { mulberry32 } from '../../model/params.ts';
import type { Example } from '../data.ts';
import { bundledModels } from '../paths.ts';
import { Trainer } from '../trainer.ts';

const B = 256, S = 16, T = 16; // pairs per batch and their lengths (TOOLCHAIN.md's peer measurement)
const STEPS = Number(process.env.BENCH_STEPS ?? 4); // timed steps per round
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-torch is

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const tps = (seconds: number) => (B * (S + T)) / seconds;

function batch(config: ModelConfig, seed: number): Example[] {
  const r = mulberry32(seed);
  const ids = (n: number) => Int32Array.from({ length: n }, () => 4 + Math.floor(r() * (config.vocabSize - 4)));
  return Array.from({ length: B }, () => ({ src: ids(S), tgt: ids(T - 1) }));
}

// Ours: a trainer kept across rounds; each round times STEPS steps (seconds each).
function oursRunner(config: ModelConfig, threads: number) {
  const trainer = Trainer.create({ config, train: TRAIN_DEFAULTS, seed: 1, threads });
  const data = batch(config, 1);
  return {
    async run(n: number): Promise<number[]> {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await trainer.trainStep([data]);
        times.push((performance.now() - t0) / 1000);
      }
      return times;
    },
    close: () => trainer.close(),
  };
}

let warnedBlas = false;
// The peer: one python process per shape, answering "N\n" with N step times.
async function torchRunner(config: ModelConfig, threads: number) {
  const arg = JSON.stringify({ threads, vocab: config.vocabSize, dModel: config.dModel, dFF: config.dFF, heads: config.heads, encoderLayers: config.encoderLayers, decoderLayers: config.decoderLayers, preNorm: config.preNorm, activation: config.activation === 'gelu' ? 'gelu' : 'relu', batch: B, srcLen: S, tgtLen: T });
  const child = spawn(PYTHON, [new URL('./torch_peer.py', import.meta.url).pathname, arg], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error('the PyTorch peer exited');
    return JSON.parse(r.value);
  };
  const ready = await next();
  if (!warnedBlas && !/openblas/i.test(ready.blas)) {
    console.log(`warning: PyTorch uses ${ready.blas}, not OpenBLAS: the peer is ~15x slower than it should be (apt-get install libopenblas0-pthread)`);
    warnedBlas = true;
  }
  return {
    version: ready.torch as string,
    async run(n: number): Promise<number[]> {
      child.stdin.write(`${n}\n`);
      return next();
    },
    close: () => child.kill(),
  };
}

const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const only = process.env.BENCH_ONLY?.split(','); // e.g. BENCH_ONLY=tiny
const shapes: Array<[string, ModelConfig]> = ([
  ...bundledModels().map(({ name, dir }): [string, ModelConfig] => [name, JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))]),
  ['tiny', PRESETS.tiny],
] as Array<[string, ModelConfig]>).filter(([name]) => !only || only.includes(name));
const result: Record<string, number> = {};
console.log(`batches of ${B} pairs x ${S}+${T} tokens; ${ROUNDS} interleaved rounds of ${STEPS} steps, medians; tokens/s`);
console.log('shape        layers  d_model d_ff  vocab   ours 2t  ours 1t  torch 2t  ours/torch');
for (const [name, c] of shapes) {
  const config: ModelConfig = { vocabSize: c.vocabSize, dModel: c.dModel, dFF: c.dFF, heads: c.heads, encoderLayers: c.encoderLayers, decoderLayers: c.decoderLayers, maxLen: c.maxLen, preNorm: c.preNorm, activation: c.activation };
  const two = oursRunner(config, 2);
  const one = oursRunner(config, 1);
  const peer = hasTorch ? await torchRunner(config, 2) : undefined;
  try {
    // Warm-up (V8 and wasm tier-up, PyTorch's allocator) before the timed rounds.
    await two.run(2);
    await one.run(1);
    await peer?.run(2);
    const t2: number[] = [], t1: number[] = [], tp: number[] = [], ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const a = median(await two.run(STEPS));
      const p = peer && median(await peer.run(STEPS));
      const b = median(await one.run(STEPS));
      t2.push(a);
      t1.push(b);
      if (p) {
        tp.push(p);
        ratios.push(p / a);
      }
    }
    const [o2, o1] = [tps(median(t2)), tps(median(t1))];
    const pt = tp.length ? tps(median(tp)) : undefined;
    const ratio = ratios.length ? median(ratios) : undefined;
    console.log(`${name.padEnd(12)} ${`${config.encoderLayers}+${config.decoderLayers}`.padEnd(7)} ${String(config.dModel).padEnd(7)} ${String(config.dFF).padEnd(5)} ${String(config.vocabSize).padEnd(7)} ${o2.toFixed(0).padStart(7)}  ${o1.toFixed(0).padStart(7)}  ${pt ? pt.toFixed(0).padStart(8) : '       -'}  ${ratio ? ratio.toFixed(2) + 'x' : '-'}`);
    result[`${name}_ours_2t_tokens_per_s`] = Math.round(o2);
    result[`${name}_scaling_2t_vs_1t`] = +(o2 / o1).toFixed(2);
    if (pt && ratio) {
      result[`${name}_torch_2t_tokens_per_s`] = Math.round(pt);
      result[`${name}_vs_torch`] = +ratio.toFixed(2);
    }
  } finally {
    await two.close();
    await one.close();
    peer?.close();
  }
}
if (!hasTorch) console.log('pytorch: not installed (apt-get install python3-torch libopenblas0-pthread): no peer column');
console.log(JSON.stringify(result));
