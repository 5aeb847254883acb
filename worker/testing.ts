// Test doubles for route tests and workerd tests: a fake Engine (upper-cases each sentence), a provider
// that serves it, and a minimal app that mounts one router the way worker/index.ts does.
import { Hono } from 'hono';
import type { Engine, ModelInfo, SentenceResult, TranslateOptions } from '../model/engine.ts';
import { UnsupportedError } from '../model/engine.ts';
import type { Manifest, ModelFileName } from '../model/manifest.ts';
import type { AppEnv } from './env.ts';
import { ApiError, notFound, onError } from './errors.ts';
import { modelProvider } from './middleware/models.ts';
import type { ModelFile, ModelProvider, ServedModel } from './model-provider.ts';

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

export function fakeProvider(engine: Engine | null, opts: { manifest?: Manifest; files?: Record<string, Uint8Array> } = {}): ModelProvider {
  const name = engine?.info.name ?? 'fake';
  return {
    name,
    async current(): Promise<ServedModel> {
      if (!engine) throw new ApiError(503, 'model_unavailable', `model '${name}' is not available: no model yet`);
      const entry = opts.manifest?.history.find((v) => v.version === engine.info.version);
      return { name, version: engine.info.version, engine, entry: entry! };
    },
    status: () => (engine ? { name, version: engine.info.version } : { name, error: 'no model yet' }),
    manifest: async () => opts.manifest ?? null,
    async file(version: string, file: ModelFileName): Promise<ModelFile | null> {
      const bytes = opts.files?.[`${version}/${file}`];
      const entry = opts.manifest?.history.find((v) => v.version === version);
      if (!bytes || !entry) return null;
      return { body: new Response(bytes.slice().buffer).body!, size: bytes.byteLength, sha256: entry.files[file].sha256 };
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
