// Model versions in object storage: push, deploy, rollback, list. R2 has no transactions, so safety comes
// from the order of writes: a version's files are uploaded and read back (sha256 checked) before the
// manifest names them, and the manifest, the only object the worker polls, is always written last.
// An interrupted push leaves unlisted files and the manifest as it was; the worker never sees them.
import {
  CATALOG_KEY,
  type Catalog,
  MODEL_FILES,
  ManifestError,
  type Manifest,
  type ModelFileName,
  type VersionEntry,
  describeVersion,
  emptyManifest,
  fileKey,
  findVersion,
  isSafeId,
  manifestKey,
  parseCatalogText,
  parseManifestText,
  rollbackTarget,
  sha256Hex,
  withCatalogModel,
  withDeploy,
  withRollback,
  withVersion,
} from './manifest.ts';
import { contentType, type ObjectStore } from './storage.ts';

// What the caller did wrong or what the store holds wrong (the CLI prints it as one line).
export class RegistryError extends Error {}

export type ModelBytes = Record<ModelFileName, Uint8Array>;
type Log = (line: string) => void;

export async function readManifest(store: ObjectStore, name: string): Promise<Manifest | null> {
  checkId(name, 'model name');
  const bytes = await store.get(manifestKey(name));
  if (!bytes) return null;
  try {
    return parseManifestText(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new RegistryError(`${manifestKey(name)} in ${store.where} is invalid: ${(e as Error).message}`);
  }
}

// The catalog the worker serves from (models/catalog.json), or null before the first push wrote one.
export async function readCatalog(store: ObjectStore): Promise<Catalog | null> {
  const bytes = await store.get(CATALOG_KEY);
  if (!bytes) return null;
  try {
    return parseCatalogText(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new RegistryError(`${CATALOG_KEY} in ${store.where} is invalid: ${(e as Error).message}`);
  }
}

// Sets the catalog: the models the worker serves, preferred first; each must have a manifest.
export async function writeCatalog(store: ObjectStore, names: string[]): Promise<Catalog> {
  for (const n of names) await requireManifest(store, n);
  const catalog: Catalog = { schema: 1, models: [...new Set(names)] };
  await store.put(CATALOG_KEY, new TextEncoder().encode(JSON.stringify(catalog, null, 2) + '\n'), 'application/json');
  return catalog;
}

async function requireManifest(store: ObjectStore, name: string): Promise<Manifest> {
  const m = await readManifest(store, name);
  if (!m) throw new RegistryError(`no model ${name} in ${store.where} (push one with mt push)`);
  return m;
}

async function writeManifest(store: ObjectStore, m: Manifest): Promise<void> {
  await store.put(manifestKey(m.name), new TextEncoder().encode(JSON.stringify(m, null, 2) + '\n'), 'application/json');
}

// Reads one file of a version back and checks its size and sha256 against the entry.
async function verifyFile(store: ObjectStore, name: string, entry: VersionEntry, f: ModelFileName, log: Log): Promise<void> {
  const key = fileKey(name, entry.version, f);
  const want = entry.files[f];
  const got = await store.get(key);
  if (!got) throw new RegistryError(`${key} is missing from ${store.where}`);
  const sha = await sha256Hex(got);
  if (got.byteLength !== want.size || sha !== want.sha256) {
    throw new RegistryError(`${key} in ${store.where} has ${got.byteLength} bytes, sha256 ${sha.slice(0, 12)}…; expected ${want.size} bytes, ${want.sha256.slice(0, 12)}…`);
  }
  log(`  verified ${f} (${want.size} bytes, sha256 ${want.sha256.slice(0, 12)}…)`);
}

export async function verifyVersion(store: ObjectStore, name: string, entry: VersionEntry, log: Log = () => {}): Promise<void> {
  for (const f of MODEL_FILES) await verifyFile(store, name, entry, f, log);
}

// A default version: UTC timestamp + a hash of the contents, e.g. 20261124-201530-3f2a9c1d.
export async function defaultVersion(files: ModelBytes, now = new Date()): Promise<string> {
  const hashes = await Promise.all(MODEL_FILES.map((f) => sha256Hex(files[f])));
  const hash = (await sha256Hex(new TextEncoder().encode(hashes.join('')))).slice(0, 8);
  const ts = now.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
  return `${ts}-${hash}`;
}

export interface PushOptions {
  version?: string;
  deploy?: boolean; // make it current (the first version of a model always is)
  notes?: string;
  log?: Log;
  now?: Date; // the push time recorded as the version's `created` (default: now)
}

// Uploads a new version: files, each read back and checked, then the manifest with the version added.
export async function pushVersion(store: ObjectStore, name: string, files: ModelBytes, o: PushOptions = {}): Promise<{ manifest: Manifest; entry: VersionEntry }> {
  const log = o.log ?? (() => {});
  const version = o.version ?? (await defaultVersion(files));
  checkId(version, 'version');
  const before = await readManifest(store, name);
  if (before && findVersion(before, version)) {
    throw new RegistryError(`${name}@${version} already exists in ${store.where}; versions are immutable, push under another --version`);
  }
  let config: { bleu?: unknown };
  try {
    config = JSON.parse(new TextDecoder().decode(files['config.json']));
  } catch {
    throw new RegistryError('config.json is not valid JSON');
  }
  const entry = await describeVersion(version, files, {
    created: (o.now ?? new Date()).toISOString(), // this version's push, not the training date config.json carries
    bleu: isScores(config.bleu) ? config.bleu : undefined,
    notes: o.notes,
  }).catch((e) => {
    throw new RegistryError((e as Error).message);
  });
  for (const f of MODEL_FILES) {
    const key = fileKey(name, version, f);
    try {
      await store.put(key, files[f], contentType(key));
      await verifyFile(store, name, entry, f, log);
    } catch (e) {
      const why = e instanceof RegistryError ? e.message : `upload of ${key} failed: ${(e as Error).message}`;
      throw new RegistryError(`${why}; push refused, the manifest was not changed`);
    }
  }
  const added = before ? withVersion(before, entry) : emptyManifest(name, entry);
  const manifest = o.deploy && before ? withDeploy(added, version) : added;
  try {
    await writeManifest(store, manifest);
  } catch (e) {
    throw new RegistryError(`writing ${manifestKey(name)} failed: ${(e as Error).message}; ${version} is uploaded but not listed (push it again)`);
  }
  // A new model joins the catalog last (least preferred): `mt catalog` reorders.
  const catalog = await readCatalog(store);
  if (!catalog?.models.includes(name)) await writeCatalog(store, withCatalogModel(catalog, name).models);
  return { manifest, entry };
}

// Switches `current` to a listed version after checking all its files are present and intact.
export async function deployVersion(store: ObjectStore, name: string, version: string, log: Log = () => {}): Promise<Manifest> {
  checkId(version, 'version');
  const m = await requireManifest(store, name);
  const entry = findVersion(m, version);
  if (!entry) {
    throw new RegistryError(`unknown version ${version} of ${name}; known: ${m.history.map((v) => v.version).join(', ')}`);
  }
  if (m.current === version) {
    log(`${name}@${version} is already current`);
    return m;
  }
  await verifyVersion(store, name, entry, log);
  const next = withDeploy(m, version);
  await writeManifest(store, next);
  return next;
}

// Undoes the last deploy: the version that was current before it is current again.
export async function rollbackVersion(store: ObjectStore, name: string, log: Log = () => {}): Promise<{ manifest: Manifest; from: string; to: string }> {
  const m = await requireManifest(store, name);
  const to = rollbackTarget(m);
  if (!to) throw new RegistryError(`${name} has no earlier deployed version to roll back to (current: ${m.current})`);
  await verifyVersion(store, name, findVersion(m, to)!, log);
  let next: Manifest;
  try {
    next = withRollback(m);
  } catch (e) {
    throw new RegistryError((e as ManifestError).message);
  }
  await writeManifest(store, next);
  return { manifest: next, from: m.current, to };
}

function checkId(s: string, what: string): void {
  if (!isSafeId(s)) throw new RegistryError(`${what} "${s}" must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit`);
}

function isScores(x: unknown): x is Record<string, number> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every((v) => typeof v === 'number' && Number.isFinite(v));
}
