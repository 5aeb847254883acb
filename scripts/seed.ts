// Seeds local R2 with the bundled model in models/<name>/ (config.json, tokenizer.json,
// weights.safetensors, optional VERSION), once: a version already in the local manifest is left alone,
// so deploys and rollbacks made locally with `mt` survive restarts.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MODEL_FILES,
  type Manifest,
  type ModelFileName,
  describeVersion,
  emptyManifest,
  fileKey,
  findVersion,
  manifestKey,
  parseManifestText,
  sha256Hex,
  withCurrent,
  withVersion,
} from '../model/manifest.ts';
import { getLocal, putLocal, root, wranglerSettings } from './local-r2.ts';

export const NO_MODEL = 'no model yet: train one with `mt train` (see README)';

export async function seedLocalModel(): Promise<string> {
  const { bucket, modelName } = wranglerSettings();
  const dir = join(root, 'models', modelName);
  if (!MODEL_FILES.every((f) => existsSync(join(dir, f)))) return NO_MODEL;

  const files = Object.fromEntries(MODEL_FILES.map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))])) as Record<ModelFileName, Uint8Array>;
  const version = existsSync(join(dir, 'VERSION')) ? readFileSync(join(dir, 'VERSION'), 'utf8').trim() : await contentVersion(files);
  const old = getLocal(bucket, manifestKey(modelName));
  const manifest: Manifest | null = old ? parseManifestText(old.toString('utf8')) : null;
  if (manifest && findVersion(manifest, version)) return `local R2 already has ${modelName}@${version} (current: ${manifest.current})`;

  const config = JSON.parse(new TextDecoder().decode(files['config.json'])) as { created?: string; bleu?: Record<string, number> };
  const entry = await describeVersion(version, files, { created: config.created, bleu: config.bleu });
  for (const f of MODEL_FILES) putLocal(bucket, fileKey(modelName, version, f), join(dir, f), f.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  const next = manifest ? withCurrent(withVersion(manifest, entry), version) : emptyManifest(modelName, entry);
  const tmp = mkdtempSync(join(tmpdir(), 'edge-mt-'));
  try {
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(next, null, 2));
    putLocal(bucket, manifestKey(modelName), join(tmp, 'manifest.json'), 'application/json'); // last: the switch
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return `seeded local R2 with ${modelName}@${version}`;
}

// Without a VERSION file, the version is a hash of the contents: the same files always seed the same version.
async function contentVersion(files: Record<ModelFileName, Uint8Array>): Promise<string> {
  const hashes = await Promise.all(MODEL_FILES.map((f) => sha256Hex(files[f])));
  return `sha-${(await sha256Hex(new TextEncoder().encode(hashes.join('')))).slice(0, 12)}`;
}
