// The model lifecycle against a real `wrangler dev` (its own --persist-to in a temp folder, ports 8800-8809,
// MANIFEST_TTL_SECONDS 1): random micro model -> quantize -> eval --record -> push -> deploy -> the running
// worker answers with the new version -> rollback -> the old version answers again. No redeploy of the worker.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { offlineEnv, root } from '../registry/local-r2.ts';
import { seedLocalModel } from '../registry/seed.ts';
import { main } from './main.ts';
import { writeRandomModel } from './micro-model.ts';
import { WranglerCliStore } from '../registry/storage.ts';
import { freePort, signal } from '../test/e2e/server.ts';

const NAME = 'e2e-lifecycle';
const tmp = mkdtempSync(join(tmpdir(), 'mt-lifecycle-'));
const persist = join(tmp, 'state');
let dev: ChildProcess | undefined;
let devLog = '';
let url = '';

async function mt(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' '))),
    vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' '))),
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (out.push(String(s)), true)),
  ];
  try {
    return { code: await main(argv), out: out.join('\n') };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

// POST /v1/translate until the worker serves `version` (it re-reads the manifest every second).
async function servedVersion(version: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  let last = '';
  for (;;) {
    const res = await fetch(`${url}/v1/translate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a man rides a horse .', source: 'en', target: 'de', beam: 1 }),
    }).catch((e) => e as Error);
    // Not JSON: wrangler dev's own answer while it restarts the worker ("Your worker restarted mid-request.
    // Please try sending the request again."): asked again like any other not-yet answer.
    const text = res instanceof Error ? String(res) : await res.text();
    const body = parseJson(text);
    if (!(res instanceof Error) && res.status === 200 && body?.version === version) return body;
    last = res instanceof Error ? text : `${res.status} ${text.slice(0, 300)}`;
    if (Date.now() > deadline) throw new Error(`worker never served ${version}; last answer ${last}\n${devLog.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  const port = await freePort(8800, 8804);
  const inspector = await freePort(8805, 8809);
  url = `http://127.0.0.1:${port}`;
  // Own process group: wrangler leaves workerd behind if only it is killed.
  dev = spawn(
    join(root, 'node_modules/.bin/wrangler'),
    ['dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', persist, '--var', 'MANIFEST_TTL_SECONDS:1', '--var', `MODEL_NAME:${NAME}`],
    { cwd: root, env: offlineEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  dev.stdout!.on('data', (d) => (devLog += d));
  dev.stderr!.on('data', (d) => (devLog += d));
  // Ready once the worker has read its (empty) bucket: wrangler dev and the CLI share the SQLite files of
  // the local R2, and both starting at the same moment can lock each other out.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (dev.exitCode !== null) throw new Error(`wrangler dev exited with ${dev.exitCode}:\n${devLog}`);
    const res = await fetch(`${url}/v1/models`).catch(() => null);
    if (res) break;
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer in 60 s:\n${devLog}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 70_000);

afterAll(async () => {
  if (dev) {
    const exited = new Promise<void>((r) => (dev!.exitCode !== null ? r() : dev!.once('exit', () => r())));
    signal(dev!, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    signal(dev!, 'SIGKILL');
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('model lifecycle on wrangler dev', () => {
  it('quantize -> push -> deploy -> served -> rollback -> old version served', async () => {
    const where = ['--persist-to', persist];
    writeRandomModel(join(tmp, 'a'), { seed: 1, name: NAME });
    writeRandomModel(join(tmp, 'b'), { seed: 2, name: NAME });
    expect((await mt('quantize', join(tmp, 'b'), '--out', join(tmp, 'b-int8'))).code).toBe(0);
    writeFileSync(join(tmp, 'dev.tsv'), 'a man rides a horse .\tein Mann reitet ein Pferd .\n');
    expect((await mt('eval', '--model', join(tmp, 'b-int8'), '--pairs', 'en-de', '--tsv', join(tmp, 'dev.tsv'), '--beam', '1', '--record')).code).toBe(0);

    // The first version of a model becomes current; the second waits for a deploy.
    let r = await mt('push', join(tmp, 'a'), '--version', 'v-a', ...where);
    expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/pushed e2e-lifecycle@v-a .*; current: v-a/) });
    r = await mt('push', join(tmp, 'b-int8'), '--version', 'v-b', ...where);
    expect(r).toMatchObject({ code: 0, out: expect.stringMatching(/current: v-a \(deploy with: mt deploy e2e-lifecycle v-b\)/) });
    r = await mt('push', join(tmp, 'b-int8'), '--version', 'v-b', ...where);
    expect(r).toMatchObject({ code: 1, out: expect.stringMatching(/already exists .*versions are immutable/) });

    // wrangler's own CLI sees what the in-process local R2 wrote (the same store `wrangler dev` serves).
    const cli = new WranglerCliStore('edge-mt-models', 'local', persist);
    const manifest = JSON.parse(new TextDecoder().decode((await cli.get(`models/${NAME}/manifest.json`))!));
    await cli.close();
    expect(manifest.history.map((v: { version: string }) => v.version)).toEqual(['v-a', 'v-b']);

    expect((await servedVersion('v-a')).model).toBe(NAME);

    r = await mt('deploy', NAME, 'v-nope', ...where);
    expect(r).toMatchObject({ code: 1, out: 'mt deploy: unknown version v-nope of e2e-lifecycle; known: v-a, v-b\n' });
    expect((await mt('deploy', NAME, 'v-b', ...where)).code).toBe(0);
    expect(await servedVersion('v-b')).toMatchObject({ model: NAME, translation: expect.any(String) });

    const models = (await (await fetch(`${url}/v1/models`)).json()) as { models: Array<Record<string, unknown>> };
    expect(models.models.map((m) => [m.version, m.current])).toEqual([['v-b', true], ['v-a', false]]);
    expect(models.models[0].bleu).toEqual({ 'en-de': expect.any(Number) }); // recorded by mt eval --record

    r = await mt('models', NAME, ...where);
    expect(r.out).toMatch(/\* v-b .*\n< v-a /);

    expect((await mt('rollback', NAME, ...where)).out).toMatch(/rolled e2e-lifecycle back from v-b to v-a/);
    await servedVersion('v-a');
    expect((await mt('rollback', NAME, ...where)).out).toMatch(/no earlier deployed version to roll back to \(current: v-a\)/);
  });

  it('npm start seeding uses the same push: once per version, then left alone', async () => {
    const state = join(tmp, 'seed-state');
    writeRandomModel(join(tmp, 'bundled'), { seed: 3 });
    const first = await seedLocalModel({ persistTo: state, modelDir: join(tmp, 'bundled') });
    const version = /@(sha-[0-9a-f]{12})$/.exec(first)?.[1];
    expect(first, first).toMatch(/^seeded local R2 with \S+@sha-/);
    expect(await seedLocalModel({ persistTo: state, modelDir: join(tmp, 'bundled') })).toMatch(new RegExp(`already has \\S+@${version} \\(current: ${version}\\)`));
    expect(await seedLocalModel({ persistTo: state, modelDir: join(tmp, 'absent') })).toMatch(/^no model yet/);
  });

  it('the wrangler CLI store (what --remote uses, here in --local mode) puts, gets, and reports absent keys', async () => {
    const cli = new WranglerCliStore('edge-mt-models', 'local', join(tmp, 'cli-state'));
    try {
      const bytes = new Uint8Array([0, 1, 2, 255, 10, 13]);
      await cli.put('probe/bytes.bin', bytes, 'application/octet-stream');
      expect(await cli.get('probe/bytes.bin')).toEqual(bytes);
      expect(await cli.get('probe/absent')).toBeNull();
    } finally {
      await cli.close();
    }
  });
});
