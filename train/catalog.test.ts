// Several models: the catalog `mt push` keeps, per-model push/deploy/rollback/models (in memory and through
// the CLI on a local R2 folder), and `mt translate` routing over a folder of models as the API does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_KEY, manifestKey } from '../registry/manifest.ts';
import { writeRandomModel } from './micro-model.ts';
import { deployVersion, pushVersion, readCatalog, readManifest, rollbackVersion, writeCatalog, type ModelBytes } from '../registry/registry.ts';
import { MemoryStore } from '../registry/storage.ts';

const CLI = new URL('./cli.ts', import.meta.url).pathname;
const mt = (args: string[], input?: string) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const enc = new TextEncoder();
const files = (tag: string): ModelBytes => ({
  'config.json': enc.encode(JSON.stringify({ name: tag, created: '2026-01-02T03:04:05.000Z' })), // the training date
  'tokenizer.json': enc.encode('{}'),
  'weights.safetensors': enc.encode(`weights of ${tag}`),
});

describe('catalog and per-model registry', () => {
  it('push lists a new model in the catalog (last), and records each version\'s own push time', async () => {
    const store = new MemoryStore();
    await pushVersion(store, 'a', files('a1'), { version: 'v1', now: new Date('2026-03-01T00:00:00Z') });
    await pushVersion(store, 'b', files('b1'), { version: 'v1' });
    await pushVersion(store, 'a', files('a2'), { version: 'v2', now: new Date('2026-03-02T00:00:00Z') });
    expect((await readCatalog(store))!.models).toEqual(['a', 'b']);
    expect((await readManifest(store, 'a'))!.history.map((v) => v.created)).toEqual(['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z']);

    await writeCatalog(store, ['b', 'a']);
    expect((await readCatalog(store))!.models).toEqual(['b', 'a']);
    await expect(writeCatalog(store, ['b', 'ghost'])).rejects.toThrow(/no model ghost/);
    expect(new TextDecoder().decode(store.objects.get(CATALOG_KEY))).toContain('"b",\n    "a"');
  });

  it('deploy and rollback of one model leave the other model\'s manifest as it was', async () => {
    const store = new MemoryStore();
    await pushVersion(store, 'a', files('a1'), { version: 'v1' });
    await pushVersion(store, 'b', files('b1'), { version: 'v1' });
    await pushVersion(store, 'b', files('b2'), { version: 'v2' });
    const before = store.objects.get(manifestKey('a'));
    await deployVersion(store, 'b', 'v2');
    expect((await readManifest(store, 'b'))!.current).toBe('v2');
    await rollbackVersion(store, 'b');
    expect((await readManifest(store, 'b'))!.current).toBe('v1');
    expect(store.objects.get(manifestKey('a'))).toEqual(before);
  });
});

describe('mt with several models', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'mt-catalog-'));
  const models = join(tmp, 'models');
  writeRandomModel(join(models, 'b-ende'), { seed: 1, pairs: 'en-de,de-en' });
  writeRandomModel(join(models, 'a-fren'), { seed: 2, pairs: 'fr-en,en-fr' });

  it('mt translate routes over a folder of models: direct, or two legs through English', () => {
    const lines = 'a man rides a horse .\ntwo dogs play .\n';
    const direct = mt(['translate', '--models', models, '--from', 'en', '--to', 'de', '--beam', '1'], lines);
    expect(direct.code, direct.stderr).toBe(0);
    expect(direct.stdout).toBe(mt(['translate', '--model', join(models, 'b-ende'), '--from', 'en', '--to', 'de', '--beam', '1'], lines).stdout);

    const pivot = mt(['translate', '--models', models, '--from', 'fr', '--to', 'de', '--beam', '1'], lines);
    expect(pivot.code, pivot.stderr).toBe(0);
    const first = mt(['translate', '--model', join(models, 'a-fren'), '--from', 'fr', '--to', 'en', '--beam', '1'], lines);
    const second = mt(['translate', '--model', join(models, 'b-ende'), '--from', 'en', '--to', 'de', '--beam', '1'], first.stdout);
    expect(pivot.stdout).toBe(second.stdout);
    expect(pivot.stdout.split('\n')).toHaveLength(3);

    const none = mt(['translate', '--models', models, '--from', 'cs', '--to', 'de'], lines);
    expect(none.code).not.toBe(0);
    expect(none.stderr.trim()).toMatch(/direction cs-de is not supported; supported directions: .*fr-de \(via en\)/);
  });

  it('mt push, models, deploy, rollback and catalog work per model on local R2', () => {
    const where = ['--persist-to', join(tmp, 'state')];
    expect(mt(['push', join(models, 'b-ende'), '--name', 'ende', '--version', 'v1', ...where]).code).toBe(0);
    expect(mt(['push', join(models, 'a-fren'), '--name', 'fren', '--version', 'v1', ...where]).code).toBe(0);
    expect(mt(['push', join(models, 'a-fren'), '--name', 'fren', '--version', 'v2', ...where]).code).toBe(0);
    let r = mt(['models', ...where]);
    expect(r.stdout).toMatch(/^ende .*\n.*\n\* v1 [\s\S]*^fren .*\n.*\n {2}v2 .*\n\* v1 /m);

    expect(mt(['deploy', 'fren', 'v2', ...where]).stdout).toMatch(/deployed fren@v2 \(was v1\)/);
    expect(mt(['rollback', 'fren', ...where]).stdout).toMatch(/rolled fren back from v2 to v1/);
    r = mt(['models', 'ende', '--json', ...where]);
    expect(JSON.parse(r.stdout).map((m: { name: string; current: string }) => [m.name, m.current])).toEqual([['ende', 'v1']]);

    expect(mt(['catalog', ...where]).stdout).toBe('ende\nfren\n');
    expect(mt(['catalog', 'fren', 'ende', ...where]).stdout).toBe('fren\nende\n');
    r = mt(['catalog', 'fren', 'ghost', ...where]);
    expect([r.code, r.stderr.trim()]).toEqual([1, expect.stringMatching(/no model ghost/)]);
  });
});
