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

// Per-layer decoder state of a batch of R hypotheses.
export interface DecoderState {
  R: number; // hypotheses (rows)
  Bs: number; // source sentences; row r reads sentence floor(r / group)
  group: number; // hypotheses per sentence (beam)
  S: number; // padded source length
  Tmax: number; // cache capacity in steps
  t: number; // steps decoded so far
  srcLen: number; // i32 (Bs)
  selfKV: number[]; // per layer f32 (R, Tmax, 2C): keys then values of each past step
  crossKV: number[]; // per layer f32 (Bs, S, 2C)
  kvLen: number; // i32 (R): t + 1 during a step
  scratch: number; // reorder scratch, f32 (R, Tmax, 2C)
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
  // for every layer, and room for Tmax steps of R = Bs * group hypotheses.
  encode(src: Int32Array, srcLen: Int32Array, S: number, group: number, Tmax: number): DecoderState {
    const { arena } = this;
    const C = this.config.dModel;
    const Bs = srcLen.length;
    const lens = arena.putI32(srcLen);
    this.ops.pass = { kind: 'encode', ids: src, pos: new Int32Array(Bs * S).map((_, i) => i % S), B: Bs, S, lens };
    const memory = encoder(this.ops, this.layout);
    const crossKV = memoryKeysValues(this.ops, this.layout, memory).map((v) => v.p);
    const R = Bs * group;
    return {
      R, Bs, group, S, Tmax, t: 0, srcLen: lens, crossKV,
      selfKV: crossKV.map(() => arena.f32(R * Tmax * 2 * C)),
      kvLen: arena.i32(R), scratch: arena.f32(R * Tmax * 2 * C),
    };
  }

  // An upper bound on the arena bytes a batch takes at its peak (encode, then search with its decoder state
  // and one step): Bs sentences padded to S tokens, `group` hypotheses each, Tmax steps; `alignments`: the
  // step copies out every layer's cross-attention. The engine cuts batches to fit its scratch budget with it
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
    const search = 4 * R * (4 * group + 64) + (alignments ? 4 * L * R * H * S : 0); // top-k candidates, attention
    const step = 4 * R * (2 * C + targetVocab(this.config)) + layer(R, R * H * Math.max(Tmax, S));
    return slack + Math.max(encode, memory + q8(M), memory + state + search + step);
  }

  // The memory's keys and values of each layer, as the program's values.
  private memoryKV(st: DecoderState): Val[] {
    return st.crossKV.map((p) => ({ p, M: st.Bs * st.S, N: 2 * this.config.dModel }));
  }

  // One decoder step: tokens (R) at position st.t; writes next-token probabilities (R,V) into `probs`.
  // If `crossAtt` is given, the encoder-decoder attention of every layer is copied there as (L,R,H,S).
  step(st: DecoderState, tokens: Int32Array, probs: number, crossAtt?: number): void {
    this.decode(st, tokens, crossAtt, (logits, R, V) => this.k.softmax_forward(probs, logits, R, V));
  }

  // The step beam search takes: only each row's K most likely next tokens, best first (ties: the lower
  // id), into idx (R,K) i32 and their log-probabilities into logp (R,K) f32; no probability vector.
  // `banned` ids get logit -inf first: they leave the softmax (HF's bad_words_ids with renormalize_logits).
  stepTopK(st: DecoderState, tokens: Int32Array, K: number, idx: number, logp: number, crossAtt?: number, banned?: number[]): void {
    this.decode(st, tokens, crossAtt, (logits, R, V) => {
      if (banned?.length) {
        const l = this.arena.f32view(logits, R * V);
        for (let r = 0; r < R; r++) for (const b of banned) l[r * V + b] = -Infinity;
      }
      this.k.logsoftmax_topk(idx, logp, 0, logits, R, V, K);
    });
  }

  // The decoder step up to the output projection; `head` reads the logits (R,V) before they are freed.
  private decode(st: DecoderState, tokens: Int32Array, crossAtt: number | undefined, head: (logits: number, R: number, V: number) => void): void {
    const { R, t, Tmax } = st;
    if (t >= Tmax) throw new Error('decoder cache is full');
    const mark = this.arena.mark();
    this.arena.i32view(st.kvLen, R).fill(t + 1);
    this.ops.pass = { kind: 'step', ids: tokens, pos: new Int32Array(R).fill(t), st, crossAtt };
    const y = decoder(this.ops, this.layout, this.memoryKV(st));
    const out = logits(this.ops, this.layout, y);
    head(out.p, R, out.N);
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

  // Beam search bookkeeping: hypothesis r continues from parents[r]; copy the cached steps accordingly.
  reorder(st: DecoderState, parents: Int32Array): void {
    const C = this.config.dModel;
    const rowFloats = st.Tmax * 2 * C;
    const used = st.t * 2 * C;
    // Greedy decoding and beams that kept their rows need no copy.
    if (parents.every((p, r) => p === r)) return;
    for (const cache of st.selfKV) {
      for (let r = 0; r < st.R; r++) this.k.copy_f32(st.scratch + 4 * r * rowFloats, cache + 4 * parents[r] * rowFloats, used);
      for (let r = 0; r < st.R; r++) this.k.copy_f32(cache + 4 * r * rowFloats, st.scratch + 4 * r * rowFloats, used);
    }
  }
}
