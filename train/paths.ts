// Where the repository keeps things the CLI finds by default.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

// The bundled default model (the one tests and examples that need a single model use).
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../models/multi30k', import.meta.url));
}

export const BUNDLED_MODELS_DIR = fileURLToPath(new URL('../models', import.meta.url));

// The bundled models that `npm start` seeds and `mt translate` routes over without --model: every folder
// of `root` with a config.json (models/langid.json is the language detector, not a folder), by name, which
// is also their preference order (model/routing.ts).
export function bundledModels(root = BUNDLED_MODELS_DIR): Array<{ name: string; dir: string }> {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(root, e.name, 'config.json')))
    .map((e) => ({ name: e.name, dir: join(root, e.name) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

// Multi30k for tests and examples: $MULTI30K_DIR, else ../shared/data/multi30k beside the repository.
export function multi30kDir(): string {
  return process.env.MULTI30K_DIR ?? fileURLToPath(new URL('../../shared/data/multi30k', import.meta.url));
}
