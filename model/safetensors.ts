// safetensors: 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes. Plain TypeScript so the worker and the browser read it too.

// F16, BF16 and F64 are read (Hugging Face checkpoints, train/import/) but never written by us.
export type DType = 'F32' | 'I8' | 'I32' | 'U8' | 'F16' | 'BF16' | 'F64';
const BYTES: Record<DType, number> = { F32: 4, I8: 1, I32: 4, U8: 1, F16: 2, BF16: 2, F64: 8 };

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array; // raw bytes (a view into the file buffer when read)
  ptr?: number; // where the bytes already are in wasm memory (model/weights-reader.ts): used there, not copied
}

export interface SafeTensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export function f32Tensor(shape: number[], values: Float32Array): Tensor {
  return { dtype: 'F32', shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

// Reads a tensor as Float32Array (copying when the bytes are not 4-aligned in the file).
export function asF32(t: Tensor): Float32Array {
  if (t.dtype !== 'F32') throw new Error(`expected F32 tensor, got ${t.dtype}`);
  const { data } = t;
  if (data.byteOffset % 4 === 0) return new Float32Array(data.buffer, data.byteOffset, data.byteLength / 4);
  return new Float32Array(data.slice().buffer);
}

export function serialize(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
    if (n !== t.data.byteLength) throw new Error(`tensor ${name}: shape ${t.shape} needs ${n} bytes, has ${t.data.byteLength}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned (the format allows trailing spaces).
  const headerBytes = new TextEncoder().encode(json);
  const pad = (8 - ((8 + headerBytes.length) % 8)) % 8;
  json += ' '.repeat(pad);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const t of tensors.values()) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

// Parses and validates a safetensors file; throws a clear Error on any inconsistency (truncated, overlapping).
export function parse(bytes: Uint8Array): SafeTensors {
  if (bytes.byteLength < 8) throw new Error(SHORT_FILE);
  const n = headerLength(bytes);
  if (n > bytes.byteLength - 8) throw new Error(LONG_HEADER);
  const base = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, base), bytes.byteLength - base);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: bytes.subarray(base + e.start, base + e.end) });
  return { tensors, metadata };
}

export const SHORT_FILE = 'safetensors: file shorter than its 8-byte header length';
export const LONG_HEADER = 'safetensors: header length exceeds file size';

// A tensor as the header lists it: its bytes are [start, end) of the data that follows the header.
export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  start: number;
  end: number;
}

// The header's length from the file's first 8 bytes (refused past 100 MB: no real header is that long).
export function headerLength(first8: Uint8Array): number {
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > 100_000_000) throw new Error(LONG_HEADER);
  return n;
}

// Parses the JSON header and checks every tensor's dtype, shape and offsets against dataLen bytes of data
// (Infinity while a stream has not ended: model/weights-reader.ts checks the offsets again at its end).
export function parseHeader(json: Uint8Array, dataLen: number): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  let header: Record<string, any>;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch {
    throw new Error('safetensors: header is not valid JSON');
  }
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const dtype = v?.dtype as DType;
    if (!(dtype in BYTES)) throw new Error(`safetensors: tensor ${name} has unsupported dtype ${v?.dtype}`);
    const [s, e] = v.data_offsets ?? [];
    const count = (v.shape as number[]).reduce((a: number, b: number) => a * b, 1);
    if (!(Number.isInteger(s) && Number.isInteger(e) && s >= 0 && e <= dataLen && e - s === count * BYTES[dtype])) {
      throw new Error(`safetensors: tensor ${name} has bad offsets (file truncated?)`);
    }
    entries.push({ name, dtype, shape: v.shape, start: s, end: e });
  }
  return { entries, metadata };
}
