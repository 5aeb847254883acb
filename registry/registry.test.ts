// push / deploy / rollback against an in-memory store that can fail or corrupt uploads: the manifest (what
// the worker polls) only ever names complete, verified versions, and failures leave it byte for byte as it was.
import { describe, expect, it } from 'vitest';
import { CATALOG_KEY, fileKey, isSafeId, manifestKey, parseManifest, parseManifestText, withDeploy, withRollback, type Manifest } from './manifest.ts';
import { defaultVersion, deployVersion, pushVersion, readManifest, rollbackVersion, type ModelBytes } from './registry.ts';
import { MemoryStore } from './storage.ts';

const enc = new TextEncoder();
function files(tag: string, extra: object = {}): ModelBytes {
  return {
    'config.json': enc.encode(JSON.stringify({ name: 'm', created: '2026-01-02T03:04:05.000Z', ...extra })),
    'tokenizer.json': enc.encode('{"tok":1}'),
    'weights.safetensors': enc.encode(`weights of ${tag}`),
  };
}

async function withVersions(...versions: string[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  for (const v of versions) await pushVersion(store, 'm', files(v), { version: v });
  return store;
}

const manifestBytes = (s: MemoryStore) => s.objects.get(manifestKey('m'));
const current = async (s: MemoryStore) => (await readManifest(s, 'm'))!.current;

describe('manifest deploy history', () => {
  const base = { schema: 1, name: 'm', current: 'a', history: ['a', 'b', 'c'].map((version) => ({ version, created: '2026-01-01T00:00:00Z', files: Object.fromEntries(['config.json', 'tokenizer.json', 'weights.safetensors'].map((f) => [f, { sha256: '0'.repeat(64), size: 1 }])) })) };

  it('parses manifests without `previous` (written before it existed) and keeps it out of their round trip', () => {
    const m = parseManifest(base);
    expect('previous' in m).toBe(false);
    expect(parseManifest({ ...base, previous: ['b'] }).previous).toEqual(['b']);
    expect(() => parseManifest({ ...base, previous: ['zz'] })).toThrow(/previous\[0\]: version zz is not in history/);
    expect(() => parseManifest({ ...base, previous: 'b' })).toThrow(/previous: expected an array/);
  });

  it('deploys push the outgoing version, rollbacks pop it: undo in order', () => {
    let m: Manifest = parseManifest(base);
    m = withDeploy(withDeploy(m, 'b'), 'c');
    expect([m.current, m.previous]).toEqual(['c', ['a', 'b']]);
    expect(withDeploy(m, 'c')).toEqual(m); // deploying the current version changes nothing
    m = withRollback(m);
    expect([m.current, m.previous]).toEqual(['b', ['a']]);
    m = withRollback(m);
    expect([m.current, m.previous]).toEqual(['a', []]);
    expect(() => withRollback(m)).toThrow(/no earlier deployed version/);
    expect(parseManifestText(JSON.stringify(m))).toEqual(m);
  });
});

describe('registry', () => {
  it('push: files under models/<name>/<version>/, then the manifest; the first version is current, later ones are not', async () => {
    const store = new MemoryStore();
    const now = new Date('2026-02-03T04:05:06Z'); // created is the push, not config.json's training date
    const { manifest, entry } = await pushVersion(store, 'm', files('v1', { bleu: { 'en-de': 31.25 } }), { version: 'v1', now });
    expect(manifest).toMatchObject({ name: 'm', current: 'v1' });
    expect(entry).toMatchObject({ version: 'v1', created: '2026-02-03T04:05:06.000Z', bleu: { 'en-de': 31.25 } });
    const keys = [fileKey('m', 'v1', 'config.json'), fileKey('m', 'v1', 'tokenizer.json'), fileKey('m', 'v1', 'weights.safetensors'), manifestKey('m')];
    expect([...store.objects.keys()]).toEqual([...keys, CATALOG_KEY]); // the manifest, then the catalog naming it
    await pushVersion(store, 'm', files('v2'), { version: 'v2' });
    expect(await current(store)).toBe('v1');
    await pushVersion(store, 'm', files('v3'), { version: 'v3', deploy: true });
    expect((await readManifest(store, 'm'))).toMatchObject({ current: 'v3', previous: ['v1'] });
  });

  it('the default version is a UTC timestamp and a content hash, a valid id', async () => {
    const v = await defaultVersion(files('x'), new Date('2026-11-24T20:15:30.123Z'));
    expect(v).toMatch(/^20261124-201530-[0-9a-f]{8}$/);
    expect(isSafeId(v)).toBe(true);
    expect(await defaultVersion(files('x'), new Date('2026-11-24T20:15:30Z'))).toBe(v);
    expect(await defaultVersion(files('y'), new Date('2026-11-24T20:15:30Z'))).not.toBe(v);
  });

  it('an upload interrupted halfway leaves the manifest untouched (and the same version can be pushed again)', async () => {
    const store = await withVersions('v1');
    const before = manifestBytes(store);
    store.failOnPut = store.puts + 2; // the second file of v2
    await expect(pushVersion(store, 'm', files('v2'), { version: 'v2', deploy: true })).rejects.toThrow(
      /^upload of models\/m\/v2\/tokenizer.json failed: connection reset .*; push refused, the manifest was not changed$/,
    );
    expect(manifestBytes(store)).toEqual(before);
    expect(await current(store)).toBe('v1');
    store.failOnPut = store.puts + 4; // all three files, then the manifest itself
    await expect(pushVersion(store, 'm', files('v2'), { version: 'v2', deploy: true })).rejects.toThrow(
      /^writing models\/m\/manifest.json failed: connection reset .*; v2 is uploaded but not listed \(push it again\)$/,
    );
    expect(manifestBytes(store)).toEqual(before);
    store.failOnPut = undefined;
    await pushVersion(store, 'm', files('v2'), { version: 'v2', deploy: true }); // a retry completes it
    expect(await current(store)).toBe('v2');
  });

  it('a file that reads back with the wrong sha256 is refused and nothing is switched', async () => {
    const store = await withVersions('v1');
    const before = manifestBytes(store);
    store.corrupt = (key) => key.endsWith('weights.safetensors');
    await expect(pushVersion(store, 'm', files('v2'), { version: 'v2', deploy: true })).rejects.toThrow(
      /^models\/m\/v2\/weights.safetensors in memory store has \d+ bytes, sha256 \w+…; expected \d+ bytes, \w+…; push refused, the manifest was not changed$/,
    );
    expect(manifestBytes(store)).toEqual(before);
  });

  it('deploy checks the version is listed and intact before switching', async () => {
    const store = await withVersions('v1', 'v2');
    const before = manifestBytes(store);
    await expect(deployVersion(store, 'm', 'v9')).rejects.toThrow('unknown version v9 of m; known: v1, v2');
    await expect(deployVersion(store, 'nope', 'v1')).rejects.toThrow('no model nope in memory store (push one with mt push)');
    await expect(deployVersion(store, 'm', '../x')).rejects.toThrow(/version "..\/x" must be/);
    // A listed version whose weights were damaged in the bucket afterwards is not deployed.
    const key = fileKey('m', 'v2', 'weights.safetensors');
    const good = store.objects.get(key)!;
    store.objects.set(key, enc.encode('truncated'));
    await expect(deployVersion(store, 'm', 'v2')).rejects.toThrow(/weights.safetensors in memory store has 9 bytes/);
    store.objects.delete(key);
    await expect(deployVersion(store, 'm', 'v2')).rejects.toThrow('models/m/v2/weights.safetensors is missing from memory store');
    expect(manifestBytes(store)).toEqual(before);
    store.objects.set(key, good);
    expect((await deployVersion(store, 'm', 'v2')).current).toBe('v2');
  });

  it('pushing an existing version is refused: versions are immutable', async () => {
    const store = await withVersions('v1');
    const before = manifestBytes(store);
    const puts = store.puts;
    await expect(pushVersion(store, 'm', files('other'), { version: 'v1' })).rejects.toThrow('m@v1 already exists in memory store; versions are immutable, push under another --version');
    await expect(pushVersion(store, 'm', files('v1'), { version: 'v1' })).rejects.toThrow(/already exists/); // even identical
    expect([store.puts, manifestBytes(store)]).toEqual([puts, before]); // refused before any upload
  });

  it('rollback returns to the version current before the last deploy, and says so when there is none', async () => {
    const store = await withVersions('v1', 'v2', 'v3');
    await expect(rollbackVersion(store, 'm')).rejects.toThrow('m has no earlier deployed version to roll back to (current: v1)');
    await deployVersion(store, 'm', 'v2');
    await deployVersion(store, 'm', 'v3');
    expect(await rollbackVersion(store, 'm')).toMatchObject({ from: 'v3', to: 'v2' });
    expect(await rollbackVersion(store, 'm')).toMatchObject({ from: 'v2', to: 'v1' });
    expect(await current(store)).toBe('v1');
    await expect(rollbackVersion(store, 'm')).rejects.toThrow(/no earlier deployed version/);
  });

  it('a corrupt manifest is reported, not overwritten', async () => {
    const store = await withVersions('v1');
    store.objects.set(manifestKey('m'), enc.encode('{"schema":2}'));
    await expect(pushVersion(store, 'm', files('v2'), { version: 'v2' })).rejects.toThrow('models/m/manifest.json in memory store is invalid: manifest.schema: expected 1, got 2');
  });
});
