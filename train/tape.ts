// The training executor of model/transformer.ts: each op runs its forward kernel and records what its
// backward needs on a tape; backward() replays the tape in reverse (llm.c's kernels, reverse-mode autodiff).
// Gradients accumulate (+=) into each value's gradient buffer; the first one a buffer receives is handed
// over instead of copied where that is safe, so a step runs the same kernel calls as a hand-written backward.
import type { Arena, Kernels } from '../kernels/host.ts';
import type { KernelExports } from '../kernels/api.ts';
import { headSize } from '../model/config.ts';
import type { NormParams, ParamLayout, TensorSpec } from '../model/params.ts';
import { positionTable, type Activation, type Ops, type Side } from '../model/transformer.ts';

// A value of the forward pass: an (M, N) f32 matrix at p, and its gradient once backward reaches it (0 before).
export interface Node {
  p: number;
  M: number;
  N: number;
  grad: number;
}

type Entry =
  | { op: 'embed'; out: Node; ids: number; table: TensorSpec; scale: number }
  | { op: 'linear'; out: Node; x: Node; w: TensorSpec; b?: TensorSpec }
  | { op: 'norm'; out: Node; x: Node; ln: NormParams; mean: number; rstd: number }
  | { op: 'add'; out: Node; x: Node; y: Node }
  | { op: 'activation'; out: Node; x: Node; kind: Activation }
  | { op: 'dropout'; out: Node; x: Node; mask: number }
  // keys at kv + kOff floats and values C floats after them, in rows of kvs floats; q in rows of qs floats
  | { op: 'attention'; out: Node; q: Node; kv: Node; kOff: number; qs: number; kvs: number; att: number; mask: number; lens: number; B: number; T: number; S: number; causal: number };

// One side of the batch: token ids and positions (M = B*len) and lengths (B), as wasm i32 arrays.
export interface SideInput {
  ids: number;
  pos: number;
  lens: number;
  len: number; // padded length
}

export class Tape implements Ops<Node> {
  readonly k: KernelExports;
  readonly arena: Arena;
  readonly layout: ParamLayout;
  readonly params: number;
  readonly grads: number;
  private pe: number;
  private entries: Entry[] = [];
  private input!: Record<Side, SideInput>;
  private B = 0;
  private seed = 0;
  private site = 0;
  private p = 0; // dropout probability of this pass
  private pAtt = 0; // attention dropout probability

  constructor(kernels: Kernels, arena: Arena, layout: ParamLayout, params: number, grads: number) {
    this.k = kernels.k;
    this.arena = arena;
    this.layout = layout;
    this.params = params;
    this.grads = grads;
    const c = layout.config;
    this.pe = arena.f32(c.maxLen * c.dModel);
    this.k.positional_encoding(this.pe, c.maxLen, c.dModel);
    positionTable(arena.f32view(this.pe, c.maxLen * c.dModel), c);
  }

  // A new forward pass over B sentence pairs; dropout masks are a function of (seed, site).
  begin(B: number, input: Record<Side, SideInput>, seed: number, dropout: number, attentionDropout: number): void {
    this.entries = [];
    this.B = B;
    this.input = input;
    this.seed = seed;
    this.site = 0;
    this.p = dropout;
    this.pAtt = attentionDropout;
  }

  private w(t: TensorSpec): number {
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
  private node(M: number, N: number): Node {
    return { p: this.arena.f32(M * N), M, N, grad: 0 };
  }
  private nextSeed(): number {
    return (Math.imul(this.seed, 0x9e3779b1) + Math.imul(++this.site, 0x85ebca6b)) | 0;
  }

  // --- forward ops ---
  embed(side: Side, table: TensorSpec, scale: number): Node {
    const C = this.layout.config.dModel;
    const { ids, pos, len } = this.input[side];
    const out = this.node(this.B * len, C);
    this.k.embedding_forward(out.p, ids, pos, this.w(table), this.pe, out.M, C, scale);
    this.entries.push({ op: 'embed', out, ids, table, scale });
    return out;
  }
  linear(x: Node, w: TensorSpec, b?: TensorSpec): Node {
    const out = this.node(x.M, w.shape[0]);
    this.k.matmul_forward(out.p, x.p, this.w(w), b ? this.w(b) : 0, x.M, x.N, out.N);
    this.entries.push({ op: 'linear', out, x, w, b });
    return out;
  }
  selfAttention(qkv: Node, side: Side, _layer: number): Node {
    const { len, lens } = this.input[side];
    const C = this.layout.config.dModel;
    return this.attend(qkv, qkv, C, 3 * C, 3 * C, lens, len, len, side === 'target' ? 1 : 0);
  }
  crossAttention(q: Node, kv: Node, _layer: number): Node {
    const C = this.layout.config.dModel;
    return this.attend(q, kv, 0, C, 2 * C, this.input.source.lens, this.input.target.len, this.input.source.len, 0);
  }
  // Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V   (paper eq. 1), with attention dropout if configured
  private attend(q: Node, kv: Node, kOff: number, qs: number, kvs: number, lens: number, T: number, S: number, causal: number): Node {
    const { k, arena, B } = this;
    const c = this.layout.config;
    const H = c.heads;
    const out = this.node(B * T, c.dModel);
    const att = arena.f32(B * H * T * S);
    let mask = 0;
    if (this.pAtt > 0) {
      // Only the mask is kept (the kernel multiplies it into the weights); the dropped copy is scratch.
      const n = B * H * T * S;
      mask = arena.f32(n);
      const scratch = this.zeros(n);
      k.dropout_forward(scratch, mask, scratch, n, this.pAtt, this.nextSeed());
    }
    const kp = kv.p + 4 * kOff;
    k.attention_forward(out.p, att, q.p, kp, kp + 4 * c.dModel, lens, mask, B, T, S, H, headSize(c), qs, kvs, causal, 1);
    this.entries.push({ op: 'attention', out, q, kv, kOff, qs, kvs, att, mask, lens, B, T, S, causal });
    return out;
  }
  norm(x: Node, ln: NormParams): Node {
    const out = this.node(x.M, x.N);
    const mean = this.arena.f32(x.M);
    const rstd = this.arena.f32(x.M);
    this.k.layernorm_forward(out.p, mean, rstd, x.p, this.w(ln.w), this.w(ln.b), x.M, x.N);
    this.entries.push({ op: 'norm', out, x, ln, mean, rstd });
    return out;
  }
  add(x: Node, y: Node): Node {
    const out = this.node(x.M, x.N);
    this.k.residual_forward(out.p, x.p, y.p, x.M * x.N);
    this.entries.push({ op: 'add', out, x, y });
    return out;
  }
  activation(x: Node, kind: Activation): Node {
    const out = this.node(x.M, x.N);
    ACTIVATIONS[kind](this.k).forward(out.p, x.p, x.M * x.N);
    this.entries.push({ op: 'activation', out, x, kind });
    return out;
  }
  // In place: the program never reads x again.
  dropout(x: Node): Node {
    if (this.p <= 0) return x;
    const n = x.M * x.N;
    const mask = this.arena.f32(n);
    this.k.dropout_forward(x.p, mask, x.p, n, this.p, this.nextSeed());
    const out = { ...x, grad: 0 };
    this.entries.push({ op: 'dropout', out, x, mask });
    return out;
  }
  scope(_x: Node, body: () => Node): Node {
    return body();
  }

  // --- backward ---
  // Gradients of the recorded pass, given the gradient of its final value `out` (an (M, N) buffer the tape
  // may overwrite); parameter gradients are added into this.grads.
  backward(out: Node, dout: number): void {
    out.grad = dout;
    for (let i = this.entries.length - 1; i >= 0; i--) this.back(this.entries[i]);
  }

  // x's gradient buffer, zeroed when it is the first contribution
  private gradOf(x: Node): number {
    if (!x.grad) x.grad = this.zeros(x.M * x.N);
    return x.grad;
  }
  // x's gradient += d. `handOver`: d is not read afterwards by anyone else, so it may become x's buffer.
  private accumulate(x: Node, d: number, handOver: boolean): void {
    const n = x.M * x.N;
    if (x.grad) this.k.add_inplace(x.grad, d, n);
    else if (handOver) x.grad = d;
    else {
      x.grad = this.arena.f32(n);
      this.k.copy_f32(x.grad, d, n);
    }
  }

  private back(e: Entry): void {
    const { k } = this;
    const d = e.out.grad;
    if (!d) return; // the value did not reach the loss
    switch (e.op) {
      case 'embed': // out[n] = table[ids[n]] * scale + pe[pos[n]]
        k.embedding_backward(this.g(e.table), d, e.ids, e.out.M, e.out.N, e.scale);
        break;
      case 'linear': // out = x W^T + b
        k.matmul_backward(this.gradOf(e.x), this.g(e.w), e.b ? this.g(e.b) : 0, d, e.x.p, this.w(e.w), e.x.M, e.x.N, e.out.N);
        break;
      case 'norm':
        k.layernorm_backward(this.gradOf(e.x), this.g(e.ln.w), this.g(e.ln.b), d, e.x.p, this.w(e.ln.w), e.mean, e.rstd, e.x.M, e.x.N);
        break;
      case 'add': // out = x + y: both get d; x a copy, y the buffer itself
        this.accumulate(e.x, d, false);
        this.accumulate(e.y, d, true);
        break;
      case 'activation':
        ACTIVATIONS[e.kind](k).backward(this.gradOf(e.x), d, e.x.p, e.x.M * e.x.N);
        break;
      case 'dropout': { // out = x * mask, in place on d when it becomes x's gradient
        const n = e.x.M * e.x.N;
        const dx = e.x.grad ? this.arena.f32(n) : d;
        k.mul_forward(dx, d, e.mask, n);
        this.accumulate(e.x, dx, true);
        break;
      }
      case 'attention': {
        const c = this.layout.config;
        const C = c.dModel;
        const dq = this.gradOf(e.q);
        const dk = (e.kv === e.q ? dq : this.gradOf(e.kv)) + 4 * e.kOff;
        const kp = e.kv.p + 4 * e.kOff;
        const scratch = this.arena.f32(e.S + 16);
        k.attention_backward(dq, dk, dk + 4 * C, scratch, d, e.att, e.q.p, kp, kp + 4 * C, e.lens, e.mask, e.B, e.T, e.S, c.heads, headSize(c), e.qs, e.kvs, e.causal, 1);
        break;
      }
    }
  }
}

// Each activation's kernels: forward out = f(x), backward dx += dout * f'(x).
type Unary = (out: number, inp: number, N: number) => void;
type UnaryBackward = (dinp: number, dout: number, inp: number, N: number) => void;
const ACTIVATIONS: Record<Activation, (k: KernelExports) => { forward: Unary; backward: UnaryBackward }> = {
  relu: (k) => ({ forward: k.relu_forward, backward: k.relu_backward }),
  gelu: (k) => ({ forward: k.gelu_forward, backward: k.gelu_backward }),
  gelu_erf: (k) => ({ forward: k.gelu_erf_forward, backward: k.gelu_erf_backward }),
  silu: (k) => ({ forward: k.silu_forward, backward: k.silu_backward }),
};
