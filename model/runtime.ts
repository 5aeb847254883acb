// Inference forward passes over weights resident in wasm memory: encoder over a batch of sentences, and one
// incremental decoder step for R hypotheses with a self-attention KV cache and precomputed cross-attention K/V.
// Linear layers run in f32 or int8 (per-output-row scales), whichever the weights file holds.
import type { Arena, Kernels } from '../kernels/host.ts';
import type { KernelExports } from '../kernels/api.ts';
import { headSize, type ModelConfig } from './config.ts';
import { paramLayout, type AttentionParams, type FFNParams, type NormParams, type ParamLayout, type TensorSpec } from './params.ts';
import { asF32, type SafeTensors } from './safetensors.ts';
import { SCALE_SUFFIX } from './quant.ts';

interface Linear {
  w: number; // f32 (N,K), or int8 codes when q8
  b: number; // f32 (N) or 0
  scale: number; // f32 (N) per-row scales (int8 only)
  wsum: number; // i32 (N) row sums (int8 only)
  N: number;
  K: number;
  q8: boolean;
}

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
  private f32 = new Map<string, number>(); // f32 tensors (norms, biases, and linears when not int8)
  private linears = new Map<string, Linear>();
  private embedF32: number; // (V,C) f32 for the gather, or 0 when the table is int8
  private embedQ8?: Linear; // the int8 table (shared with the output projection), gathered a row at a time
  private pe: number;

  constructor(kernels: Kernels, arena: Arena, config: ModelConfig, weights: SafeTensors) {
    this.config = config;
    this.layout = paramLayout(config);
    this.k = kernels.k;
    this.arena = arena;
    const start = arena.mark();
    let quantized = false;
    for (const t of this.layout.tensors) {
      const src = weights.tensors.get(t.name);
      if (!src) throw new Error(`weights are missing tensor ${t.name}`);
      if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`tensor ${t.name}: shape ${src.shape}, expected ${t.shape}`);
      if (src.dtype === 'I8') {
        const sc = weights.tensors.get(t.name + SCALE_SUFFIX);
        if (!t.linear || !sc || sc.dtype !== 'F32' || sc.data.byteLength !== t.shape[0] * 4) {
          throw new Error(`tensor ${t.name}: int8 needs an F32 ${t.name + SCALE_SUFFIX} of ${t.shape[0]} rows`);
        }
        quantized = true;
        const w = arena.alloc(src.data.byteLength, 64);
        arena.u8view(w, src.data.byteLength).set(src.data);
        const scale = arena.putF32(asF32(sc));
        const wsum = arena.i32(t.shape[0]);
        this.k.q8_row_sums(wsum, w, t.shape[0], t.shape[1]);
        this.linears.set(t.name, { w, b: 0, scale, wsum, N: t.shape[0], K: t.shape[1], q8: true });
      } else {
        this.f32.set(t.name, arena.putF32(asF32(src)));
      }
    }
    this.quantized = quantized;
    const E = this.layout.embed;
    const eq = this.linears.get(E.name);
    // An int8 table stays int8 (no f32 copy: 4 bytes per weight, V*C*4 = 4 MiB at V 8000, C 128).
    this.embedQ8 = eq;
    this.embedF32 = eq ? 0 : this.p(E);
    this.pe = arena.f32(config.maxLen * config.dModel);
    this.k.positional_encoding(this.pe, config.maxLen, config.dModel);
    this.weightBytes = arena.mark() - start;
  }

  private p(t: TensorSpec): number {
    return this.f32.get(t.name)!;
  }
  private lin(w: TensorSpec, b?: TensorSpec): Linear {
    const q = this.linears.get(w.name);
    const bias = b ? this.p(b) : 0;
    if (q) return { ...q, b: bias };
    return { w: this.p(w), b: bias, scale: 0, wsum: 0, N: w.shape[0], K: w.shape[1], q8: false };
  }
  // out (M,N) = inp (M,K) @ W^T + b
  private linear(out: number, inp: number, M: number, L: Linear): void {
    if (L.q8) {
      const mark = this.arena.mark();
      const scratch = this.arena.alloc(M * (L.K + 16) + 4 * M + 64);
      this.k.matmul_q8_forward(out, scratch, inp, L.w, L.scale, L.wsum, L.b, M, L.K, L.N);
      this.arena.reset(mark);
    } else this.k.matmul_forward(out, inp, L.w, L.b, M, L.K, L.N);
  }
  private norm(out: number, inp: number, ln: NormParams, M: number): void {
    this.k.layernorm_forward(out, 0, 0, inp, this.p(ln.w), this.p(ln.b), M, this.config.dModel);
  }
  // post-norm: x = LN(x + f(x)); pre-norm: x = x + f(LN(x)). `f` writes its (M,C) output into `out`.
  private sublayer(x: number, ln: NormParams, M: number, f: (out: number, fin: number) => void): void {
    const C = this.config.dModel;
    const mark = this.arena.mark();
    const fout = this.arena.f32(M * C);
    if (this.config.preNorm) {
      const fin = this.arena.f32(M * C);
      this.norm(fin, x, ln, M);
      f(fout, fin);
      this.k.add_inplace(x, fout, M * C);
    } else {
      f(fout, x);
      this.k.add_inplace(x, fout, M * C);
      this.norm(x, x, ln, M);
    }
    this.arena.reset(mark);
  }
  private ffn(out: number, x: number, P: FFNParams, M: number): void {
    const mark = this.arena.mark();
    const h = this.arena.f32(M * this.config.dFF);
    this.linear(h, x, M, this.lin(P.fc1_w, P.fc1_b));
    if (this.config.activation === 'gelu') this.k.gelu_forward(h, h, M * this.config.dFF);
    else this.k.relu_forward(h, h, M * this.config.dFF);
    this.linear(out, h, M, this.lin(P.fc2_w, P.fc2_b));
    this.arena.reset(mark);
  }

  // Embedding(ids) * sqrt(d_model) + PE(pos) into a new (M,C) buffer.
  private embed(ids: Int32Array, pos: Int32Array): number {
    const C = this.config.dModel;
    const M = ids.length;
    const out = this.arena.f32(M * C);
    const mark = this.arena.mark();
    const [pIds, pPos, q] = [this.arena.putI32(ids), this.arena.putI32(pos), this.embedQ8];
    if (q) this.k.embedding_q8_forward(out, pIds, pPos, q.w, q.scale, this.pe, M, C, Math.sqrt(C));
    else this.k.embedding_forward(out, pIds, pPos, this.embedF32, this.pe, M, C, Math.sqrt(C));
    this.arena.reset(mark);
    return out;
  }

  // Encodes Bs padded sentences src (Bs,S); returns the memory (Bs*S, C) and allocates the decoder state.
  encode(src: Int32Array, srcLen: Int32Array, S: number, group: number, Tmax: number): DecoderState {
    const { k, arena } = this;
    const c = this.config;
    const C = c.dModel;
    const Bs = srcLen.length;
    const M = Bs * S;
    const lens = arena.putI32(srcLen);
    const pos = new Int32Array(M).map((_, i) => i % S);
    const x = this.embed(src, pos);
    for (const L of this.layout.encoder) {
      this.sublayer(x, L.ln1, M, (out, fin) => this.attentionBlock(out, fin, L.self, Bs, S, lens));
      this.sublayer(x, L.ln2, M, (out, fin) => this.ffn(out, fin, L.ffn, M));
    }
    if (this.layout.encNorm) this.norm(x, x, this.layout.encNorm, M);
    const R = Bs * group;
    const st: DecoderState = {
      R, Bs, group, S, Tmax, t: 0, srcLen: lens, selfKV: [], crossKV: [],
      kvLen: arena.i32(R), scratch: arena.f32(R * Tmax * 2 * C),
    };
    for (const L of this.layout.decoder) {
      const kv = arena.f32(M * 2 * C);
      this.linear(kv, x, M, this.lin(L.cross.kv_w!, L.cross.kv_b));
      st.crossKV.push(kv);
      st.selfKV.push(arena.f32(R * Tmax * 2 * C));
    }
    return st;
  }

  // Encoder self-attention over full sequences with key padding.
  private attentionBlock(out: number, x: number, P: AttentionParams, B: number, T: number, lens: number): void {
    const C = this.config.dModel;
    const H = this.config.heads;
    const M = B * T;
    const mark = this.arena.mark();
    const qkv = this.arena.f32(M * 3 * C);
    this.linear(qkv, x, M, this.lin(P.qkv_w, P.qkv_b));
    const y = this.arena.f32(M * C);
    const att = this.arena.f32(B * H * T * T);
    this.k.attention_forward(y, att, qkv, qkv + 4 * C, qkv + 8 * C, lens, 0, B, T, T, H, headSize(this.config), 3 * C, 3 * C, 0, 1);
    this.linear(out, y, M, this.lin(P.out_w, P.out_b));
    this.arena.reset(mark);
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
    const { k, arena } = this;
    const c = this.config;
    const C = c.dModel;
    const H = c.heads;
    const D = headSize(c);
    const { R, t, Tmax, S } = st;
    if (t >= Tmax) throw new Error('decoder cache is full');
    const mark = arena.mark();
    arena.i32view(st.kvLen, R).fill(t + 1);
    const y = this.embed(tokens, new Int32Array(R).fill(t));
    const qkv = arena.f32(R * 3 * C);
    const q = arena.f32(R * C);
    const att = arena.f32(R * H * Math.max(Tmax, S));
    this.layout.decoder.forEach((L, l) => {
      const cache = st.selfKV[l];
      // Masked self-attention: this step's k,v join the cache; the query sees steps 0..t.
      this.sublayer(y, L.ln1, R, (out, fin) => {
        this.linear(qkv, fin, R, this.lin(L.self.qkv_w, L.self.qkv_b));
        for (let r = 0; r < R; r++) k.copy_f32(cache + 4 * ((r * Tmax + t) * 2 * C), qkv + 4 * (r * 3 * C + C), 2 * C);
        const a = arena.f32(R * C);
        k.attention_forward(a, att, qkv, cache, cache + 4 * C, st.kvLen, 0, R, 1, Tmax, H, D, 3 * C, 2 * C, 0, 1);
        this.linear(out, a, R, this.lin(L.self.out_w, L.self.out_b));
      });
      // Encoder-decoder attention: rows of one sentence share its keys and values (kv_group).
      this.sublayer(y, L.ln2, R, (out, fin) => {
        this.linear(q, fin, R, this.lin(L.cross.qkv_w, L.cross.qkv_b));
        const a = arena.f32(R * C);
        const kv = st.crossKV[l];
        k.attention_forward(a, att, q, kv, kv + 4 * C, st.srcLen, 0, R, 1, S, H, D, C, 2 * C, 0, st.group);
        if (crossAtt) k.copy_f32(crossAtt + 4 * l * R * H * S, att, R * H * S);
        this.linear(out, a, R, this.lin(L.cross.out_w, L.cross.out_b));
      });
      this.sublayer(y, L.ln3, R, (out, fin) => this.ffn(out, fin, L.ffn, R));
    });
    if (this.layout.decNorm) this.norm(y, y, this.layout.decNorm, R);
    const V = c.vocabSize;
    const logits = arena.f32(R * V);
    this.linear(logits, y, R, this.lin(this.layout.embed));
    head(logits, R, V);
    arena.reset(mark);
    st.t = t + 1;
  }

  // Teacher forcing over whole sequences, as in training: row r (of st.R = st.Bs, group 1) reads inputs
  // (R,T) = <s> y1..y(T-1) under the causal mask in one pass (not T incremental steps, so the linears
  // run on R*T rows at once). Returns log P(targets[r,t] | inputs[r,0..t], source r), (R,T).
  forced(st: DecoderState, inputs: Int32Array, targets: Int32Array, T: number): Float64Array {
    const { k, arena } = this;
    const c = this.config;
    const C = c.dModel;
    const H = c.heads;
    const D = headSize(c);
    const V = c.vocabSize;
    const { R, S } = st;
    const M = R * T;
    if (st.group !== 1 || T > c.maxLen) throw new Error('forced: one row per source and at most maxLen steps');
    const mark = arena.mark();
    const y = this.embed(inputs, new Int32Array(M).map((_, i) => i % T));
    const att = arena.f32(R * H * T * Math.max(T, S));
    for (let l = 0; l < this.layout.decoder.length; l++) {
      const L = this.layout.decoder[l];
      this.sublayer(y, L.ln1, M, (out, fin) => {
        const qkv = arena.f32(M * 3 * C);
        this.linear(qkv, fin, M, this.lin(L.self.qkv_w, L.self.qkv_b));
        const a = arena.f32(M * C);
        k.attention_forward(a, att, qkv, qkv + 4 * C, qkv + 8 * C, 0, 0, R, T, T, H, D, 3 * C, 3 * C, 1, 1);
        this.linear(out, a, M, this.lin(L.self.out_w, L.self.out_b));
      });
      this.sublayer(y, L.ln2, M, (out, fin) => {
        const q = arena.f32(M * C);
        this.linear(q, fin, M, this.lin(L.cross.qkv_w, L.cross.qkv_b));
        const a = arena.f32(M * C);
        const kv = st.crossKV[l];
        k.attention_forward(a, att, q, kv, kv + 4 * C, st.srcLen, 0, R, T, S, H, D, C, 2 * C, 0, 1);
        this.linear(out, a, M, this.lin(L.cross.out_w, L.cross.out_b));
      });
      this.sublayer(y, L.ln3, M, (out, fin) => this.ffn(out, fin, L.ffn, M));
    }
    if (this.layout.decNorm) this.norm(y, y, this.layout.decNorm, M);
    // The (rows, V) logits a block at a time (the whole (M, V) could be tens of MB); the loss kernel without
    // label smoothing gives -log softmax at the target, by log-sum-exp (no underflow for unlikely tokens).
    const out = new Float64Array(M);
    const block = 64;
    const logits = arena.f32(block * V);
    const probs = arena.f32(block * V);
    const losses = arena.f32(block);
    const tgt = arena.putI32(targets);
    for (let m0 = 0; m0 < M; m0 += block) {
      const n = Math.min(block, M - m0);
      this.linear(logits, y + 4 * m0 * C, n, this.lin(this.layout.embed));
      k.crossentropy_forward(losses, probs, logits, tgt + 4 * m0, n, V, 0);
      const l = arena.f32view(losses, n);
      for (let i = 0; i < n; i++) out[m0 + i] = -l[i];
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
