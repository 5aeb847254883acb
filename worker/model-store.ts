// Loads the model named by MODEL_NAME from R2 on first use and keeps it in the isolate. Re-reads the
// manifest at most every MANIFEST_TTL_SECONDS; when `current` moves, downloads that version, checks every
// file's size and sha256 against the manifest, builds an engine and swaps it in. A corrupt or partial
// version is never served: the previous good one keeps serving, or requests get 503 model_unavailable.
import type { Context } from 'hono';
import type { Engine } from '../model/engine.ts';
import {
  MODEL_FILES,
  type Manifest,
  type ModelFileName,
  type VersionEntry,
  currentEntry,
  fileKey,
  findVersion,
  manifestKey,
  parseManifestText,
  sha256Hex,
} from '../model/manifest.ts';
import type { ModelFiles } from './engine-loader.ts';
import { type AppEnv, settings } from './env.ts';
import { ApiError } from './errors.ts';
import type { ModelFile, ModelProvider, ModelStatus, ServedModel } from './model-provider.ts';

export type EngineBuilder = (files: ModelFiles) => Promise<Engine>;

export class ModelStore {
  readonly name: string;
  private readonly build: EngineBuilder;
  private served?: ServedModel;
  private manifest?: Manifest;
  private checkedAt = -Infinity;
  private refreshing?: Promise<void>;
  private lastError?: string;

  constructor(name: string, build: EngineBuilder) {
    this.name = name;
    this.build = build;
  }

  // The request that finds the manifest stale waits for the re-check (and a load, if `current` moved), so
  // it sees the new version; requests arriving meanwhile keep the model they would have had.
  async current(bucket: R2Bucket | undefined, ttlMs: number, now = Date.now()): Promise<ServedModel> {
    if (!this.refreshing && now - this.checkedAt >= ttlMs) {
      this.checkedAt = now;
      this.refreshing = this.refresh(bucket).finally(() => (this.refreshing = undefined));
      await this.refreshing;
    } else if (!this.served && this.refreshing) {
      await this.refreshing;
    }
    if (!this.served) {
      throw new ApiError(503, 'model_unavailable', `model '${this.name}' is not available: ${this.lastError ?? 'loading'}`);
    }
    return this.served;
  }

  status(): ModelStatus {
    return { name: this.name, version: this.served?.version, error: this.lastError };
  }

  knownManifest(): Manifest | undefined {
    return this.manifest;
  }

  private async refresh(bucket: R2Bucket | undefined): Promise<void> {
    try {
      if (!bucket) throw new Error('the R2 binding MODELS is not configured');
      const obj = await bucket.get(manifestKey(this.name));
      if (!obj) throw new Error(`no model yet: train one with \`mt train\` and upload it with \`mt push\``);
      const manifest = parseManifestText(await obj.text());
      this.manifest = manifest;
      if (this.served?.version === manifest.current) {
        this.lastError = undefined;
        return;
      }
      const entry = currentEntry(manifest);
      const files = await fetchVerified(bucket, this.name, entry);
      const engine = await this.build({ name: this.name, version: entry.version, entry, files });
      this.served = { name: this.name, version: entry.version, engine, entry };
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e instanceof Error ? e.message : String(e);
      const keeps = this.served ? `; still serving ${this.served.version}` : '';
      console.error(`model ${this.name}: ${this.lastError}${keeps}`);
    }
  }
}

// Downloads one version's files and checks them against the manifest before anything parses them.
export async function fetchVerified(bucket: R2Bucket, name: string, entry: VersionEntry): Promise<Record<ModelFileName, Uint8Array>> {
  const files = {} as Record<ModelFileName, Uint8Array>;
  for (const f of MODEL_FILES) {
    const want = entry.files[f];
    const obj = await bucket.get(fileKey(name, entry.version, f));
    if (!obj) throw new Error(`version ${entry.version}: ${f} is missing from the bucket`);
    const bytes = new Uint8Array(await obj.arrayBuffer());
    if (bytes.byteLength !== want.size) {
      throw new Error(`version ${entry.version}: ${f} has ${bytes.byteLength} bytes, the manifest says ${want.size} (partial upload?)`);
    }
    const got = await sha256Hex(bytes);
    if (got !== want.sha256) throw new Error(`version ${entry.version}: ${f} sha256 ${got} does not match the manifest (corrupt upload?)`);
    files[f] = bytes;
  }
  return files;
}

// Binds a store (one per model name, kept for the isolate's life) to this request's bucket and settings.
export function r2Provider(store: ModelStore, bucket: R2Bucket | undefined, ttlMs: number): ModelProvider {
  return {
    name: store.name,
    current: () => store.current(bucket, ttlMs),
    status: () => store.status(),
    async manifest() {
      await store.current(bucket, ttlMs).catch(() => undefined); // refreshes the manifest if stale
      return store.knownManifest() ?? null;
    },
    async file(version: string, file: ModelFileName): Promise<ModelFile | null> {
      const manifest = await this.manifest();
      const entry = manifest && findVersion(manifest, version);
      if (!bucket || !entry) return null;
      const obj = await bucket.get(fileKey(store.name, version, file));
      return obj && { body: obj.body, size: obj.size, sha256: entry.files[file].sha256 };
    },
  };
}

// One store per model name for the isolate's life; each request binds it to its own env.
export function r2Models(build: EngineBuilder) {
  const stores = new Map<string, ModelStore>();
  return (c: Context<AppEnv>): ModelProvider => {
    const s = settings(c.env);
    let store = stores.get(s.modelName);
    if (!store) stores.set(s.modelName, (store = new ModelStore(s.modelName, build)));
    return r2Provider(store, c.env?.MODELS, s.manifestTtlMs);
  };
}
