// The in-browser Translator in Node: downloads through a fake fetch, the engine's worker side runs in
// process (engine-host.ts, the code engine.worker.ts wires to `self`), the kernels are the real wasm.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../client/index.ts';
import { type Flavor, instantiate } from '../kernels/host.ts';
import { createEngine } from '../model/translator.ts';
import { tinyModel } from '../test/e2e/tiny-model.ts';
import { translateTexts } from '../model/texts.ts';
import { engineHost } from './engine-host.ts';
import { EngineError, type LoadProgress, Translator, type WorkerLike } from './index.ts';
import type { FromEngine, ToEngine } from './protocol.ts';

const root = join(import.meta.dirname, '..');
const wasm = (flavor: Flavor) => new WebAssembly.Module(readFileSync(join(root, `kernels/build/kernels.${flavor}.wasm`)));
const files = tinyModel();
const BASE = 'http://api.test/v1/models/multi30k/sha-abc/';

// Serves the model files like the API's download route (Content-Length, X-Content-SHA256), in small chunks.
function fakeFetch(opts: { tamper?: boolean; missing?: string } = {}): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const name = String(input).slice(BASE.length) as keyof typeof files;
    if (name === opts.missing || !(name in files)) {
      return new Response(JSON.stringify({ error: { code: 'not_found', message: `no file ${name}` } }), { status: 404 });
    }
    const bytes = files[name] as Uint8Array<ArrayBuffer>;
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const sha = opts.tamper && name === 'tokenizer.json' ? '0'.repeat(64) : [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 4096) c.enqueue(bytes.slice(i, i + 4096));
        c.close();
      },
    });
    return new Response(body, { headers: { 'Content-Length': String(bytes.length), 'X-Content-SHA256': sha } });
  }) as typeof fetch;
}

// A Worker whose other side is engineHost in this process; messages are cloned as postMessage would.
function inProcessWorker(): WorkerLike {
  const listeners: Array<(e: Event) => void> = [];
  const handle = engineHost(
    (m) => setTimeout(() => listeners.forEach((fn) => fn(new MessageEvent<FromEngine>('message', { data: structuredClone(m) })))),
    async (flavor) => wasm(flavor),
  );
  return {
    postMessage: (m: ToEngine) => void handle(structuredClone(m)),
    addEventListener: (type, fn) => void (type === 'message' && listeners.push(fn)),
    terminate() {},
  };
}

const load = (opts: Parameters<typeof fakeFetch>[0] = {}, onProgress?: (p: LoadProgress) => void) =>
  Translator.load(BASE, { fetch: fakeFetch(opts), worker: inProcessWorker, onProgress });

describe('in-browser Translator', () => {
  const params = { source: 'en', target: 'de', beam: 3 };
  const text = 'A man rides a bike.  Two dogs play in the snow!\n\nA woman reads.';

  it('reports download progress up to the total bytes', async () => {
    const seen: LoadProgress[] = [];
    const t = await load({}, (p) => seen.push(p));
    const total = Object.values(files).reduce((a, f) => a + f.length, 0);
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((p) => p.total === total)).toBe(true);
    expect(seen.map((p) => p.loaded)).toEqual([...seen.map((p) => p.loaded)].sort((a, b) => a - b));
    expect(seen.at(-1)!.loaded).toBe(total);
    // The download route names the model as the API does; config.json's own name is 'tiny'.
    expect(t.info).toMatchObject({ name: 'multi30k', version: 'sha-abc', languages: ['en', 'de'] });
    expect(['relaxed', 'simd']).toContain(t.flavor);
  });

  it('translates like the worker does with the same engine: split, batch, join', async () => {
    const t = await load();
    const engine = createEngine({ config: new TextDecoder().decode(files['config.json']), tokenizer: new TextDecoder().decode(files['tokenizer.json']), weights: files['weights.safetensors'] }, instantiate(wasm(t.flavor as Flavor), t.flavor as Flavor));
    const [want] = await translateTexts(engine, [text], { ...params, alignments: false });
    const got = await t.translate(text, params);
    expect(got).toEqual({ translation: want.translation, model: 'multi30k', version: 'sha-abc' });
    expect(got.translation).toContain('\n\n'); // the paragraph break survives the round trip

    const batch = await t.translate(['a man rides a bike .', '', text], params);
    expect(batch.translations).toEqual([(await t.translate('a man rides a bike .', params)).translation, '', want.translation]);
  });

  it('returns the average alignment and every layer and head', async () => {
    const t = await load();
    const r = await t.translate(text, { ...params, alignments: true });
    expect(r.alignments).toHaveLength(3);
    const a = r.alignments![0];
    expect(a.source).toBe('A man rides a bike.');
    expect(a.alignment).toHaveLength(a.targetTokens.length);
    expect(a.layers).toHaveLength(2); // decoder layers
    expect(a.layers![1]).toHaveLength(4); // heads
    const avg = a.layers![1][0].map((row, i) => row.map((_, s) => a.layers![1].reduce((x, h) => x + h[i][s], 0) / 4));
    a.alignment.forEach((row, i) => row.forEach((v, s) => expect(v).toBeCloseTo(avg[i][s], 6)));
  });

  it('streams tokens that add up to the translation, then the result', async () => {
    const t = await load();
    const events = [];
    for await (const e of t.stream(text, params)) events.push(e);
    const done = events.at(-1)!;
    expect(done.type).toBe('done');
    const pieces = events.flatMap((e) => (e.type === 'token' ? [e.piece] : []));
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe((await t.translate(text, params)).translation);
    expect(done.type === 'done' && 'translation' in done.result && done.result.translation).toBe(pieces.join(''));
  });

  it('refuses unsupported directions with the engine code, and keeps working after', async () => {
    const t = await load();
    const err = await t.translate('x', { source: 'en', target: 'fr' }).catch((e) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.code).toBe('unsupported_language');
    await expect(t.stream('x', { source: 'en', target: 'en' })[Symbol.asyncIterator]().next()).rejects.toThrow(/direction en-en/);
    expect((await t.translate('a bike', params)).translation).toBeTypeOf('string');
    t.dispose();
    await expect(t.translate('a bike', params)).rejects.toThrow(/disposed/);
  });

  it('fails loading with the API error of a missing file, or on a hash mismatch', async () => {
    const missing = await load({ missing: 'weights.safetensors' }).catch((e) => e);
    expect(missing).toBeInstanceOf(ApiError);
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    await expect(load({ tamper: true })).rejects.toMatchObject({ code: 'corrupt_download' });
  });
});
