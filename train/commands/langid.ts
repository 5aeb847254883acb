// `mt langid`: trains the language detector behind `source: "auto"` on the training side of parallel
// corpora (each TSV column is known text of its language) and reports its accuracy on held-out files.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LanguageDetector } from '../../model/langid.ts';
import { CliError, command } from '../args.ts';
import { UsageError, required } from '../flags.ts';
import { writeAtomic } from '../checkpoint.ts';
import { readLines } from '../data.ts';
import { defaultDataRoot } from '../mix.ts';

// <root>/general/<en><xx>.<source>.tsv.gz: column 1 English, column 2 language xx.
const FILE = /^en([a-z]{2,3})\.([a-z0-9-]+)\.tsv(\.gz)?$/;

export interface LangIdAccuracy {
  language: string;
  sentences: number;
  accuracy: number; // percent
}

export function langidTexts(dir: string, split: 'train' | 'valid', maxLines: number): Record<string, string[]> {
  if (!existsSync(dir)) throw new CliError(`no corpus folder ${dir} (give --data DIR)`);
  const texts: Record<string, string[]> = {};
  const add = (lang: string, xs: string[]) => {
    const have = (texts[lang] ??= []);
    for (const x of xs) if (have.length < maxLines) have.push(x);
  };
  const names = readdirSync(dir).filter((f) => FILE.test(f)).sort();
  for (const f of names) {
    const [, lang, source] = FILE.exec(f)!;
    if ((source === 'valid') !== (split === 'valid') || source === 'ding-lexicon') continue; // single words teach little
    // An even sample of each file (sorted files would otherwise give the first source all the room).
    const lines = readLines(join(dir, f)).map((l) => l.split('\t'));
    const step = Math.max(1, Math.floor(lines.length / maxLines));
    const picked = lines.filter((_, i) => i % step === 0);
    add('en', picked.map((c) => c[0]));
    add(lang, picked.map((c) => c[1]));
  }
  if (Object.keys(texts).length < 2) throw new CliError(`found ${Object.keys(texts).length} languages' ${split} files (en<xx>.<source>.tsv.gz) in ${dir}: need two or more`);
  return texts;
}

export function langidAccuracy(det: LanguageDetector, texts: Record<string, string[]>): LangIdAccuracy[] {
  return Object.entries(texts).map(([language, xs]) => {
    const ok = xs.filter((x) => det.detect(x)?.language === language).length;
    return { language, sentences: xs.length, accuracy: Math.round((10000 * ok) / xs.length) / 100 };
  });
}

export const langidCommand = command({
  name: 'langid',
  summary: 'train the language detector for source "auto" (character n-grams, naive Bayes); prints accuracy on valid',
  usage: 'mt langid --out FILE [--data DIR]',
  flags: {
    out: { type: 'string', arg: 'FILE', help: 'the detector to write (models/langid.json is the bundled one)' },
    data: {
      type: 'string', arg: 'DIR',
      help: 'folder of en<xx>.<source>.tsv.gz files (default <data root>/general: $MT_DATA or ../shared/data);\nthe training files teach, the en<xx>.valid files measure',
    },
    'max-lines': { type: 'integer', arg: 'N', min: 1, default: 60000, help: 'sentences per language to learn from' },
    buckets: { type: 'integer', arg: 'N', min: 2, default: 1 << 15, help: 'hash buckets per language, a power of two' },
  },
  async run(v) {
    const out = required(v, 'out');
    const dir = v.data ?? join(defaultDataRoot(), 'general');
    const maxLines = v['max-lines'];
    const buckets = v.buckets;
    if (buckets & (buckets - 1)) throw new UsageError(`--buckets must be a power of two, got ${buckets}`);
    const det = LanguageDetector.train(langidTexts(dir, 'train', maxLines), { buckets });
    mkdirSync(dirname(out) || '.', { recursive: true });
    writeAtomic(out, JSON.stringify(det.toJSON()));
    const valid = langidTexts(dir, 'valid', Infinity);
    for (const r of langidAccuracy(det, valid)) console.log(`${r.language}\t${r.sentences} sentences\t${r.accuracy.toFixed(2)}% correct`);
    console.error(`wrote ${out} (${det.languages.join(', ')})`);
  },
});
