// Seeds local R2 with model folders (config.json, tokenizer.json, weights.safetensors, optional VERSION),
// `npm start`'s bundled models/<name>/, once: a version already in the local manifest is left alone, so
// deploys and rollbacks made locally with `mt` survive restarts. Uploads with `mt push`'s code, which also
// lists each new model in the catalog (in the order given: scripts/start.ts gives folder-name order).
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MODEL_FILES, type ModelFileName, findVersion, sha256Hex } from './manifest.ts';
import { pushVersion, readManifest } from './registry.ts';
import { openStore } from './storage.ts';

export const NO_MODEL = 'no model yet: train one with `mt train` (see README)';

// persistTo: the local R2 folder (default .wrangler/state, what `wrangler dev` uses).
export async function seedLocalModels(modelDirs: string[], o: { persistTo?: string } = {}): Promise<string[]> {
  const lines: string[] = [];
  for (const dir of modelDirs) lines.push(await seedLocalModel({ persistTo: o.persistTo, modelDir: dir }));
  return lines.length ? lines : [NO_MODEL];
}

// One model folder, under its folder name.
export async function seedLocalModel(o: { persistTo?: string; modelDir: string }): Promise<string> {
  const dir = o.modelDir;
  const modelName = basename(dir);
  if (!MODEL_FILES.every((f) => existsSync(join(dir, f)))) return NO_MODEL;

  const files = Object.fromEntries(MODEL_FILES.map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))])) as Record<ModelFileName, Uint8Array>;
  const version = existsSync(join(dir, 'VERSION')) ? readFileSync(join(dir, 'VERSION'), 'utf8').trim() : await contentVersion(files);
  const store = await openStore({ persistTo: o.persistTo });
  try {
    const manifest = await readManifest(store, modelName);
    if (manifest && findVersion(manifest, version)) return `local R2 already has ${modelName}@${version} (current: ${manifest.current})`;
    await pushVersion(store, modelName, files, { version, deploy: true });
    return `seeded local R2 with ${modelName}@${version}`;
  } finally {
    await store.close();
  }
}

// Without a VERSION file, the version is a hash of the contents: the same files always seed the same version.
async function contentVersion(files: Record<ModelFileName, Uint8Array>): Promise<string> {
  const hashes = await Promise.all(MODEL_FILES.map((f) => sha256Hex(files[f])));
  return `sha-${(await sha256Hex(new TextEncoder().encode(hashes.join('')))).slice(0, 12)}`;
}
