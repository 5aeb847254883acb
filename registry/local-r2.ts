// What the object stores (storage.ts), `npm start` and the tests need to reach local R2, the bucket
// `wrangler dev` serves from .wrangler/state: the repository root, wrangler's offline environment, and the
// bucket and model name of wrangler.toml.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');

// Keeps wrangler off the network and quiet: set for spawned processes only (a .env would leak into the worker).
export const offlineEnv = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

// The bucket bound as MODELS and MODEL_NAME (the one model served without a catalog: multi30k), from wrangler.toml.
export function wranglerSettings(): { bucket: string; modelName: string } {
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8');
  const bucket = /binding\s*=\s*"MODELS"\s*\n\s*bucket_name\s*=\s*"([^"]+)"/.exec(toml)?.[1];
  const modelName = /^MODEL_NAME\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? 'multi30k';
  if (!bucket) throw new Error('wrangler.toml: no [[r2_buckets]] with binding = "MODELS"');
  return { bucket, modelName };
}
