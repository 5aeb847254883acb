// `mt translate`: one sentence a line on stdin, one translation a line on stdout.
import { createInterface } from 'node:readline';
import { loadKernels } from '../../kernels/node.ts';
import { UnsupportedError } from '../../model/engine.ts';
import { createEngine } from '../../model/translator.ts';
import { CliError, num, str, type Command } from '../args.ts';
import { DECODE_OPTIONS, DECODE_USAGE, decodeFlags } from './decode-options.ts';
import { defaultModelDir } from '../paths.ts';
import { readModelDir } from '../model-dir.ts';

export const translateCommand: Command = {
  name: 'translate',
  summary: 'translate stdin to stdout, one sentence a line (an empty line gives an empty line)',
  usage: `
mt translate --from en --to de [--model DIR] [--beam 4] [--alpha 0.6] [--rerank] [--batch 16]
  --model DIR     model folder (config.json, tokenizer.json, weights.safetensors); default: the bundled model${DECODE_USAGE}
  --batch N       lines translated together (default 16)`,
  options: { from: { type: 'string' }, to: { type: 'string' }, model: { type: 'string' }, ...DECODE_OPTIONS, batch: { type: 'string' } },
  async run(v) {
    const source = str(v, 'from');
    const target = str(v, 'to');
    const decode = decodeFlags(v);
    const batch = num(v, 'batch', 16, { min: 1, integer: true });
    const engine = createEngine(readModelDir(v.model ?? defaultModelDir()), loadKernels());
    const opts = { source, target, ...decode };
    const flush = async (lines: string[]) => {
      try {
        const out = await engine.translate(lines, opts);
        process.stdout.write(out.map((r) => r.text + '\n').join(''));
      } catch (e) {
        if (e instanceof UnsupportedError) throw new CliError(e.message);
        throw e;
      }
    };
    await flush([]); // validates the direction before reading input
    let pending: string[] = [];
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      pending.push(line);
      if (pending.length >= batch) {
        await flush(pending);
        pending = [];
      }
    }
    if (pending.length) await flush(pending);
  },
};
