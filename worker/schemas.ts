// The API's wire format, the one definition: the routes validate with these schemas and type their bodies
// by them, /openapi.json is generated from them, and client/types.ts derives the client's types from them
// (`import type` + z.infer: no runtime cost, the client bundle never loads zod).
import { z } from '@hono/zod-openapi';
import { DECODE_DEFAULTS } from '../model/decode.ts';

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string().openapi({ example: 'invalid_request' }), message: z.string() }) })
  .openapi('Error');

export const TranslateRequest = z
  .object({
    text: z.union([z.string(), z.array(z.string())]).openapi({ description: 'one text, or a batch of texts', example: 'A man rides a bike.' }),
    source: z.string().min(1).max(16).openapi({ example: 'en', description: 'source language, or "auto" to detect it (the response says what was detected)' }),
    target: z.string().min(1).max(16).openapi({ example: 'de' }),
    model: z.string().min(1).max(64).optional().openapi({
      description: 'the catalogued model to use (default: the first that serves the direction, else through English)',
    }),
    beam: z.number().int().min(1).max(DECODE_DEFAULTS.maxBeam).optional().openapi({
      description: `beam width; 1 is greedy (default ${DECODE_DEFAULTS.beam}, an imported model's num_beams, ${DECODE_DEFAULTS.rerankBeam} with rerank)`,
    }),
    rerank: z.boolean().default(false).openapi({
      description: 'rescore the n-best with the reverse direction of the model (fewer dropped or invented words; about twice the compute); needs a model that also serves target to source',
    }),
    alignments: z.boolean().default(false).openapi({ description: 'return source/target tokens and cross-attention per sentence' }),
    stream: z.boolean().default(false).openapi({ description: 'stream tokens as server-sent events (also: Accept: text/event-stream)' }),
  })
  .openapi('TranslateRequest');

// One sentence of a text. `layers` comes only from the in-browser engine; the edge API sends the average.
export const SentenceAlignment = z
  .object({
    source: z.string(),
    sourceTokens: z.array(z.string()),
    targetTokens: z.array(z.string()),
    alignment: z.array(z.array(z.number())).openapi({ description: 'alignment[t][s]: attention of target token t on source token s (last layer, mean over heads)' }),
    layers: z.array(z.array(z.array(z.array(z.number())))).optional().openapi({ description: 'layers[l][h][t][s]: every decoder layer and head' }),
  })
  .openapi('SentenceAlignment');

export const Leg = z.object({ source: z.string(), target: z.string(), model: z.string(), version: z.string() }).openapi('Leg');

// What every translation response carries besides the text(s).
const TranslationBase = z.object({
  model: z.string().openapi({ description: 'the model; through a pivot, each leg\'s joined by "+"' }),
  version: z.string(),
  pivot: z.string().optional().openapi({ description: 'present when no model serves the direction: the language it went through', example: 'en' }),
  legs: z.array(Leg).optional().openapi({ description: 'with pivot: each leg and its model' }),
  detected: z.object({ language: z.string(), confidence: z.number() }).optional().openapi({ description: 'with source "auto": the detected source language and its posterior' }),
  truncated: z.array(z.number().int()).optional().openapi({ description: 'indices of the texts in which a word longer than the model takes was cut (absent when none was)' }),
  lengthLimited: z.array(z.number().int()).optional().openapi({
    description: 'indices of the texts in which a sentence\'s translation stopped at the longest output the model may write (its source tokens + 50, at most the model\'s positions) instead of ending: its end may be missing (absent when none did)',
  }),
});

// `text` was a string.
export const Translation = TranslationBase.extend({
  translation: z.string(),
  alignments: z.array(SentenceAlignment).optional(),
}).openapi('Translation');

// `text` was an array.
export const BatchTranslation = TranslationBase.extend({
  translations: z.array(z.string()),
  alignments: z.array(z.array(SentenceAlignment)).optional(),
}).openapi('BatchTranslation');

export const TranslateResponse = z.union([Translation, BatchTranslation]).openapi('TranslateResponse');

// A streamed response's `token` event: the next piece of text `index` (its pieces concatenate to its
// translation); one `done` event with the TranslateResponse follows, or an `error` event with an Error.
export const StreamToken = z.object({ index: z.number().int(), piece: z.string() }).openapi('StreamToken');

export const Direction = z
  .object({
    source: z.string(),
    target: z.string(),
    route: z.enum(['direct', 'pivot']),
    models: z.array(z.string()).openapi({ description: 'the model of each leg: one when direct, two (source to pivot, pivot to target) when pivoted' }),
    pivot: z.string().optional().openapi({ description: 'the language a pivoted direction goes through', example: 'en' }),
  })
  .openapi('Direction');

export const Languages = z
  .object({
    languages: z.array(z.string()).openapi({ description: 'languages some direction translates from or into', example: ['de', 'en'] }),
    directions: z.array(Direction),
    models: z.array(
      z.object({
        name: z.string(),
        version: z.string().optional().openapi({ description: 'the version serving (when loaded before), else the current one' }),
        directions: z.array(z.object({ source: z.string(), target: z.string() })).openapi({ description: 'what the model serves directly' }),
      }),
    ),
  })
  .openapi('Languages');

export const ModelVersion = z
  .object({
    name: z.string(),
    version: z.string(),
    current: z.boolean().openapi({ description: 'the version the manifest names current' }),
    serving: z.boolean().openapi({
      description: 'the version the API translates with: the current one, or an older one when the current one does not verify; false for every version of a model not loaded yet',
    }),
    size: z.number().openapi({ description: 'bytes of all files' }),
    created: z.string().openapi({ description: 'when this version was pushed' }),
    bleu: z.record(z.string(), z.number()).optional().openapi({ example: { 'en-de': 27.3 } }),
  })
  .openapi('ModelVersion');

export const ModelList = z.object({ models: z.array(ModelVersion) }).openapi('ModelList');

export const Health = z
  .object({
    status: z.enum(['ok', 'degraded', 'model_unavailable']),
    models: z.array(
      z.object({
        name: z.string(),
        current: z.string().optional().openapi({ description: "the manifest's current version" }),
        version: z.string().optional().openapi({ description: 'the version serving: the current one, or an older one when it does not verify' }),
        loaded: z.boolean(),
        error: z.string().optional().openapi({ description: 'why the current version is not served (e.g. "... ; serving v2 from the manifest\'s history")' }),
      }),
    ).optional().openapi({ description: 'with a valid API key (or when the API is open): each model' }),
  })
  .openapi('Health');
