// Checks on translate input that depend on settings or on the loaded model (the zod schema checks shapes).
// Policy for odd text: invalid UTF-8 bytes and lone UTF-16 surrogates are rejected with 400 (the client's
// encoding is broken, guessing would translate garbage); control characters other than tab, line feed and
// carriage return are stripped (they come from copy-paste and carry no meaning for translation).
import { serves, type ModelInfo } from '../model/engine.ts';
import { type Route, type RoutableModel, describePairs, findRoute, routableLanguages } from '../model/routing.ts';
import { ApiError } from './errors.ts';
import type { CatalogModel } from './model-provider.ts';

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

// The route of a request (model/routing.ts) over the catalog, or over the model it names. A direction no
// model with a known config serves is 503 model_unavailable while some catalogued model is unavailable (it
// might serve it), else 400; only that direction fails, the others keep their routes.
export function checkRoute(catalog: CatalogModel[], source: string, target: string, model?: string): Route {
  const models = model ? catalog.filter((m) => m.name === model) : catalog;
  if (model && !models.length) throw new ApiError(400, 'unknown_model', `no model '${model}' in the catalog; models: ${catalog.map((m) => m.name).join(', ')}`);
  const route = findRoute(models, source, target);
  if (route) return route;
  const unknown = models.filter((m) => !m.directions.length);
  if (unknown.length) {
    const why = unknown.map((m) => `${m.name}: ${m.error ?? 'loading'}`).join('; ');
    throw new ApiError(503, 'model_unavailable', `no available model translates ${source}-${target} (unavailable: ${why})`);
  }
  const langs = routableLanguages(models);
  for (const [role, lang] of [['source', source], ['target', target]]) {
    if (!langs.includes(lang)) throw new ApiError(400, 'unsupported_language', `${role} language '${lang}' is not supported; supported languages: ${langs.join(', ')}`);
  }
  throw new ApiError(400, 'unsupported_direction', `direction ${source}-${target} is not supported; supported directions: ${describePairs(models)}`);
}

// Reranking scores each candidate with the reverse direction: each leg's model must serve it (checked
// before a stream starts, where an error could no longer change the status).
export function checkRouteRerank(models: RoutableModel[], route: Route): void {
  for (const leg of route.legs) {
    const m = models.find((x) => x.name === leg.model)!;
    if (!serves(m.directions, leg.target, leg.source)) {
      throw new ApiError(400, 'rerank_unavailable', `rerank needs the reverse direction ${leg.target}-${leg.source}, which model ${m.name} does not serve`);
    }
  }
}

// Alignments relate a sentence to its translation: through a pivot they would align English to the target.
export function checkRouteAlignments(route: Route): void {
  if (route.pivot) {
    throw new ApiError(400, 'alignments_unavailable', `alignments need a direct model; ${route.legs[0].source}-${route.legs.at(-1)!.target} goes through ${route.pivot}`);
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

