// `mt translate`: one sentence a line on stdin, one translation a line on stdout. Without --model, over the
// bundled models the way the API routes over its catalog (model/routing.ts): the first model serving the
// direction, else through English; engines are built only for the models a direction needs.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LanguageDetector, detectSource } from '../../model/langid.ts';
import { loadKernels } from '../../kernels/node.ts';
import { type Engine, UnsupportedError } from '../../model/engine.ts';
import { allPairs, describePairs, findRoute } from '../../model/routing.ts';
import { type TextResult, translateTexts } from '../../model/texts.ts';
import { createEngine, parseMeta } from '../../model/translator.ts';
import { CliError, command } from '../args.ts';
import { defineFlags, required } from '../flags.ts';
import { DECODE_FLAGS, decodeRequest } from './decode-options.ts';
import { BUNDLED_MODELS_DIR, bundledModels } from '../paths.ts';
import { checkModelDir, readModelDir } from '../model-dir.ts';

export const translateCommand = command({
  name: 'translate',
  summary: 'translate stdin to stdout, one sentence a line (an empty line gives an empty line)',
  usage: 'mt translate --from en|auto --to de [--model DIR | --models DIR] [--beam 4] [--alpha 0.6] [--rerank] [--batch 16]',
  flags: defineFlags({
    from: { type: 'string', arg: 'LANG', help: 'the source language, or auto: detect each line\'s (models/langid.json, as the API\'s source "auto")' },
    to: { type: 'string', arg: 'LANG', help: 'the target language' },
    model: { type: 'string', arg: 'DIR', help: 'one model folder (config.json, tokenizer.json, weights.safetensors)' },
    models: {
      type: 'string', arg: 'DIR',
      help: 'a folder of model folders, preferred by name (default: the bundled models/); a direction\nno model serves goes through English, as the API\'s pivot',
    },
    ...DECODE_FLAGS,
    batch: { type: 'integer', arg: 'N', min: 1, default: 16, help: 'lines translated together' },
  }),
  async run(v) {
    const source = required(v, 'from');
    const target = required(v, 'to');
    const decode = decodeRequest(v);
    const batch = v.batch;
    if (v.model && v.models) throw new CliError('give --model or --models, not both');
    const folders = v.model ? [{ name: basename(v.model), dir: v.model }] : bundledModels(v.models ?? BUNDLED_MODELS_DIR);
    if (!folders.length) throw new CliError(`no model folders in ${v.models ?? BUNDLED_MODELS_DIR}`);
    const models = folders.map((f) => {
      checkModelDir(f.dir);
      try {
        return { ...f, directions: parseMeta(readFileSync(join(f.dir, 'config.json'), 'utf8')).directions };
      } catch (e) {
        throw new CliError(`bad ${join(f.dir, 'config.json')}: ${(e as Error).message}`);
      }
    });
    const engines = new Map<string, Engine>();
    const engineOf = (name: string) => {
      if (!engines.has(name)) engines.set(name, createEngine(readModelDir(models.find((m) => m.name === name)!.dir), loadKernels()));
      return engines.get(name)!;
    };
    const det = source === 'auto' ? LanguageDetector.fromJSON(readFileSync(fileURLToPath(new URL('../../models/langid.json', import.meta.url)), 'utf8')) : undefined;
    const directions = allPairs(models).map((p): [string, string] => [p.source, p.target]);
    if (det && !directions.some(([, t]) => t === target)) throw new CliError(`--from auto: nothing translates into '${target}'; supported directions: ${describePairs(models)}`);
    const routeOf = (src: string) => {
      const route = findRoute(models, src, target);
      if (!route) throw new CliError(`direction ${src}-${target} is not supported; supported directions: ${describePairs(models)}`);
      return route;
    };
    // Lines grouped by their detected language, translated group by group (leg by leg), printed in input order.
    const sourceOf = (line: string) => (det ? (detectSource(det, [line], directions, target)?.language ?? directions.find(([, t]) => t === target)![0]) : source);
    let lineNo = 0; // lines already written
    const flush = async (lines: string[]) => {
      try {
        if (!lines.length) {
          // No lines: checks the direction and the decoding flags on each leg's engine (built here).
          if (!det) for (const leg of routeOf(source).legs) await engineOf(leg.model).translate([], { source: leg.source, target: leg.target, ...decode });
          return;
        }
        const out: string[] = new Array(lines.length);
        const groups = new Map<string, number[]>();
        lines.forEach((l, i) => groups.set(sourceOf(l), [...(groups.get(sourceOf(l)) ?? []), i]));
        for (const [src, idx] of groups) {
          let texts = idx.map((i) => lines[i]);
          for (const leg of routeOf(src).legs) {
            // Lines go through the hosts' text path (model/texts.ts): long sentences are split, never cut silently.
            const results = await translateTexts(engineOf(leg.model), texts, { source: leg.source, target: leg.target, ...decode });
            results.forEach((r, k) => warnCut(r, lineNo + idx[k] + 1, leg));
            texts = results.map((r) => r.translation);
          }
          idx.forEach((i, k) => (out[i] = texts[k]));
        }
        process.stdout.write(out.map((t) => t + '\n').join(''));
        lineNo += lines.length;
      } catch (e) {
        if (e instanceof UnsupportedError) throw new CliError(e.message);
        throw e;
      }
    };
    await flush([]); // validates the direction (and builds its engines) before reading input
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
});

// One stderr line for each way a line's translation may miss text (model/texts.ts's flags): never silently.
function warnCut(r: TextResult, line: number, leg: { source: string; target: string }): void {
  const where = `mt translate: line ${line} (${leg.source}-${leg.target})`;
  if (r.truncated) process.stderr.write(`${where}: a word longer than the model takes was cut\n`);
  if (r.lengthLimited) process.stderr.write(`${where}: a sentence's translation stopped at the longest output the model may write; its end may be missing\n`);
}
