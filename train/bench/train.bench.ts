// `npm run bench:train`: training throughput (source + target tokens/s) of the tiny preset with 1 and 2
// threads on Multi30k-shaped batches; with PyTorch present, the same model in PyTorch as the peer.
// Last line: one JSON object (ours_vs_torch > 1 means we are faster).
import { execFileSync } from 'node:child_process';
import { PRESETS, TRAIN_DEFAULTS } from '../../model/config.ts';
import { mulberry32 } from '../../model/params.ts';
import type { Example } from '../data.ts';
import { Trainer } from '../trainer.ts';

const B = 256, S = 16, T = 16; // pairs per batch and their lengths (TOOLCHAIN.md's peer measurement)
const config = { ...PRESETS.tiny };
const STEPS = Number(process.env.BENCH_STEPS ?? 6);

function batch(seed: number): Example[] {
  const r = mulberry32(seed);
  const ids = (n: number) => Int32Array.from({ length: n }, () => 4 + Math.floor(r() * (config.vocabSize - 4)));
  return Array.from({ length: B }, () => ({ src: ids(S), tgt: ids(T - 1) }));
}

async function ours(threads: number): Promise<number> {
  const trainer = Trainer.create({ config, train: TRAIN_DEFAULTS, seed: 1, threads });
  try {
    const data = batch(1);
    for (let i = 0; i < 2; i++) await trainer.trainStep([data]); // V8 tier-up
    const times: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      await trainer.trainStep([data]);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return (B * (S + T)) / (times[times.length >> 1] / 1000);
  } finally {
    await trainer.close();
  }
}

function torch(threads: number): number | undefined {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const arg = JSON.stringify({ threads, vocab: config.vocabSize, dModel: config.dModel, dFF: config.dFF, heads: config.heads, layers: config.encoderLayers, batch: B, srcLen: S, tgtLen: T, warmup: 2, steps: STEPS });
  const out = execFileSync('/usr/bin/python3', [new URL('./torch_peer.py', import.meta.url).pathname, arg], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!).tokensPerSecond;
}

const one = await ours(1);
const two = await ours(2);
const peer = torch(2);
console.log(`tiny preset, batches of ${B} pairs x ${S}+${T} tokens, median of ${STEPS} steps`);
console.log(`ours 1 thread   ${one.toFixed(0)} tok/s`);
console.log(`ours 2 threads  ${two.toFixed(0)} tok/s  (x${(two / one).toFixed(2)})`);
console.log(peer ? `pytorch 2 thr   ${peer.toFixed(0)} tok/s` : 'pytorch: not installed (apt-get install python3-torch libopenblas0-pthread)');
const result: Record<string, number> = { ours_1t_tokens_per_s: Math.round(one), ours_2t_tokens_per_s: Math.round(two), scaling_2t_vs_1t: +(two / one).toFixed(2) };
if (peer) {
  result.torch_2t_tokens_per_s = Math.round(peer);
  result.ours_vs_torch = +(two / peer).toFixed(2);
}
console.log(JSON.stringify(result));
