import { describe, expect, test } from 'vitest';
import { loadKernels } from '../kernels/node.ts';
import { DECODE_DEFAULTS, mergeDecode } from './decode.ts';
import type { Engine, SentenceResult, TranslateOptions } from './engine.ts';
import { microModelFiles } from './testing.ts';
import { CHUNK_MIN_ROWS, CHUNK_WORK, Cancelled, TooMuchWork, WorkBudget, nextLegWork, planTexts, translatePlans, translateTexts, workOf } from './texts.ts';
import { createEngine } from './translator.ts';

const opts: TranslateOptions = { source: 'en', target: 'de', beam: 2 };

// Words are tokens; translate() upper-cases synchronously (like the real engine, it never yields) and
// logs each call, with `onCall` run inside it.
function wordEngine(maxSourceTokens: number, onCall: (n: number) => void = () => {}) {
  const calls: string[][] = [];
  const engine: Engine = {
    info: { name: 'w', version: 'v', languages: ['en', 'de'], directions: [['en', 'de']], parameters: 0, bytes: 0 },
    maxSourceTokens,
    countTokens: (s) => s.split(/\s+/).filter(Boolean).length,
    decodeOptions: (o) => mergeDecode(DECODE_DEFAULTS, o),
    async translate(sentences) {
      calls.push(sentences);
      onCall(calls.length);
      return sentences.map((s): SentenceResult => ({ text: s.toUpperCase() }));
    },
    async translateStream() {
      throw new Error('not used');
    },
  };
  return { engine, calls };
}

describe('texts', () => {
  test('a sentence longer than the model takes is split, translated in pieces and joined: nothing is lost', async () => {
    const long = Array.from({ length: 25 }, (_, i) => `W${i}`).join(" ") + ".";
    const { engine, calls } = wordEngine(10);
    const [r] = await translateTexts(engine, [`Short one. ${long}  Tail.`], opts);
    expect(r.translation).toBe(`SHORT ONE. ${long.toUpperCase()}  TAIL.`);
    expect(r.truncated).toBe(false);
    expect(calls.flat().every((s) => s.split(' ').length <= 10)).toBe(true);
    expect(r.sentences.map((s) => s.source)).toEqual(['Short one.', long.split(' ').slice(0, 10).join(' '), long.split(' ').slice(10, 20).join(' '), long.split(' ').slice(20).join(' '), 'Tail.']);
  });

  test('the real engine: a long sentence fits in pieces; one word past the model\'s length is flagged', async () => {
    const engine = createEngine(microModelFiles(), loadKernels('scalar'));
    const long = Array.from({ length: 40 }, () => 'a man rides a horse').join(' ');
    expect(engine.countTokens(long)).toBeGreaterThan(engine.maxSourceTokens);
    const [fits, cut] = await translateTexts(engine, [long, `x ${'€'.repeat(100)} y`], { ...opts, beam: 1 });
    expect(fits.truncated).toBe(false);
    expect(fits.sentences.length).toBeGreaterThan(1);
    expect(cut.truncated).toBe(true);
  });

  test('a text is length-limited when one of its sentences stopped at the output bound', async () => {
    const { engine } = wordEngine(100);
    engine.translate = async (sentences) => sentences.map((s) => ({ text: s, ...(s.startsWith('Endless') ? { lengthLimited: true } : {}) }));
    const [plain, cut] = await translateTexts(engine, ['One. Two.', 'One. Endless two. Three.'], opts);
    expect([plain.lengthLimited, cut.lengthLimited, cut.truncated]).toEqual([false, true, false]);
    expect(cut.translation).toBe('One. Endless two. Three.');
  });

  test('translates in chunks of about CHUNK_WORK, yielding to the event loop between them', async () => {
    const order: string[] = [];
    const { engine, calls } = wordEngine(100, (n) => {
      order.push(`chunk ${n}`);
      if (n === 1) setTimeout(() => order.push('other request'), 0);
    });
    const texts = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`);
    const plans = planTexts(engine, texts, opts);
    await translatePlans(engine, plans, opts);
    expect(calls.length).toBeGreaterThan(2);
    expect(order.indexOf('other request')).toBe(1); // ran before chunk 2
    expect(calls.flat().sort()).toEqual([...texts].sort());
    const perChunk = workOf(plans, engine, opts) / texts.length;
    for (const c of calls) expect(c.length * perChunk).toBeLessThanOrEqual(CHUNK_WORK);
  });

  test('a chunk counts each step at CHUNK_MIN_ROWS rows at least: a small beam does not make chunks longer', async () => {
    const texts = Array.from({ length: 12 }, (_, i) => `Sentence number ${i} is here.`);
    const sizes = async (beam: number) => {
      const { engine, calls } = wordEngine(100);
      await translateTexts(engine, texts, { ...opts, beam });
      return calls.map((c) => c.length);
    };
    const steps = 5 + 2 + DECODE_DEFAULTS.extraSteps;
    const most = Math.floor(CHUNK_WORK / (steps * CHUNK_MIN_ROWS));
    expect(await sizes(1)).toEqual(await sizes(CHUNK_MIN_ROWS));
    expect(Math.max(...(await sizes(1)))).toBe(most);
  });

  test('stops at the next chunk when the signal aborts', async () => {
    const abort = new AbortController();
    const { engine, calls } = wordEngine(100, () => abort.abort());
    const texts = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`);
    await expect(translateTexts(engine, texts, opts, { signal: abort.signal })).rejects.toBeInstanceOf(Cancelled);
    expect(calls).toHaveLength(1);
  });

  test('charges the budget while planning: over it, nothing is decoded', async () => {
    const { engine, calls } = wordEngine(100);
    const texts = ['One two three.', 'Four five.'];
    const work = workOf(planTexts(engine, texts, opts), engine, opts);
    const extra = 2 + DECODE_DEFAULTS.extraSteps; // tag + </s> + the output's bound beyond the source
    expect(work).toBe(((3 + extra) + (2 + extra)) * 2); // each sentence: tokens + tag + </s> + extra steps, x beam
    expect(workOf(planTexts(engine, texts, { ...opts, rerank: true }), engine, opts)).toBe(work);
    await translateTexts(engine, texts, opts, { budget: new WorkBudget(work) });
    const err = await translateTexts(engine, texts, opts, { budget: new WorkBudget(work - 1) }).catch((e) => e);
    expect(err).toBeInstanceOf(TooMuchWork);
    expect(err.message).toContain(`needs up to ${work}`);
    expect(err.message).toContain(`the limit is ${work - 1}`);
    expect(calls).toHaveLength(1);
    const budget = new WorkBudget(work);
    await translateTexts(engine, texts, opts, { budget });
    await expect(translateTexts(engine, texts, opts, { budget })).rejects.toBeInstanceOf(TooMuchWork); // shared by legs
    const cells = (3 + 2) * 55 + (2 + 2) * 54; // with alignments: source positions x steps
    const aligned = { ...opts, alignments: true };
    await translateTexts(engine, texts, aligned, { budget: new WorkBudget(work, cells) });
    const over = await translateTexts(engine, texts, aligned, { budget: new WorkBudget(work, cells - 1) }).catch((e) => e);
    expect([over.limit, over.message.includes(`up to ${cells} attention cells`)]).toEqual(['alignment', true]);
    await translateTexts(engine, texts, opts, { budget: new WorkBudget(work, 0) }); // no alignments asked: not charged
  });

  test('nextLegWork: the next leg reads at most this leg\'s output bound per piece, in pieces it takes', () => {
    const { engine } = wordEngine(100);
    const { engine: next } = wordEngine(40);
    const plans = planTexts(engine, ['One two three.', '', 'Four five.'], opts);
    const extra = 2 + DECODE_DEFAULTS.extraSteps;
    // Outputs of at most 3 + 52 and 2 + 52 tokens; the next model takes 40 a piece: 40 + 15 and 40 + 14.
    const pieces = [40, 15, 40, 14];
    expect(nextLegWork(plans, engine, opts, next, { ...opts, beam: 3 })).toBe(pieces.reduce((n, t) => n + Math.min(t + extra, 41), 0) * 3);
  });
});
