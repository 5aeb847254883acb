// `mt train`'s flags, declared once (a recipe's keys are checked by the same declarations), and what builds
// the run's ModelConfig and TrainConfig from them beyond plain numbers: model shape overrides on a preset,
// the cooldown, BPE-dropout, R-Drop, per-pair oversampling, and the settings a resumed run keeps.
import { PRESETS, TRAIN_DEFAULTS as T, checkConfig, type ModelConfig, type TrainConfig } from '../../model/config.ts';
import { CliError } from '../args.ts';
import type { TrainState } from '../checkpoint.ts';
import { CORPUS_FLAGS } from '../corpus.ts';
import { UsageError, defineFlags, type FlagValues } from '../flags.ts';

// A rate in [0, 1): at 1 dropout would keep nothing (and scale by 1/0), BPE-dropout would drop every merge.
const rate = (def: number, help: string) => ({ type: 'number', arg: 'P', min: 0, below: 1, default: def, help }) as const;

export const TRAIN_FLAGS = defineFlags({
  tokenizer: { type: 'string', arg: 'FILE', help: 'the tokenizer.json (mt tokenizer)' },
  out: { type: 'string', arg: 'DIR', help: 'the run folder: checkpoints, metrics, the model; resumes from the newest checkpoint in it' },
  config: {
    type: 'string', arg: 'FILE',
    help: 'a recipe: flags by name plus "corpora" (several, each with a weight) and "valid";\nflags on the command line override the recipe\'s (recipes/README.md)',
  },
  init: {
    type: 'string', arg: 'MODEL',
    help: "start from a model folder's weights (f32, or int8 dequantized) and shape, with a fresh\noptimizer and learning-rate schedule: fine-tuning, or continuing a run whose checkpoints\nare gone; --tokenizer defaults to its tokenizer.json (a checkpoint in --out wins: resume)",
  },
  'data-root': { type: 'string', arg: 'DIR', help: "where a recipe's relative corpus paths start (default $MT_DATA, else ../shared/data)" },
  ...CORPUS_FLAGS,
  preset: { type: 'string', arg: 'NAME', default: 'tiny', choices: Object.keys(PRESETS), help: 'model size (model/config.ts)' },
  layers: { type: 'string', arg: 'E[,D]', help: "encoder and decoder layers (one number: both), replacing the preset's" },
  'd-model': { type: 'integer', arg: 'N', min: 1, help: "the preset's d_model, replaced (it must divide by --heads)" },
  'd-ff': { type: 'integer', arg: 'N', min: 1, help: "the preset's d_ff, replaced" },
  heads: { type: 'integer', arg: 'N', min: 1, help: "the preset's attention heads, replaced" },
  'pre-norm': { type: 'boolean', help: "pre-norm residual blocks instead of the paper's post-norm" },
  steps: { type: 'number', arg: 'N', min: 0, help: 'stop after N optimizer steps (default: no limit)' },
  cooldown: {
    type: 'integer', arg: 'N', min: 0, default: 0,
    help: "decay the learning rate linearly to 0 over the last N of --steps (0: the paper's);\ngiven when resuming, it branches that cooldown off the checkpoint",
  },
  oversample: { type: 'string', arg: 'P=K', help: 'repeat the examples of pair P K times per epoch, e.g. en-de=2 (comma-separated)' },
  epochs: { type: 'number', arg: 'N', min: 0, help: 'stop after N passes over the data' },
  hours: { type: 'number', arg: 'H', min: 0, help: 'stop after H hours of training (counts across resumes)' },
  'batch-tokens': { type: 'integer', arg: 'N', min: 16, default: T.batchTokens, help: 'source + target tokens per batch' },
  accumulate: { type: 'integer', arg: 'N', min: 1, default: T.accumulate, help: 'batches per optimizer step' },
  warmup: { type: 'integer', arg: 'N', min: 1, default: T.warmupSteps, help: 'warmup steps of the learning-rate schedule' },
  'lr-scale': { type: 'number', arg: 'X', min: 0, default: T.lrScale, help: "multiplies the paper's learning rate" },
  dropout: rate(T.dropout, 'residual dropout'),
  'attention-dropout': rate(T.attentionDropout, 'dropout on attention weights (0.1 in tensor2tensor)'),
  'label-smoothing': rate(T.labelSmoothing, 'label smoothing epsilon'),
  'bpe-dropout': rate(0, 'BPE-dropout: re-segment the corpus every epoch skipping each merge with probability P\n(0.1 in Provilkov et al. 2020); translation uses plain BPE'),
  rdrop: {
    type: 'number', arg: 'A', min: 0, default: 0,
    help: 'R-Drop: run each batch twice under different dropout masks and add A times the\nsymmetric KL of the two outputs to the loss (0: off; 5 in Liang et al. 2021\nfor translation); a step costs twice the compute',
  },
  threads: { type: 'integer', arg: 'N', min: 1, default: 2, help: 'data-parallel threads' },
  seed: { type: 'integer', arg: 'N', default: 1, help: 'the seed of initialization, batches and dropout' },
  name: { type: 'string', arg: 'NAME', default: 'multi30k', help: 'model name recorded in config.json' },
  'save-minutes': { type: 'number', arg: 'M', min: 0, default: 10, help: 'checkpoint every M minutes, and on Ctrl-C' },
  keep: { type: 'integer', arg: 'K', min: 1, default: 5, help: 'checkpoints kept for averaging' },
  'valid-every': { type: 'integer', arg: 'N', min: 1, default: 500, help: 'validation loss every N steps when there is a validation set' },
});
export type TrainFlags = FlagValues<typeof TRAIN_FLAGS>;

// What --preset picks beyond the tokenizer's vocabulary and --pre-norm, compared with a checkpoint's on resume.
export const PRESET_KEYS = ['dModel', 'dFF', 'heads', 'encoderLayers', 'decoderLayers', 'maxLen', 'activation'] as const;
export const presetShape = (c: ModelConfig): Partial<ModelConfig> => Object.fromEntries(PRESET_KEYS.map((k) => [k, c[k]]));

// --layers E[,D] --d-model N --d-ff N --heads N: the preset's fields they replace (absent flags: none).
export function shapeOf(v: TrainFlags): Partial<ModelConfig> {
  const out: Partial<ModelConfig> = {};
  if (v.layers !== undefined) {
    const m = /^\s*(\d+)\s*(?:,\s*(\d+)\s*)?$/.exec(v.layers);
    if (!m || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) {
      throw new UsageError(`--layers wants N (both stacks) or ENCODER,DECODER with positive integers, e.g. 6,2; got "${v.layers}"`);
    }
    out.encoderLayers = Number(m[1]);
    out.decoderLayers = Number(m[2] ?? m[1]);
  }
  if (v['d-model'] !== undefined) out.dModel = v['d-model'];
  if (v['d-ff'] !== undefined) out.dFF = v['d-ff'];
  if (v.heads !== undefined) out.heads = v.heads;
  return out;
}

// A new run's shape: the preset with the overrides, checked; a resumed run keeps its checkpoint's shape,
// and a flag asking for another one is refused rather than silently ignored.
// `init`: the --init model's shape, which a new run takes the same way.
export function modelConfig(preset: ModelConfig, shape: Partial<ModelConfig>, resumed?: ModelConfig, init?: ModelConfig): ModelConfig {
  const kept = resumed ?? init;
  if (kept) {
    for (const [k, want] of Object.entries(shape) as Array<[keyof ModelConfig, unknown]>) {
      if (kept[k] !== want) throw new CliError(resumed ? `the checkpoint has ${k} ${resumed[k]}, not ${want}: a new shape needs a new --out` : `the --init model has ${k} ${kept[k]}, not ${want}: its weights fix the shape`);
    }
    return kept;
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
const RESUMED_FLAGS: Array<[flag: keyof TrainFlags, field: keyof TrainConfig]> = [
  ['batch-tokens', 'batchTokens'], ['accumulate', 'accumulate'], ['warmup', 'warmupSteps'], ['lr-scale', 'lrScale'],
  ['dropout', 'dropout'], ['attention-dropout', 'attentionDropout'], ['label-smoothing', 'labelSmoothing'], ['bpe-dropout', 'bpeDropout'], ['rdrop', 'rdrop'],
];
// `given`: the flags set on the command line or in the recipe; `oversample` is the run's parsed --oversample
// (a checkpoint from before it was recorded takes the flag as given).
export function checkResumed(v: TrainFlags, given: ReadonlySet<string>, state: TrainState, oversample: Record<string, number>): void {
  const asked: Array<[string, unknown, unknown]> = [...RESUMED_FLAGS.map(([flag, field]): [string, unknown, unknown] => [flag, state.train[field] ?? 0, v[flag]]), ['seed', state.seed, v.seed]];
  for (const [flag, had, want] of asked) {
    if (given.has(flag) && want !== had) {
      throw new CliError(`the checkpoint was trained with --${flag} ${had}, not ${want}: a resumed run keeps its settings (new ones need a new --out)`);
    }
  }
  // Other pairs would train directions the saved model does not list, or stop training ones it does.
  const list = (s: string) => s.split(',').map((p) => p.trim()).join(',');
  if (list(v.pairs ?? '') !== list(state.pairs)) {
    throw new CliError(`the checkpoint was trained on --pairs ${state.pairs}, not ${v.pairs}: a resumed run keeps its pairs (new ones need a new --out)`);
  }
  // --oversample decides what an epoch's batches are.
  const text = (o: Record<string, number>) => Object.entries(o).filter(([, k]) => k !== 1).sort().map(([p, k]) => `${p}=${k}`).join(',') || 'none';
  if (state.oversample && v.oversample !== undefined && text(oversample) !== text(state.oversample)) {
    throw new CliError(`the checkpoint was trained with --oversample ${text(state.oversample)}, not ${text(oversample)}: a resumed run keeps its data (new ones need a new --out)`);
  }
  if (given.has('name') && v.name !== state.name) {
    throw new CliError(`the checkpoint's model is named ${state.name}, not ${v.name}: a resumed run keeps its name`);
  }
}

// --cooldown N needs the step budget it counts back from.
export function cooldownOf(v: TrainFlags): Pick<TrainConfig, 'cooldownSteps' | 'cooldownEnd'> {
  const cd = v.cooldown;
  if (cd === 0) return {};
  const end = v.steps;
  if (end === undefined) throw new UsageError('--cooldown needs --steps (the step the learning rate reaches 0)');
  if (!Number.isInteger(end) || end < 1) throw new UsageError(`--steps must be an integer >= 1 with --cooldown, got "${end}"`);
  if (cd > end) throw new UsageError(`--cooldown (${cd}) must not exceed --steps (${end})`);
  return { cooldownSteps: cd, cooldownEnd: end };
}

// The TrainConfig of a new run: the flags' values, BPE-dropout and R-Drop only when on.
export function trainConfigOf(v: TrainFlags): TrainConfig {
  return {
    ...T,
    batchTokens: v['batch-tokens'],
    accumulate: v.accumulate,
    warmupSteps: v.warmup,
    lrScale: v['lr-scale'],
    dropout: v.dropout,
    attentionDropout: v['attention-dropout'],
    labelSmoothing: v['label-smoothing'],
    ...(v['bpe-dropout'] ? { bpeDropout: v['bpe-dropout'] } : {}),
    ...(v.rdrop ? { rdrop: v.rdrop } : {}),
    ...cooldownOf(v),
  };
}

// "en-de=2,fr-en=3" -> { "en-de": 2, "fr-en": 3 }
export function parseOversample(spec: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!spec) return out;
  for (const part of spec.split(',')) {
    const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new UsageError(`--oversample wants PAIR=K with K a positive integer, e.g. en-de=2; got "${part}"`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}
