// Edge caching of identical translate requests with the Cache API. The key is a hash of the model version
// and everything that shapes the result; entries never go stale because a version's files never change.
import type { Context } from 'hono';
import { sha256Hex } from '../registry/manifest.ts';
import type { AppEnv } from './env.ts';

const MAX_AGE_SECONDS = 86400;

function edgeCache(): Cache | undefined {
  return typeof caches === 'undefined' ? undefined : (caches as unknown as { default: Cache }).default;
}

export async function cacheKey(c: Context<AppEnv>, parts: unknown): Promise<Request> {
  const hash = await sha256Hex(new TextEncoder().encode(JSON.stringify(parts)));
  return new Request(new URL(`/v1/translate/cached/${hash}`, c.req.url).toString(), { method: 'GET' });
}

// What cachePut stored under the key (the caller's type: one route puts and gets one body type).
export async function cacheGet<T>(key: Request): Promise<T | undefined> {
  const hit = await edgeCache()?.match(key);
  return hit ? hit.json<T>() : undefined;
}

export async function cachePut<T>(c: Context<AppEnv>, key: Request, body: T): Promise<void> {
  const cache = edgeCache();
  if (!cache) return;
  const res = new Response(JSON.stringify(body), {
    headers: { 'Content-Type': 'application/json', 'Cache-Control': `public, max-age=${MAX_AGE_SECONDS}` },
  });
  const put = cache.put(key, res).catch((e) => console.error('cache put failed:', e));
  try {
    c.executionCtx.waitUntil(put); // do not hold the response for the write
  } catch {
    await put; // no execution context (app.request in tests)
  }
}
