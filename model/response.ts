// The response of a translation, the API's wire format (worker/schemas.ts): the one place where texts
// translated by model/texts.ts become a body, for the edge API (worker/routes/translate.ts) and the
// in-browser engine (browser/translator.ts, browser/catalog.ts) alike, so both answer the same call alike.
import type { BatchTranslation, Leg, SentenceAlignment, Translation } from '../client/types.ts';
import type { Detection } from './langid.ts';
import type { TextResult } from './texts.ts';

// What a response says of texts that may miss words, as indices of the texts (absent when none):
// `truncated`, a source word longer than the model takes was cut; `lengthLimited`, a sentence's
// translation stopped at the output length bound instead of ending.
export type TextFlags = Pick<Translation, 'truncated' | 'lengthLimited'>;

export interface Shaping {
  batch: boolean; // the request's text was an array
  alignments: boolean;
  legs: Leg[]; // each leg's model and version, in order: one when direct
  pivot?: string; // the language between the legs
  detected?: Detection; // source "auto": what was detected
  earlier?: TextFlags[]; // what the legs before the last flagged (a text flagged there is flagged in the response)
}

export function translationBody(results: TextResult[], s: Shaping): Translation | BatchTranslation {
  const translations = results.map((r) => r.translation);
  const head = {
    ...servedBy(s.legs, s.pivot),
    ...mergeFlags([flagsOf(results), ...(s.earlier ?? [])]),
    ...(s.detected ? { detected: detectedField(s.detected) } : {}),
  };
  if (!s.alignments) return s.batch ? { translations, ...head } : { translation: translations[0], ...head };
  const perText = results.map((r) =>
    r.sentences.map(({ source, result }): SentenceAlignment => ({
      source,
      sourceTokens: result.sourceTokens ?? [],
      targetTokens: result.targetTokens ?? [],
      alignment: result.alignment ?? [],
      ...(result.layers ? { layers: result.layers } : {}),
    })),
  );
  return s.batch ? { translations, ...head, alignments: perText } : { translation: translations[0], ...head, alignments: perText[0] };
}

// `model` and `version`: the legs' joined by '+'; through a pivot, `pivot` and each leg too.
export function servedBy(legs: Leg[], pivot?: string): Pick<Translation, 'model' | 'version' | 'pivot' | 'legs'> {
  return {
    model: legs.map((l) => l.model).join('+'),
    version: legs.map((l) => l.version).join('+'),
    ...(pivot ? { pivot, legs } : {}),
  };
}

// The detected language and its posterior, to 3 decimals.
export function detectedField(d: Detection): NonNullable<Translation['detected']> {
  return { language: d.language, confidence: Math.round(d.confidence * 1000) / 1000 };
}

// The flags of one leg's results.
export function flagsOf(results: TextResult[]): TextFlags {
  const where = (flag: (r: TextResult) => boolean) => results.flatMap((r, i) => (flag(r) ? [i] : []));
  return mergeFlags([{ truncated: where((r) => r.truncated), lengthLimited: where((r) => r.lengthLimited) }]);
}

// A text flagged by any leg, once, in order; empty lists left out.
export function mergeFlags(flags: TextFlags[]): TextFlags {
  const out: TextFlags = {};
  for (const key of ['truncated', 'lengthLimited'] as const) {
    const all = [...new Set(flags.flatMap((f) => f[key] ?? []))].sort((a, b) => a - b);
    if (all.length) out[key] = all;
  }
  return out;
}
