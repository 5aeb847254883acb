// The BLEU floor of a bundled model: models/<name>/floor.json holds, per direction, the cased BLEU
// (train/bleu.ts, sacreBLEU's 13a) the model must stay above on the first `lines` pairs of that direction in
// its recipe's `valid` data (recipes/<name>.json; paths from the data root: $MT_DATA, else ../shared/data),
// decoded with beam `beam` (1: greedy) through the hosts' split-translate-join. A regression guard
// (train/floor.test.ts): a broken model, tokenizer, kernel or decoder falls far below it; a slightly worse
// model does not, as the floors sit a few BLEU under the measured scores.
//
// `npx node train/floor.ts models/NAME [--lines 100] [--beam 1] [--margin 5]` measures a model the same
// way and prints a floor.json with each score less the margin.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadKernels } from '../kernels/node.ts';
import { translateTexts } from '../model/texts.ts';
import { createEngine } from '../model/translator.ts';
import { corpusBleu } from './bleu.ts';
import { defaultDataRoot, entryDirections, parseRecipe, readEntry } from './mix.ts';
import { readModelDir } from './model-dir.ts';
import { REPO_ROOT } from './paths.ts';

export const FLOOR_FILE = 'floor.json';

export interface Floor {
  lines: number; // sample: the first `lines` pairs of each direction
  beam: number; // 1 = greedy
  bleu: Record<string, number>; // "en-de" -> the cased BLEU to stay above
}

// A model folder's floor.json, checked; one line naming the problem when it is missing or wrong.
export function readFloor(dir: string): Floor {
  const path = join(dir, FLOOR_FILE);
  if (!existsSync(path)) throw new Error(`${path} is missing: every bundled model has a BLEU floor (measure it with \`npx node train/floor.ts ${dir}\`)`);
  const f = JSON.parse(readFileSync(path, 'utf8')) as Partial<Floor>;
  const positiveInt = (x: unknown) => Number.isInteger(x) && (x as number) > 0;
  if (!positiveInt(f.lines)) throw new Error(`${path}: "lines" must be a positive integer`);
  if (!positiveInt(f.beam)) throw new Error(`${path}: "beam" must be a positive integer`);
  const bleu = f.bleu ?? {};
  if (typeof bleu !== 'object' || !Object.keys(bleu).length) throw new Error(`${path}: "bleu" must map directions ("en-de") to floors`);
  for (const [dir, v] of Object.entries(bleu)) {
    if (!/^[a-z]{2,3}-[a-z]{2,3}$/.test(dir) || typeof v !== 'number' || !(v >= 0 && v <= 100)) throw new Error(`${path}: "bleu"."${dir}" must be a direction and a BLEU from 0 to 100`);
  }
  return { lines: f.lines!, beam: f.beam!, bleu };
}

export interface Sample {
  src: string[];
  refs: string[];
}

// The first `lines` pairs of every direction of recipes/<name>.json's `valid` corpora, by direction.
export function validSamples(name: string, lines: number, dataRoot = defaultDataRoot(), recipes = join(REPO_ROOT, 'recipes')): Map<string, Sample> {
  const path = join(recipes, `${name}.json`);
  if (!existsSync(path)) throw new Error(`${path} is missing: a bundled model's validation data is its recipe's "valid" corpora`);
  const recipe = parseRecipe(JSON.parse(readFileSync(path, 'utf8')), path);
  if (!recipe.valid.length) throw new Error(`${path} lists no "valid" corpora`);
  const samples = new Map<string, Sample>();
  for (const e of recipe.valid) {
    const par = readEntry(e, dataRoot);
    const first = e.pair.split('-')[0];
    for (const [s, t] of entryDirections(e)) {
      const sample = samples.get(`${s}-${t}`) ?? { src: [], refs: [] };
      const [src, refs] = s === first ? [par.src, par.tgt] : [par.tgt, par.src];
      const n = Math.max(0, lines - sample.src.length);
      sample.src.push(...src.slice(0, n));
      sample.refs.push(...refs.slice(0, n));
      samples.set(`${s}-${t}`, sample);
    }
  }
  return samples;
}

// Cased BLEU of the model in `dir` on each sample, as the floor says to decode.
export async function sampleScores(dir: string, samples: Map<string, Sample>, beam: number): Promise<Record<string, number>> {
  const engine = createEngine(readModelDir(dir), loadKernels());
  const scores: Record<string, number> = {};
  for (const [direction, { src, refs }] of samples) {
    const [source, target] = direction.split('-');
    const hyps = (await translateTexts(engine, src, { source, target, beam })).map((r) => r.translation);
    scores[direction] = corpusBleu(hyps, refs).score;
  }
  return scores;
}

// The directions whose score is not above their floor (or has no score), as "en-de: 12.30 <= 30".
export function belowFloor(scores: Record<string, number>, floor: Floor): string[] {
  return Object.entries(floor.bleu)
    .filter(([d, min]) => !(scores[d] > min))
    .map(([d, min]) => `${d}: ${scores[d] === undefined ? 'no score' : scores[d].toFixed(2)} <= ${min}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { lines: { type: 'string', default: '100' }, beam: { type: 'string', default: '1' }, margin: { type: 'string', default: '5' } } });
  if (positionals.length !== 1) {
    console.error('usage: npx node train/floor.ts models/NAME [--lines 100] [--beam 1] [--margin 5]');
    process.exit(2);
  }
  const dir = positionals[0];
  const [lines, beam, margin] = [Number(values.lines), Number(values.beam), Number(values.margin)];
  const scores = await sampleScores(dir, validSamples(basename(dir.replace(/\/+$/, '')), lines), beam);
  console.error(Object.entries(scores).map(([d, s]) => `${d} ${s.toFixed(2)}`).join(', '));
  const bleu = Object.fromEntries(Object.entries(scores).map(([d, s]) => [d, Math.max(0, Math.floor(s - margin))]));
  console.log(JSON.stringify({ lines, beam, bleu }, null, 2));
}
