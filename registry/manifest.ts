// The model manifest: which version of a model is current, its history, and each file's sha256 and size.
// Defined once here; the worker reads it to serve, the CLI (`mt push/deploy/rollback`) writes it.
//
// Bucket layout (R2 binding MODELS):
//   models/catalog.json                 the model names the worker serves, in preference order (model/routing.ts)
//   models/<name>/manifest.json
//   models/<name>/<version>/{config.json, tokenizer.json, weights.safetensors}
// A version's files are immutable once listed; `current` (with its `previous` stack) is the only thing that moves.
import { hex } from '../model/sha256.ts';

export const MODEL_FILES = ['config.json', 'tokenizer.json', 'weights.safetensors'] as const;
export type ModelFileName = (typeof MODEL_FILES)[number];

export interface FileEntry {
  sha256: string; // 64 lowercase hex digits
  size: number; // bytes
}

export interface VersionEntry {
  version: string;
  created: string; // ISO 8601
  files: Record<ModelFileName, FileEntry>;
  bleu?: Record<string, number>; // e.g. { 'en-de': 38.1 }, as recorded by `mt eval`
  notes?: string;
}

export interface Manifest {
  schema: 1;
  name: string;
  current: string; // a version listed in history
  history: VersionEntry[]; // oldest first
  // Versions that were current before, oldest first: a deploy pushes the outgoing version, a rollback pops
  // one. Optional: manifests written before it existed still parse (they just have nothing to roll back to).
  previous?: string[];
}

export class ManifestError extends Error {}

// Names and versions become R2 keys and URL segments: keep them to a safe alphabet.
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSafeId(s: string): boolean {
  return SAFE_ID.test(s) && !s.includes('..');
}

export function manifestKey(name: string): string {
  return `models/${name}/manifest.json`;
}

export function fileKey(name: string, version: string, file: ModelFileName): string {
  return `models/${name}/${version}/${file}`;
}

export function isModelFileName(s: string): s is ModelFileName {
  return (MODEL_FILES as readonly string[]).includes(s);
}

// Validates untrusted JSON (from R2 or disk) into a Manifest; throws ManifestError naming the bad field.
export function parseManifest(json: unknown): Manifest {
  const m = object(json, 'manifest');
  if (m.schema !== 1) throw new ManifestError(`manifest.schema: expected 1, got ${JSON.stringify(m.schema)}`);
  const name = id(m.name, 'manifest.name');
  const current = id(m.current, 'manifest.current');
  if (!Array.isArray(m.history)) throw new ManifestError('manifest.history: expected an array');
  const history = m.history.map((v, i) => versionEntry(v, `manifest.history[${i}]`));
  const seen = new Set<string>();
  for (const v of history) {
    if (seen.has(v.version)) throw new ManifestError(`manifest.history: version ${v.version} listed twice`);
    seen.add(v.version);
  }
  if (!seen.has(current)) throw new ManifestError(`manifest.current: version ${current} is not in history`);
  const out: Manifest = { schema: 1, name, current, history };
  if (m.previous !== undefined) {
    if (!Array.isArray(m.previous)) throw new ManifestError('manifest.previous: expected an array');
    out.previous = m.previous.map((p, i) => {
      const v = id(p, `manifest.previous[${i}]`);
      if (!seen.has(v)) throw new ManifestError(`manifest.previous[${i}]: version ${v} is not in history`);
      return v;
    });
  }
  return out;
}

export function parseManifestText(text: string): Manifest {
  return parseManifest(parseJson(text, 'manifest'));
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ManifestError(`${what}: not valid JSON`);
  }
}

export function currentEntry(m: Manifest): VersionEntry {
  return findVersion(m, m.current)!; // parseManifest guarantees it
}

export function findVersion(m: Manifest, version: string): VersionEntry | undefined {
  return m.history.find((v) => v.version === version);
}

// The versions a host tries, in order, when it must serve `m`: the current one; if its files do not verify,
// the ones current before it (newest deploy first), then older pushes. Versions pushed after the current
// one were never deployed and are not tried.
export function fallbackOrder(m: Manifest): string[] {
  const older = m.history.slice(0, m.history.findIndex((v) => v.version === m.current)).map((v) => v.version);
  return [...new Set([m.current, ...(m.previous ?? []).toReversed(), ...older.toReversed()])];
}

export function totalSize(v: VersionEntry): number {
  return MODEL_FILES.reduce((sum, f) => sum + v.files[f].size, 0);
}

// --- the catalog: which models the worker serves, first preferred (`mt push` appends, `mt catalog` reorders) ---

export const CATALOG_KEY = 'models/catalog.json';

export interface Catalog {
  schema: 1;
  models: string[]; // model names, preferred first: a direction goes to the first model that serves it
}

export function parseCatalogText(text: string): Catalog {
  const c = object(parseJson(text, 'catalog'), 'catalog');
  if (c.schema !== 1) throw new ManifestError(`catalog.schema: expected 1, got ${JSON.stringify(c.schema)}`);
  if (!Array.isArray(c.models)) throw new ManifestError('catalog.models: expected an array');
  const models = c.models.map((n, i) => id(n, `catalog.models[${i}]`));
  if (new Set(models).size !== models.length) throw new ManifestError('catalog.models: a name is listed twice');
  return { schema: 1, models };
}

// The catalog with `name` in it (appended, least preferred, when new).
export function withCatalogModel(c: Catalog | null, name: string): Catalog {
  const models = c?.models ?? [];
  return { schema: 1, models: models.includes(name) ? models : [...models, name] };
}

// --- edits, for the CLI: pure functions returning a new manifest ---

export function emptyManifest(name: string, first: VersionEntry): Manifest {
  return parseManifest({ schema: 1, name, current: first.version, history: [first] });
}

// Adds (or replaces, if identical files) a version without making it current.
export function withVersion(m: Manifest, v: VersionEntry): Manifest {
  const old = findVersion(m, v.version);
  if (old && MODEL_FILES.some((f) => old.files[f].sha256 !== v.files[f].sha256)) {
    throw new ManifestError(`version ${v.version} already exists with different files; versions are immutable`);
  }
  const history = old ? m.history.map((h) => (h.version === v.version ? v : h)) : [...m.history, v];
  return parseManifest({ ...m, history });
}

// Makes a listed version current, leaving `previous` alone (tests and tools that set `current` directly).
export function withCurrent(m: Manifest, version: string): Manifest {
  if (!findVersion(m, version)) throw new ManifestError(`version ${version} is not in the history of ${m.name}`);
  return { ...m, current: version };
}

// Deploy: `version` becomes current and the outgoing one is remembered for a rollback (no-op if current).
export function withDeploy(m: Manifest, version: string): Manifest {
  if (m.current === version) return withCurrent(m, version);
  return { ...withCurrent(m, version), previous: [...(m.previous ?? []), m.current] };
}

// The version a rollback would return to: the one current before the last deploy, if any.
export function rollbackTarget(m: Manifest): string | undefined {
  return m.previous?.at(-1);
}

// Rollback: the last deploy is undone (the version before it is current again).
export function withRollback(m: Manifest): Manifest {
  const to = rollbackTarget(m);
  if (!to) throw new ManifestError(`${m.name} has no earlier deployed version to roll back to (current: ${m.current})`);
  return { ...withCurrent(m, to), previous: m.previous!.slice(0, -1) };
}

// sha256 as lowercase hex; crypto.subtle exists in workerd, browsers and Node 20+.
export async function sha256Hex(data: ArrayBuffer | ArrayBufferView): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', data as BufferSource));
}


// Describes a version from its files' bytes (CLI push, local seeding, tests).
export async function describeVersion(
  version: string,
  files: Record<ModelFileName, Uint8Array>,
  extra: { created?: string; bleu?: Record<string, number>; notes?: string } = {},
): Promise<VersionEntry> {
  const entries = {} as Record<ModelFileName, FileEntry>;
  for (const f of MODEL_FILES) entries[f] = { sha256: await sha256Hex(files[f]), size: files[f].byteLength };
  const v = { version, created: extra.created ?? new Date().toISOString(), files: entries, bleu: extra.bleu, notes: extra.notes };
  return versionEntry(JSON.parse(JSON.stringify(v)), 'version');
}

// --- field checks ---

function object(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ManifestError(`${path}: expected an object`);
  return x as Record<string, unknown>;
}

function id(x: unknown, path: string): string {
  if (typeof x !== 'string' || !isSafeId(x)) {
    throw new ManifestError(`${path}: expected 1-64 characters of [A-Za-z0-9._-], got ${JSON.stringify(x)}`);
  }
  return x;
}

function versionEntry(x: unknown, path: string): VersionEntry {
  const v = object(x, path);
  const version = id(v.version, `${path}.version`);
  if (typeof v.created !== 'string' || Number.isNaN(Date.parse(v.created))) {
    throw new ManifestError(`${path}.created: expected an ISO 8601 date`);
  }
  const filesIn = object(v.files, `${path}.files`);
  const files = {} as Record<ModelFileName, FileEntry>;
  for (const f of MODEL_FILES) files[f] = fileEntry(filesIn[f], `${path}.files["${f}"]`);
  const out: VersionEntry = { version, created: v.created, files };
  if (v.bleu !== undefined) {
    const bleu = object(v.bleu, `${path}.bleu`);
    for (const [k, s] of Object.entries(bleu)) {
      if (typeof s !== 'number' || !Number.isFinite(s)) throw new ManifestError(`${path}.bleu.${k}: expected a number`);
    }
    out.bleu = bleu as Record<string, number>;
  }
  if (v.notes !== undefined) {
    if (typeof v.notes !== 'string') throw new ManifestError(`${path}.notes: expected a string`);
    out.notes = v.notes;
  }
  return out;
}

function fileEntry(x: unknown, path: string): FileEntry {
  const f = object(x, path);
  if (typeof f.sha256 !== 'string' || !SHA256_HEX.test(f.sha256)) {
    throw new ManifestError(`${path}.sha256: expected 64 lowercase hex digits`);
  }
  if (typeof f.size !== 'number' || !Number.isSafeInteger(f.size) || f.size < 0) {
    throw new ManifestError(`${path}.size: expected a non-negative integer`);
  }
  return { sha256: f.sha256, size: f.size };
}
