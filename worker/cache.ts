// Edge caching of identical translate requests with the Cache API. The key is a hash of the model version
// and everything that shapes the result; entries never go stale because a version's files never change.
import type { Context } from 'hono';
import { sha256Hex } from '../model/manifest.ts';
import type { AppEnv } from './env.ts';

const MAX_AGE_SECONDS = 86400;

function edgeCache(): Cache | undefined {
  return typeof caches === 'undefined' ? undefined : (caches as unknown as { default: Cache }).default;
}

export async function cacheKey(c: Context<AppEnv>, parts: unknown): Promise<Request> {
  const hash = await sha256Hex(new TextEncoder().encode(JSON.stringify(parts)));
  return new Request(new URL(`/v1/translate/cached/${hash}`, c.req.url).toString(), { method: 'GET' });
}

export async function cacheGet(key: Request): Promise<unknown | undefined> {
  const hit = await edgeCache()?.match(key);
  return hit ? hit.json() : undefined;
}

export async function cachePut(c: Context<AppEnv>, key: Request, body: unknown): Promise<void> {
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
