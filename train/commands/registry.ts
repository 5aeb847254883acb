// `mt push`, `mt deploy`, `mt rollback`, `mt models`: model versions in R2 (the local R2 of `wrangler dev`
// by default, the real bucket with --remote). The worker notices a deploy or rollback within
// MANIFEST_TTL_SECONDS, without a redeploy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadKernels } from '../../kernels/node.ts';
import { MODEL_FILES, totalSize, type Manifest } from '../../registry/manifest.ts';
import { createEngine } from '../../model/translator.ts';
import { wranglerSettings } from '../../registry/local-r2.ts';
import { CliError, command } from '../args.ts';
import { UsageError, defineFlags, type FlagValues } from '../flags.ts';
import { readModelDir } from '../model-dir.ts';
import { RegistryError, deployVersion, pushVersion, readCatalog, readManifest, rollbackVersion, writeCatalog, type ModelBytes } from '../../registry/registry.ts';
import { openStore, type ObjectStore } from '../../registry/storage.ts';

// Which bucket: every registry command takes these.
const WHERE = defineFlags({
  remote: {
    type: 'boolean',
    help: 'the Cloudflare R2 bucket of wrangler.toml (credentials as wrangler reads them:\nCLOUDFLARE_API_TOKEN + CLOUDFLARE_ACCOUNT_ID, or `wrangler login`)',
  },
  'persist-to': { type: 'string', arg: 'DIR', help: 'local R2 state folder, as given to `wrangler dev --persist-to` (default .wrangler/state)' },
});

async function withStore<T>(v: FlagValues<typeof WHERE>, fn: (s: ObjectStore) => Promise<T>): Promise<T> {
  let store: ObjectStore;
  try {
    store = await openStore({ remote: v.remote, persistTo: v['persist-to'] });
  } catch (e) {
    throw new CliError(`cannot open the model store: ${(e as Error).message}`);
  }
  try {
    return await fn(store);
  } catch (e) {
    throw e instanceof RegistryError ? new CliError(e.message) : e;
  } finally {
    await store.close();
  }
}

function one(positionals: string[], what: string, cmd: string): string {
  if (positionals.length !== 1) throw new UsageError(`give one ${what} (see mt ${cmd} --help)`);
  return positionals[0];
}

export const pushCommand = command({
  name: 'push',
  summary: 'upload a model folder as a new, immutable version (verified by sha256 before it is listed)',
  usage: 'mt push <model-dir> [--name N] [--version V] [--deploy] [--notes TEXT] [--remote | --persist-to DIR]',
  flags: {
    name: {
      type: 'string', arg: 'N',
      help: 'model name in the bucket (default: "name" in config.json); a new name joins the\ncatalog the worker serves, least preferred (see mt catalog)',
    },
    version: { type: 'string', arg: 'V', help: 'version id (default: UTC timestamp + content hash, e.g. 20261124-201530-3f2a9c1d)' },
    deploy: { type: 'boolean', help: 'make it current at once (the first version of a model always is)' },
    notes: { type: 'string', arg: 'TEXT', help: 'free text kept in the manifest' },
    ...WHERE,
  },
  async run(v, positionals) {
    const dir = one(positionals, 'model folder', 'push');
    const model = readModelDir(dir);
    try {
      createEngine(model, loadKernels()); // a version the worker could not load is refused before any upload
    } catch (e) {
      throw new CliError(`${dir} does not load as a model: ${(e as Error).message}`);
    }
    const files = Object.fromEntries(MODEL_FILES.map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))])) as ModelBytes;
    const name = v.name ?? model.meta.name;
    await withStore(v, async (store) => {
      console.log(`pushing ${dir} to ${store.where}`);
      const { manifest, entry } = await pushVersion(store, name, files, { version: v.version, deploy: v.deploy, notes: v.notes, log: console.log });
      const size = (totalSize(entry) / 1e6).toFixed(2);
      console.log(`pushed ${name}@${entry.version} (${size} MB); current: ${manifest.current}${manifest.current === entry.version ? '' : ` (deploy with: mt deploy ${name} ${entry.version})`}`);
    });
  },
});

export const deployCommand = command({
  name: 'deploy',
  summary: 'make a pushed version current (after checking its files are all there, sha256 intact)',
  usage: 'mt deploy <name> <version> [--remote | --persist-to DIR]',
  flags: WHERE,
  async run(v, positionals) {
    if (positionals.length !== 2) throw new UsageError('give a model name and a version (see mt deploy --help)');
    const [name, version] = positionals;
    await withStore(v, async (store) => {
      const before = (await readManifest(store, name))?.current;
      const m = await deployVersion(store, name, version, console.log);
      if (before !== m.current) console.log(`deployed ${name}@${version} (was ${before}); the worker switches within MANIFEST_TTL_SECONDS`);
    });
  },
});

export const rollbackCommand = command({
  name: 'rollback',
  summary: 'undo the last deploy: the version current before it is current again',
  usage: 'mt rollback <name> [--remote | --persist-to DIR]',
  flags: WHERE,
  async run(v, positionals) {
    const name = one(positionals, 'model name', 'rollback');
    await withStore(v, async (store) => {
      const { from, to } = await rollbackVersion(store, name, console.log);
      console.log(`rolled ${name} back from ${from} to ${to}`);
    });
  },
});

export const modelsCommand = command({
  name: 'models',
  summary: 'list the versions of models in the bucket (current marked, sizes, created, BLEU)',
  usage: 'mt models [name...] [--json] [--remote | --persist-to DIR]',
  flags: { json: { type: 'boolean', help: 'print the manifests as JSON' }, ...WHERE },
  notes: 'name...: the models to list (default: every model of the catalog, models/catalog.json)',
  async run(v, positionals) {
    await withStore(v, async (store) => {
      const names = positionals.length ? positionals : ((await readCatalog(store))?.models ?? [wranglerSettings().modelName]);
      const found: Manifest[] = [];
      for (const name of names) {
        const m = await readManifest(store, name);
        if (m) found.push(m);
        else if (!v.json) console.log(`${name}: no versions in ${store.where}`);
      }
      if (v.json) console.log(JSON.stringify(found));
      else for (const m of found) console.log(formatManifest(m));
    });
  },
});

export const catalogCommand = command({
  name: 'catalog',
  summary: 'show or set the models the worker serves, preferred first (a direction goes to the first that serves it)',
  usage: 'mt catalog [name...] [--remote | --persist-to DIR]',
  flags: WHERE,
  notes: 'name...: the new catalog, preferred first (each must have been pushed); none: print it',
  async run(v, positionals) {
    await withStore(v, async (store) => {
      const catalog = positionals.length ? await writeCatalog(store, positionals) : await readCatalog(store);
      console.log(catalog ? catalog.models.join('\n') : `no catalog in ${store.where} (mt push writes one)`);
    });
  },
});

export function formatManifest(m: Manifest): string {
  const back = m.previous?.at(-1);
  const rows = [...m.history].reverse().map((h) => {
    const mark = h.version === m.current ? '*' : h.version === back ? '<' : ' ';
    const bleu = h.bleu ? Object.entries(h.bleu).map(([p, s]) => `${p} ${s.toFixed(2)}`).join(', ') : '';
    return `${mark} ${h.version.padEnd(28)} ${(totalSize(h) / 1e6).toFixed(2).padStart(9)} MB  ${h.created.slice(0, 19).replace('T', ' ')}  ${bleu}`;
  });
  return [`${m.name} (* current, < rollback target)`, `  ${'version'.padEnd(28)} ${'size'.padStart(12)}  ${'created (UTC)'.padEnd(19)}  BLEU`, ...rows].join('\n');
}
