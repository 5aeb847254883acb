// Local R2 (what `wrangler dev` serves from .wrangler/state) through the wrangler CLI, offline.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');
const wrangler = join(root, 'node_modules/.bin/wrangler');

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

export function getLocal(bucket: string, key: string): Buffer | null {
  try {
    return execFileSync(wrangler, ['r2', 'object', 'get', '--local', `${bucket}/${key}`, '--pipe'], {
      cwd: root,
      env: offlineEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 1 << 30,
    });
  } catch {
    return null; // absent (wrangler exits non-zero)
  }
}

export function putLocal(bucket: string, key: string, file: string, contentType: string): void {
  execFileSync(wrangler, ['r2', 'object', 'put', '--local', `${bucket}/${key}`, '--file', file, '--content-type', contentType], {
    cwd: root,
    env: offlineEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
