// Shared by the workerd-level tests: model uploads into the test R2 bucket, a tiny real model, and an app
// whose engines are fakes built from the verified files (so R2 loading is real, translation is not).
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { PRESETS } from '../model/config.ts';
import {
  MODEL_FILES,
  type Manifest,
  type ModelFileName,
  describeVersion,
  emptyManifest,
  fileKey,
  manifestKey,
  parseManifestText,
  withCurrent,
  withVersion,
} from '../registry/manifest.ts';
import { initParams, paramLayout } from '../model/params.ts';
import { f32Tensor, serialize } from '../model/safetensors.ts';
import { Tokenizer } from '../model/tokenizer.ts';
import type { ModelFiles } from '../worker/engine-loader.ts';
import type { Env } from '../worker/env.ts';
import { createApp } from '../worker/index.ts';
import { r2Models } from '../worker/model-store.ts';
import { fakeEngine } from '../worker/testing.ts';

const enc = new TextEncoder();
export type Files = Record<ModelFileName, Uint8Array>;

// A fake model's files: config.json lists its directions (what routing reads), the rest is filler.
export function fakeFiles(tag: string, directions: Array<[string, string]> = [['en', 'de']]): Files {
  return {
    'config.json': enc.encode(JSON.stringify({ tag, directions })),
    'tokenizer.json': enc.encode('{}'),
    'weights.safetensors': enc.encode(`weights of ${tag}`),
  };
}

// Uploads a version's files and adds it to the manifest (making it current unless told otherwise).
// `tamper` changes a file's bytes after hashing: what a corrupt or partial upload looks like.
export async function putVersion(
  name: string,
  version: string,
  files: Files,
  opts: { current?: boolean; tamper?: { file: ModelFileName; bytes: Uint8Array } } = {},
): Promise<Manifest> {
  const entry = await describeVersion(version, files);
  for (const f of MODEL_FILES) {
    const bytes = opts.tamper?.file === f ? opts.tamper.bytes : files[f];
    await env.MODELS.put(fileKey(name, version, f), bytes);
  }
  const old = await env.MODELS.get(manifestKey(name));
  let m = old ? withVersion(parseManifestText(await old.text()), entry) : emptyManifest(name, entry);
  if (opts.current !== false) m = withCurrent(m, version);
  await env.MODELS.put(manifestKey(name), JSON.stringify(m));
  return m;
}

export async function setCurrent(name: string, version: string): Promise<void> {
  const m = parseManifestText(await (await env.MODELS.get(manifestKey(name)))!.text());
  await env.MODELS.put(manifestKey(name), JSON.stringify(withCurrent(m, version)));
}

// Engines built by this app are fakes named after the model, serving its config's directions; a config.json
// with {"broken": true} fails to build.
export const built: ModelFiles[] = [];
export function fakeApp() {
  return createApp({
    models: r2Models(async (m) => {
      built.push(m);
      const config = JSON.parse(new TextDecoder().decode(m.files['config.json']));
      if (config.broken) throw new Error('engine build failed');
      const directions: Array<[string, string]> = config.directions ?? [['en', 'de']];
      return fakeEngine({ name: m.name, version: m.version, directions, languages: [...new Set(directions.flat())].sort() });
    }),
  });
}
export const app = fakeApp();

// Sends a request through `target` (the fake-engine app, or the real worker) with env overrides.
export async function call(
  path: string,
  init: RequestInit = {},
  overrides: Partial<Env> = {},
  target: { fetch: (r: Request, e: Env, c: ExecutionContext) => Response | Promise<Response> } = app,
): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await target.fetch(new Request(`http://worker.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'Content-Type': 'application/json', ...headers },
});

// A real (random-weight) model in the micro preset: exercises tokenizer, wasm kernels and beam search.
export function tinyModelFiles(directions: Array<[string, string]> = [['en', 'de']]): Files {
  const corpus = ['a man rides a bike .', 'ein mann fährt ein fahrrad .', 'two dogs play .', 'zwei hunde spielen .'];
  const tok = Tokenizer.train([...corpus, ...corpus], { vocabSize: 300, languages: ['en', 'de'] });
  const config = { ...PRESETS.micro, vocabSize: tok.vocabSize, name: 'tiny', directions };
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.total);
  initParams(flat, layout, 1);
  const tensors = new Map(layout.tensors.map((t) => [t.name, f32Tensor(t.shape, flat.slice(t.offset, t.offset + t.size))]));
  return {
    'config.json': enc.encode(JSON.stringify(config)),
    'tokenizer.json': enc.encode(JSON.stringify(tok.toJSON())),
    'weights.safetensors': serialize(tensors),
  };
}
