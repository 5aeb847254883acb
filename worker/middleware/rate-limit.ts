// Rate limiting with the Workers Rate Limiting binding RATE_LIMITER; skipped when it is absent. Twice:
// by client address (CF-Connecting-IP) before authentication, so floods of bad keys are limited too, and by
// key after it (a key's budget follows it across addresses). The binding does not say when the window
// resets, so Retry-After is the configured period.
import type { Context, MiddlewareHandler } from 'hono';
import { type AppEnv, settings } from '../env.ts';
import { ApiError } from '../errors.ts';

type Counter = (c: Context<AppEnv>) => string | undefined; // the key to count against; undefined: skip

export const clientAddress = (c: Context<AppEnv>) => c.req.header('cf-connecting-ip') ?? 'local';
export const byAddress: Counter = (c) => `ip:${clientAddress(c)}`;
// Only callers authenticated by a key: an open API is already counted by address.
export const byKey: Counter = (c) => (c.get('clientKey')?.startsWith('key:') ? c.get('clientKey') : undefined);

export function rateLimit(counter: Counter): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiter = c.env?.RATE_LIMITER;
    const key = counter(c);
    if (limiter && key) {
      const { success } = await limiter.limit({ key });
      if (!success) {
        const wait = String(settings(c.env).rateLimitPeriodSeconds);
        const who = key.startsWith('ip:') ? 'this client address' : 'this key';
        throw new ApiError(429, 'rate_limited', `too many requests from ${who}; retry in ${wait} s`, { 'Retry-After': wait });
      }
    }
    await next();
  };
}
