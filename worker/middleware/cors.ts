// CORS for browser apps; allowed origins come from the var CORS_ORIGINS (comma-separated, or *).
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { type AppEnv, settings } from '../env.ts';

export function corsFromEnv(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const origins = settings(c.env).corsOrigins;
    return cors({
      origin: origins.includes('*') ? '*' : origins,
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['Content-Type', 'Authorization', 'Accept'],
      exposeHeaders: ['X-Cache', 'X-Model-Version', 'Retry-After', 'X-Content-SHA256'],
      maxAge: 86400,
    })(c, next);
  };
}
