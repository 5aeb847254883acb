// Where `mt push/deploy/rollback/models` keep model versions: an object store with get and put, nothing else
// (R2 has no transactions, so the registry's safety comes from the order of writes, not from the store).
//   LocalR2Store   the local R2 that `wrangler dev` serves (.wrangler/state, or --persist-to), opened in-process
//                  through wrangler's getPlatformProxy: the same store `wrangler r2 object --local` writes,
//                  about 1.5 s to open instead of ~2 s per object through the CLI.
//   WranglerCliStore  `wrangler r2 object get/put --remote` (or --local); credentials as wrangler reads them
//                  (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID or `wrangler login`).
//   MemoryStore    an in-memory fake for tests, which can fail the Nth put or corrupt what it stores.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offlineEnv, root, wranglerSettings } from './local-r2.ts';

export interface ObjectStore {
  readonly where: string; // for messages, e.g. "local R2 bucket edge-mt-models"
  get(key: string): Promise<Uint8Array | null>; // null when absent
  put(key: string, data: Uint8Array, contentType: string): Promise<void>;
  close(): Promise<void>;
}

export function contentType(key: string): string {
  return key.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

export interface StoreOptions {
  remote?: boolean;
  persistTo?: string; // local only: the folder given to `wrangler dev --persist-to` (default .wrangler/state)
}

export async function openStore(o: StoreOptions = {}): Promise<ObjectStore> {
  if (o.remote) {
    if (o.persistTo) throw new Error('--persist-to is for the local R2 only, not with --remote');
    return new WranglerCliStore(wranglerSettings().bucket, 'remote');
  }
  return LocalR2Store.open(o.persistTo);
}

// Minimal shape of the R2 binding the platform proxy hands out.
interface R2Like {
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  put(key: string, data: Uint8Array, o: { httpMetadata: { contentType: string } }): Promise<unknown>;
}

export class LocalR2Store implements ObjectStore {
  readonly where: string;
  private bucket: R2Like;
  private dispose: () => Promise<void>;

  private constructor(bucket: R2Like, dispose: () => Promise<void>, where: string) {
    this.bucket = bucket;
    this.dispose = dispose;
    this.where = where;
  }

  static async open(persistTo?: string): Promise<LocalR2Store> {
    // The proxy runs workerd from this process: keep it off the network (these are the CLI's own env vars,
    // not the worker's, so they cannot leak into its bindings).
    for (const k of ['CI', 'WRANGLER_SEND_METRICS', 'CLOUDFLARE_CF_FETCH_ENABLED'] as const) process.env[k] = offlineEnv[k];
    const { getPlatformProxy } = await import('wrangler');
    // wrangler dev --persist-to P keeps its state in P/v3; the default P is .wrangler/state beside wrangler.toml.
    const state = join(persistTo ?? join(root, '.wrangler/state'), 'v3');
    // A `wrangler dev` starting at the same moment holds the SQLite files for a while: its workerd and ours
    // cannot both open them at once, so a failed start is retried.
    const proxy = await retry(() => getPlatformProxy<{ MODELS?: R2Like }>({ configPath: join(root, 'wrangler.toml'), persist: { path: state } }), /failed to start|SQLITE_BUSY|locked/);
    if (!proxy.env.MODELS) {
      await proxy.dispose();
      throw new Error('wrangler.toml binds no R2 bucket as MODELS');
    }
    return new LocalR2Store(proxy.env.MODELS, () => proxy.dispose(), `local R2 bucket ${wranglerSettings().bucket} (${state})`);
  }

  async get(key: string): Promise<Uint8Array | null> {
    return retry(async () => {
      const obj = await this.bucket.get(key);
      return obj ? new Uint8Array(await obj.arrayBuffer()) : null;
    }, BUSY);
  }

  async put(key: string, data: Uint8Array, type: string): Promise<void> {
    await retry(() => this.bucket.put(key, data, { httpMetadata: { contentType: type } }), BUSY);
  }

  close(): Promise<void> {
    return this.dispose();
  }
}

const BUSY = /SQLITE_BUSY|database is locked/;

// Retries what fails with a matching message (a store shared with a running `wrangler dev`), 4 tries.
async function retry<T>(fn: () => Promise<T>, transient: RegExp): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 4 || !transient.test(String((e as Error)?.message ?? e))) throw e;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

// One wrangler process per object: slow (~2 s each) but it is how wrangler reaches a remote bucket.
export class WranglerCliStore implements ObjectStore {
  readonly where: string;
  private bucket: string;
  private mode: 'remote' | 'local';
  private persistTo?: string;
  private tmp = mkdtempSync(join(tmpdir(), 'mt-r2-'));

  constructor(bucket: string, mode: 'remote' | 'local', persistTo?: string) {
    this.bucket = bucket;
    this.mode = mode;
    this.persistTo = persistTo;
    this.where = `${mode} R2 bucket ${bucket}`;
  }

  private run(args: string[]): Promise<Buffer> {
    const where = this.mode === 'remote' ? ['--remote'] : ['--local', ...(this.persistTo ? ['--persist-to', this.persistTo] : [])];
    // Remote calls need the network and the user's credentials: only metrics are turned off.
    const env = this.mode === 'remote' ? { ...process.env, WRANGLER_SEND_METRICS: 'false' } : offlineEnv;
    return new Promise((resolve, reject) => {
      execFile(join(root, 'node_modules/.bin/wrangler'), ['r2', 'object', ...args, ...where], { cwd: root, env, encoding: 'buffer', maxBuffer: 2 ** 31 - 1 }, (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const text = stderr.toString().replace(/\x1b\[[0-9;]*m/g, '');
        const line = text.split('\n').find((l) => /ERROR|✘/.test(l)) ?? text.trim().split('\n').at(-1) ?? err.message;
        reject(Object.assign(new Error(`wrangler r2 object ${args[0]}: ${line.replace(/^[✘\s]*(\[ERROR\])?\s*/, '')}`), { stderr: text }));
      });
    });
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await this.run(['get', `${this.bucket}/${key}`, '--pipe']));
    } catch (e) {
      if (/specified key does not exist|NoSuchKey/i.test((e as { stderr?: string }).stderr ?? '')) return null;
      throw e;
    }
  }

  async put(key: string, data: Uint8Array, type: string): Promise<void> {
    const file = join(this.tmp, 'object');
    writeFileSync(file, data);
    await this.run(['put', `${this.bucket}/${key}`, '--file', file, '--content-type', type]);
  }

  async close(): Promise<void> {
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

// In-memory fake. failOnPut = n makes the nth put (1-based) throw, as an interrupted upload would;
// corrupt(key) = true stores that object with its first byte flipped, as a bad transfer would.
export class MemoryStore implements ObjectStore {
  readonly where = 'memory store';
  readonly objects = new Map<string, Uint8Array>();
  puts = 0;
  failOnPut?: number;
  corrupt?: (key: string) => boolean;

  async get(key: string): Promise<Uint8Array | null> {
    const v = this.objects.get(key);
    return v ? v.slice() : null;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    this.puts++;
    if (this.puts === this.failOnPut) throw new Error(`connection reset (simulated failure of put #${this.puts})`);
    const copy = data.slice();
    if (this.corrupt?.(key) && copy.length) copy[0] ^= 0xff;
    this.objects.set(key, copy);
  }

  async close(): Promise<void> {}
}
