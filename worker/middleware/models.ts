// Puts this request's ModelProvider in c.var.models (R2-backed in the worker, a fake in route tests).
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env.ts';
import type { ModelProvider } from '../model-provider.ts';

export function modelProvider(make: (c: Context<AppEnv>) => ModelProvider): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('models', make(c));
    await next();
  };
}
