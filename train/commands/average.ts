// `mt average`: averages the parameters of the newest K checkpoints into a model folder (Vaswani et al. 6.1).
import { join } from 'node:path';
import { paramLayout } from '../../model/params.ts';
import { CliError, command, loadTokenizer } from '../args.ts';
import { listCheckpoints, loadTensors, readCheckpoint } from '../checkpoint.ts';
import { UsageError } from '../flags.ts';
import { exportModel } from '../model-dir.ts';

export const averageCommand = command({
  name: 'average',
  summary: 'average the last K checkpoints of a training folder into a model folder',
  usage: 'mt average RUN_DIR [--last 5] [--out RUN_DIR/model]',
  flags: {
    last: { type: 'integer', arg: 'K', min: 1, default: 5, help: 'how many of the newest checkpoints' },
    out: { type: 'string', arg: 'DIR', help: 'the model folder (default RUN_DIR/model)' },
  },
  async run(v, [dir]) {
    if (!dir) throw new UsageError('give the training folder (the --out of mt train)');
    const k = v.last;
    const names = listCheckpoints(dir).slice(-k);
    if (!names.length) throw new CliError(`no checkpoints in ${dir}`);
    const tokenizer = loadTokenizer(join(dir, 'tokenizer.json'));
    let sum: Float64Array | undefined;
    let state;
    let layout;
    for (const name of names) {
      const ck = readCheckpoint(join(dir, name));
      state ??= ck.state;
      layout ??= paramLayout(ck.state.config);
      if (JSON.stringify(ck.state.config) !== JSON.stringify(state.config)) throw new CliError(`${name} has a different model shape`);
      const flat = new Float32Array(layout.total);
      loadTensors(layout, ck.tensors, flat);
      sum ??= new Float64Array(layout.total);
      for (let i = 0; i < flat.length; i++) sum[i] += flat[i];
    }
    const avg = Float32Array.from(sum!, (x) => x / names.length);
    const out = v.out ?? join(dir, 'model');
    exportModel(out, layout!, avg, tokenizer, state!.pairs, state!.name);
    console.error(`averaged ${names.length} checkpoints (${names[0]} .. ${names[names.length - 1]}) -> ${out}`);
  },
});
