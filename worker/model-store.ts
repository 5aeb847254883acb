// The catalogued models in R2, loaded lazily within a memory budget. Per model a ModelStore re-reads the
// manifest at most every MANIFEST_TTL_SECONDS and learns the directions its config lists (a small verified
// read), but downloads and builds the weights only when a request needs them, one load at a time. Every
// file's size and sha256 is checked against the manifest before anything parses it; when the current
// version does not verify, the newest good one before it (registry/manifest.ts fallbackOrder) serves instead,
// and /healthz says so. The ModelPool keeps the engines of all models under MODEL_MEMORY_BYTES (weight
// bytes), evicting the least recently used one no request holds.
import type { Context } from 'hono';
import type { Engine } from '../model/engine.ts';
import {
  CATALOG_KEY,
  type Manifest,
  type ModelFileName,
  type VersionEntry,
  fallbackOrder,
  fileKey,
  findVersion,
  manifestKey,
  parseCatalogText,
  parseManifestText,
  sha256Hex,
} from '../registry/manifest.ts';
import { hex } from '../model/sha256.ts';
import { type ChunkHasher, VerifiedBody } from '../model/verified-body.ts';
import { routableLanguages } from '../model/routing.ts';
import type { ModelFiles } from './engine-loader.ts';
import { type AppEnv, settings } from './env.ts';
import { ApiError } from './errors.ts';
import type { CatalogModel, Lease, ModelFile, ModelProvider, ServedModel } from './model-provider.ts';

export type EngineBuilder = (files: ModelFiles) => Promise<Engine>;
type Settings = ReturnType<typeof settings>;

// Without MODEL_NAMES and without a catalog object, the one model of the layout before catalogs.
const LEGACY_MODEL = 'multi30k';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
const failure = (version: string, e: unknown) => (message(e).startsWith('version ') ? message(e) : `version ${version}: ${message(e)}`);

// Reads one listed file and checks its size and sha256 against the manifest entry.
export async function fetchVerifiedFile(bucket: R2Bucket, name: string, entry: VersionEntry, f: ModelFileName): Promise<{ bytes: Uint8Array<ArrayBuffer>; etag: string }> {
  const obj = await getFile(bucket, name, entry, f);
  const bytes = new Uint8Array(await obj.arrayBuffer());
  checkFile(entry, f, bytes.byteLength, await sha256Hex(bytes));
  return { bytes, etag: obj.etag };
}

async function getFile(bucket: R2Bucket, name: string, entry: VersionEntry, f: ModelFileName): Promise<R2ObjectBody> {
  const obj = await bucket.get(fileKey(name, entry.version, f));
  if (!obj) throw new Error(`version ${entry.version}: ${f} is missing from the bucket`);
  return obj;
}

function checkFile(entry: VersionEntry, f: ModelFileName, size: number, sha256: string): void {
  const want = entry.files[f];
  if (size !== want.size) throw new Error(`version ${entry.version}: ${f} has ${size} bytes, the manifest says ${want.size} (partial upload?)`);
  if (sha256 !== want.sha256) throw new Error(`version ${entry.version}: ${f} sha256 ${sha256} does not match the manifest (corrupt upload?)`);
}

// weights.safetensors as chunks for the engine to copy into wasm memory as they arrive, so the file is never
// whole in the JS heap (a 75 MB model and its copy in wasm would not fit a 128 MB isolate together). Each
// chunk is hashed on the way (model/verified-body.ts) with workerd's native crypto.DigestStream, or the
// TypeScript SHA-256 where that is missing (not workerd); the stream throws at its end when the size or the
// sha256 does not match the manifest, which fails the build. rest() reads what the build left unread and
// checks the same: the store serves an engine only after it.
async function verifiedWeights(bucket: R2Bucket, name: string, entry: VersionEntry): Promise<{ chunks: AsyncIterable<Uint8Array>; rest: () => Promise<void> }> {
  const f = 'weights.safetensors';
  const obj = await getFile(bucket, name, entry, f);
  const Digest = (crypto as { DigestStream?: typeof DigestStream }).DigestStream;
  const body = new VerifiedBody(obj.body as ReadableStream<Uint8Array>, (size, sha256) => checkFile(entry, f, size, sha256), Digest && digestStreamHasher(Digest));
  return { chunks: body.chunks(), rest: () => body.verify() };
}

function digestStreamHasher(Digest: typeof DigestStream): ChunkHasher {
  const digest = new Digest('SHA-256');
  const writer = digest.getWriter();
  return {
    update: (chunk) => writer.write(chunk),
    hex: async () => {
      await writer.close();
      return hex(await digest.digest);
    },
  };
}

async function fetchVerified(bucket: R2Bucket, name: string, entry: VersionEntry): Promise<ModelFiles['files']> {
  return {
    'config.json': (await fetchVerifiedFile(bucket, name, entry, 'config.json')).bytes,
    'tokenizer.json': (await fetchVerifiedFile(bucket, name, entry, 'tokenizer.json')).bytes,
  };
}

// The directions a version's config.json lists (the engine build checks the rest of it).
function configDirections(bytes: Uint8Array): Array<[string, string]> {
  const d = JSON.parse(new TextDecoder().decode(bytes)).directions;
  if (!Array.isArray(d) || !d.every((p) => Array.isArray(p) && p.length === 2 && p.every((l) => typeof l === 'string'))) {
    throw new Error('config.json lists no directions');
  }
  return d as Array<[string, string]>;
}

export class ModelStore {
  readonly name: string;
  private readonly build: EngineBuilder;
  manifest?: Manifest;
  served?: ServedModel; // the engine in memory, if any
  servingVersion?: string; // the version last verified and built (kept across an eviction)
  bytes = 0; // memory charged for `served`: its weight bytes
  leases = 0; // requests holding `served`
  lastUsed = 0;
  private error?: string;
  private failedAt = -Infinity; // when a load last failed, for the current version `failedFor`
  private failedFor?: string;
  private checkedAt = -Infinity;
  private refreshing?: Promise<void>;
  private loading?: Promise<ServedModel>;
  private directionsOf = new Map<string, Array<[string, string]>>(); // per version (immutable)
  private routingVersion?: string;

  constructor(name: string, build: EngineBuilder) {
    this.name = name;
    this.build = build;
  }

  // Re-reads the manifest when stale. The request that finds it stale waits for the re-check (and a swap,
  // if `current` moved while an engine is loaded); requests arriving meanwhile keep what they would have had.
  async fresh(bucket: R2Bucket | undefined, pool: ModelPool, ttlMs: number, now = Date.now()): Promise<void> {
    let started = false;
    if (!this.refreshing && now - this.checkedAt >= ttlMs) {
      this.checkedAt = now;
      started = true;
      this.refreshing = this.refresh(bucket, pool).finally(() => (this.refreshing = undefined));
    }
    if (this.refreshing && (started || !this.manifest)) await this.refreshing;
  }

  describe(): CatalogModel {
    const directions = (this.routingVersion && this.directionsOf.get(this.routingVersion)) || [];
    return {
      name: this.name,
      manifest: this.manifest ?? null,
      directions,
      languages: this.served?.engine.info.languages ?? routableLanguages([{ name: this.name, directions }]),
      loaded: !!this.served,
      ...(this.servingVersion ? { serving: this.servingVersion } : {}),
      ...(this.error ? { error: this.error } : {}),
    };
  }

  // The engine for a request: loaded on first use; a load that failed for this current version is not
  // retried before the manifest is due for a re-check (a corrupt model is not downloaded on every request).
  async engine(bucket: R2Bucket | undefined, pool: ModelPool, ttlMs: number, now = Date.now()): Promise<ServedModel> {
    if (this.served) return this.served;
    if (this.error && this.failedFor === this.manifest?.current && now - this.failedAt < ttlMs && !this.loading) throw this.unavailable();
    return this.load(bucket, pool, now);
  }

  evict(): void {
    this.served = undefined;
    this.bytes = 0;
  }

  private unavailable(): ApiError {
    return new ApiError(503, 'model_unavailable', `model '${this.name}' is not available: ${this.error ?? 'loading'}`);
  }

  private load(bucket: R2Bucket | undefined, pool: ModelPool, now = Date.now()): Promise<ServedModel> {
    this.loading ??= this.loadFallback(bucket, pool, now).finally(() => (this.loading = undefined));
    return this.loading;
  }

  // Tries the versions in fallback order; the one already in memory counts as good without a new download.
  private async loadFallback(bucket: R2Bucket | undefined, pool: ModelPool, now: number): Promise<ServedModel> {
    const m = this.manifest;
    if (!bucket || !m) throw this.unavailable();
    const failures: string[] = [];
    for (const version of fallbackOrder(m)) {
      if (this.served?.version === version) return this.serving(this.served, failures);
      const entry = findVersion(m, version)!;
      try {
        const bytes = entry.files['weights.safetensors'].size;
        pool.makeRoom(this, bytes);
        const files = await fetchVerified(bucket, this.name, entry);
        const weights = await verifiedWeights(bucket, this.name, entry);
        const engine = await this.build({ name: this.name, version, entry, files, weights: weights.chunks });
        await weights.rest(); // nothing is served before every byte of its weights matched the manifest
        this.served = { name: this.name, version, engine, entry };
        this.bytes = bytes;
        this.directionsOf.set(version, engine.info.directions);
        return this.serving(this.served, failures);
      } catch (e) {
        failures.push(failure(version, e));
        console.error(`model ${this.name}: ${failures.at(-1)}`);
      }
    }
    this.error = failures.join('; ');
    [this.failedAt, this.failedFor] = [now, m.current];
    if (this.served) return this.served; // the previous good one keeps serving
    throw this.unavailable();
  }

  private serving(served: ServedModel, failures: string[]): ServedModel {
    this.servingVersion = this.routingVersion = served.version;
    this.error = failures.length ? `${failures.join('; ')}; serving ${served.version} from the manifest's history` : undefined;
    return served;
  }

  private async refresh(bucket: R2Bucket | undefined, pool: ModelPool): Promise<void> {
    try {
      if (!bucket) throw new Error('the R2 binding MODELS is not configured');
      const obj = await bucket.get(manifestKey(this.name));
      if (!obj) throw new Error('no model yet: train one with `mt train` and upload it with `mt push`');
      const manifest = parseManifestText(await obj.text());
      const moved = manifest.current !== this.manifest?.current;
      this.manifest = manifest;
      if (moved && !this.served) this.servingVersion = undefined; // unknown until the next load
      if (this.served && this.served.version !== manifest.current) await this.load(bucket, pool).catch(() => undefined);
      else if (!this.served && this.failedFor !== manifest.current) this.error = undefined;
      await this.learnDirections(bucket, manifest);
    } catch (e) {
      this.error = message(e);
      const keeps = this.served ? `; still serving ${this.served.version}` : '';
      console.error(`model ${this.name}: ${this.error}${keeps}`);
    }
  }

  // Routing needs the directions of the version that serves, or would: the one in memory, else the first
  // in fallback order whose config.json verifies (read once per version: versions are immutable).
  private async learnDirections(bucket: R2Bucket, m: Manifest): Promise<void> {
    const failures: string[] = [];
    for (const version of this.served ? [this.served.version] : fallbackOrder(m)) {
      if (!this.directionsOf.has(version)) {
        try {
          const { bytes } = await fetchVerifiedFile(bucket, this.name, findVersion(m, version)!, 'config.json');
          this.directionsOf.set(version, configDirections(bytes));
        } catch (e) {
          failures.push(failure(version, e));
          continue;
        }
      }
      this.routingVersion = version;
      return;
    }
    this.routingVersion = undefined;
    throw new Error(failures.join('; '));
  }
}

// Every store of the isolate, the catalog and the memory budget.
export class ModelPool {
  private readonly build: EngineBuilder;
  private readonly stores = new Map<string, ModelStore>();
  private budget = Infinity;
  private tick = 0;
  private catalogNames?: string[];
  private catalogCheckedAt = -Infinity;
  private readonly verifiedEtags = new Map<string, string>(); // R2 key -> etag of bytes that verified

  constructor(build: EngineBuilder) {
    this.build = build;
  }

  store(name: string): ModelStore {
    let s = this.stores.get(name);
    if (!s) this.stores.set(name, (s = new ModelStore(name, this.build)));
    return s;
  }

  // Memory charged by engines in memory, and the ones a request may evict: idle, least recently used first.
  used(): number {
    return [...this.stores.values()].reduce((sum, s) => sum + s.bytes, 0);
  }

  // Before `loading` brings in `bytes`: evicts idle engines until they fit. A model larger than the whole
  // budget is refused; engines held by in-flight requests are never evicted (the budget may then be
  // exceeded until they are released, see trim()).
  makeRoom(loading: ModelStore, bytes: number): void {
    if (bytes > this.budget) throw new Error(`needs ${bytes} bytes of weights, more than MODEL_MEMORY_BYTES (${this.budget})`);
    this.evictWhile(() => this.used() - loading.bytes + bytes > this.budget, loading);
  }

  trim(): void {
    this.evictWhile(() => this.used() > this.budget);
  }

  private evictWhile(over: () => boolean, keep?: ModelStore): void {
    const idle = [...this.stores.values()].filter((s) => s.served && s.leases === 0 && s !== keep).sort((a, b) => a.lastUsed - b.lastUsed);
    for (const s of idle) {
      if (!over()) return;
      console.log(`model ${s.name}: evicted (${s.bytes} bytes) to stay within MODEL_MEMORY_BYTES ${this.budget}`);
      s.evict();
    }
  }

  // The names served, preferred first: MODEL_NAMES when set, else models/catalog.json (re-read like a
  // manifest), else the legacy single model.
  private async names(bucket: R2Bucket | undefined, s: Settings, now = Date.now()): Promise<string[]> {
    if (s.modelNames.length) return s.modelNames;
    if (bucket && now - this.catalogCheckedAt >= s.manifestTtlMs) {
      this.catalogCheckedAt = now;
      try {
        const obj = await bucket.get(CATALOG_KEY);
        this.catalogNames = obj ? parseCatalogText(await obj.text()).models : [LEGACY_MODEL];
      } catch (e) {
        console.error(`${CATALOG_KEY}: ${message(e)}`);
        if (!this.catalogNames) throw new ApiError(503, 'model_unavailable', `${CATALOG_KEY} is unreadable: ${message(e)}`);
      }
    }
    return this.catalogNames ?? [LEGACY_MODEL];
  }

  // Binds the pool to one request's bucket and settings.
  provider(bucket: R2Bucket | undefined, s: Settings): ModelProvider {
    this.budget = s.memoryBytes;
    const listed = async (name: string) => {
      const names = await this.names(bucket, s);
      if (!names.includes(name)) throw new ApiError(400, 'unknown_model', `no model '${name}' in the catalog; models: ${names.join(', ')}`);
      const store = this.store(name);
      await store.fresh(bucket, this, s.manifestTtlMs);
      return store;
    };
    return {
      catalog: async () => {
        const stores = (await this.names(bucket, s)).map((n) => this.store(n));
        await Promise.all(stores.map((st) => st.fresh(bucket, this, s.manifestTtlMs)));
        return stores.map((st) => st.describe());
      },
      acquire: async (name: string): Promise<Lease> => {
        const store = await listed(name);
        store.leases++; // before the load, so that no other request evicts it meanwhile
        let model: ServedModel;
        try {
          model = await store.engine(bucket, this, s.manifestTtlMs);
        } catch (e) {
          store.leases--;
          throw e;
        }
        store.lastUsed = ++this.tick;
        let held = true;
        const release = () => {
          if (!held) return;
          held = false;
          store.leases--;
          this.trim();
        };
        return { model, release };
      },
      file: async (name: string, version: string, file: ModelFileName): Promise<ModelFile | null> => {
        const store = await listed(name).catch((e) => {
          if (e instanceof ApiError && e.code === 'unknown_model') return undefined;
          throw e;
        });
        const entry = store?.manifest && findVersion(store.manifest, version);
        if (!bucket || !entry) return null;
        const want = entry.files[file];
        const key = fileKey(name, version, file);
        const obj = await bucket.get(key);
        // Bytes that verified once are streamed again while R2 reports the same object (same etag).
        if (obj && this.verifiedEtags.get(key) === obj.etag) return { body: obj.body, size: want.size, sha256: want.sha256 };
        await obj?.body.cancel();
        try {
          const { bytes, etag } = await fetchVerifiedFile(bucket, name, entry, file);
          this.verifiedEtags.set(key, etag);
          return { body: bytes, size: want.size, sha256: want.sha256 };
        } catch (e) {
          throw new ApiError(503, 'file_unverified', `${name} ${message(e)}; not served`);
        }
      },
    };
  }
}

// One pool for the isolate's life; each request binds it to its own env.
export function r2Models(build: EngineBuilder) {
  const pool = new ModelPool(build);
  return (c: Context<AppEnv>): ModelProvider => pool.provider(c.env?.MODELS, settings(c.env));
}
