// Inference over weights resident in wasm memory: the encoder over a batch of sentences, one incremental
// decoder step for R hypotheses with a self-attention KV cache and precomputed cross-attention keys/values,
// and teacher forcing over whole sequences. The model is model/transformer.ts, run by model/kernel-ops.ts.
import type { Arena, Kernels } from '../kernels/host.ts';
import type { KernelExports } from '../kernels/api.ts';
import { targetVocab, type ModelConfig } from './config.ts';
import { KernelOps, type Val } from './kernel-ops.ts';
import { paramLayout, type ParamLayout } from './params.ts';
import type { SafeTensors } from './safetensors.ts';
import { decoder, encoder, logits, memoryKeysValues } from './transformer.ts';

// Per-layer decoder state of a batch of R hypotheses. Rows and sentences that are done leave it
// (InferenceModel.reorder), so a step costs what the live rows cost.
export interface DecoderState {
  R: number; // hypotheses (rows)
  Bs: number; // source sentences; row r reads sentence floor(r / group)
  group: number; // hypotheses per sentence: 1 before the first step (all beams start alike), then the beam
  rows: number; // capacity in rows: the encoded sentences times the widest group asked for
  S: number; // padded source length
  Tmax: number; // cache capacity in steps
  t: number; // steps decoded so far
  srcLen: number; // i32 (Bs)
  selfKV: number[]; // per layer f32 (rows, Tmax, 2C): keys then values of each past step
  crossKV: number[]; // per layer f32 (Bs, S, 2C)
  kvLen: number; // i32 (rows): t + 1 during a step
  scratch: number; // one row saved while reorder breaks a cycle, f32 (max(Tmax, S), 2C)
}

export class InferenceModel {
  readonly config: ModelConfig;
  readonly layout: ParamLayout;
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly quantized: boolean;
  readonly weightBytes: number;
  private ops: KernelOps;

  constructor(kernels: Kernels, arena: Arena, config: ModelConfig, weights: SafeTensors) {
    this.config = config;
    this.layout = paramLayout(config);
    this.k = kernels.k;
    this.arena = arena;
    this.ops = new KernelOps(kernels, arena, this.layout, weights);
    this.quantized = this.ops.quantized;
    this.weightBytes = this.ops.weightBytes;
  }

  // Encodes Bs padded sentences src (Bs,S); returns the decoder state with the memory's keys and values
  // for every layer, one row per sentence, and room for Tmax steps of Bs * group hypotheses (reorder
  // widens it to `group` rows per sentence after the first step).
  encode(src: Int32Array, srcLen: Int32Array, S: number, group: number, Tmax: number): DecoderState {
    const { arena } = this;
    const C = this.config.dModel;
    const Bs = srcLen.length;
    const lens = arena.putI32(srcLen);
    this.ops.pass = { kind: 'encode', ids: src, pos: new Int32Array(Bs * S).map((_, i) => i % S), B: Bs, S, lens };
    const memory = encoder(this.ops, this.layout);
    const crossKV = memoryKeysValues(this.ops, this.layout, memory).map((v) => v.p);
    const rows = Bs * group;
    return {
      R: Bs, Bs, group: 1, rows, S, Tmax, t: 0, srcLen: lens, crossKV,
      selfKV: crossKV.map(() => arena.f32(rows * Tmax * 2 * C)),
      kvLen: arena.i32(rows), scratch: arena.f32(Math.max(Tmax, S) * 2 * C),
    };
  }

  // An upper bound on the arena bytes a batch takes at its peak (encode, then search with its decoder state
  // and one step): Bs sentences padded to S tokens, `group` hypotheses each, Tmax steps; `alignments`: the
  // chosen hypotheses' cross-attention is replayed afterwards. The engine cuts batches to fit its scratch budget with it
  // (model/runtime.test.ts checks it against the arena's real peak).
  batchBytes(Bs: number, S: number, group: number, Tmax: number, alignments = false): number {
    const { dModel: C, dFF: F, heads: H, decoderLayers: L } = this.config;
    const M = Bs * S;
    const R = Bs * group;
    const slack = 64 * 64; // each allocation's alignment
    // int8 linears quantize their input rows into scratch (KernelOps.linear)
    const q8 = (rows: number) => rows * (Math.max(C, F) + 16) + 4 * rows + 64;
    // a layer's sub-layer on `rows` rows with `scores` attention probabilities: qkv, scores, output,
    // projection and norm, or the FFN's hidden layer, output and norm; ids and positions beside them
    const layer = (rows: number, scores: number) => 4 * (2 * rows + Math.max(6 * rows * C + scores, rows * (F + 2 * C))) + q8(rows);
    const memory = 4 * (Bs + 2 * M * C + L * M * 2 * C); // lengths, memory (+ final norm), its keys and values
    const encode = 4 * M * C + layer(M, Bs * H * S * S);
    const state = 4 * (R + (L + 1) * R * Tmax * 2 * C); // KV caches and the reorder scratch
    const search = 4 * R * (4 * group + 64); // top-k candidates
    // Alignments are replayed after the search on one row per sentence (attention), in a state and steps
    // no larger than the search's, beside the copied-out attention (L,Bs,H,S).
    const replay = alignments ? 4 * L * Bs * H * S : 0;
    const step = 4 * R * (2 * C + targetVocab(this.config)) + layer(R, R * H * Math.max(Tmax, S));
    return slack + Math.max(encode, memory + q8(M), memory + state + Math.max(search, replay) + step);
  }

  // The memory's keys and values of each layer, as the program's values.
  private memoryKV(st: DecoderState): Val[] {
    return st.crossKV.map((p) => ({ p, M: st.Bs * st.S, N: 2 * this.config.dModel }));
  }

  // One decoder step: tokens (R) at position st.t; writes next-token probabilities (R,V) into `probs`.
  step(st: DecoderState, tokens: Int32Array, probs: number): void {
    this.decode(st, tokens, undefined, (logits, R, V) => this.k.softmax_forward(probs, logits, R, V));
  }

  // The step beam search takes: only each row's K most likely next tokens, best first (ties: the lower
  // id), into idx (R,K) i32 and their log-probabilities into logp (R,K) f32; no probability vector.
  // `banned` ids get logit -inf first: they leave the softmax (HF's bad_words_ids with renormalize_logits).
  stepTopK(st: DecoderState, tokens: Int32Array, K: number, idx: number, logp: number, banned?: number[]): void {
    this.decode(st, tokens, undefined, (logits, R, V) => {
      if (banned?.length) {
        const l = this.arena.f32view(logits, R * V);
        for (let r = 0; r < R; r++) for (const b of banned) l[r * V + b] = -Infinity;
      }
      this.k.logsoftmax_topk(idx, logp, 0, logits, R, V, K);
    });
  }

  // The encoder-decoder attention of decoding inputs[r] (the start token, then the tokens a search chose)
  // on row r of a fresh state (group 1): per row, per input, (L,H,srcLen[r]) probabilities. The steps are
  // the search's own (rows are computed independently), so the values are those it saw, bit for bit, and
  // only the hypotheses asked for are kept.
  attention(st: DecoderState, inputs: number[][]): Float32Array[][] {
    const { decoderLayers: L, heads: H } = this.config;
    const { R, S } = st;
    if (st.group !== 1 || inputs.length !== R) throw new Error('attention: one row per sentence, one input list per row');
    const lens = this.arena.i32view(st.srcLen, R).slice();
    const out = inputs.map(() => [] as Float32Array[]);
    const mark = this.arena.mark();
    const buf = this.arena.f32(L * R * H * S);
    for (let t = 0; t < Math.max(...inputs.map((x) => x.length)); t++) {
      this.decode(st, Int32Array.from(inputs, (x) => x[Math.min(t, x.length - 1)]), buf);
      const att = this.arena.f32view(buf, L * R * H * S);
      inputs.forEach((x, r) => {
        if (t >= x.length) return;
        const a = new Float32Array(L * H * lens[r]);
        for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) a.set(att.subarray(((l * R + r) * H + h) * S, ((l * R + r) * H + h) * S + lens[r]), (l * H + h) * lens[r]);
        out[r].push(a);
      });
    }
    this.arena.reset(mark);
    return out;
  }

  // The decoder step up to the output projection; `head` reads the logits (R,V) before they are freed (no
  // head: no output projection). If `crossAtt` is given, each layer's encoder-decoder attention is copied
  // there as (L,R,H,S).
  private decode(st: DecoderState, tokens: Int32Array, crossAtt: number | undefined, head?: (logits: number, R: number, V: number) => void): void {
    const { R, t, Tmax } = st;
    if (t >= Tmax) throw new Error('decoder cache is full');
    const mark = this.arena.mark();
    this.arena.i32view(st.kvLen, R).fill(t + 1);
    this.ops.pass = { kind: 'step', ids: tokens, pos: new Int32Array(R).fill(t), st, crossAtt };
    const y = decoder(this.ops, this.layout, this.memoryKV(st));
    if (head) {
      const out = logits(this.ops, this.layout, y);
      head(out.p, R, out.N);
    }
    this.arena.reset(mark);
    st.t = t + 1;
  }

  // Teacher forcing over whole sequences, as in training: row r (of st.R = st.Bs, group 1) reads inputs
  // (R,T) = <s> y1..y(T-1) under the causal mask in one pass (not T incremental steps, so the linears
  // run on R*T rows at once). Returns log P(targets[r,t] | inputs[r,0..t], source r), (R,T).
  forced(st: DecoderState, inputs: Int32Array, targets: Int32Array, T: number): Float64Array {
    const { k, arena } = this;
    const { R } = st;
    const M = R * T;
    if (st.group !== 1 || T > this.config.maxLen) throw new Error('forced: one row per source and at most maxLen steps');
    const mark = arena.mark();
    this.ops.pass = { kind: 'forced', ids: inputs, pos: new Int32Array(M).map((_, i) => i % T), st, T };
    const y = decoder(this.ops, this.layout, this.memoryKV(st));
    // The (rows, V) logits a block at a time (the whole (M, V) could be tens of MB); the loss kernel without
    // label smoothing gives -log softmax at the target, by log-sum-exp (no underflow for unlikely tokens).
    const out = new Float64Array(M);
    const block = 64;
    const tgt = arena.putI32(targets);
    for (let m0 = 0; m0 < M; m0 += block) {
      const n = Math.min(block, M - m0);
      const blockMark = arena.mark();
      const lg = logits(this.ops, this.layout, { p: y.p + 4 * m0 * y.N, M: n, N: y.N });
      const losses = arena.f32(n);
      k.crossentropy_forward(losses, arena.f32(n * lg.N), lg.p, tgt + 4 * m0, n, lg.N, 0);
      const l = arena.f32view(losses, n);
      for (let i = 0; i < n; i++) out[m0 + i] = -l[i];
      arena.reset(blockMark);
    }
    arena.reset(mark);
    return out;
  }

  // Beam search bookkeeping: the state's rows become parents.length rows, `group` per sentence, row r
  // continuing row parents[r] (-1: a row no hypothesis uses, left as it is); rows and sentences no
  // parent names leave. Rows of one new sentence continue rows of one old sentence. Only rows whose
  // parent changed are copied, each once (plus one per cycle of the permutation), and only their t steps.
  reorder(st: DecoderState, parents: Int32Array, group: number): void {
    const C = this.config.dModel;
    const R = parents.length;
    const Bs = R / group;
    if (!Number.isInteger(Bs) || R > st.rows || Bs > st.Bs) throw new Error(`reorder: ${R} rows in groups of ${group}, from ${st.Bs} sentences and ${st.rows} rows`);
    // Sentence b of the new state is the old sentence its rows continue.
    const sentences = new Int32Array(Bs).fill(-1);
    parents.forEach((p, r) => {
      if (p < 0) return;
      const b = Math.floor(p / st.group);
      const s = Math.floor(r / group);
      if (sentences[s] >= 0 && sentences[s] !== b) throw new Error(`reorder: rows of sentence ${s} continue sentences ${sentences[s]} and ${b}`);
      sentences[s] = b;
    });
    if (sentences.some((b) => b < 0)) throw new Error('reorder: a sentence with no hypothesis');
    const lens = this.arena.i32view(st.srcLen, st.Bs);
    lens.set(Int32Array.from(sentences, (b) => lens[b]));
    const memory = copyPlan(sentences, st.Bs);
    const rows = copyPlan(parents, st.R);
    for (const kv of st.crossKV) this.applyPlan(memory, kv, st.S * 2 * C, st.S * 2 * C, st.scratch);
    for (const kv of st.selfKV) this.applyPlan(rows, kv, st.Tmax * 2 * C, st.t * 2 * C, st.scratch);
    Object.assign(st, { R, Bs, group });
  }

  // Runs a copyPlan over rows `stride` floats apart in buf, copying the first n floats of each.
  private applyPlan(plan: Copy[], buf: number, stride: number, n: number, scratch: number): void {
    const at = (r: number) => (r === SCRATCH ? scratch : buf + 4 * r * stride);
    if (n) for (const [dst, src] of plan) this.k.copy_f32(at(dst), at(src), n);
  }
}

// One copy of a row, [destination, source]; SCRATCH is the one spare row.
export type Copy = [number, number];
export const SCRATCH = -1;

// The copies that gather rows in place: afterwards row r holds what row parents[r] held (of oldRows
// rows; parents[r] < 0 or == r: row r is left as it is). Each row is written once, after every row that
// reads its old content; a cycle of rows reading each other is broken by saving one row to SCRATCH.
export function copyPlan(parents: ArrayLike<number>, oldRows: number): Copy[] {
  const R = parents.length;
  const moves = (r: number) => r < R && parents[r] >= 0 && parents[r] !== r;
  const readers = new Int32Array(Math.max(R, oldRows)); // rows still to be written that read row p
  let left = 0;
  for (let r = 0; r < R; r++) {
    if (parents[r] >= oldRows) throw new Error(`copyPlan: row ${r} continues row ${parents[r]} of ${oldRows}`);
    if (moves(r)) (readers[parents[r]]++, left++);
  }
  const src = Int32Array.from(parents);
  const written = new Uint8Array(R);
  const ready: number[] = [];
  for (let r = 0; r < R; r++) if (moves(r) && !readers[r]) ready.push(r);
  const plan: Copy[] = [];
  for (let next = 0; left; ) {
    while (ready.length) {
      const r = ready.pop()!;
      plan.push([r, src[r]]);
      written[r] = 1;
      left--;
      if (src[r] !== SCRATCH && !--readers[src[r]] && moves(src[r])) ready.push(src[r]);
    }
    if (!left) break;
    // Every row left is read by another row left: they form cycles. Save one row and write it first.
    while (!moves(next) || written[next]) next++;
    plan.push([SCRATCH, next]);
    for (let r = 0; r < R; r++) if (moves(r) && !written[r] && src[r] === next) src[r] = SCRATCH;
    readers[next] = 0;
    ready.push(next);
  }
  return plan;
}
