// A real `wrangler dev` for end-to-end tests: offline, on a free port in 8790-8799, with its own temporary
// --persist-to directory whose local R2 holds the given models and their catalog. Runs in its own process
// group so that stop() ends wrangler and workerd together.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CATALOG_KEY, MODEL_FILES, type ModelFileName, describeVersion, emptyManifest, fileKey, manifestKey } from '../../registry/manifest.ts';
import { offlineEnv, root, wranglerSettings } from '../../registry/local-r2.ts';

const wrangler = join(root, 'node_modules/.bin/wrangler');
const run = promisify(execFile);

export interface DevServer {
  url: string;
  version: string;
  log: () => string;
  stop(): Promise<void>;
}

// `models`: name -> files, in catalog order (models/catalog.json), each at `version`.
export async function startDevServer(models: Record<string, Record<ModelFileName, Uint8Array>>, version = 'v1'): Promise<DevServer> {
  const { bucket } = wranglerSettings();
  const dir = mkdtempSync(join(tmpdir(), 'edge-mt-e2e-'));
  const persist = join(dir, 'state');
  const put = (key: string, file: string, type: string) =>
    run(wrangler, ['r2', 'object', 'put', '--local', '--persist-to', persist, `${bucket}/${key}`, '--file', file, '--content-type', type], { cwd: root, env: offlineEnv });
  const putJson = async (key: string, value: unknown) => {
    const file = join(dir, key.replaceAll('/', '_'));
    writeFileSync(file, JSON.stringify(value));
    await put(key, file, 'application/json');
  };

  for (const [name, files] of Object.entries(models)) {
    for (const f of MODEL_FILES) {
      const file = join(dir, `${name}.${f}`);
      writeFileSync(file, files[f]);
      await put(fileKey(name, version, f), file, f.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    }
    await putJson(manifestKey(name), emptyManifest(name, await describeVersion(version, files)));
  }
  await putJson(CATALOG_KEY, { schema: 1, models: Object.keys(models) });

  const port = await freePort(8790, 8799);
  const inspector = await freePort(9300, 9399);
  const child: ChildProcess = spawn(
    wrangler,
    ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', persist, '--var', 'MANIFEST_TTL_SECONDS:0'],
    { cwd: root, env: offlineEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    signal(child, 'SIGTERM');
    const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    if (!gone) signal(child, 'SIGKILL');
    signal(child, 'SIGKILL'); // workerd may outlive wrangler: make sure the whole group is gone
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when the API answers with the model loaded (bounded: 90 s on a busy 2-core machine).
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${out}`);
      const res = await fetch(`${url}/healthz`).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`wrangler dev did not become healthy in 90 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, version, log: () => out, stop };
}

// Signals a child's whole process group (wrangler leaves workerd running if only it is killed).
export function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // already gone
  }
}

export async function freePort(from: number, to: number): Promise<number> {
  for (let p = from; p <= to; p++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error(`no free port in ${from}-${to}`);
}
