// Training forward and backward of the encoder-decoder Transformer over one padded batch: the model of
// model/transformer.ts run on the tape (train/tape.ts), then the loss. Activations live in the arena
// between forward() and backward().
import type { Arena, Kernels } from '../kernels/host.ts';
import type { KernelExports } from '../kernels/api.ts';
import type { TrainConfig } from '../model/config.ts';
import type { ParamLayout } from '../model/params.ts';
import { decoder, encoder, logits, memoryKeysValues } from '../model/transformer.ts';
import { Tape, type Node, type SideInput } from './tape.ts';

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

export class TrainGraph {
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly layout: ParamLayout;
  readonly train: TrainConfig;
  readonly params: number; // flat f32 parameters (layout.total)
  readonly grads: number; // flat f32 gradients, accumulated by backward()
  private tape: Tape;
  private batch?: Batch;
  private st = { targets: 0, logits: undefined as Node | undefined, probs: 0, klStats: 0, copies: 1 };
  dropout = true; // off for gradient checks and evaluation loss

  constructor(kernels: Kernels, arena: Arena, layout: ParamLayout, train: TrainConfig, params: number, grads: number) {
    this.k = kernels.k;
    this.arena = arena;
    this.layout = layout;
    this.train = train;
    this.params = params;
    this.grads = grads;
    this.tape = new Tape(kernels, arena, layout, params, grads);
  }

  // Runs the forward pass; returns the summed (label-smoothed) loss over target tokens and their count.
  // With R-Drop (train.rdrop > 0, dropout on) the batch runs twice in one pass (rows B..2B-1 repeat 0..B-1
  // under other dropout masks): loss is then per copy (halved), so loss / tokens stays the mean cross-entropy,
  // kl is the symmetric KL summed over token pairs, and backward() differentiates loss + rdrop * kl / 2
  // (the paper's CE1 + CE2 + alpha KL, halved).
  forward(batch: Batch, seed: number): { loss: number; tokens: number; kl: number } {
    const { k, arena, layout } = this;
    const c = layout.config;
    const st = this.st;
    st.copies = this.dropout && (this.train.rdrop ?? 0) > 0 ? 2 : 1;
    if (st.copies === 2) batch = twice(batch);
    const { B, S, T } = batch;
    const Mt = B * T;
    this.batch = batch;
    if (S > c.maxLen || T > c.maxLen) throw new Error(`sequence longer than maxLen ${c.maxLen}`);
    const side = (ids: Int32Array, lens: Int32Array, len: number): SideInput => ({ ids: arena.putI32(ids), pos: arena.putI32(positions(B, len)), lens: arena.putI32(lens), len });
    const source = side(batch.src, batch.srcLen, S);
    const target = side(batch.tgtIn, batch.tgtLen, T);
    st.targets = arena.putI32(batch.tgtOut);
    this.tape.begin(B, { source, target }, seed, this.dropout ? this.train.dropout : 0, this.dropout ? this.train.attentionDropout : 0);

    // The model (model/transformer.ts), then the loss with label smoothing (paper 5.4).
    const memory = encoder(this.tape, layout);
    const y = decoder(this.tape, layout, memoryKeysValues(this.tape, layout, memory));
    st.logits = logits(this.tape, layout, y);
    const V = st.logits.N;
    st.probs = arena.f32(Mt * V);
    const losses = arena.f32(Mt);
    const loss = k.crossentropy_forward(losses, st.probs, st.logits.p, st.targets, Mt, V, this.train.labelSmoothing);
    let tokens = 0;
    for (let i = 0; i < batch.tgtOut.length; i++) if (batch.tgtOut[i] >= 0) tokens++;
    let kl = 0;
    if (st.copies === 2) {
      // R-Drop: symmetric KL between the two passes' distributions, rows n and Mt/2 + n
      st.klStats = arena.f32(2 * Mt);
      kl = k.symkl_forward(arena.f32(Mt / 2), st.klStats, st.logits.p, st.targets, Mt / 2, V);
    }
    return { loss: loss / st.copies, tokens: tokens / st.copies, kl };
  }

  // The last forward's logits (B*T, V_target), row b*T + t predicting target token t of sentence b.
  logits(): Float32Array {
    const lg = this.st.logits!;
    return this.arena.f32view(lg.p, lg.M * lg.N);
  }

  // Backward of the last forward(); gradients of scale * (summed loss + rdrop * kl / 2) are added into this.grads.
  backward(scale: number): void {
    const st = this.st;
    const lg = st.logits!;
    const [Mt, V] = [lg.M, lg.N];
    // dlogits = scale * (probs - q), in place over probs
    this.k.crossentropy_backward(st.probs, st.probs, st.targets, Mt, V, this.train.labelSmoothing, scale / st.copies);
    if (st.copies === 2) this.k.symkl_backward(st.probs, st.klStats, lg.p, st.targets, Mt / 2, V, (this.train.rdrop! * scale) / 2);
    this.tape.backward(lg, st.probs);
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

