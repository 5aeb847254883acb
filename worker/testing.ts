// Test doubles for route tests and workerd tests: a fake Engine (upper-cases each sentence), a provider
// that serves it, and a minimal app that mounts one router the way worker/index.ts does.
import { Hono } from 'hono';
import { DECODE_DEFAULTS, mergeDecode } from '../model/decode.ts';
import type { Engine, ModelInfo, SentenceResult, TranslateOptions } from '../model/engine.ts';
import { UnsupportedError } from '../model/engine.ts';
import { type Manifest, type ModelFileName, sha256Hex } from '../registry/manifest.ts';
import type { AppEnv } from './env.ts';
import { ApiError, notFound, onError } from './errors.ts';
import { modelProvider } from './middleware/models.ts';
import type { CatalogModel, Lease, ModelFile, ModelProvider } from './model-provider.ts';

export interface FakeEngine extends Engine {
  calls: string[][]; // sentences of each translate() / translateStream() call
  options: TranslateOptions[]; // and its options
}

// A word is a token; `maxSourceTokens` (default 200) is how many words a sentence may have.
export function fakeEngine(info: Partial<ModelInfo> = {}, maxSourceTokens = 200): FakeEngine {
  const full: ModelInfo = {
    name: 'fake',
    version: 'v1',
    languages: ['en', 'de'],
    directions: [['en', 'de']],
    parameters: 0,
    bytes: 0,
    ...info,
  };
  const one = (s: string, o: TranslateOptions): SentenceResult => {
    if (s.includes('BOOM')) throw new Error('secret engine internals');
    if (s.includes('UNSUPPORTED')) throw new UnsupportedError('unsupported_input', 'the engine refused this sentence');
    const src = s.split(' ');
    const r: SentenceResult = { text: `${full.version}:${s.toUpperCase()}` };
    if (o.alignments) {
      r.sourceTokens = src;
      r.targetTokens = src.map((w) => w.toUpperCase());
      r.alignment = src.map((_, t) => src.map((_, j) => (t === j ? 1 : 0)));
    }
    return r;
  };
  const calls: string[][] = [];
  const options: TranslateOptions[] = [];
  return {
    info: full,
    calls,
    options,
    maxSourceTokens,
    countTokens: (s) => s.split(/\s+/).filter(Boolean).length,
    decodeOptions: (o) => mergeDecode(DECODE_DEFAULTS, o),
    async translate(sentences, o) {
      calls.push(sentences);
      options.push(o);
      return sentences.map((s) => (s === '' ? { text: '' } : one(s, o)));
    },
    async translateStream(sentence, o, onToken) {
      calls.push([sentence]);
      options.push(o);
      const r = one(sentence, o);
      for (const piece of r.text.split(/(?= )/)) {
        onToken(piece);
        await new Promise((done) => setTimeout(done, 0)); // yield between steps, like the real engine
      }
      return r;
    },
  };
}

// Serves the fake engines as a catalog, in the order given (null: one model "fake" with no version yet).
// `manifest` is the first model's; `files` its bytes by "version/file" (a download with other bytes than the
// manifest lists is refused, as the R2 store refuses them).
export function fakeProvider(
  engines: Engine | null | Engine[],
  opts: { manifest?: Manifest; files?: Record<string, Uint8Array> } = {},
): ModelProvider {
  const list = engines === null ? [] : Array.isArray(engines) ? engines : [engines];
  const find = (name: string) => list.find((e) => e.info.name === name);
  const manifestOf = (name: string) => (name === (list[0]?.info.name ?? 'fake') ? opts.manifest : undefined);
  return {
    async catalog(): Promise<CatalogModel[]> {
      if (!list.length) return [{ name: 'fake', manifest: null, directions: [], languages: [], loaded: false, error: 'no model yet' }];
      return list.map((e) => ({
        name: e.info.name,
        manifest: manifestOf(e.info.name) ?? null,
        directions: e.info.directions,
        languages: e.info.languages,
        serving: e.info.version,
        loaded: true,
      }));
    },
    async acquire(name: string): Promise<Lease> {
      const engine = find(name);
      if (!engine) {
        if (list.length) throw new ApiError(400, 'unknown_model', `no model '${name}' in the catalog`);
        throw new ApiError(503, 'model_unavailable', `model '${name}' is not available: no model yet`);
      }
      const entry = manifestOf(name)?.history.find((v) => v.version === engine.info.version);
      return { model: { name, version: engine.info.version, engine, entry: entry! }, release() {} };
    },
    async file(name: string, version: string, file: ModelFileName): Promise<ModelFile | null> {
      const bytes = opts.files?.[`${version}/${file}`];
      const entry = manifestOf(name)?.history.find((v) => v.version === version);
      if (!bytes || !entry) return null;
      if ((await sha256Hex(bytes)) !== entry.files[file].sha256) throw new ApiError(503, 'file_unverified', `${name} version ${version}: ${file} does not match the manifest; not served`);
      return { body: bytes.slice(), size: bytes.byteLength, sha256: entry.files[file].sha256 };
    },
  };
}

// Mounts `routes` under `prefix` with the provider and the error handlers, as worker/index.ts does.
export function routeApp(routes: Hono<AppEnv>, provider: ModelProvider, prefix = '/v1') {
  const app = new Hono<AppEnv>();
  app.use('*', modelProvider(() => provider));
  app.route(prefix, routes);
  app.onError(onError);
  app.notFound(notFound(app));
  return app;
}

export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } };
}
