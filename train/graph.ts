// Training forward and backward of the encoder-decoder Transformer over one padded batch, as a sequence of
// wasm kernel calls (llm.c style). Activations live in the arena between forward() and backward().
import type { Arena, Kernels } from '../kernels/host.ts';
import type { KernelExports } from '../kernels/api.ts';
import { headSize, type TrainConfig } from '../model/config.ts';
import type { AttentionParams, FFNParams, NormParams, ParamLayout, TensorSpec } from '../model/params.ts';

// One padded batch. Source rows: <2xx> x1..xn </s>; target in: <s> y1..ym; target out: y1..ym </s>.
export interface Batch {
  B: number;
  S: number; // padded source length
  T: number; // padded target length
  src: Int32Array; // (B,S), pad 0
  srcLen: Int32Array; // (B)
  tgtIn: Int32Array; // (B,T), pad 0
  tgtOut: Int32Array; // (B,T), pad -1 (ignored by the loss)
  tgtLen: Int32Array; // (B)
}

// Caches of one residual sub-layer, post-norm LN(x + drop(f(x))) or pre-norm x + drop(f(LN(x))).
interface Sub {
  x: number; // sub-layer block input (M,C)
  fin: number; // input of f: x (post-norm) or LN(x) (pre-norm)
  fout: number; // f's output (M,C)
  mask: number; // dropout mask (M,C) or 0
  res: number; // x + drop(fout) (M,C)
  out: number; // block output (M,C)
  mean: number; // LN caches (M)
  rstd: number;
  ln: NormParams;
  M: number;
  // f's own caches
  a: number; // attention: q/qkv (M,3C or C); ffn: pre-activation (M,F)
  b: number; // attention: attention output before W^O (M,C); ffn: activation (M,F)
  att: number; // attention probabilities (B,H,T,S)
  attMask: number;
  kv: number; // cross-attention keys/values (Ms,2C)
}

export class TrainGraph {
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly layout: ParamLayout;
  readonly train: TrainConfig;
  readonly params: number; // flat f32 parameters (layout.total)
  readonly grads: number; // flat f32 gradients, accumulated by backward()
  private pe: number;
  private tape: Sub[] = [];
  private batch?: Batch;
  private seed = 0;
  private site = 0;
  private st = { srcIds: 0, srcPos: 0, tgtIds: 0, tgtPos: 0, srcLen: 0, tgtLen: 0, targets: 0, x0: 0, x0mask: 0, y0: 0, y0mask: 0, mem: 0, memLnMean: 0, memLnRstd: 0, memPre: 0, yfinal: 0, yPre: 0, yLnMean: 0, yLnRstd: 0, logits: 0, probs: 0, klStats: 0, copies: 1 };
  dropout = true; // off for gradient checks and evaluation loss

  constructor(kernels: Kernels, arena: Arena, layout: ParamLayout, train: TrainConfig, params: number, grads: number) {
    this.k = kernels.k;
    this.arena = arena;
    this.layout = layout;
    this.train = train;
    this.params = params;
    this.grads = grads;
    const c = layout.config;
    this.pe = arena.f32(c.maxLen * c.dModel);
    this.k.positional_encoding(this.pe, c.maxLen, c.dModel);
  }

  private p(t: TensorSpec): number {
    return this.params + 4 * t.offset;
  }
  private g(t: TensorSpec): number {
    return this.grads + 4 * t.offset;
  }
  private zeros(n: number): number {
    const ptr = this.arena.f32(n);
    this.k.zero_f32(ptr, n);
    return ptr;
  }
  private nextSeed(): number {
    return (Math.imul(this.seed, 0x9e3779b1) + Math.imul(++this.site, 0x85ebca6b)) | 0;
  }
  private dropoutP(): number {
    return this.dropout ? this.train.dropout : 0;
  }

  // Runs the forward pass; returns the summed (label-smoothed) loss over target tokens and their count.
  // With R-Drop (train.rdrop > 0, dropout on) the batch runs twice in one pass (rows B..2B-1 repeat 0..B-1
  // under other dropout masks): loss is then per copy (halved), so loss / tokens stays the mean cross-entropy,
  // kl is the symmetric KL summed over token pairs, and backward() differentiates loss + rdrop * kl / 2
  // (the paper's CE1 + CE2 + alpha KL, halved).
  forward(batch: Batch, seed: number): { loss: number; tokens: number; kl: number } {
    const { k, arena } = this;
    const c = this.layout.config;
    const C = c.dModel;
    const st = this.st;
    st.copies = this.dropout && (this.train.rdrop ?? 0) > 0 ? 2 : 1;
    if (st.copies === 2) batch = twice(batch);
    const { B, S, T } = batch;
    const Ms = B * S;
    const Mt = B * T;
    this.batch = batch;
    this.seed = seed;
    this.site = 0;
    this.tape = [];
    if (S > c.maxLen || T > c.maxLen) throw new Error(`sequence longer than maxLen ${c.maxLen}`);
    st.srcIds = arena.putI32(batch.src);
    st.tgtIds = arena.putI32(batch.tgtIn);
    st.targets = arena.putI32(batch.tgtOut);
    st.srcLen = arena.putI32(batch.srcLen);
    st.tgtLen = arena.putI32(batch.tgtLen);
    st.srcPos = arena.putI32(positions(B, S));
    st.tgtPos = arena.putI32(positions(B, T));
    const scale = Math.sqrt(C);

    // Encoder: x = Dropout(Embedding(src) * sqrt(d_model) + PE)   (paper 3.4, 3.5, 5.4)
    let x = this.embed(st.srcIds, st.srcPos, Ms, scale, 'x0');
    for (const L of this.layout.encoder) {
      x = this.sublayer(x, L.ln1, Ms, (fin, sub) => this.selfAttention(sub, fin, L.self, B, S, st.srcLen, false));
      x = this.sublayer(x, L.ln2, Ms, (fin, sub) => this.ffn(sub, fin, L.ffn, Ms));
    }
    st.memPre = x;
    if (this.layout.encNorm) x = this.finalNorm(x, this.layout.encNorm, Ms, 'mem');
    st.mem = x;

    // Decoder: masked self-attention, encoder-decoder attention, FFN; each in a residual sub-layer.
    let y = this.embed(st.tgtIds, st.tgtPos, Mt, scale, 'y0');
    for (const L of this.layout.decoder) {
      y = this.sublayer(y, L.ln1, Mt, (fin, sub) => this.selfAttention(sub, fin, L.self, B, T, st.tgtLen, true));
      y = this.sublayer(y, L.ln2, Mt, (fin, sub) => this.crossAttention(sub, fin, L.cross, B, T, S));
      y = this.sublayer(y, L.ln3, Mt, (fin, sub) => this.ffn(sub, fin, L.ffn, Mt));
    }
    st.yPre = y;
    if (this.layout.decNorm) y = this.finalNorm(y, this.layout.decNorm, Mt, 'y');
    st.yfinal = y;

    // Pre-softmax projection shares the embedding matrix (paper 3.4); loss with label smoothing (5.4).
    const V = c.vocabSize;
    st.logits = arena.f32(Mt * V);
    k.matmul_forward(st.logits, y, this.p(this.layout.embed), 0, Mt, C, V);
    st.probs = arena.f32(Mt * V);
    const losses = arena.f32(Mt);
    const loss = k.crossentropy_forward(losses, st.probs, st.logits, st.targets, Mt, V, this.train.labelSmoothing);
    let tokens = 0;
    for (let i = 0; i < batch.tgtOut.length; i++) if (batch.tgtOut[i] >= 0) tokens++;
    let kl = 0;
    if (st.copies === 2) {
      // R-Drop: symmetric KL between the two passes' distributions, rows n and Mt/2 + n
      st.klStats = arena.f32(2 * Mt);
      kl = k.symkl_forward(arena.f32(Mt / 2), st.klStats, st.logits, st.targets, Mt / 2, V);
    }
    return { loss: loss / st.copies, tokens: tokens / st.copies, kl };
  }

  // Backward of the last forward(); gradients of scale * (summed loss + rdrop * kl / 2) are added into this.grads.
  backward(scale: number): void {
    const { k } = this;
    const batch = this.batch!;
    const c = this.layout.config;
    const C = c.dModel;
    const V = c.vocabSize;
    const { B, S, T } = batch;
    const Ms = B * S;
    const Mt = B * T;
    const st = this.st;
    const E = this.layout.embed;

    // dlogits = scale * (probs - q), in place over probs; logits = y E^T
    k.crossentropy_backward(st.probs, st.probs, st.targets, Mt, V, this.train.labelSmoothing, scale / st.copies);
    if (st.copies === 2) k.symkl_backward(st.probs, st.klStats, st.logits, st.targets, Mt / 2, V, (this.train.rdrop! * scale) / 2);
    let dy = this.zeros(Mt * C);
    k.matmul_backward(dy, this.g(E), 0, st.probs, st.yfinal, this.p(E), Mt, C, V);
    if (this.layout.decNorm) dy = this.finalNormBackward(dy, this.layout.decNorm, st.yPre, st.yLnMean, st.yLnRstd, Mt);

    const dmem = this.zeros(Ms * C);
    const decSubs = this.tape.splice(this.layout.encoder.length * 2);
    for (let l = this.layout.decoder.length - 1; l >= 0; l--) {
      const L = this.layout.decoder[l];
      const [s1, s2, s3] = decSubs.slice(l * 3, l * 3 + 3);
      dy = this.sublayerBackward(dy, s3, (dfout, dfin) => this.ffnBackward(dfin, dfout, s3, L.ffn, Mt));
      dy = this.sublayerBackward(dy, s2, (dfout, dfin) => this.crossAttentionBackward(dfin, dmem, dfout, s2, L.cross, B, T, S));
      dy = this.sublayerBackward(dy, s1, (dfout, dfin) => this.selfAttentionBackward(dfin, dfout, s1, L.self, B, T, st.tgtLen, true));
    }
    this.embedBackward(dy, st.tgtIds, st.y0mask, Mt);

    let dx = dmem;
    if (this.layout.encNorm) dx = this.finalNormBackward(dx, this.layout.encNorm, st.memPre, st.memLnMean, st.memLnRstd, Ms);
    for (let l = this.layout.encoder.length - 1; l >= 0; l--) {
      const L = this.layout.encoder[l];
      const [s1, s2] = this.tape.slice(l * 2, l * 2 + 2);
      dx = this.sublayerBackward(dx, s2, (dfout, dfin) => this.ffnBackward(dfin, dfout, s2, L.ffn, Ms));
      dx = this.sublayerBackward(dx, s1, (dfout, dfin) => this.selfAttentionBackward(dfin, dfout, s1, L.self, B, S, st.srcLen, false));
    }
    this.embedBackward(dx, st.srcIds, st.x0mask, Ms);
  }

  // --- embeddings ---
  private embed(ids: number, pos: number, M: number, scale: number, which: 'x0' | 'y0'): number {
    const C = this.layout.config.dModel;
    const out = this.arena.f32(M * C);
    this.k.embedding_forward(out, ids, pos, this.p(this.layout.embed), this.pe, M, C, scale);
    const p = this.dropoutP();
    let mask = 0;
    if (p > 0) {
      mask = this.arena.f32(M * C);
      this.k.dropout_forward(out, mask, out, M * C, p, this.nextSeed());
    }
    if (which === 'x0') this.st.x0mask = mask;
    else this.st.y0mask = mask;
    return out;
  }
  private embedBackward(dout: number, ids: number, mask: number, M: number): void {
    const C = this.layout.config.dModel;
    if (mask) this.k.mul_forward(dout, dout, mask, M * C);
    this.k.embedding_backward(this.g(this.layout.embed), dout, ids, M, C, Math.sqrt(C));
  }

  // --- final LayerNorm of a pre-norm stack ---
  private finalNorm(x: number, ln: NormParams, M: number, which: 'mem' | 'y'): number {
    const C = this.layout.config.dModel;
    const out = this.arena.f32(M * C);
    const mean = this.arena.f32(M);
    const rstd = this.arena.f32(M);
    this.k.layernorm_forward(out, mean, rstd, x, this.p(ln.w), this.p(ln.b), M, C);
    if (which === 'mem') [this.st.memLnMean, this.st.memLnRstd] = [mean, rstd];
    else [this.st.yLnMean, this.st.yLnRstd] = [mean, rstd];
    return out;
  }
  private finalNormBackward(dout: number, ln: NormParams, x: number, mean: number, rstd: number, M: number): number {
    const C = this.layout.config.dModel;
    const dx = this.zeros(M * C);
    this.k.layernorm_backward(dx, this.g(ln.w), this.g(ln.b), dout, x, this.p(ln.w), mean, rstd, M, C);
    return dx;
  }

  // --- residual sub-layer: post-norm LayerNorm(x + Dropout(Sublayer(x))) (paper 3.1, 5.4) or pre-norm ---
  private sublayer(x: number, ln: NormParams, M: number, f: (fin: number, sub: Sub) => number): number {
    const { k, arena } = this;
    const C = this.layout.config.dModel;
    const pre = this.layout.config.preNorm;
    const sub: Sub = { x, fin: x, fout: 0, mask: 0, res: 0, out: 0, mean: arena.f32(M), rstd: arena.f32(M), ln, M, a: 0, b: 0, att: 0, attMask: 0, kv: 0 };
    if (pre) {
      sub.fin = arena.f32(M * C);
      k.layernorm_forward(sub.fin, sub.mean, sub.rstd, x, this.p(ln.w), this.p(ln.b), M, C);
    }
    sub.fout = f(sub.fin, sub);
    const p = this.dropoutP();
    let dropped = sub.fout;
    if (p > 0) {
      sub.mask = arena.f32(M * C);
      dropped = arena.f32(M * C);
      k.dropout_forward(dropped, sub.mask, sub.fout, M * C, p, this.nextSeed());
    }
    sub.res = arena.f32(M * C);
    k.residual_forward(sub.res, x, dropped, M * C);
    if (pre) sub.out = sub.res;
    else {
      sub.out = arena.f32(M * C);
      k.layernorm_forward(sub.out, sub.mean, sub.rstd, sub.res, this.p(ln.w), this.p(ln.b), M, C);
    }
    this.tape.push(sub);
    return sub.out;
  }
  private sublayerBackward(dout: number, sub: Sub, fb: (dfout: number, dfin: number) => void): number {
    const { k } = this;
    const C = this.layout.config.dModel;
    const { M, ln } = sub;
    const n = M * C;
    let dres = dout;
    if (!this.layout.config.preNorm) {
      // out = LN(res)
      dres = this.zeros(n);
      k.layernorm_backward(dres, this.g(ln.w), this.g(ln.b), dout, sub.res, this.p(ln.w), sub.mean, sub.rstd, M, C);
    }
    // res = x + drop(fout): dx = dres (+ whatever flows back through f); dfout = dres * mask
    const dx = this.arena.f32(n);
    k.copy_f32(dx, dres, n);
    let dfout = dres;
    if (sub.mask) {
      dfout = this.arena.f32(n);
      k.mul_forward(dfout, dres, sub.mask, n);
    }
    if (this.layout.config.preNorm) {
      const dfin = this.zeros(n);
      fb(dfout, dfin);
      // fin = LN(x)
      k.layernorm_backward(dx, this.g(ln.w), this.g(ln.b), dfin, sub.x, this.p(ln.w), sub.mean, sub.rstd, M, C);
    } else fb(dfout, dx);
    return dx;
  }

  // --- multi-head self-attention: MultiHead(Q,K,V) = Concat(head_1..h) W^O, head_i = Attention(QW_i^Q, KW_i^K, VW_i^V) ---
  private selfAttention(sub: Sub, x: number, P: AttentionParams, B: number, T: number, lens: number, causal: boolean): number {
    const { k, arena } = this;
    const c = this.layout.config;
    const C = c.dModel;
    const M = B * T;
    sub.a = arena.f32(M * 3 * C);
    k.matmul_forward(sub.a, x, this.p(P.qkv_w), this.p(P.qkv_b), M, C, 3 * C);
    this.attend(sub, sub.a, sub.a + 4 * C, sub.a + 8 * C, lens, B, T, T, 3 * C, 3 * C, causal);
    const out = arena.f32(M * C);
    k.matmul_forward(out, sub.b, this.p(P.out_w), this.p(P.out_b), M, C, C);
    return out;
  }
  private selfAttentionBackward(dx: number, dout: number, sub: Sub, P: AttentionParams, B: number, T: number, lens: number, causal: boolean): void {
    const { k } = this;
    const c = this.layout.config;
    const C = c.dModel;
    const M = B * T;
    const datty = this.zeros(M * C);
    k.matmul_backward(datty, this.g(P.out_w), this.g(P.out_b), dout, sub.b, this.p(P.out_w), M, C, C);
    const dqkv = this.zeros(M * 3 * C);
    this.attendBackward(sub, dqkv, dqkv + 4 * C, dqkv + 8 * C, datty, sub.a, sub.a + 4 * C, sub.a + 8 * C, lens, B, T, T, 3 * C, 3 * C, causal);
    k.matmul_backward(dx, this.g(P.qkv_w), this.g(P.qkv_b), dqkv, sub.fin, this.p(P.qkv_w), M, C, 3 * C);
  }

  // --- encoder-decoder attention: queries from the decoder, keys and values from the encoder output (3.2.3) ---
  private crossAttention(sub: Sub, y: number, P: AttentionParams, B: number, T: number, S: number): number {
    const { k, arena } = this;
    const C = this.layout.config.dModel;
    const Mt = B * T;
    const Ms = B * S;
    sub.a = arena.f32(Mt * C);
    k.matmul_forward(sub.a, y, this.p(P.qkv_w), this.p(P.qkv_b), Mt, C, C);
    sub.kv = arena.f32(Ms * 2 * C);
    k.matmul_forward(sub.kv, this.st.mem, this.p(P.kv_w!), this.p(P.kv_b!), Ms, C, 2 * C);
    this.attend(sub, sub.a, sub.kv, sub.kv + 4 * C, this.st.srcLen, B, T, S, C, 2 * C, false);
    const out = arena.f32(Mt * C);
    k.matmul_forward(out, sub.b, this.p(P.out_w), this.p(P.out_b), Mt, C, C);
    return out;
  }
  private crossAttentionBackward(dy: number, dmem: number, dout: number, sub: Sub, P: AttentionParams, B: number, T: number, S: number): void {
    const { k } = this;
    const C = this.layout.config.dModel;
    const Mt = B * T;
    const Ms = B * S;
    const datty = this.zeros(Mt * C);
    k.matmul_backward(datty, this.g(P.out_w), this.g(P.out_b), dout, sub.b, this.p(P.out_w), Mt, C, C);
    const dq = this.zeros(Mt * C);
    const dkv = this.zeros(Ms * 2 * C);
    this.attendBackward(sub, dq, dkv, dkv + 4 * C, datty, sub.a, sub.kv, sub.kv + 4 * C, this.st.srcLen, B, T, S, C, 2 * C, false);
    k.matmul_backward(dy, this.g(P.qkv_w), this.g(P.qkv_b), dq, sub.fin, this.p(P.qkv_w), Mt, C, C);
    k.matmul_backward(dmem, this.g(P.kv_w!), this.g(P.kv_b!), dkv, this.st.mem, this.p(P.kv_w!), Ms, C, 2 * C);
  }

  // Attention(Q,K,V) = softmax(Q K^T / sqrt(d_k)) V   (paper eq. 1), with attention dropout if configured
  private attend(sub: Sub, q: number, kk: number, v: number, lens: number, B: number, T: number, S: number, qs: number, kvs: number, causal: boolean): void {
    const { k, arena } = this;
    const c = this.layout.config;
    const H = c.heads;
    const D = headSize(c);
    sub.b = arena.f32(B * T * c.dModel);
    sub.att = arena.f32(B * H * T * S);
    const pa = this.dropout ? this.train.attentionDropout : 0;
    if (pa > 0) {
      // Only the mask is kept (the kernel multiplies it into the weights); the dropped copy is scratch.
      const n = B * H * T * S;
      sub.attMask = arena.f32(n);
      const scratch = this.zeros(n);
      k.dropout_forward(scratch, sub.attMask, scratch, n, pa, this.nextSeed());
    }
    k.attention_forward(sub.b, sub.att, q, kk, v, lens, sub.attMask, B, T, S, H, D, qs, kvs, causal ? 1 : 0, 1);
  }
  private attendBackward(sub: Sub, dq: number, dk: number, dv: number, dout: number, q: number, kk: number, v: number, lens: number, B: number, T: number, S: number, qs: number, kvs: number, causal: boolean): void {
    const c = this.layout.config;
    const H = c.heads;
    const D = headSize(c);
    const scratch = this.arena.f32(S + 16);
    this.k.attention_backward(dq, dk, dv, scratch, dout, sub.att, q, kk, v, lens, sub.attMask, B, T, S, H, D, qs, kvs, causal ? 1 : 0, 1);
  }

  // --- position-wise feed-forward: FFN(x) = max(0, x W1 + b1) W2 + b2   (paper eq. 2) ---
  private ffn(sub: Sub, x: number, P: FFNParams, M: number): number {
    const { k, arena } = this;
    const c = this.layout.config;
    const C = c.dModel;
    const F = c.dFF;
    sub.a = arena.f32(M * F);
    k.matmul_forward(sub.a, x, this.p(P.fc1_w), this.p(P.fc1_b), M, C, F);
    sub.b = arena.f32(M * F);
    if (c.activation === 'gelu') k.gelu_forward(sub.b, sub.a, M * F);
    else k.relu_forward(sub.b, sub.a, M * F);
    const out = arena.f32(M * C);
    k.matmul_forward(out, sub.b, this.p(P.fc2_w), this.p(P.fc2_b), M, F, C);
    return out;
  }
  private ffnBackward(dx: number, dout: number, sub: Sub, P: FFNParams, M: number): void {
    const { k } = this;
    const c = this.layout.config;
    const C = c.dModel;
    const F = c.dFF;
    const dact = this.zeros(M * F);
    k.matmul_backward(dact, this.g(P.fc2_w), this.g(P.fc2_b), dout, sub.b, this.p(P.fc2_w), M, F, C);
    const dpre = this.zeros(M * F);
    if (c.activation === 'gelu') k.gelu_backward(dpre, dact, sub.a, M * F);
    else k.relu_backward(dpre, dact, sub.a, M * F);
    k.matmul_backward(dx, this.g(P.fc1_w), this.g(P.fc1_b), dpre, sub.fin, this.p(P.fc1_w), M, C, F);
  }
}

// The batch stacked on itself: rows B..2B-1 repeat rows 0..B-1 (R-Drop's two passes in one).
function twice(b: Batch): Batch {
  const cat = (a: Int32Array) => {
    const out = new Int32Array(2 * a.length);
    out.set(a);
    out.set(a, a.length);
    return out;
  };
  return { B: 2 * b.B, S: b.S, T: b.T, src: cat(b.src), srcLen: cat(b.srcLen), tgtIn: cat(b.tgtIn), tgtOut: cat(b.tgtOut), tgtLen: cat(b.tgtLen) };
}

// pos (B,T): 0..T-1 on every row
function positions(B: number, T: number): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) pos[b * T + t] = t;
  return pos;
}

