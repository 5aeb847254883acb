// What the kernel benchmarks share: interleaved timing (median of round-robin samples, calls batched so a
// sample lasts SAMPLE_MS) and seeded uniform test data.

export const SAMPLES = 21; // interleaved samples per runner; the median is reported (and the minimum, for reference)
const SAMPLE_MS = 2; // calls are batched so one sample lasts at least this long; short samples interleave finely

export interface Runner {
  name: string;
  call: () => void | Promise<unknown>;
  async: boolean;
}

async function batch(r: Runner, n: number): Promise<number> {
  const t0 = performance.now();
  if (r.async) for (let i = 0; i < n; i++) await r.call();
  else for (let i = 0; i < n; i++) r.call();
  return performance.now() - t0;
}

export interface Timing {
  median: number; // ms per call
  min: number;
}

// Milliseconds per call of each runner, sampled round-robin (`samples` rounds).
export async function measure(runners: Runner[], samples = SAMPLES): Promise<Timing[]> {
  const reps: number[] = [];
  for (const r of runners) {
    let n = 0;
    let t = 0;
    while (n < 5 || t < 30) {
      t += await batch(r, 1);
      n++;
    }
    reps.push(Math.max(1, Math.ceil(SAMPLE_MS / (t / n))));
  }
  const times: number[][] = runners.map(() => []);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < runners.length; i++) times[i].push((await batch(runners[i], reps[i])) / reps[i]);
  }
  return times.map((xs) => {
    xs.sort((a, b) => a - b);
    return { median: xs[xs.length >> 1], min: xs[0] };
  });
}

let seed = 12345;
// n values uniform in [-scale, scale), from one seeded sequence
export function rand(n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    out[i] = (seed / 2147483648 - 0.5) * 2 * scale;
  }
  return out;
}
