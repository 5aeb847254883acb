// Sentence splitter for translating paragraphs sentence by sentence (the model is trained on single
// sentences). Lossless: the segments' text + sep, concatenated, give back the input exactly, so the
// translation can be reassembled with the original spacing and line breaks.
//
// A segment ends:
//   - at a line break: sep is the whole whitespace run around it ("  \n\n  ");
//   - after . ! ? … 。 ！ ？ (repeated, then closing quotes/brackets) followed by whitespace, unless
//       * the next word starts with a lowercase letter ("etc. and so on", "am 1. mai");
//       * the word before a single '.' is an abbreviation ("Mr.", "z.B.", "e.g.", "např."; "No." and
//         "Nr." only before a number; "etc." and a few others still end a sentence before a capital)
//         or a single capital letter (initials: "J. R. R. Tolkien", "M. Dupont"; so "Plan B. Then"
//         stays one segment);
//     decimals (3.14) and inner dots (U.S.A, www.x.org) never split since no whitespace follows;
//   - after CJK 。！？ even with no whitespace after them (sep '').
// text never starts or ends with whitespace; only the first segment can have text '' (input that
// starts with whitespace). Plain TypeScript.

export interface Segment {
  text: string; // the sentence, trimmed
  sep: string; // the whitespace that followed it ('' at the end of the input or after 。)
}

// Abbreviations (lowercase, without the final '.') that do not end a sentence: en, de, fr, cs.
const ABBREVIATIONS = new Set([
  // English
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'e.g', 'i.e', 'cf', 'approx', 'ca', 'inc',
  'ltd', 'co', 'corp', 'dept', 'sgt', 'capt', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep',
  'sept', 'oct', 'nov', 'dec',
  // German
  'z.b', 'd.h', 'u.a', 'bzw', 'ggf', 'evtl', 'vgl', 'inkl', 'sog', 'hr', 'fr', 'frl', 'bspw', 'u.u', 'o.ä',
  's.o', 's.u', 'z.t', 'dipl', 'ing', 'usw', 'etc',
  // French
  'mme', 'mlle', 'env', 'av', 'bd', 'p.ex', 'c.-à-d',
  // Czech
  'např', 'tj', 'tzv', 'mj', 'resp', 'cca', 'atd', 'apod', 'mgr', 'bc', 'ul',
  // "et al."
  'al',
]);
// Abbreviations only before a number: "No. 5", "Nr. 3", "S. 12", "str. 4", "č. 7".
const BEFORE_NUMBER = new Set(['no', 'nos', 'nr', 'fig', 'figs', 'vol', 'p', 'pp', 's', 'str', 'č', 'art', 'abs', 'bd']);
// Abbreviations that also commonly end a sentence: they split when a capitalized word follows.
const SENTENCE_FINAL = new Set(['etc', 'usw', 'atd', 'apod', 'al', 'inc', 'ltd', 'co', 'corp']);

const TERMINATORS = '.!?\u2026\u3002\uff01\uff1f\uff61'; // . ! ? … 。 ！ ？ ｡
const CLOSERS = '\\p{Pe}\\p{Pf}"\'»\u300d\u300f'; // ) ] } ” ’ " ' » 」 』
const ENDS_SENTENCE = new RegExp(`[${TERMINATORS}]+[${CLOSERS}]*$`, 'u');
const TRAILING_CLOSERS = new RegExp(`[${CLOSERS}]+$`, 'u');
const LEADING_OPENERS = /^[\p{Ps}\p{Pi}"'«¿¡]+/u;
const CJK_END = new RegExp(`[\u3002\uff01\uff1f\uff61]+[${CLOSERS}]*`, 'gu');
const LINE_BREAK = /[\n\r\u2028\u2029\u0085\u000b\u000c]/;

// Whether `word` (the text since the previous whitespace) ends a sentence, given the next character.
function endsSentence(word: string, next: string): boolean {
  const m = ENDS_SENTENCE.exec(word);
  if (!m) return false;
  if (/^\p{Ll}/u.test(next)) return false; // "etc. and", "am 1. mai", "approx. three"
  const term = m[0].replace(TRAILING_CLOSERS, '');
  if (term !== '.') return true; // "!", "?", "...", "?!", "。"
  const stem = word.slice(0, m.index).replace(LEADING_OPENERS, '');
  const lower = stem.toLowerCase();
  if (/^\p{Lu}$/u.test(stem)) return false; // initials: "J. R. R. Tolkien", "M. Dupont"
  if (BEFORE_NUMBER.has(lower) && /^\p{Nd}/u.test(next)) return false;
  if (ABBREVIATIONS.has(lower)) return SENTENCE_FINAL.has(lower) && /^\p{Lu}/u.test(next);
  return true;
}

export function splitSentences(text: string): Segment[] {
  // Cuts as [end of a segment's text, end of its sep], in order.
  const cuts: Array<[number, number]> = [];
  let wordStart = 0;
  for (const m of text.matchAll(/\s+/g)) {
    const start = m.index, stop = start + m[0].length;
    const word = text.slice(wordStart, start);
    wordStart = stop;
    if (start === 0 || stop === text.length) continue; // leading / trailing whitespace: below
    if (LINE_BREAK.test(m[0]) || endsSentence(word, text[stop])) cuts.push([start, stop]);
  }
  for (const m of text.matchAll(CJK_END)) {
    const end = m.index + m[0].length;
    if (end < text.length && !/\s/.test(text[end])) cuts.push([end, end]); // else cut above
  }
  cuts.sort((a, b) => a[0] - b[0]);

  const lead = /^\s*/.exec(text)![0].length;
  if (lead === text.length) return text === '' ? [] : [{ text: '', sep: text }];
  const out: Segment[] = lead > 0 ? [{ text: '', sep: text.slice(0, lead) }] : [];
  let pos = lead;
  for (const [end, sepEnd] of cuts) {
    out.push({ text: text.slice(pos, end), sep: text.slice(end, sepEnd) });
    pos = sepEnd;
  }
  const tail = /\s*$/.exec(text)!.index;
  out.push({ text: text.slice(pos, tail), sep: text.slice(tail) });
  return out;
}

// A sentence longer than the model's positions would be cut by the engine: split it into pieces of at
// most `max` tokens, first after clause punctuation (; : , and their full-width forms) followed by
// whitespace, then at whitespace, packing neighbours back together while they fit (the tokenizer splits
// words at whitespace, so token counts add up). Lossless like splitSentences: the pieces' text + sep give
// back `sentence`; the last piece's sep is ''. A single word longer than `max` stays one piece: the caller
// sees count(piece) > max and says so.
const CLAUSE_END = /(?<=[;:,\uff1b\uff1a\uff0c\u3001])\s+/g;
const WORD_GAP = /\s+/g;

export function fitSentence(sentence: string, max: number, count: (s: string) => number): Counted[] {
  const tokens = count(sentence);
  if (tokens <= max) return [{ text: sentence, sep: '', tokens }];
  const out: Counted[] = [];
  for (const clause of pack(cutAt(sentence, CLAUSE_END), max, count)) {
    if (clause.tokens <= max) out.push(clause);
    else out.push(...withLastSep(pack(cutAt(clause.text, WORD_GAP), max, count), clause.sep));
  }
  return out;
}

export interface Counted extends Segment {
  tokens: number; // count(text)
}

function cutAt(text: string, gap: RegExp): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  for (const m of text.matchAll(gap)) {
    out.push({ text: text.slice(pos, m.index), sep: m[0] });
    pos = m.index + m[0].length;
  }
  out.push({ text: text.slice(pos), sep: '' });
  return out;
}

function pack(parts: Segment[], max: number, count: (s: string) => number): Counted[] {
  const out: Counted[] = [];
  for (const p of parts) {
    const tokens = count(p.text);
    const last = out[out.length - 1];
    if (last && last.tokens + tokens <= max) {
      last.text += last.sep + p.text;
      last.sep = p.sep;
      last.tokens += tokens;
    } else {
      out.push({ ...p, tokens });
    }
  }
  return out;
}

function withLastSep(parts: Counted[], sep: string): Counted[] {
  parts[parts.length - 1].sep = sep;
  return parts;
}
