// Long input, after the paper's sentence-level model: split each text into sentences, translate every
// non-empty sentence of every text in one batch, and join each text back with its original whitespace.
import type { Engine, SentenceResult, TranslateOptions } from '../model/engine.ts';
import { splitSentences } from '../model/sentences.ts';

export interface TextResult {
  translation: string;
  sentences: Array<{ source: string; result: SentenceResult }>;
}

interface Piece {
  text: string;
  sep: string;
}

function pieces(text: string): Piece[] {
  return splitSentences(text);
}

const translatable = (p: Piece) => p.text.trim() !== '';

export async function translateTexts(engine: Engine, texts: string[], options: TranslateOptions): Promise<TextResult[]> {
  const split = texts.map(pieces);
  const batch = split.flatMap((ps) => ps.filter(translatable).map((p) => p.text));
  const results = batch.length > 0 ? await engine.translate(batch, options) : [];
  if (results.length !== batch.length) throw new Error(`engine returned ${results.length} results for ${batch.length} sentences`);
  let k = 0;
  return split.map((ps) => join(ps, () => results[k++]));
}

// Streams pieces of text `index` as they are decoded (the engine yields between decoder steps, so each
// write reaches the client). Separators are sent as pieces too: a text's pieces concatenate to its translation.
export async function streamTexts(
  engine: Engine,
  texts: string[],
  options: TranslateOptions,
  emit: (index: number, piece: string) => Promise<void>,
): Promise<TextResult[]> {
  const out: TextResult[] = [];
  for (let i = 0; i < texts.length; i++) {
    const ps = pieces(texts[i]);
    const results: SentenceResult[] = [];
    for (const p of ps) {
      if (translatable(p)) {
        let writing = Promise.resolve();
        const onToken = (piece: string) => void (writing = writing.then(() => emit(i, piece)));
        try {
          results.push(await engine.translateStream(p.text, options, onToken));
        } finally {
          await writing;
        }
      } else if (p.text) {
        await emit(i, p.text);
      }
      if (p.sep) await emit(i, p.sep);
    }
    let k = 0;
    out.push(join(ps, () => results[k++]));
  }
  return out;
}

function join(ps: Piece[], next: () => SentenceResult): TextResult {
  let translation = '';
  const sentences: TextResult['sentences'] = [];
  for (const p of ps) {
    if (translatable(p)) {
      const result = next();
      translation += result.text;
      sentences.push({ source: p.text, result });
    } else {
      translation += p.text;
    }
    translation += p.sep;
  }
  return { translation, sentences };
}
