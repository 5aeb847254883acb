// Bindings (wrangler.toml) and per-request variables, typed once for every Hono app and middleware.
import type { ModelProvider } from './model-provider.ts';

export interface Env {
  ASSETS?: Fetcher; // the demo page's static files (wrangler.toml [assets])
  MODELS?: R2Bucket; // models/<name>/manifest.json + versioned files (registry/manifest.ts)
  API_KEYS?: KVNamespace; // optional: keys by sha256 hex
  RATE_LIMITER?: RateLimit; // optional: Workers Rate Limiting binding
  API_KEY_HASHES?: string; // secret: comma-separated sha256 hex of accepted API keys
  MODEL_NAMES?: string; // comma-separated models to serve, preferred first; unset: models/catalog.json in R2
  MODEL_NAME?: string; // one model to serve: the same as MODEL_NAMES with one name (before catalogs)
  MODEL_MEMORY_BYTES?: string; // budget for the engines in memory, in weight bytes (LRU eviction beyond it)
  MANIFEST_TTL_SECONDS?: string;
  MAX_CHARS?: string;
  MAX_TEXTS?: string;
  MAX_BODY_BYTES?: string;
  MAX_WORK?: string;
  MAX_ALIGNMENT_CELLS?: string;
  CORS_ORIGINS?: string;
  RATE_LIMIT_PERIOD_SECONDS?: string;
}

export interface Variables {
  models: ModelProvider;
  clientKey: string; // who is calling: api key hash prefix, or client address when the API is open
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}

// Vars arrive as strings; defaults match wrangler.toml so a bare environment (route tests) behaves the same.
export function settings(env: Env | undefined) {
  return {
    modelNames: (env?.MODEL_NAMES || env?.MODEL_NAME || '').split(',').map((s) => s.trim()).filter(Boolean),
    memoryBytes: num(env?.MODEL_MEMORY_BYTES, 100_000_000),
    manifestTtlMs: num(env?.MANIFEST_TTL_SECONDS, 30) * 1000,
    maxChars: num(env?.MAX_CHARS, 5000),
    maxTexts: num(env?.MAX_TEXTS, 64),
    maxBodyBytes: num(env?.MAX_BODY_BYTES, 1 << 20),
    // Decoding one request may take (model/texts.ts workOf: decoder row-steps, the sentences' step bound
    // x beam): sized so the slowest request admitted fits a Worker's CPU time (npm run bench:request).
    maxWork: num(env?.MAX_WORK, 50_000),
    // With alignments, attention cells (source tokens x steps) the response may carry, each one number per
    // decoder layer and head: 50,000 keeps the bundled model's (16 per cell) near 10 MB of JSON.
    maxAlignmentCells: num(env?.MAX_ALIGNMENT_CELLS, 50_000),
    corsOrigins: (env?.CORS_ORIGINS ?? '*').split(',').map((s) => s.trim()).filter(Boolean),
    rateLimitPeriodSeconds: num(env?.RATE_LIMIT_PERIOD_SECONDS, 60),
  };
}

function num(s: string | undefined, fallback: number): number {
  const n = Number(s);
  return s !== undefined && s !== '' && Number.isFinite(n) && n >= 0 ? n : fallback;
}
