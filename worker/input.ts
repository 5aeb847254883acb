// Checks on translate input that depend on settings or on the loaded model (the zod schema checks shapes).
// Policy for odd text: invalid UTF-8 bytes and lone UTF-16 surrogates are rejected with 400 (the client's
// encoding is broken, guessing would translate garbage); control characters other than tab, line feed and
// carriage return are stripped (they come from copy-paste and carry no meaning for translation).
import { serves, type ModelInfo } from '../model/engine.ts';
import { ApiError } from './errors.ts';

const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function cleanTexts(texts: string[]): string[] {
  return texts.map((t, i) => {
    if (LONE_SURROGATE.test(t)) throw new ApiError(400, 'invalid_text', `text[${i}] contains a lone UTF-16 surrogate (not valid Unicode)`);
    return t.replace(CONTROL, '');
  });
}

export function checkLimits(texts: string[], limits: { maxChars: number; maxTexts: number }): void {
  if (texts.length > limits.maxTexts) {
    throw new ApiError(422, 'too_many_texts', `${texts.length} texts in one request; the limit MAX_TEXTS is ${limits.maxTexts}`);
  }
  texts.forEach((t, i) => {
    const chars = codePoints(t);
    if (chars > limits.maxChars) {
      throw new ApiError(422, 'text_too_long', `text[${i}] has ${chars} characters; the limit MAX_CHARS is ${limits.maxChars}`);
    }
  });
}

export function checkDirection(info: ModelInfo, source: string, target: string): void {
  for (const [role, lang] of [['source', source], ['target', target]]) {
    if (!info.languages.includes(lang)) {
      throw new ApiError(400, 'unsupported_language', `${role} language '${lang}' is not supported; supported languages: ${info.languages.join(', ')}`);
    }
  }
  if (!serves(info.directions, source, target)) {
    const dirs = info.directions.map(([s, t]) => `${s}-${t}`).join(', ');
    throw new ApiError(400, 'unsupported_direction', `direction ${source}-${target} is not supported; supported directions: ${dirs}`);
  }
}

// Reranking scores each candidate with the reverse direction: the model must serve it (checked before
// a stream starts, where an error could no longer change the status).
export function checkRerank(info: ModelInfo, source: string, target: string): void {
  if (!serves(info.directions, target, source)) {
    throw new ApiError(400, 'rerank_unavailable', `rerank needs the reverse direction ${target}-${source}, which this model does not serve`);
  }
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // a low surrogate completes a pair already counted
  }
  return n;
}
