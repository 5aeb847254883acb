// The in-browser Translator in Node: downloads through a fake fetch, the engine's worker side runs in
// process (browser/testing.ts), the kernels are the real wasm. The weights stream into the engine and are
// verified on the way: cut, changed or broken-off bodies fail with corrupt_download.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../client/index.ts';
import { type Flavor, instantiate } from '../kernels/host.ts';
import { createEngine } from '../model/translator.ts';
import { tinyModel } from '../test/e2e/tiny-model.ts';
import { translateTexts } from '../model/texts.ts';
import { hex } from '../model/sha256.ts';
import { engineHost } from './engine-host.ts';
import { type FromEngine, streamToPort } from './protocol.ts';
import { fakeServer, folder, inProcessWorker, wasm } from './testing.ts';
import { EngineError, type LoadProgress, Translator } from './translator.ts';

const files = tinyModel();
const BASE = 'http://api.test/v1/models/multi30k/sha-abc/';

const WEIGHTS = BASE + 'weights.safetensors';

interface LoadCase {
  tamper?: string;
  missing?: string;
  alter?: (bytes: Uint8Array) => Uint8Array; // the weights' body, changed after the headers were made
  breakAt?: number; // the weights' body fails after this many bytes
  weightChunks?: number[]; // receives the size of each chunk of weights the engine reads
}

const load = (opts: LoadCase = {}, onProgress?: (p: LoadProgress) => void) => {
  const served = folder(BASE, files);
  if (opts.missing) delete served[BASE + opts.missing];
  const { fetch } = fakeServer(served, {
    tamper: opts.tamper ? [BASE + opts.tamper] : [],
    alter: opts.alter && { [WEIGHTS]: opts.alter },
    breakAt: opts.breakAt === undefined ? undefined : { [WEIGHTS]: opts.breakAt },
  });
  return Translator.load(BASE, { fetch, worker: () => inProcessWorker(opts.weightChunks), onProgress });
};

// The weights with one byte changed at `at` (negative: from the end).
const flip = (at: number) => (bytes: Uint8Array) => {
  const out = bytes.slice();
  out[at < 0 ? out.length + at : at] ^= 0x40;
  return out;
};

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
    expect(want.lengthLimited).toBe(true); // random weights never end a sentence: the response says so
    expect(got).toEqual({ translation: want.translation, model: 'multi30k', version: 'sha-abc', lengthLimited: [0] });
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
    await expect(load({ tamper: 'tokenizer.json' })).rejects.toMatchObject({ code: 'corrupt_download' });
  });

  it('streams the weights into the engine in the chunks they arrive in: no buffer of the whole file', async () => {
    const chunks: number[] = [];
    const t = await load({ weightChunks: chunks });
    const size = files['weights.safetensors'].length;
    expect(size).toBeGreaterThan(4 * 4096);
    // the fake server sends 4 KiB chunks: the engine reads exactly those, none of them the file
    expect(chunks).toHaveLength(Math.ceil(size / 4096));
    expect(Math.max(...chunks)).toBe(4096);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(size);
    expect((await t.translate('a man rides a bike .', params)).translation).toBeTypeOf('string');
  });

  it('fails with corrupt_download when the weights are cut, changed or broken off', async () => {
    const size = files['weights.safetensors'].length;
    const cases: Array<[string, LoadCase, RegExp]> = [
      ['cut short', { alter: (b) => b.slice(0, b.length - 1000) }, /sha256 [0-9a-f]{64} of \d+ bytes does not match/],
      ['cut inside the header', { alter: (b) => b.slice(0, 20) }, /sha256 .* of 20 bytes does not match/],
      ['a byte changed in the tensors', { alter: flip(-7) }, /sha256 .* does not match/],
      ['a byte changed in the header', { alter: flip(12) }, /sha256 .* does not match/], // the header's JSON breaks first
      ['the connection lost', { breakAt: 3 * 4096 + 5 }, /broke off after 12293 bytes \(network error\)/],
    ];
    for (const [what, c, message] of cases) {
      const chunks: number[] = [];
      const err = await load({ ...c, weightChunks: chunks }).catch((e) => e);
      expect(err, what).toBeInstanceOf(ApiError);
      expect(err, what).toMatchObject({ status: 200, code: 'corrupt_download' });
      expect(err.message, what).toMatch(message);
    }
  });

  it('an engine host whose weights failed the check answers no translation', async () => {
    const answers: FromEngine[] = [];
    const host = engineHost((m) => answers.push(m), async (flavor) => wasm(flavor));
    const w = files['weights.safetensors'];
    const weights = new Response(flip(-7)(w) as Uint8Array<ArrayBuffer>).body!;
    const text = new TextDecoder();
    await host({ type: 'init', id: 0, config: text.decode(files['config.json']), tokenizer: text.decode(files['tokenizer.json']), weights, sha256: hex(await crypto.subtle.digest('SHA-256', w as Uint8Array<ArrayBuffer>)), wasmBase: '' });
    await host({ type: 'translate', id: 1, texts: ['a bike'], options: { ...params, alignments: false }, stream: false });
    expect(answers).toMatchObject([
      { type: 'error', id: 0, code: 'corrupt_download' },
      { type: 'error', id: 1, message: 'the model is not loaded yet' },
    ]);
  });

  it('takes the weights through a MessagePort where streams are not transferable (Safari)', async () => {
    const answers: FromEngine[] = [];
    const host = engineHost((m) => answers.push(m), async (flavor) => wasm(flavor));
    const w = files['weights.safetensors'];
    const { fetch } = fakeServer({ [WEIGHTS]: w });
    const good = await fetch(WEIGHTS);
    const text = new TextDecoder();
    const init = { type: 'init', id: 0, config: text.decode(files['config.json']), tokenizer: text.decode(files['tokenizer.json']), wasmBase: '' } as const;
    await host({ ...init, weights: streamToPort(good.body!), sha256: good.headers.get('x-content-sha256')! });
    expect(answers[0]).toMatchObject({ type: 'ready', id: 0 });
    const cut = await fakeServer({ [WEIGHTS]: w }, { breakAt: { [WEIGHTS]: 5000 } }).fetch(WEIGHTS);
    await host({ ...init, id: 1, weights: streamToPort(cut.body!), sha256: cut.headers.get('x-content-sha256')! });
    expect(answers[1]).toMatchObject({ type: 'error', id: 1, code: 'corrupt_download', message: expect.stringMatching(/broke off after 5000 bytes/) });
  });
});
