// API keys: `Authorization: Bearer <key>`, accepted when sha256(key) is listed in the secret API_KEY_HASHES
// (comma-separated hex) or is a key of the KV namespace API_KEYS. With neither configured the API is open
// (local use). Sets `clientKey`, which the rate limiter counts against.
import type { Context, MiddlewareHandler } from 'hono';
import { sha256Hex } from '../../registry/manifest.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';
import { clientAddress } from './rate-limit.ts';

const CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

// Who is calling: `key:<hash prefix>` for a good key, `ip:<address>` when the API is open; else the 401.
export async function identify(c: Context<AppEnv>): Promise<{ clientKey: string } | { error: ApiError }> {
  const hashes = new Set(
    (c.env?.API_KEY_HASHES ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
  );
  const kv = c.env?.API_KEYS;
  if (hashes.size === 0 && !kv) return { clientKey: `ip:${clientAddress(c)}` };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!m) return { error: new ApiError(401, 'unauthorized', 'missing API key: send Authorization: Bearer <key>', CHALLENGE) };
  const hash = await sha256Hex(new TextEncoder().encode(m[1]));
  const known = hashes.has(hash) || (kv !== undefined && (await kv.get(hash)) !== null);
  if (!known) return { error: new ApiError(401, 'unauthorized', 'invalid API key', CHALLENGE) };
  return { clientKey: `key:${hash.slice(0, 16)}` };
}

export function apiKeyAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const who = await identify(c);
    if ('error' in who) throw who.error;
    c.set('clientKey', who.clientKey);
    await next();
  };
}
