// `mt train`: trains (or resumes) a model on one or more language pairs, checkpointing as it goes.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, TRAIN_DEFAULTS, modelShape, type ModelConfig, type TrainConfig } from '../../model/config.ts';
import { mulberry32, parameterCount } from '../../model/params.ts';
import { CliError, command, loadTokenizer } from '../args.ts';
import { loadTensors, resumeCheckpoint, saveCheckpoint, writeAtomic, type TrainState } from '../checkpoint.ts';
import { encodeCorpus, loadExamples, pairsOf, readCorpus, type CorpusSpec } from '../corpus.ts';
import { makeBatches, type Example } from '../data.ts';
import { appendMetrics, truncateMetrics, writeCurves } from '../metrics.ts';
import { exportModel, readModelDir } from '../model-dir.ts';
import { dequantizeTensors } from '../../model/quant.ts';
import { loadKernels } from '../../kernels/node.ts';
import { parse, type Tensor } from '../../model/safetensors.ts';
import { Progress, formatSeconds } from '../progress.ts';
import { Trainer } from '../trainer.ts';
import { overlay, required } from '../flags.ts';
import { defaultDataRoot, describeMix, encodeMix, epochExamples, mixPairs, parseRecipe, readMix, type EncodedPart, type Recipe } from '../mix.ts';
import { TRAIN_FLAGS, checkResumed, cooldownOf, modelConfig, parseOversample, PRESET_KEYS, presetShape, shapeOf, trainConfigOf } from './train-options.ts';

export const trainCommand = command({
  name: 'train',
  summary: 'train a translation model (resumes from the newest checkpoint in --out)',
  usage: `
mt train --tokenizer FILE --out DIR --pairs en-de[,de-en,...] (--data DIR | --src FILE --tgt FILE | --tsv FILE)
mt train --config recipes/NAME.json --tokenizer FILE --out DIR`,
  flags: TRAIN_FLAGS,
  notes: `
Corpora: --data DIR reads DIR/train.<lang>[.gz] (Multi30k layout) for every pair; --src/--tgt read two
line-aligned files and --tsv one source<TAB>target file, for the single pair in --pairs.
Resuming keeps the checkpoint's model, --pairs, --oversample, --name and training settings (so the run
continues exactly); a flag asking for other values is refused (--cooldown excepted).`,
  async run(cli, _, cliGiven) {
    const recipe = cli.config !== undefined ? readRecipe(cli.config) : undefined;
    // The recipe's flags (checked by the same declarations) under the command line's.
    const { values: v, given } = recipe ? overlay(TRAIN_FLAGS, recipe.flags, { values: cli, given: cliGiven }) : { values: cli, given: cliGiven };
    if (recipe?.corpora.length) {
      for (const k of ['pairs', 'data', 'src', 'tgt', 'tsv', 'oversample'] as const) if (cli[k] !== undefined) throw new CliError(`--${k} and a recipe's corpora do not go together: the recipe says what to train on`);
      v.pairs = mixPairs(recipe.corpora);
    }
    const out = required(v, 'out');
    const init = v.init !== undefined ? readInit(v.init) : undefined;
    const tokenizer = loadTokenizer(v.tokenizer ?? (init ? join(v.init!, 'tokenizer.json') : required(v, 'tokenizer')));
    const corpus: CorpusSpec = { pairs: required(v, 'pairs'), data: v.data, src: v.src, tgt: v.tgt, tsv: v.tsv };
    if (!recipe?.corpora.length) pairsOf(corpus, tokenizer.languages);
    const oversample = parseOversample(v.oversample);
    let found;
    try {
      found = resumeCheckpoint(out, (msg) => console.error(`warning: ${msg}`));
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const latest = found?.path;
    const resumed = found?.loaded;
    const preset = PRESETS[v.preset];
    // An explicit --preset or --pre-norm is part of the asked-for shape, checked against a checkpoint's.
    const asked: Partial<ModelConfig> = { ...(given.has('preset') ? presetShape(preset) : {}), ...shapeOf(v), ...(v['pre-norm'] ? { preNorm: true } : {}) };
    // A resumed run's shape is its checkpoint's; a new run from --init takes the model's (flags may only agree).
    const config: ModelConfig = modelConfig({ ...preset, vocabSize: tokenizer.vocabSize, preNorm: v['pre-norm'] }, asked, resumed?.state.config, init?.config);
    if (init && !resumed && init.config.vocabSize !== tokenizer.vocabSize) throw new CliError(`--init ${v.init} has a ${init.config.vocabSize}-token vocabulary, the tokenizer ${tokenizer.vocabSize}: give the model's own tokenizer`);
    if (init && resumed) console.error(`warning: resuming from the checkpoint in ${out}; --init ${v.init} applies only to a new run`);
    if (resumed) checkResumed(v, given, resumed.state, oversample);
    if (config.vocabSize !== tokenizer.vocabSize) throw new CliError(`checkpoint vocabulary (${config.vocabSize}) does not match the tokenizer (${tokenizer.vocabSize})`);
    // --cooldown on a resumed run branches a cooldown off that checkpoint (the schedule is otherwise the run's own).
    const branched = resumed && given.has('cooldown') ? { ...resumed.state.train, ...cooldownOf(v) } : undefined;
    const tc: TrainConfig = branched ?? resumed?.state.train ?? trainConfigOf(v);
    // Checked before the trainer starts its threads. R-Drop needs dropout for its two passes to differ.
    if (tc.rdrop && !tc.dropout && !tc.attentionDropout) throw new CliError('--rdrop needs dropout (--dropout or --attention-dropout above 0): without it both passes are the same');
    // A cooled-down run ends where its learning rate reaches 0; resuming it without --steps goes there.
    if (resumed && branched && branched.cooldownEnd! <= resumed.state.step) throw new CliError(`--steps (${branched.cooldownEnd}) must be past the checkpoint's step ${resumed.state.step}`);
    const cooldownEnd = tc.cooldownSteps ? (tc.cooldownEnd ?? 0) : Infinity;
    const maxSteps = v.steps ?? cooldownEnd;
    if (maxSteps > cooldownEnd) throw new CliError(`this run's learning rate reaches 0 at step ${cooldownEnd} (--cooldown): train further in a new --out`);
    const seed = resumed?.state.seed ?? v.seed;
    const maxEpochs = v.epochs ?? Infinity;
    const maxSeconds = (v.hours ?? Infinity) * 3600;
    const saveMs = v['save-minutes'] * 60_000;
    const { keep, threads, name } = v;
    const validEvery = v['valid-every'];
    // The corpus is read once every flag has been checked: a refused run costs no corpus reading.
    const mixKey = recipe?.corpora.length ? JSON.stringify(recipe.corpora) : undefined;
    if (resumed && (resumed.state.mix ?? undefined) !== mixKey) throw new CliError(`the checkpoint was trained on ${resumed.state.mix ? 'another recipe\'s corpora' : 'the corpus flags, not a recipe'}: a resumed run keeps its data (new data needs a new --out)`);
    const root = v['data-root'] ?? defaultDataRoot();
    const mix = recipe?.corpora.length ? readMix(tokenizer, recipe.corpora, root) : undefined;
    const trainText = mix ? undefined : readCorpus(tokenizer, corpus, 'train', resumed?.state.oversample ?? oversample);
    // Training pairs are cut at maxTokens (long pairs cost memory and teach little), or at what the model holds.
    const maxTokens = Math.min(TRAIN_DEFAULTS.maxTokens, config.maxLen);
    const mixParts: EncodedPart[] | undefined = mix && encodeMix(tokenizer, mix, maxTokens);
    if (mix && mixParts) console.error(`corpora (pairs kept x weight = share of an epoch):\n${describeMix(mix, mixParts)}`);
    const train = trainText ? encodeCorpus(tokenizer, trainText, maxTokens) : [];
    // Validation keeps pairs up to what the model can hold (longer than the training cut, never past maxLen).
    const valid = recipe?.valid.length
      ? encodeMix(tokenizer, readMix(tokenizer, recipe.valid, root), config.maxLen).flatMap((p) => p.examples)
      : v.data ? loadExamples(tokenizer, corpus, 'val', config.maxLen) : undefined;
    mkdirSync(out, { recursive: true });
    const trainer = Trainer.create({ config, train: tc, seed, threads, specials: tokenizer.specials });
    let stop = false;
    const onSignal = () => (stop = true);
    try {
      const state: TrainState = resumed ? { ...resumed.state, train: tc } : { step: 0, epoch: 0, batchIndex: 0, seed, config, train: tc, tokensSeen: 0, elapsedSeconds: 0, pairs: corpus.pairs, oversample, name, ...(mixKey ? { mix: mixKey } : {}) };
      writeAtomic(join(out, 'tokenizer.json'), JSON.stringify(tokenizer.toJSON()));
      if (resumed) {
        loadTensors(trainer.layout, resumed.tensors, trainer.paramsView());
        const { m, v: vv } = trainer.adamView();
        loadTensors(trainer.layout, resumed.tensors, m, 'adam.m.');
        loadTensors(trainer.layout, resumed.tensors, vv, 'adam.v.');
        trainer.step = state.step;
        console.error(`resumed from ${latest} at step ${state.step}`);
      } else if (init) {
        loadTensors(trainer.layout, init.tensors(), trainer.paramsView());
        console.error(`starting from the weights of ${v.init}`);
      }
      const metricsPath = join(out, 'metrics.jsonl');
      // Rows logged after the checkpoint (a run killed between saves) are dropped: the resumed run logs those steps again.
      if (resumed) truncateMetrics(metricsPath, state.step);
      console.error(`training ${describe(config)} (${parameterCount(trainer.layout)} parameters) on ${mixParts ? `${mixParts.reduce((a, p) => a + Math.round(p.weight * p.examples.length), 0)} pairs an epoch` : `${train.length} pairs`}, ${trainer.threads} threads${tc.attentionDropout ? `, attention dropout ${tc.attentionDropout}` : ''}${tc.bpeDropout ? `, BPE-dropout ${tc.bpeDropout}` : ''}${tc.rdrop ? `, R-Drop alpha ${tc.rdrop}` : ''}`);

      const save = () => {
        const { m, v: vv } = trainer.adamView();
        saveCheckpoint(out, trainer.layout, state, trainer.paramsView(), m, vv, keep);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const t0 = Date.now();
      const elapsed0 = state.elapsedSeconds;
      let lastSave = Date.now();
      let windowTokens = 0;
      let windowStart = Date.now();
      const progress = new Progress('train', Number.isFinite(maxSteps) ? maxSteps : Number.isFinite(maxSeconds) ? maxSeconds : 1);
      // An epoch's batches depend only on (seed, epoch): made once per epoch (sorting every step cost ~10%).
      let batches: Example[][] = [];
      let batchesEpoch = -1;
      const validBatches = valid && makeBatches(valid, tc.batchTokens, 0);
      while (!stop && state.step < maxSteps && state.epoch < maxEpochs && state.elapsedSeconds < maxSeconds) {
        if (batchesEpoch !== state.epoch) {
          // Under BPE-dropout each epoch has its own segmentation, from (seed, epoch): a resume redoes it exactly.
          const dropout = tc.bpeDropout ? { p: tc.bpeDropout, rand: mulberry32(seed * 104729 + state.epoch) } : undefined;
          const examples = mix
            ? epochExamples(dropout ? encodeMix(tokenizer, mix, maxTokens, dropout) : mixParts!, seed, state.epoch)
            : dropout ? encodeCorpus(tokenizer, trainText!, maxTokens, dropout) : train;
          batches = makeBatches(examples, tc.batchTokens, seed * 7919 + state.epoch);
          batchesEpoch = state.epoch;
        }
        if (state.batchIndex >= batches.length) {
          state.epoch++;
          state.batchIndex = 0;
          continue;
        }
        const micro: Example[][] = batches.slice(state.batchIndex, state.batchIndex + tc.accumulate);
        const r = await trainer.trainStep(micro);
        state.batchIndex += micro.length;
        state.step = trainer.step;
        state.tokensSeen += r.tokens + r.srcTokens;
        state.elapsedSeconds = elapsed0 + (Date.now() - t0) / 1000;
        windowTokens += r.tokens + r.srcTokens;
        if (!Number.isFinite(r.loss)) throw new CliError(`loss is ${r.loss} at step ${state.step}: lower --lr-scale or use --pre-norm`);
        const tps = windowTokens / ((Date.now() - windowStart) / 1000);
        if (state.step % 20 === 0) {
          appendMetrics(metricsPath, { kind: 'train', step: state.step, epoch: state.epoch, loss: r.loss, ...(tc.rdrop ? { kl: r.kl } : {}), lr: r.lr, gradNorm: r.gradNorm, tokensPerSecond: Math.round(tps), elapsed: Math.round(state.elapsedSeconds) });
          windowTokens = 0;
          windowStart = Date.now();
        }
        progress.update(Number.isFinite(maxSteps) ? state.step : state.elapsedSeconds, `step ${state.step} ep ${state.epoch} loss ${r.loss.toFixed(3)}${tc.rdrop ? ` kl ${r.kl.toFixed(3)}` : ''} ${Math.round(tps)} tok/s`);
        if (validBatches && state.step % validEvery === 0) {
          const vl = await trainer.evalLoss(validBatches);
          appendMetrics(metricsPath, { kind: 'valid', step: state.step, epoch: state.epoch, loss: vl.loss / vl.tokens });
          console.error(`step ${state.step}: valid loss ${(vl.loss / vl.tokens).toFixed(3)} (${formatSeconds(state.elapsedSeconds)} elapsed)`);
        }
        if (Date.now() - lastSave > saveMs) {
          save();
          lastSave = Date.now();
        }
      }
      save();
      writeCurves(metricsPath, join(out, 'curves.svg'));
      exportModel(join(out, 'model'), trainer.layout, trainer.paramsView(), tokenizer, state.pairs, state.name);
      progress.done(`stopped at step ${state.step}, epoch ${state.epoch}; checkpoint and model in ${out}`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await trainer.close();
    }
  },
});

// "tiny" when the shape is a preset's, else "6+2 layers, d_model 128, d_ff 256, 4 heads".
function describe(c: ModelConfig): string {
  const preset = Object.keys(PRESETS).find((n) => PRESET_KEYS.every((k) => PRESETS[n][k] === c[k]));
  return preset ?? `${c.encoderLayers}+${c.decoderLayers} layers, d_model ${c.dModel}, d_ff ${c.dFF}, ${c.heads} heads`;
}

// --init's model folder: its shape now, its weights (f32; int8 dequantized) once the trainer exists.
function readInit(dir: string): { config: ModelConfig; tensors: () => Map<string, Tensor> } {
  const model = readModelDir(dir);
  if (model.meta.parts?.length) throw new CliError(`--init ${dir}: a model combined from per-direction parts cannot be a starting point (train from one of them)`);
  if (model.meta.generation) throw new CliError(`--init ${dir}: an imported model keeps its own tokenizer and search rules, which training does not handle yet`);
  const config = modelShape(model.meta);
  return {
    config,
    tensors: () => {
      try {
        return dequantizeTensors(config, parse(model.weights).tensors, loadKernels());
      } catch (e) {
        throw e instanceof CliError ? new CliError(`--init ${dir}: ${e.message}`) : new CliError(`--init ${dir}: unreadable weights (${(e as Error).message})`);
      }
    },
  };
}

function readRecipe(path: string): Recipe {
  if (!existsSync(path)) throw new CliError(`recipe not found: ${path}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`${path}: not JSON (${(e as Error).message})`);
  }
  return parseRecipe(json, path);
}
