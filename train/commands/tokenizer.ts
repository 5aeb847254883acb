// `mt tokenizer`: learns the shared subword vocabulary (BPE or unigram, with byte fallback) and writes tokenizer.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Tokenizer } from '../../model/tokenizer.ts';
import { CliError, command } from '../args.ts';
import { UsageError, required } from '../flags.ts';
import { readLines, splitFile } from '../data.ts';

export const tokenizerCommand = command({
  name: 'tokenizer',
  summary: 'learn a shared BPE or unigram vocabulary with byte fallback and language tags; writes tokenizer.json',
  usage: 'mt tokenizer --out FILE --langs en,de[,fr,cs] (--data DIR | FILE...)',
  flags: {
    out: { type: 'string', arg: 'FILE', help: 'the tokenizer.json to write' },
    langs: { type: 'string', arg: 'en,de', help: 'the languages, one <2xx> tag each' },
    data: { type: 'string', arg: 'DIR', help: 'read DIR/train.<lang>[.gz] for every language (Multi30k layout)' },
    'max-lines': { type: 'integer', arg: 'N', min: 1, help: 'at most N lines from each file (an even sample over the file; default all)' },
    vocab: { type: 'integer', arg: 'N', min: 300, default: 8000, help: 'vocabulary size including specials and the 256 byte tokens' },
    type: {
      type: 'string', arg: 'T', choices: ['bpe', 'unigram'], default: 'bpe',
      help: 'bpe (merges) or unigram (a unigram language model trained by EM, Kudo 2018)',
    },
  },
  notes: 'FILE... instead of --data: any text files (one sentence a line, .gz allowed); a .tsv[.gz] file gives both columns',
  async run(v, files) {
    const out = required(v, 'out');
    const langs = required(v, 'langs').split(',').map((l) => l.trim());
    for (const l of langs) if (!/^[a-z]{2,3}$/.test(l)) throw new UsageError(`bad language code "${l}"`);
    const vocabSize = v.vocab;
    const type = v.type;
    const paths = v.data ? langs.map((l) => splitFile(v.data!, 'train', l)) : files;
    if (!paths.length) throw new UsageError('give --data DIR or text files to learn from');
    const maxLines = v['max-lines'] ?? Infinity;
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
});
