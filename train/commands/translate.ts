// `mt translate`: one sentence a line on stdin, one translation a line on stdout.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LanguageDetector, detectSource } from '../../model/langid.ts';
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
mt translate --from en|auto --to de [--model DIR] [--beam 4] [--alpha 0.6] [--rerank] [--batch 16]
  --model DIR     model folder (config.json, tokenizer.json, weights.safetensors); default: the bundled model${DECODE_USAGE}
  --batch N       lines translated together (default 16)
  --from auto     detect each line's language (models/langid.json, as the API's source "auto")`,
  options: { from: { type: 'string' }, to: { type: 'string' }, model: { type: 'string' }, ...DECODE_OPTIONS, batch: { type: 'string' } },
  async run(v) {
    const source = str(v, 'from');
    const target = str(v, 'to');
    const decode = decodeFlags(v);
    const batch = num(v, 'batch', 16, { min: 1, integer: true });
    const engine = createEngine(readModelDir(v.model ?? defaultModelDir()), loadKernels());
    const det = source === 'auto' ? LanguageDetector.fromJSON(readFileSync(fileURLToPath(new URL('../../models/langid.json', import.meta.url)), 'utf8')) : undefined;
    const directions = engine.info.directions;
    if (det && !directions.some(([, t]) => t === target)) throw new CliError(`--from auto: nothing translates into '${target}'; supported directions: ${directions.map(([s, t]) => `${s}-${t}`).join(', ')}`);
    // Lines grouped by their detected language, translated group by group, printed in input order.
    const sourceOf = (line: string) => (det ? (detectSource(det, [line], directions, target)?.language ?? directions.find(([, t]) => t === target)![0]) : source);
    const flush = async (lines: string[]) => {
      try {
        const out: string[] = new Array(lines.length);
        const groups = new Map<string, number[]>();
        lines.forEach((l, i) => groups.set(sourceOf(l), [...(groups.get(sourceOf(l)) ?? []), i]));
        if (!lines.length && !det) groups.set(source, []);
        for (const [src, idx] of groups) {
          const r = await engine.translate(idx.map((i) => lines[i]), { source: src, target, ...decode });
          idx.forEach((i, k) => (out[i] = r[k].text));
        }
        process.stdout.write(out.map((t) => t + '\n').join(''));
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
