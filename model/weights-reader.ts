// Reads a safetensors file chunk by chunk straight into wasm memory: the small header first, then one arena
// region the size of the tensor data, filled as the chunks arrive; each tensor is then a pointer into that
// region, which the kernels use in place. So the file never has to exist whole outside wasm: a host passes
// the R2 object's stream (worker), a file read through a small buffer (Node), or a buffer it already has.
// The chunks are copied as they are pushed: a source may reuse its buffer for the next one.
import type { Arena } from '../kernels/host.ts';
import { LONG_HEADER, SHORT_FILE, headerLength, parseHeader, type HeaderEntry, type SafeTensors, type Tensor } from './safetensors.ts';

// Where a model's weights come from: the whole file, or its bytes in order as chunks.
export type WeightChunks = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export class WeightsReader {
  private readonly arena: Arena;
  private first = new Uint8Array(8);
  private header?: Uint8Array;
  private filled = 0; // bytes of `first`, then of `header`, then of the data region
  private entries?: HeaderEntry[];
  private metadata: Record<string, string> = {};
  private region = 0;
  private dataEnd = 0; // the data bytes the tensors cover; bytes past it are counted, not kept
  private total = 0; // every byte pushed

  constructor(arena: Arena) {
    this.arena = arena;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.byteLength;
    let at = 0;
    while (at < chunk.byteLength) {
      if (!this.header) {
        at += this.fill(this.first, chunk, at);
        if (this.filled === 8) [this.header, this.filled] = [new Uint8Array(headerLength(this.first)), 0];
      } else if (!this.entries) {
        at += this.fill(this.header, chunk, at);
        if (this.filled === this.header.byteLength) this.start();
      } else {
        const n = Math.min(chunk.byteLength - at, this.dataEnd - this.filled);
        if (n <= 0) return;
        this.arena.u8view(this.region + this.filled, n).set(chunk.subarray(at, at + n));
        this.filled += n;
        at += n;
      }
    }
  }

  // The tensors once every byte is in, with the errors parse() gives a short file.
  finish(): SafeTensors {
    if (!this.header) throw new Error(SHORT_FILE);
    if (!this.entries) throw new Error(LONG_HEADER);
    parseHeader(this.header, this.total - 8 - this.header.byteLength); // the offsets against the real length
    const tensors = new Map<string, Tensor>();
    const arena = this.arena;
    for (const e of this.entries) {
      const ptr = this.region + e.start;
      const n = e.end - e.start;
      // a fresh view on each read: growing wasm memory detaches the old ones
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, ptr, get data() { return arena.u8view(ptr, n); } });
    }
    return { tensors, metadata: this.metadata };
  }

  private fill(dst: Uint8Array, chunk: Uint8Array, at: number): number {
    const n = Math.min(dst.byteLength - this.filled, chunk.byteLength - at);
    dst.set(chunk.subarray(at, at + n), this.filled);
    this.filled += n;
    return n;
  }

  private start(): void {
    const { entries, metadata } = parseHeader(this.header!, Infinity);
    this.entries = entries;
    this.metadata = metadata;
    this.dataEnd = entries.reduce((m, e) => Math.max(m, e.end), 0);
    this.region = this.arena.alloc(this.dataEnd, 64);
    this.filled = 0;
  }
}

// Reads a whole source, synchronous when it is a buffer or an Iterable.
export function readWeights(arena: Arena, source: Uint8Array | Iterable<Uint8Array>): SafeTensors {
  const reader = new WeightsReader(arena);
  for (const chunk of source instanceof Uint8Array ? [source] : source) reader.push(chunk);
  return reader.finish();
}

export async function readWeightsAsync(arena: Arena, source: WeightChunks): Promise<SafeTensors> {
  const reader = new WeightsReader(arena);
  for await (const chunk of source instanceof Uint8Array ? [source] : source) reader.push(chunk);
  return reader.finish();
}
