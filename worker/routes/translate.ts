// POST /v1/translate: one text or a batch, optionally with alignments, optionally streamed as SSE.
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type TranslateOptions, UnsupportedError } from '../../model/engine.ts';
import { type Detection, LanguageDetector, detectSource } from '../../model/langid.ts';
import langidJson from '../../models/langid.json';
import { cacheGet, cacheKey, cachePut } from '../cache.ts';
import { type AppEnv, settings } from '../env.ts';
import { ApiError, errorBody } from '../errors.ts';
import { allPairs } from '../../model/routing.ts';
import { type TextFlags, translationBody } from '../../model/response.ts';
import { Cancelled, type TextResult, TooMuchWork, WorkBudget, planTexts, streamPlans, translateTexts } from '../../model/texts.ts';
import { checkLimits, checkRoute, checkRouteAlignments, checkRouteRerank, cleanTexts } from '../input.ts';
import { acquireLegs, runFirstLegs } from '../legs.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { errors, router } from '../openapi.ts';
import { type StreamToken, TranslateRequest, TranslateResponse } from '../schemas.ts';

type TranslateBody = z.infer<typeof TranslateResponse>;

const route = createRoute({
  method: 'post',
  path: '/translate',
  summary: 'Translate text',
  description:
    'Splits each text into sentences, translates them in one batch and joins them back preserving whitespace. ' +
    'Identical requests are served from the edge cache (X-Cache: HIT). With `stream: true` the response is ' +
    'text/event-stream: `token` events {index, piece}, then one `done` event with the full result. ' +
    'A direction no model serves goes through English (`pivot: "en"`); a pivoted stream streams the second leg, ' +
    'after the first is translated in full; alignments are refused (400) through a pivot.',
  middleware: [jsonBody()] as const,
  request: { body: { required: true, content: { 'application/json': { schema: TranslateRequest } } } },
  responses: {
    200: {
      description: 'translation (JSON), or a stream of server-sent events',
      content: { 'application/json': { schema: TranslateResponse }, 'text/event-stream': { schema: z.string() } },
    },
    ...errors(400, 401, 413, 415, 422, 429, 503),
  },
});

export function translateRoutes() {
  const app = router();
  app.openapi(route, async (c) => {
    const req = c.req.valid('json');
    const { maxChars, maxTexts, maxWork, maxAlignmentCells } = settings(c.env);
    const batch = Array.isArray(req.text);
    const texts = batch ? (req.text as string[]) : [req.text as string];
    checkLimits(texts, { maxChars, maxTexts });
    const clean = cleanTexts(texts);

    const catalog = await c.var.models.catalog();
    const routable = req.model ? catalog.filter((m) => m.name === req.model) : catalog;
    const reachable = allPairs(routable).map((p): [string, string] => [p.source, p.target]);
    const detected = req.source === 'auto' ? detect(clean, reachable, req.target) : undefined;
    const source = detected?.language ?? req.source;
    const path = checkRoute(catalog, source, req.target, req.model);
    if (req.rerank) checkRouteRerank(catalog, path);
    if (req.alignments) checkRouteAlignments(path);
    const legs = await acquireLegs(c.var.models, path); // keep these references: a swap may happen meanwhile
    const model = { name: legs.name, version: legs.version };
    // The request's own choices: each leg's engine merges them with its model's DecodeConfig.
    const all: TranslateOptions = {
      source, target: req.target, beam: req.beam, alignments: req.alignments,
      ...(req.rerank ? { rerank: true } : {}),
    };
    const shape = (results: TextResult[], earlier: TextFlags[]): TranslateBody =>
      translationBody(results, { batch, alignments: req.alignments, legs: legs.served, pivot: path.pivot, detected, earlier });
    c.header('X-Model-Version', model.version);
    // Charged before decoding; the client going away stops decoding at the next chunk (model/texts.ts).
    const control = { signal: c.req.raw.signal, budget: new WorkBudget(maxWork, maxAlignmentCells) };

    if (req.stream || (c.req.header('accept') ?? '').includes('text/event-stream')) {
      let first, plans;
      try {
        first = await run(() => runFirstLegs(legs, path, clean, all, control));
        const { texts, options } = first;
        plans = await run(async () => planTexts(legs.last.engine, texts, options, control));
      } catch (e) {
        legs.release();
        throw e;
      }
      return streamSSE(c, async (sse) => {
        try {
          const results = await streamPlans(legs.last.engine, plans, first.options, (index, piece) =>
            sse.writeSSE({ event: 'token', data: JSON.stringify({ index, piece } satisfies z.infer<typeof StreamToken>) }), control,
          );
          await sse.writeSSE({ event: 'done', data: JSON.stringify(shape(results, first.flags)) });
        } catch (e) {
          await sse.writeSSE({ event: 'error', data: JSON.stringify(streamError(e)) });
        } finally {
          legs.release();
        }
      });
    }

    try {
      // The source as asked too: "auto" answers with `detected`, the language it found without (same text).
      const key = await cacheKey(c, [model.name, model.version, clean, all, req.source]);
      const cached = await cacheGet<TranslateBody>(key);
      if (cached !== undefined) {
        c.header('X-Cache', 'HIT');
        return c.json(cached, 200);
      }
      const body = await run(async () => {
        const { texts, options, flags } = await runFirstLegs(legs, path, clean, all, control);
        return shape(await translateTexts(legs.last.engine, texts, options, control), flags);
      });
      await cachePut(c, key, body);
      c.header('X-Cache', 'MISS');
      return c.json(body, 200);
    } finally {
      legs.release();
    }
  });
  return app;
}

let detector: LanguageDetector | undefined;
function detect(texts: string[], directions: Array<[string, string]>, target: string): Detection {
  detector ??= LanguageDetector.fromJSON(langidJson);
  const d = detectSource(detector, texts, directions, target);
  if (!d) {
    throw new ApiError(422, 'language_not_detected', directions.some(([, t]) => t === target)
      ? 'source "auto": the text has no letters to tell its language by; give source explicitly'
      : `source "auto": nothing translates into '${target}'; supported directions: ${directions.map(([s, t]) => `${s}-${t}`).join(', ')}`);
  }
  return d;
}

// The engine may refuse a request the model cannot serve (UnsupportedError): that is the client's 400;
// over MAX_WORK is 422; a client that went away gets 499 (nobody reads it, but it is no server error).
async function run<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw clientError(e) ?? e;
  }
}

function clientError(e: unknown): ApiError | undefined {
  if (e instanceof ApiError) return e;
  if (e instanceof UnsupportedError) return new ApiError(400, e.code, e.message);
  if (e instanceof TooMuchWork) return new ApiError(422, 'too_much_work', `${e.message} (${e.limit === 'work' ? 'MAX_WORK' : 'MAX_ALIGNMENT_CELLS'})`);
  if (e instanceof Cancelled) return new ApiError(499 as ContentfulStatusCode, 'cancelled', e.message);
  return undefined;
}

// Errors inside a stream cannot change the status any more: they become an `error` event.
function streamError(e: unknown) {
  const known = clientError(e);
  if (known) return errorBody(known.code, known.message);
  console.error('translate stream failed:', e);
  return errorBody('internal', 'internal error');
}
