// `mt train` flags that build the run's ModelConfig and TrainConfig beyond plain numbers: model shape
// overrides on a preset, the cooldown, BPE-dropout, R-Drop and per-pair oversampling.
import { checkConfig, type ModelConfig, type TrainConfig } from '../../model/config.ts';
import { CliError, num, optNum } from '../args.ts';
import type { TrainState } from '../checkpoint.ts';

// What --preset picks beyond the tokenizer's vocabulary and --pre-norm, compared with a checkpoint's on resume.
export const PRESET_KEYS = ['dModel', 'dFF', 'heads', 'encoderLayers', 'decoderLayers', 'maxLen', 'activation'] as const;
export const presetShape = (c: ModelConfig): Partial<ModelConfig> => Object.fromEntries(PRESET_KEYS.map((k) => [k, c[k]]));

// --layers E[,D] --d-model N --d-ff N --heads N: the preset's fields they replace (absent flags: none).
export function shapeOf(v: Record<string, any>): Partial<ModelConfig> {
  const out: Partial<ModelConfig> = {};
  if (v.layers !== undefined) {
    const m = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(String(v.layers));
    if (!m || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) {
      throw new CliError(`--layers wants N (both stacks) or ENCODER,DECODER with positive integers, e.g. 6,2; got "${v.layers}"`);
    }
    out.encoderLayers = Number(m[1]);
    out.decoderLayers = Number(m[2] ?? m[1]);
  }
  const dModel = optNum(v, 'd-model', { min: 1, integer: true });
  const dFF = optNum(v, 'd-ff', { min: 1, integer: true });
  const heads = optNum(v, 'heads', { min: 1, integer: true });
  if (dModel !== undefined) out.dModel = dModel;
  if (dFF !== undefined) out.dFF = dFF;
  if (heads !== undefined) out.heads = heads;
  return out;
}

// A new run's shape: the preset with the overrides, checked; a resumed run keeps its checkpoint's shape,
// and a flag asking for another one is refused rather than silently ignored.
export function modelConfig(preset: ModelConfig, shape: Partial<ModelConfig>, resumed?: ModelConfig): ModelConfig {
  if (resumed) {
    for (const [k, want] of Object.entries(shape) as Array<[keyof ModelConfig, unknown]>) {
      if (resumed[k] !== want) throw new CliError(`the checkpoint has ${k} ${resumed[k]}, not ${want}: a new shape needs a new --out`);
    }
    return resumed;
  }
  try {
    return checkConfig({ ...preset, ...shape });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

// A resumed run trains on with the settings saved in its checkpoint (that is what makes a resume exact):
// a flag given with another value is refused rather than silently ignored. --cooldown is the exception
// (it branches a cooldown off the checkpoint); stop conditions, threads and saving are the session's own.
const RESUMED_FLAGS: Array<[flag: string, field: keyof TrainConfig]> = [
  ['batch-tokens', 'batchTokens'], ['accumulate', 'accumulate'], ['warmup', 'warmupSteps'], ['lr-scale', 'lrScale'],
  ['dropout', 'dropout'], ['attention-dropout', 'attentionDropout'], ['label-smoothing', 'labelSmoothing'], ['bpe-dropout', 'bpeDropout'], ['rdrop', 'rdrop'],
];
// `oversample` is the run's parsed --oversample; a checkpoint from before it was recorded takes the flag as given.
export function checkResumed(v: Record<string, any>, state: TrainState, oversample: Record<string, number>): void {
  const given: Array<[string, unknown, unknown]> = RESUMED_FLAGS.map(([flag, field]) => [flag, state.train[field] ?? 0, v[flag]]);
  given.push(['seed', state.seed, v.seed]);
  for (const [flag, had, want] of given) {
    if (want !== undefined && Number(want) !== had) {
      throw new CliError(`the checkpoint was trained with --${flag} ${had}, not ${want}: a resumed run keeps its settings (new ones need a new --out)`);
    }
  }
  // Other pairs would train directions the saved model does not list, or stop training ones it does.
  const list = (s: string) => s.split(',').map((p) => p.trim()).join(',');
  if (list(v.pairs) !== list(state.pairs)) {
    throw new CliError(`the checkpoint was trained on --pairs ${state.pairs}, not ${v.pairs}: a resumed run keeps its pairs (new ones need a new --out)`);
  }
  // --oversample decides what an epoch's batches are.
  const text = (o: Record<string, number>) => Object.entries(o).filter(([, k]) => k !== 1).sort().map(([p, k]) => `${p}=${k}`).join(',') || 'none';
  if (state.oversample && v.oversample !== undefined && text(oversample) !== text(state.oversample)) {
    throw new CliError(`the checkpoint was trained with --oversample ${text(state.oversample)}, not ${text(oversample)}: a resumed run keeps its data (new ones need a new --out)`);
  }
  if (v.name !== undefined && v.name !== state.name) {
    throw new CliError(`the checkpoint's model is named ${state.name}, not ${v.name}: a resumed run keeps its name`);
  }
}

// --cooldown N needs the step budget it counts back from.
export function cooldownOf(v: Record<string, any>): Pick<TrainConfig, 'cooldownSteps' | 'cooldownEnd'> {
  const cd = num(v, 'cooldown', 0, { min: 0, integer: true });
  if (cd === 0) return {};
  const end = optNum(v, 'steps', { min: 1, integer: true });
  if (end === undefined) throw new CliError('--cooldown needs --steps (the step the learning rate reaches 0)');
  if (cd > end) throw new CliError(`--cooldown (${cd}) must not exceed --steps (${end})`);
  return { cooldownSteps: cd, cooldownEnd: end };
}

// A rate in [0, 1): at 1 dropout would keep nothing (and scale by 1/0), BPE-dropout would drop every merge.
export function rateOf(v: Record<string, any>, key: string, def: number): number {
  const p = num(v, key, def, { min: 0 });
  if (p >= 1) throw new CliError(`--${key} must be below 1, got "${v[key]}"`);
  return p;
}

export function bpeDropoutOf(v: Record<string, any>): Pick<TrainConfig, 'bpeDropout'> {
  const p = rateOf(v, 'bpe-dropout', 0);
  return p ? { bpeDropout: p } : {};
}

// --rdrop A: R-Drop's weight on the symmetric KL (0: off).
export function rdropOf(v: Record<string, any>): Pick<TrainConfig, 'rdrop'> {
  const a = num(v, 'rdrop', 0, { min: 0 });
  return a ? { rdrop: a } : {};
}

// "en-de=2,fr-en=3" -> { "en-de": 2, "fr-en": 3 }
export function parseOversample(spec: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!spec) return out;
  for (const part of spec.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new CliError(`--oversample wants PAIR=K with K a positive integer, e.g. en-de=2; got "${part}"`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}
