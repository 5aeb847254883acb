// `mt tokenizer`: learns the shared subword vocabulary (BPE or unigram, with byte fallback) and writes tokenizer.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Tokenizer } from '../../model/tokenizer.ts';
import { CliError, num, str, type Command } from '../args.ts';
import { readLines, splitFile } from '../data.ts';

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'learn a shared BPE or unigram vocabulary with byte fallback and language tags; writes tokenizer.json',
  usage: `
mt tokenizer --out FILE --langs en,de[,fr,cs] (--data DIR | FILE...)
  --data DIR      read DIR/train.<lang>[.gz] for every language (Multi30k layout)
  FILE...         or any text files (one sentence a line, .gz allowed); a .tsv[.gz] file gives both columns
  --max-lines N   at most N lines from each file (an even sample over the file; default all)
  --vocab N       vocabulary size including specials and the 256 byte tokens (default 8000)
  --type T        bpe (merges, the default) or unigram (a unigram language model trained by EM, Kudo 2018)`,
  options: { out: { type: 'string' }, langs: { type: 'string' }, data: { type: 'string' }, vocab: { type: 'string' }, 'max-lines': { type: 'string' }, type: { type: 'string' } },
  async run(v, files) {
    const out = str(v, 'out');
    const langs = str(v, 'langs').split(',').map((l) => l.trim());
    for (const l of langs) if (!/^[a-z]{2,3}$/.test(l)) throw new CliError(`bad language code "${l}"`);
    const vocabSize = num(v, 'vocab', 8000, { min: 300, integer: true });
    const type = v.type === undefined ? 'bpe' : String(v.type);
    if (type !== 'bpe' && type !== 'unigram') throw new CliError(`--type must be bpe or unigram, got "${type}"`);
    const paths = v.data ? langs.map((l) => splitFile(String(v.data), 'train', l)) : files;
    if (!paths.length) throw new CliError('give --data DIR or text files to learn from');
    const maxLines = num(v, 'max-lines', Infinity, { min: 1, integer: true });
    const texts = paths.flatMap((p) => {
      let lines: string[];
      try {
        lines = readLines(p);
      } catch (e) {
        throw new CliError((e as Error).message);
      }
      if (lines.length > maxLines) lines = Array.from({ length: maxLines }, (_, i) => lines[Math.floor((i * lines.length) / maxLines)]);
      return /\.tsv(\.gz)?$/.test(p) ? lines.flatMap((l) => l.split('\t')) : lines;
    });
    const t0 = Date.now();
    const tok = Tokenizer.train(texts, { vocabSize, languages: langs, type });
    mkdirSync(dirname(out) || '.', { recursive: true });
    writeFileSync(out, JSON.stringify(tok.toJSON()));
    console.error(`learned ${tok.vocabSize} ${type} tokens from ${texts.length} lines in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${out}`);
  },
};
