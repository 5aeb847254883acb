// The learning-rate schedule: the paper's formula (section 5.3), and the optional linear cooldown.
import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS, learningRate } from './config.ts';

describe('learningRate', () => {
  const t = { ...TRAIN_DEFAULTS, warmupSteps: 100, lrScale: 2 };

  it('is the paper formula: linear warmup, then inverse square root', () => {
    expect(learningRate(10, 512, t)).toBeCloseTo(2 * 512 ** -0.5 * 10 * 100 ** -1.5, 12);
    expect(learningRate(100, 512, t)).toBeCloseTo(2 * 512 ** -0.5 * 0.1, 12);
    expect(learningRate(400, 512, t)).toBeCloseTo(2 * 512 ** -0.5 * 0.05, 12);
  });

  it('cools down linearly to 0 over the last cooldownSteps before cooldownEnd', () => {
    const c = { ...t, cooldownSteps: 50, cooldownEnd: 300 };
    for (const s of [1, 100, 250]) expect(learningRate(s, 512, c)).toBe(learningRate(s, 512, t));
    expect(learningRate(276, 512, c)).toBeCloseTo(learningRate(276, 512, t) * (25 / 50), 12);
    expect(learningRate(300, 512, c)).toBeCloseTo(learningRate(300, 512, t) / 50, 12);
    expect(learningRate(301, 512, c)).toBe(0);
    expect(learningRate(1000, 512, c)).toBe(0);
  });
});
