// A model with a weight set per direction: config validation, an engine over two parts translates each
// direction exactly as the part's own model does, and each part keeps its own length penalty.
import { describe, expect, it } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { checkParts, mapParts, partTensors } from './parts.ts';
import { parse, serialize, type Tensor } from './safetensors.ts';
import { createEngine, parseMeta, type ModelFiles, type ModelMeta } from './translator.ts';
import { microModelFiles } from './testing.ts';
import type { Engine } from './engine.ts';
import { readLines, splitFile } from '../train/data.ts';
import { readModelDir } from '../train/model-dir.ts';
import { defaultModelDir, multi30kDir } from '../train/paths.ts';

const EN_DE: [string, string] = ['en', 'de'];
const DE_EN: [string, string] = ['de', 'en'];

describe('checkParts', () => {
  const dirs = [EN_DE, DE_EN];
  it('accepts parts that serve every direction once', () => {
    const parts = [{ prefix: 'en-de/', directions: [EN_DE], alpha: 1.5 }, { prefix: 'de-en/', directions: [DE_EN] }];
    expect(checkParts(parts, dirs)).toBe(parts);
    expect(checkParts(undefined, dirs)).toBeUndefined();
  });
  it.each([
    [[], /non-empty array/],
    [[{ prefix: 'en-de', directions: [EN_DE, DE_EN] }], /prefix must look like "en-de\/"/],
    [[{ prefix: '../x/', directions: [EN_DE, DE_EN] }], /prefix must look like/],
    [[{ prefix: 'a/', directions: [EN_DE] }, { prefix: 'a/', directions: [DE_EN] }], /"a\/" is used twice/],
    [[{ prefix: 'a/', directions: [] }], /parts\[0\].directions must list/],
    [[{ prefix: 'a/', directions: [EN_DE, ['en', 'fr']] }], /serves en-fr, which config.directions does not list/],
    [[{ prefix: 'a/', directions: [EN_DE, DE_EN] }, { prefix: 'b/', directions: [DE_EN] }], /de-en is served by two parts \(a\/, b\/\)/],
    [[{ prefix: 'a/', directions: [EN_DE] }], /no part serves de-en/],
    [[{ prefix: 'a/', directions: [EN_DE, DE_EN], alpha: -1 }], /parts\[0\].alpha must be a number >= 0/],
  ])('refuses %j', (parts, message) => {
    expect(() => checkParts(parts, dirs)).toThrow(message);
  });
});

// Two micro models (different seeds) as the en->de and de->en parts of one model.
function combined(): { files: ModelFiles; a: ModelFiles; b: ModelFiles } {
  const a = microModelFiles(1);
  const b = microModelFiles(3);
  return { files: withParts(a.config as ModelMeta, [['en-de/', a], ['de-en/', b]]), a, b };
}

// A model folder's files with the given models as parts, part i serving direction i of meta.directions.
function withParts(meta: ModelMeta, parts: Array<[string, ModelFiles, number?]>): ModelFiles {
  const tensors = new Map<string, Tensor>();
  for (const [prefix, m] of parts) for (const [n, t] of parse(m.weights).tensors) tensors.set(prefix + n, t);
  const specs = parts.map(([prefix, , alpha], i) => ({ prefix, directions: [meta.directions[i]], ...(alpha === undefined ? {} : { alpha }) }));
  return { config: { ...meta, parts: specs }, tokenizer: parts[0][1].tokenizer, weights: serialize(tensors) };
}

// Each engine gets its own kernels (wasm memory), as in the worker: engines on one memory would share an arena.
const k = () => loadKernels('simd');

describe('an engine over parts', () => {
  const { files, a, b } = combined();
  const engine = createEngine(files, k());
  const A = createEngine(a, k());
  const B = createEngine(b, k());
  const sents = ['a man rides a horse .', 'zwei Hunde spielen im Schnee .'];
  const run = (e: typeof engine, source: string, target: string) => e.translate(sents, { source, target, beam: 2, alignments: true });

  it('translates each direction with its own weights', async () => {
    expect(await run(B, 'de', 'en')).not.toEqual(await run(A, 'de', 'en')); // the seeds differ, so the checks can fail
    expect(await run(B, 'en', 'de')).not.toEqual(await run(A, 'en', 'de'));
    expect(await run(engine, 'en', 'de')).toEqual(await run(A, 'en', 'de'));
    expect(await run(engine, 'de', 'en')).toEqual(await run(B, 'de', 'en'));
    const streamed: string[] = [];
    const r = await engine.translateStream(sents[1], { source: 'de', target: 'en', beam: 2 }, (p) => streamed.push(p));
    expect([r.text, streamed.join('')]).toEqual([(await B.translate([sents[1]], { source: 'de', target: 'en', beam: 2 }))[0].text, r.text]);
  });

  it('reports the parameters and bytes of all parts', () => {
    expect(engine.info.parameters).toBe(A.info.parameters + B.info.parameters);
    expect(engine.info.bytes).toBe(A.info.bytes + B.info.bytes);
    expect(engine.info.directions).toEqual([EN_DE, DE_EN]);
  });

  it('refuses weights missing a part, and bad parts in config.json', () => {
    const { tensors } = parse(files.weights);
    const onlyOne = serialize(new Map([...tensors].filter(([n]) => n.startsWith('en-de/'))));
    expect(() => createEngine({ ...files, weights: onlyOne }, k())).toThrow(/weights are missing tensor/);
    expect(() => parseMeta({ ...(files.config as ModelMeta), parts: [{ prefix: 'en-de/', directions: [EN_DE] }] })).toThrow(/no part serves de-en/);
  });

  it('mapParts applies a transform per part and keeps the prefixes', () => {
    const { tensors } = parse(files.weights);
    const meta = files.config as ModelMeta;
    const names = (m: Map<string, Tensor>) => [...m.keys()].sort();
    const renamed = mapParts(meta.parts, tensors, (t) => new Map([...t].map(([n, v]) => [n + '.x', v])));
    expect(names(renamed)).toEqual(names(tensors).map((n) => n + '.x').sort());
    expect(names(partTensors(tensors, 'de-en/'))).toEqual(names(parse(b.weights).tensors));
    expect(mapParts(undefined, tensors, (t) => t)).toBe(tensors);
  });
});

// Random micro models decode to full length, where alpha changes nothing: the bundled model shows it.
describe('per-part length penalty, on the bundled model', () => {
  const files = readModelDir(defaultModelDir());
  const meta = files.meta;
  // Its directions, each a part of its own (for a combined model, its own parts).
  const single = (d: [string, string]): ModelFiles => {
    const part = meta.parts?.find((p) => p.directions.some(([s, t]) => s === d[0] && t === d[1]));
    const { parts: _, rerank: __, ...rest } = meta; // one direction: no parts, nothing to rerank with
    const weights = part ? serialize(partTensors(parse(files.weights).tensors, part.prefix)) : files.weights;
    return { config: { ...rest, directions: [d] }, tokenizer: files.tokenizer, weights };
  };
  const dirs: Array<[string, string]> = [EN_DE, DE_EN];
  const one = dirs.map((d) => createEngine(single(d), k()));
  const text = async (e: Engine, [source, target]: [string, string], alpha?: number) => {
    const src = readLines(splitFile(multi30kDir(), 'test_2016_flickr', source)).slice(0, 40);
    return (await e.translate(src, { source, target, beam: 4, alpha })).map((r) => r.text);
  };

  it("a part's alpha is its default, a request's alpha overrides it", async () => {
    const m = { ...meta, directions: dirs, alpha: 1 };
    const tuned = createEngine(withParts(m, [['en-de/', single(EN_DE), 3], ['de-en/', single(DE_EN), 0]]), k());
    for (const [i, d] of dirs.entries()) {
      const [flat, strong] = [await text(one[i], d, 0), await text(one[i], d, 3)];
      expect(flat).not.toEqual(strong); // alpha matters here, so the checks below can fail
      expect(await text(tuned, d)).toEqual(i === 0 ? strong : flat);
      expect(await text(tuned, d, i === 0 ? 0 : 3)).toEqual(i === 0 ? flat : strong);
    }
  });
});
