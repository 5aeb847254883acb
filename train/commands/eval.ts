// `mt eval`: BLEU (sacreBLEU-style: 13a, cased, detokenized), lowercased BLEU and chrF per direction.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadKernels } from '../../kernels/node.ts';
import { createEngine } from '../../model/translator.ts';
import { CliError, command } from '../args.ts';
import { corpusBleu, corpusChrf } from '../bleu.ts';
import { writeAtomic } from '../checkpoint.ts';
import { CORPUS_FLAGS, pairsOf, readPair, type CorpusSpec } from '../corpus.ts';
import { readModelDir } from '../model-dir.ts';
import type { PartSpec } from '../../model/parts.ts';
import { defaultModelDir } from '../paths.ts';
import { Progress } from '../progress.ts';
import { defineFlags, required } from '../flags.ts';
import { DECODE_FLAGS, decodeRequest } from './decode-options.ts';

export interface EvalRow {
  pair: string;
  split: string;
  sentences: number;
  alpha: number;
  rerankWeight?: number; // when reranked
  bleu: number;
  bleuLower: number;
  chrf: number;
}

const EVAL_FLAGS = defineFlags({
  ...CORPUS_FLAGS,
  split: { type: 'string', arg: 'NAME', default: 'test_2016_flickr', help: 'the split --data reads' },
  columns: { type: 'string', arg: 'A-B', help: "the languages of the TSV's two columns: it then scores A-B and B-A alike" },
  model: { type: 'string', arg: 'DIR', help: 'model folder (default: the bundled model)' },
  ...DECODE_FLAGS,
  limit: { type: 'integer', arg: 'N', min: 1, help: 'first N sentences only' },
  out: { type: 'string', arg: 'FILE', help: 'also write the hypotheses of the (single) pair, one a line' },
  json: { type: 'boolean', help: 'print the results as one JSON line' },
  record: {
    type: 'boolean',
    help: `write each pair's cased BLEU into the model's config.json "bleu" (mt push copies it into
      the manifest, and /v1/models shows it); with --alpha, also that alpha as the model's default
      (for a combined model: the default of the parts serving the scored pairs); with --rerank, only
      each pair's reranking weight, into config.json "rerank" ("bleu" stays the plain beam's)`,
  },
});

export const evalCommand = command({
  name: 'eval',
  summary: 'score a model: BLEU as sacreBLEU computes it (13a, cased), lowercased BLEU, chrF',
  usage: 'mt eval --pairs en-de[,de-en] (--data DIR [--split test_2016_flickr] | --src FILE --tgt FILE | --tsv FILE [--columns en-de])',
  flags: EVAL_FLAGS,
  async run(v) {
    const modelDir = v.model ?? defaultModelDir();
    const files = readModelDir(modelDir);
    const engine = createEngine(files, loadKernels());
    const spec: CorpusSpec = { pairs: required(v, 'pairs'), data: v.data, src: v.src, tgt: v.tgt, tsv: v.tsv, columns: v.columns };
    const split = v.split;
    // What the rows name as evaluated: the --data split, else the file read.
    const label = v.tsv !== undefined ? basename(v.tsv) : v.src !== undefined ? basename(v.src) : split;
    const decode = decodeRequest(v);
    const { alpha: askedAlpha, rerank } = decode;
    const limit = v.limit ?? Infinity;
    if (v.record && v.limit !== undefined) throw new CliError('--record keeps the score of the whole split: drop --limit');
    const rows: EvalRow[] = [];
    let beam: number | undefined;
    const languages = engine.info.languages;
    for (const [s, t] of pairsOf(spec, languages)) {
      const par = readPair(spec, split, s, t);
      const src = par.src.slice(0, limit);
      const refs = par.tgt.slice(0, limit);
      const hyps: string[] = [];
      const options = { source: s, target: t, ...decode };
      let d;
      try {
        d = engine.decodeOptions(options); // what the engine decodes this pair with: the flags, else the model's
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      const { alpha } = d;
      const rerankWeight = rerank ? d.rerankWeight : undefined;
      beam = d.beam;
      const progress = new Progress(`${s}-${t}`, src.length);
      for (let i = 0; i < src.length; i += 32) {
        const out = await engine.translate(src.slice(i, i + 32), options).catch((e) => {
          throw new CliError((e as Error).message);
        });
        hyps.push(...out.map((r) => r.text));
        progress.update(hyps.length);
      }
      progress.done();
      if (v.out) writeFileSync(pairsOf(spec, languages).length > 1 ? `${v.out}.${s}-${t}` : v.out, hyps.join('\n') + '\n');
      rows.push({
        pair: `${s}-${t}`, split: label, sentences: src.length, alpha, ...(rerank ? { rerankWeight } : {}),
        bleu: corpusBleu(hyps, refs).score, bleuLower: corpusBleu(hyps, refs, { lowercase: true }).score, chrf: corpusChrf(hyps, refs).score,
      });
    }
    if (v.record && rerank) console.error(`recorded reranking weights ${JSON.stringify(recordRerank(modelDir, rows))} in ${join(modelDir, 'config.json')}`);
    else if (v.record) console.error(`recorded BLEU ${JSON.stringify(recordBleu(modelDir, rows, askedAlpha))} in ${join(modelDir, 'config.json')}`);
    // One alpha for the run (as before parts existed) when every pair used the same.
    const alphas = [...new Set(rows.map((r) => r.alpha))];
    const alpha = alphas.length === 1 ? alphas[0] : undefined;
    if (v.json) console.log(JSON.stringify({ model: files.meta.name, beam, alpha, rerank, results: rows }));
    else {
      const weights = rows.map((r) => `${r.pair} ${r.rerankWeight}`).join(', ');
      console.log(`model ${files.meta.name}, beam ${beam}` + (alpha === undefined ? '' : `, alpha ${alpha}`) + (rerank ? `, reranked (weight ${weights})` : ''));
      console.log('pair    split               sents alpha   BLEU  BLEU(lc)  chrF');
      for (const r of rows) console.log(`${r.pair.padEnd(8)}${r.split.padEnd(20)}${String(r.sentences).padStart(5)} ${String(r.alpha).padStart(5)} ${r.bleu.toFixed(2).padStart(6)} ${r.bleuLower.toFixed(2).padStart(8)} ${r.chrf.toFixed(2).padStart(6)}`);
    }
  },
});

// Rewrites the model's config.json (atomically) with what update returns, and returns that.
function updateConfig<C extends object>(modelDir: string, update: (config: C) => C): C {
  const path = join(modelDir, 'config.json');
  const updated = update(JSON.parse(readFileSync(path, 'utf8')) as C);
  writeAtomic(path, JSON.stringify(updated, null, 2) + '\n');
  return updated;
}

// Merges the cased BLEU of each pair (2 decimals) into config.json's "bleu", keeping every other field;
// an explicit alpha becomes the model's default (for a combined model, that of the parts serving the scored
// pairs), so the recorded BLEU is what the service delivers.
export function recordBleu(modelDir: string, rows: EvalRow[], alpha?: number): Record<string, number> {
  const updated = updateConfig<{ bleu?: Record<string, number>; alpha?: number; parts?: PartSpec[] }>(modelDir, (config) => {
    const bleu = { ...(config.bleu ?? {}) };
    for (const r of rows) bleu[r.pair] = Math.round(r.bleu * 100) / 100;
    const scored = new Set(rows.map((r) => r.pair));
    const tuned = (p: PartSpec) => p.directions.some(([s, t]) => scored.has(`${s}-${t}`));
    return alpha === undefined ? { ...config, bleu }
      : config.parts ? { ...config, bleu, parts: config.parts.map((p) => (tuned(p) ? { ...p, alpha } : p)) }
      : { ...config, bleu, alpha };
  });
  return updated.bleu!;
}

// Merges the reranking weight of each scored pair into config.json's "rerank", keeping every other field.
export function recordRerank(modelDir: string, rows: EvalRow[]): Record<string, number> {
  const updated = updateConfig<{ rerank?: Record<string, number> }>(modelDir, (config) => {
    const rerank = { ...(config.rerank ?? {}) };
    for (const r of rows) if (r.rerankWeight !== undefined) rerank[r.pair] = r.rerankWeight;
    return { ...config, rerank };
  });
  return updated.rerank!;
}
