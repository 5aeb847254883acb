// Long input, after the paper's sentence-level model: split each text into sentences, split a sentence
// longer than the model's positions into pieces that fit (model/sentences.ts), translate the pieces and
// join each text back with its original whitespace. The one text-level path of every host: the worker,
// the browser engine and `mt translate`.
//
// Translation runs in chunks of about CHUNK_WORK, yielding to the event loop between them, so a
// single-threaded host keeps answering other requests during a long one, and stops at the next chunk
// when `signal` aborts (the client went away).
import type { Decode } from './decode.ts';
import type { Engine, SentenceResult, TranslateOptions } from './engine.ts';
import { type Counted, fitSentence, splitSentences } from './sentences.ts';

export interface TextResult {
  translation: string;
  sentences: Array<{ source: string; result: SentenceResult }>;
  // Some piece still had more tokens than the model takes (one unbroken word longer than maxSourceTokens):
  // the engine translated only its beginning.
  truncated: boolean;
  // Some piece's translation stopped at the output length bound before it ended (SentenceResult).
  lengthLimited: boolean;
}

// A text ready to translate: its pieces (text + sep concatenate to the input) with their token counts
// (0 for whitespace-only pieces, which are copied through).
export interface TextPlan {
  pieces: Counted[];
}

export interface Control {
  signal?: AbortSignal; // aborted: stop before the next chunk or sentence with Cancelled
  budget?: WorkBudget; // charged workOf while planning; TooMuchWork when it would go over
}

export class Cancelled extends Error {
  constructor() {
    super('translation cancelled: the request was aborted');
  }
}

// A request's compute budget in decoder row-steps (workOf), shared by its legs when it is pivoted; and,
// with alignments, what the response may carry: attention cells (alignmentOf), each one number per
// decoder layer and head.
export class WorkBudget {
  readonly max: number;
  readonly maxAlignment: number;
  private spent = 0;
  private aligned = 0;
  constructor(max: number, maxAlignment = Infinity) {
    this.max = max;
    this.maxAlignment = maxAlignment;
  }

  // `extraSteps`: the output length bound beyond the source (model/decode.ts), for the message.
  spend(work: number, alignment: number, extraSteps: number): void {
    if (this.spent + work > this.max) {
      throw new TooMuchWork('work', `this request needs up to ${this.spent + work} decoder steps x beam (each sentence: its tokens + ${extraSteps + 2}, at most the model's length, times the beam, twice with rerank); the limit is ${this.max}: send fewer or shorter texts, or a smaller beam`);
    }
    if (this.aligned + alignment > this.maxAlignment) {
      throw new TooMuchWork('alignment', `alignments for this request would hold up to ${this.aligned + alignment} attention cells (each sentence: its tokens + 2 times its steps) per layer and head; the limit is ${this.maxAlignment}: ask alignments for fewer or shorter texts`);
    }
    this.spent += work;
    this.aligned += alignment;
  }

  // Gives back work spent ahead (a pivot's second leg, estimated before the first runs: nextLegWork) once
  // the second leg is planned and charged what it really takes.
  refund(work: number): void {
    this.spent -= work;
  }
}

export class TooMuchWork extends Error {
  readonly limit: 'work' | 'alignment';
  constructor(limit: 'work' | 'alignment', message: string) {
    super(message);
    this.limit = limit;
  }
}

// Decoding work of a chunk between two yields, in decoder row-steps (workOf).
export const CHUNK_WORK = 512;
// A decoder step on a few rows costs about what it costs on CHUNK_MIN_ROWS (reading the weights dominates),
// so a chunk counts each piece's steps at no fewer rows: at beam 1 a chunk holds half as many steps as at
// beam 2 would allow, and no two of the longest pieces run between two yields.
export const CHUNK_MIN_ROWS = 4;

const translatable = (p: Counted) => p.text.trim() !== '';

// Plans every text, charging each to `control.budget` as it goes: a request over the budget fails before
// the rest of it is even tokenized.
export function planTexts(engine: Engine, texts: string[], options: TranslateOptions, control: Control = {}): TextPlan[] {
  const count = (s: string) => engine.countTokens(s);
  const d = engine.decodeOptions(options);
  return texts.map((text) => {
    const plan = {
      pieces: splitSentences(text).flatMap((s) => {
        if (s.text.trim() === '') return [{ ...s, tokens: 0 }];
        const parts = fitSentence(s.text, engine.maxSourceTokens, count);
        parts[parts.length - 1].sep = s.sep;
        return parts;
      }),
    };
    control.budget?.spend(work([plan], engine, d), options.alignments ? alignmentOf(plan, engine, d) : 0, d.extraSteps);
    return plan;
  });
}

// The compute a request may take, in decoder row-steps: each piece can decode up to its source length
// (with the tag and </s>) + extraSteps steps, at most the model's positions, over `beam` rows; twice
// with rerank (every candidate is scored again in reverse). An upper bound, whatever the text: a sentence
// the model never ends costs what it is charged.
export function workOf(plans: TextPlan[], engine: Engine, options: TranslateOptions): number {
  return work(plans, engine, engine.decodeOptions(options));
}

function work(plans: TextPlan[], engine: Engine, d: Decode): number {
  return pieceWork(plans.flatMap((p) => p.pieces.filter(translatable)), engine, d);
}

function pieceWork(pieces: Array<{ tokens: number }>, engine: Engine, d: Decode): number {
  let steps = 0;
  for (const piece of pieces) steps += stepsOf(piece, engine, d);
  return steps * d.beam * (d.rerank ? 2 : 1);
}

// The work of the next leg of a pivot on this leg's translations, before this leg runs: each piece's
// translation has at most as many tokens as its decoder steps here (the output bound, stepsOf), which the
// next leg reads as source, in pieces of at most its maxSourceTokens. An estimate: it counts the next
// model's tokens as this one's, and a translation the next leg splits into sentences costs more.
export function nextLegWork(plans: TextPlan[], engine: Engine, options: TranslateOptions, next: Engine, nextOptions: TranslateOptions): number {
  const d = engine.decodeOptions(options);
  const max = next.maxSourceTokens;
  const outputs: Array<{ tokens: number }> = [];
  for (const p of plans) {
    for (const piece of p.pieces.filter(translatable)) {
      for (let left = stepsOf(piece, engine, d); left > 0; left -= max) outputs.push({ tokens: Math.min(left, max) });
    }
  }
  return pieceWork(outputs, next, next.decodeOptions(nextOptions));
}

// Attention cells of a text's alignments: source positions x decoder steps, summed over its pieces.
function alignmentOf(plan: TextPlan, engine: Engine, d: Decode): number {
  let cells = 0;
  for (const piece of plan.pieces) if (translatable(piece)) cells += (Math.min(piece.tokens, engine.maxSourceTokens) + 2) * stepsOf(piece, engine, d);
  return cells;
}

function stepsOf(p: { tokens: number }, engine: Engine, d: Decode): number {
  return Math.min(p.tokens + 2 + d.extraSteps, engine.maxSourceTokens + 1);
}

export async function translateTexts(engine: Engine, texts: string[], options: TranslateOptions, control: Control = {}): Promise<TextResult[]> {
  return translatePlans(engine, planTexts(engine, texts, options, control), options, control);
}

export async function translatePlans(engine: Engine, plans: TextPlan[], options: TranslateOptions, control: Control = {}): Promise<TextResult[]> {
  const todo = plans.flatMap((p) => p.pieces.filter(translatable));
  const results: SentenceResult[] = new Array(todo.length);
  // Similar lengths in one chunk: the engine batches a chunk's sentences, padded to the longest.
  const order = todo.map((_, i) => i).sort((a, b) => todo[a].tokens - todo[b].tokens);
  const d = engine.decodeOptions(options);
  const cost = (k: number) => stepsOf(todo[k], engine, d) * Math.max(d.beam, CHUNK_MIN_ROWS);
  for (let i = 0; i < order.length; ) {
    if (i > 0) await yieldToEventLoop();
    if (control.signal?.aborted) throw new Cancelled();
    let j = i + 1;
    for (let work = cost(order[i]); j < order.length && work + cost(order[j]) <= CHUNK_WORK; j++) work += cost(order[j]);
    const chunk = order.slice(i, j);
    // A piece that alone outweighs a chunk decodes through translateStream, which yields between steps.
    const out = chunk.length === 1 && cost(chunk[0]) > CHUNK_WORK
      ? [await engine.translateStream(todo[chunk[0]].text, options, () => {})]
      : await engine.translate(chunk.map((k) => todo[k].text), options);
    if (out.length !== chunk.length) throw new Error(`engine returned ${out.length} results for ${chunk.length} sentences`);
    chunk.forEach((k, n) => (results[k] = out[n]));
    i = j;
  }
  let k = 0;
  return plans.map((p) => join(p.pieces, () => results[k++], engine.maxSourceTokens));
}

// Streams pieces of text `index` as they are decoded (the engine yields between decoder steps, so each
// write reaches the client). Separators are sent as pieces too: a text's pieces concatenate to its translation.
export async function streamPlans(
  engine: Engine,
  plans: TextPlan[],
  options: TranslateOptions,
  emit: (index: number, piece: string) => Promise<void>,
  control: Control = {},
): Promise<TextResult[]> {
  const out: TextResult[] = [];
  for (let i = 0; i < plans.length; i++) {
    const ps = plans[i].pieces;
    const results: SentenceResult[] = [];
    for (const p of ps) {
      if (translatable(p)) {
        if (control.signal?.aborted) throw new Cancelled();
        let writing = Promise.resolve();
        const onToken = (piece: string) => void (writing = writing.then(() => emit(i, piece)));
        try {
          results.push(await engine.translateStream(p.text, options, onToken));
        } finally {
          await writing;
        }
      } else if (p.text) {
        await emit(i, p.text);
      }
      if (p.sep) await emit(i, p.sep);
    }
    let k = 0;
    out.push(join(ps, () => results[k++], engine.maxSourceTokens));
  }
  return out;
}

function join(ps: Counted[], next: () => SentenceResult, max: number): TextResult {
  let translation = '';
  const sentences: TextResult['sentences'] = [];
  let truncated = false;
  let lengthLimited = false;
  for (const p of ps) {
    if (translatable(p)) {
      const result = next();
      translation += result.text;
      sentences.push({ source: p.text, result });
      truncated ||= p.tokens > max;
      lengthLimited ||= !!result.lengthLimited;
    } else {
      translation += p.text;
    }
    translation += p.sep;
  }
  return { translation, sentences, truncated, lengthLimited };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
