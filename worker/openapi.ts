// Shared pieces of the route schemas: every router validates with zod, reports failures as 422 in the
// one error shape, and contributes its routes to /openapi.json.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';
import { ErrorSchema } from './schemas.ts';

export function router(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
        throw new ApiError(422, 'invalid_request', issues.join('; '));
      }
    },
  });
}

// Error responses for the docs: `errors(400, 422)`.
export function errors(...statuses: number[]) {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorSchema } } }> = {};
  for (const s of statuses) out[s] = { description: DESCRIPTIONS[s] ?? 'error', content: { 'application/json': { schema: ErrorSchema } } };
  return out;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'malformed JSON, invalid UTF-8, unsupported language/direction, or unknown model',
  401: 'missing or invalid API key',
  404: 'not found',
  413: 'body larger than MAX_BODY_BYTES',
  415: 'body is not JSON',
  422: 'wrong types, missing fields, or MAX_CHARS / MAX_TEXTS exceeded',
  429: 'rate limited (see Retry-After)',
  503: 'no good model for the direction (model_unavailable), or a file whose bytes do not match the manifest (file_unverified)',
};
