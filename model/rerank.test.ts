// Reranking the n-best with the reverse direction: teacher-forced scores agree with beam search's own,
// the pick follows the formula, and the engine's `rerank` option behaves (weight 0 = plain beam, errors).
// Scores and choices are checked on the bundled model (random weights never emit </s>, so their
// hypotheses all end unfinished at the length limit), options and errors on the micro model.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/host.ts';
import { loadKernels } from '../kernels/node.ts';
import { DECODE_DEFAULTS } from './decode.ts';
import { UnsupportedError } from './engine.ts';
import { forcedLogProbs, pickReranked } from './rerank.ts';
import { InferenceModel } from './runtime.ts';
import { parse } from './safetensors.ts';
import { BeamSearch, lengthPenalty, paperRules, type Hypothesis } from './search.ts';
import { microModelFiles } from './testing.ts';
import { SPECIAL_IDS, Tokenizer } from './tokenizer.ts';

const EOS = SPECIAL_IDS.eos;
import { createEngine, parseMeta } from './translator.ts';

const bundled = (f: string) => readFileSync(new URL(`../models/multi30k/${f}`, import.meta.url));
const files = { config: bundled('config.json').toString(), tokenizer: bundled('tokenizer.json').toString(), weights: new Uint8Array(bundled('weights.safetensors')) };
const meta = parseMeta(files.config);
const tok = Tokenizer.fromJSON(files.tokenizer);
const micro = microModelFiles();

function bundledModel(): InferenceModel {
  const kernels = loadKernels('simd');
  return new InferenceModel(kernels, new Arena(kernels), meta, parse(files.weights));
}

// n-best lists of beam search over padded sentences of different lengths.
function nbestOf(model: InferenceModel, srcs: number[][], beam: number): Hypothesis[][] {
  const S = Math.max(...srcs.map((s) => s.length));
  const src = new Int32Array(srcs.length * S);
  srcs.forEach((s, i) => src.set(s, i * S));
  const maxSteps = srcs.map((s) => Math.min(s.length + DECODE_DEFAULTS.extraSteps, meta.maxLen - 1)); // the engine's limit
  const mark = model.arena.mark();
  const st = model.encode(src, Int32Array.from(srcs, (s) => s.length), S, beam, Math.max(...maxSteps) + 1);
  const search = new BeamSearch(model, st, { beam, alpha: 0.6, maxSteps, rules: paperRules(SPECIAL_IDS) });
  while (!search.finishedAll) search.step();
  const out = search.nbest();
  model.arena.reset(mark);
  return out;
}

const hyp = (tokens: number[], logProb: number, alpha: number): Hypothesis => ({ tokens, logProb, score: logProb / lengthPenalty(tokens.length + 1, alpha), ended: true });

describe('forcedLogProbs', () => {
  it("gives every n-best hypothesis the log-probability beam search found for it, across row blocks", () => {
    const model = bundledModel();
    const tag = tok.langId('de');
    const srcs = ['A man rides a horse.', 'Two dogs.', 'A little girl in a pink dress plays in the snow with two dogs.'].map((s) => [tag, ...tok.encode(s), EOS]);
    const nbest = nbestOf(model, srcs, 3);
    const pairs = nbest.flatMap((hs, i) => hs.map((h) => ({ src: srcs[i], tgt: h.tokens })));
    const want = nbest.flatMap((hs) => hs.map((h) => h.logProb));
    expect(pairs.length).toBeGreaterThan(7); // more than one block of maxRows 4 below, and a partial one
    expect(new Set(pairs.map((p) => p.tgt.length)).size).toBeGreaterThan(1); // padding in a block
    const mark = model.arena.mark();
    for (const maxRows of [1, 4, 32]) {
      const got = forcedLogProbs(model, pairs, maxRows, SPECIAL_IDS);
      got.forEach((g, k) => expect(g, `pair ${k}, maxRows ${maxRows}`).toBeCloseTo(want[k], 3));
      expect(model.arena.mark()).toBe(mark); // leaves the arena as it found it
    }
  });

});

describe('pickReranked', () => {
  const alpha = 1;
  const nbest = [hyp([5, 6, 7], -2.0, alpha), hyp([5, 6], -2.2, alpha), hyp([8], -3.0, alpha)];

  it('keeps the beam choice at weight 0 and whatever the reverse scores', () => {
    expect(pickReranked(nbest, [-50, -1, -1], 4, alpha, 0)).toBe(nbest[0]);
  });

  it('adds weight * log P(x|y) / lp(|x|) to the beam score', () => {
    // beam scores: -2/(9/6)=-1.333, -2.2/(8/6)=-1.65, -3/(7/6)=-2.571; lp(|x| = 4) = 9/6
    const reverse = [-6, -4.5, -1];
    // weight 1: -1.333-4 = -5.333, -1.65-3 = -4.65, -2.571-0.667 = -3.238 -> the third
    expect(pickReranked(nbest, reverse, 4, alpha, 1)).toBe(nbest[2]);
    // weight 0.1: -1.733, -1.95, -2.638 -> the first
    expect(pickReranked(nbest, reverse, 4, alpha, 0.1)).toBe(nbest[0]);
    // weight 0.5, reverse favouring the second: -1.333-1 = -2.333, -1.65-0.333 = -1.983, -2.571-1.667 -> the second
    expect(pickReranked(nbest, [-3, -1, -5], 4, alpha, 0.5)).toBe(nbest[1]);
    // the source's length penalty matters: -1.333-2/1.5 = -2.667 beats -1.65-1.6/1.5 = -2.717 (not so without it)
    expect(pickReranked(nbest, [-2, -1.6, -40], 4, alpha, 1)).toBe(nbest[0]);
    expect(pickReranked(nbest, [-2, -1.6, -40], 1, alpha, 1)).toBe(nbest[1]); // lp(1) = 1
  });
});

describe('engine option rerank', () => {
  const engine = createEngine(files, loadKernels('simd'));
  const sents = [
    'A man in a blue shirt is standing on a ladder cleaning windows.', 'Two dogs play in the snow.', '',
    'A group of people stand in front of an igloo.', 'A woman with a large purse is walking by a gate.', 'Five men sit on a bench.',
  ];
  const opts = { source: 'en', target: 'de', beam: 4 };
  const texts = async (o: object) => (await engine.translate(sents, { ...opts, ...o })).map((r) => r.text);

  it('at weight 0 is plain beam search; a large weight changes some choices', async () => {
    const plain = await texts({});
    expect(await texts({ rerank: true, rerankWeight: 0 })).toEqual(plain);
    const heavy = await texts({ rerank: true, rerankWeight: 5 });
    expect(heavy).not.toEqual(plain);
    expect(heavy[2]).toBe('');
  });

  it('picks, at a large weight, the n-best candidate the reverse direction scores best', async () => {
    const model = bundledModel();
    const src = [tok.langId('de'), ...tok.encode(sents[0]), EOS];
    const [nbest] = nbestOf(model, [src], 4);
    const reverse = forcedLogProbs(model, nbest.map((h) => ({ src: [tok.langId('en'), ...h.tokens, EOS], tgt: src.slice(1, -1) })), 32, SPECIAL_IDS);
    const best = nbest[reverse.indexOf(Math.max(...reverse))];
    const [r] = await engine.translate([sents[0]], { ...opts, alpha: 0.6, rerank: true, rerankWeight: 1e6 });
    const [plainTop] = await engine.translate([sents[0]], { ...opts, alpha: 0.6 });
    expect(plainTop.text).toBe(tok.decode(nbest[0].tokens));
    expect(r.text).toBe(tok.decode(best.tokens));
  });

  it('uses config.rerank for the direction when a request sets no weight', async () => {
    const heavy = await texts({ rerank: true, rerankWeight: 5 });
    const tuned = createEngine({ ...files, config: { ...meta, rerank: { 'en-de': 5 } } }, loadKernels('simd'));
    expect((await tuned.translate(sents, { ...opts, rerank: true })).map((r) => r.text)).toEqual(heavy);
  });

  it('streams a reranked sentence as one piece equal to translate()', async () => {
    const pieces: string[] = [];
    const o = { ...opts, rerank: true, rerankWeight: 5 };
    const res = await engine.translateStream(sents[1], o, (p) => pieces.push(p));
    expect(pieces).toEqual([res.text]);
    expect(res.text).toBe((await engine.translate([sents[1]], o))[0].text);
  });

  it('keeps alignments of the reranked choice', async () => {
    const o = { ...opts, rerank: true, rerankWeight: 5 };
    const [r] = await engine.translate([sents[0]], { ...o, alignments: true });
    expect(r.text).toBe((await engine.translate([sents[0]], o))[0].text);
    expect(r.alignment!.length).toBe(r.targetTokens!.length);
    expect(r.targetTokens!.filter((t) => t !== '</s>')).toEqual(tok.tokens(tok.encode(r.text)));
  });

  it('refuses reranking without the reverse direction, and a bad weight', async () => {
    const microMeta = parseMeta(micro.config);
    const oneWay = createEngine({ ...micro, config: { ...microMeta, directions: [['en', 'de']] } }, loadKernels('simd'));
    await expect(oneWay.translate(['a man'], { ...opts, rerank: true })).rejects.toThrow(UnsupportedError);
    await expect(oneWay.translate(['a man'], { ...opts, rerank: true })).rejects.toThrow(/needs the reverse direction de-en/);
    await expect(oneWay.translateStream('a man', { ...opts, rerank: true }, () => {})).rejects.toThrow(/needs the reverse direction/);
    expect((await oneWay.translate(['a man'], opts))[0].text).toBeTypeOf('string');
    await expect(engine.translate(['a man'], { ...opts, rerank: true, rerankWeight: -1 })).rejects.toThrow(/rerankWeight must be a number >= 0/);
  });

  it('validates config.rerank', () => {
    const bad: Array<[unknown, RegExp]> = [
      [[0.5], /must map directions to weights/],
      [{ 'en-de': -1 }, /config.rerank\["en-de"\] must be a number >= 0/],
      [{ 'en-de': 'x' }, /must be a number >= 0/],
      [{ 'en-fr': 0.5 }, /needs a model serving en-fr and its reverse/],
    ];
    for (const [rerank, msg] of bad) expect(() => parseMeta({ ...meta, rerank } as never)).toThrow(msg);
    expect(() => parseMeta({ ...meta, directions: [['en', 'de']], rerank: { 'en-de': 0.5 } })).toThrow(/and its reverse/);
    expect(parseMeta({ ...meta, rerank: { 'en-de': 0.5, 'de-en': 0 } }).rerank).toEqual({ 'en-de': 0.5, 'de-en': 0 });
  });
});
