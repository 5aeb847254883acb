// Where the repository keeps things the CLI finds by default.
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

// The bundled default model that `npm start` serves and `mt translate` uses without --model.
export function defaultModelDir(): string {
  return fileURLToPath(new URL('../models/multi30k', import.meta.url));
}

// Multi30k for tests and examples: $MULTI30K_DIR, else ../shared/data/multi30k beside the repository.
export function multi30kDir(): string {
  return process.env.MULTI30K_DIR ?? fileURLToPath(new URL('../../shared/data/multi30k', import.meta.url));
}
