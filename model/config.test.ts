// The learning-rate schedule: the paper's formula (section 5.3), and the optional linear cooldown; the
// model config's checks and the layout of its variants.
import { describe, expect, it } from 'vitest';
import { PRESETS, TRAIN_DEFAULTS, checkConfig, learningRate, shapeValue, type ModelConfig } from './config.ts';
import { paramLayout } from './params.ts';

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

describe('ModelConfig variants', () => {
  it('rejects a bad value of each optional field with one error naming it', () => {
    const bad: Array<[Partial<Record<keyof ModelConfig, unknown>>, RegExp]> = [
      [{ activation: 'tanh' }, /config.activation must be relu, gelu, gelu_erf or silu, got tanh/],
      [{ embedScale: 'yes' }, /config.embedScale must be a boolean/],
      [{ positions: 'rotary' }, /config.positions must be interleaved or halves, got rotary/],
      [{ logitsBias: 1 }, /config.logitsBias must be a boolean/],
      [{ tiedOutput: null }, /config.tiedOutput must be a boolean/],
      [{ targetVocabSize: 0 }, /config.targetVocabSize must be a positive integer, got 0/],
      [{ targetVocabSize: 2.5 }, /config.targetVocabSize must be a positive integer/],
    ];
    for (const [over, msg] of bad) expect(() => checkConfig({ ...PRESETS.micro, ...over } as ModelConfig), JSON.stringify(over)).toThrow(msg);
    expect(checkConfig({ ...PRESETS.micro, activation: 'silu', embedScale: false, positions: 'halves', logitsBias: true, tiedOutput: false, targetVocabSize: 30 })).toBeTruthy();
  });

  it('absent fields are the defaults: the layout of an old config is unchanged, a new tensor comes only with its option', () => {
    const names = (c: ModelConfig) => paramLayout(c).tensors.map((t) => t.name);
    const base = names(PRESETS.micro);
    expect(base.filter((n) => /tgt_embed|lm_head|final_logits_bias/.test(n))).toEqual([]);
    expect(names({ ...PRESETS.micro, embedScale: true, positions: 'interleaved', logitsBias: false, tiedOutput: true })).toEqual(base);
    const all = paramLayout({ ...PRESETS.micro, logitsBias: true, tiedOutput: false, targetVocabSize: 30 });
    expect(all.tensors.slice(0, base.length).map((t) => t.name)).toEqual(base); // the new ones come last
    expect(all.tensors.slice(base.length).map((t) => [t.name, t.shape])).toEqual([['tgt_embed.weight', [30, 8]], ['lm_head.weight', [30, 8]], ['final_logits_bias', [30]]]);
    expect(paramLayout({ ...PRESETS.micro, targetVocabSize: 30 }).output.name).toBe('tgt_embed.weight');
    expect(shapeValue(PRESETS.micro, 'targetVocabSize')).toBe(PRESETS.micro.vocabSize);
    expect(shapeValue(PRESETS.micro, 'positions')).toBe('interleaved');
  });
});
