// The merge of a request with a DecodeConfig: unset fields take the config's, set ones are checked.
import { describe, expect, it } from 'vitest';
import { DECODE_DEFAULTS, mergeDecode } from './decode.ts';
import { UnsupportedError } from './engine.ts';
import { loadKernels } from '../kernels/node.ts';
import { createEngine, decodeConfigFor, parseMeta, type ModelMeta } from './translator.ts';
import { microModelFiles } from './testing.ts';

describe('mergeDecode', () => {
  it('fills what the request leaves out from the config, the reranker getting its wider beam', () => {
    expect(mergeDecode(DECODE_DEFAULTS, {})).toEqual({ ...DECODE_DEFAULTS, rerank: false });
    expect(mergeDecode(DECODE_DEFAULTS, { rerank: true }).beam).toBe(DECODE_DEFAULTS.rerankBeam);
    expect(mergeDecode(DECODE_DEFAULTS, { rerank: true, beam: 2, alpha: 0, rerankWeight: 0 })).toMatchObject({ beam: 2, alpha: 0, rerankWeight: 0, rerank: true });
    const config = { ...DECODE_DEFAULTS, alpha: 1.5, beam: 2 };
    expect(mergeDecode(config, {})).toMatchObject({ alpha: 1.5, beam: 2 });
  });

  it('refuses a beam out of 1..maxBeam, a negative alpha or weight', () => {
    const bad: Array<[object, string]> = [
      [{ beam: 0 }, 'invalid_beam'], [{ beam: DECODE_DEFAULTS.maxBeam + 1 }, 'invalid_beam'], [{ beam: 1.5 }, 'invalid_beam'],
      [{ alpha: -1 }, 'invalid_alpha'], [{ alpha: NaN }, 'invalid_alpha'], [{ rerankWeight: -0.1 }, 'invalid_rerank_weight'],
    ];
    for (const [request, code] of bad) {
      const e = (() => { try { mergeDecode(DECODE_DEFAULTS, request); } catch (e) { return e; } })();
      expect(e, JSON.stringify(request)).toBeInstanceOf(UnsupportedError);
      expect((e as UnsupportedError).code).toBe(code);
    }
    expect(mergeDecode(DECODE_DEFAULTS, { beam: DECODE_DEFAULTS.maxBeam }).beam).toBe(DECODE_DEFAULTS.maxBeam);
  });
});

describe('decodeConfigFor', () => {
  it("takes config.json's alpha (a part's first) and reranking weight per direction", () => {
    const meta = parseMeta(microModelFiles().config);
    expect(decodeConfigFor(meta, 'en', 'de')).toEqual(DECODE_DEFAULTS);
    const tuned = { ...meta, alpha: 1, rerank: { 'en-de': 0.3 }, parts: [{ prefix: 'en-de/', directions: [['en', 'de']] as Array<[string, string]>, alpha: 2 }, { prefix: 'de-en/', directions: [['de', 'en']] as Array<[string, string]> }] };
    expect(decodeConfigFor(tuned, 'en', 'de')).toMatchObject({ alpha: 2, rerankWeight: 0.3 });
    expect(decodeConfigFor(tuned, 'de', 'en')).toMatchObject({ alpha: 1, rerankWeight: DECODE_DEFAULTS.rerankWeight });
  });

  it("takes an imported model's num_beams as the beam of a request that names none, within maxBeam", () => {
    const meta = parseMeta(microModelFiles().config);
    const generation = { numBeams: 3, maxLength: 20, earlyStopping: true, forcedEos: true, badWords: [0], renormalizeLogits: false };
    const imported = decodeConfigFor({ ...meta, generation }, 'en', 'de');
    expect(imported.beam).toBe(3);
    expect(mergeDecode(imported, {}).beam).toBe(3);
    expect(mergeDecode(imported, { beam: 1 }).beam).toBe(1);
    const files = microModelFiles();
    const engine = createEngine({ ...files, config: { ...(files.config as ModelMeta), generation } }, loadKernels('simd'));
    expect(engine.decodeOptions({ source: 'en', target: 'de' }).beam).toBe(3);
    const wide = decodeConfigFor({ ...meta, generation: { ...generation, numBeams: DECODE_DEFAULTS.maxBeam + 4 } }, 'en', 'de');
    expect(wide.beam).toBe(DECODE_DEFAULTS.maxBeam);
  });
});
