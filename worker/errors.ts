// One error shape for every client: { error: { code, message } }. Client errors are HTTPExceptions thrown
// where input is validated; onError turns them (and Hono's own) into JSON; anything else is a logged 500.
import type { Context, ErrorHandler, Hono, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from '@hono/zod-openapi';
import type { AppEnv } from './env.ts';
import type { ErrorSchema } from './schemas.ts';

export type ErrorBody = z.infer<typeof ErrorSchema>;

// Codes for exceptions raised without one (Hono's validators, body limits, media-type gate).
const DEFAULT_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'invalid_request',
  429: 'rate_limited',
  503: 'unavailable',
};

export class ApiError extends HTTPException {
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(status, { message });
    this.code = code;
    this.headers = headers;
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = err instanceof ApiError ? err.code : (DEFAULT_CODES[status] ?? 'error');
    const headers = err instanceof ApiError ? err.headers : {};
    return c.json(errorBody(code, err.message || code), status, headers);
  }
  console.error(`${c.req.method} ${new URL(c.req.url).pathname} failed:`, err);
  return c.json(errorBody('internal', 'internal error'), 500);
};

// 404 for unknown paths, 405 (with Allow) for a known path asked with the wrong method. Paths no route
// has are the demo page's static files (the ASSETS binding; the worker runs first, wrangler.toml), which
// only GET and HEAD read: the asset server's own 405 would have an empty body.
export function notFound(app: Hono<AppEnv>): NotFoundHandler<AppEnv> {
  return async (c: Context<AppEnv>) => {
    const path = new URL(c.req.url).pathname;
    const allowed = new Set<string>();
    for (const r of app.routes) {
      if (r.method !== 'ALL' && pathPattern(r.path).test(path)) allowed.add(r.method);
    }
    const assets = c.env?.ASSETS;
    if (allowed.size === 0 && assets && !path.startsWith('/v1/')) {
      const read = c.req.method === 'GET' || c.req.method === 'HEAD';
      const res = await assets.fetch(read ? c.req.raw : new Request(c.req.url, { method: 'HEAD' }));
      if (res.status !== 404 && read) return res;
      if (res.status !== 404) allowed.add('GET');
    }
    if (allowed.size > 0) {
      if (allowed.has('GET')) allowed.add('HEAD');
      const allow = [...allowed].sort().join(', ');
      return c.json(errorBody('method_not_allowed', `${c.req.method} is not allowed on ${path}; use ${allow}`), 405, { Allow: allow });
    }
    return c.json(errorBody('not_found', `no route ${c.req.method} ${path}`), 404);
  };
}

function pathPattern(route: string): RegExp {
  const escaped = route.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${escaped.join('/')}/?$`);
}
