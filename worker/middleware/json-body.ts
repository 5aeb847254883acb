// Reads a JSON request body under MAX_BODY_BYTES and decodes it strictly, so the route's schema validator
// (which re-reads it from Hono's body cache) only ever sees well-formed UTF-8 JSON.
import type { MiddlewareHandler } from 'hono';
import { type AppEnv, settings } from '../env.ts';
import { ApiError } from '../errors.ts';

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;

export function jsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0].trim();
    if (!JSON_TYPE.test(type)) {
      throw new ApiError(415, 'unsupported_media_type', `send a JSON body with Content-Type: application/json (got '${type || 'none'}')`);
    }
    const max = settings(c.env).maxBodyBytes;
    const tooLarge = () => new ApiError(413, 'payload_too_large', `request body is larger than the limit MAX_BODY_BYTES (${max} bytes)`);
    if (Number(c.req.header('content-length')) > max) throw tooLarge();
    const bytes = await readCapped(c.req.raw.body, max, tooLarge);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ApiError(400, 'invalid_utf8', 'request body is not valid UTF-8');
    }
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ApiError(400, 'malformed_json', `request body is not valid JSON: ${e instanceof Error ? e.message : e}`);
    }
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text); // Hono caches promises
    await next();
  };
}

// Reads a stream to the end, failing as soon as it passes `max` bytes (Content-Length may be absent or lie).
async function readCapped(body: ReadableStream<Uint8Array> | null, max: number, tooLarge: () => Error): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const ch of chunks) {
    out.set(ch, at);
    at += ch.byteLength;
  }
  return out;
}
