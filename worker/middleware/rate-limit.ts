// Per-key rate limiting with the Workers Rate Limiting binding RATE_LIMITER; skipped when it is absent.
// The binding does not say when the window resets, so Retry-After is the configured period.
import type { MiddlewareHandler } from 'hono';
import { type AppEnv, settings } from '../env.ts';
import { ApiError } from '../errors.ts';

export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiter = c.env?.RATE_LIMITER;
    if (limiter) {
      const { success } = await limiter.limit({ key: c.get('clientKey') ?? 'anonymous' });
      if (!success) {
        const wait = String(settings(c.env).rateLimitPeriodSeconds);
        throw new ApiError(429, 'rate_limited', `too many requests for this key; retry in ${wait} s`, { 'Retry-After': wait });
      }
    }
    await next();
  };
}
