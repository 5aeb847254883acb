// A tiny ONNX writer for the benchmark's peer graphs (the onnx package is not a dependency): just the
// protobuf fields of ModelProto / GraphProto / NodeProto / TensorProto / ValueInfoProto that a graph of a
// few nodes with initializers needs. Field numbers from onnx/onnx.proto. Messages are byte arrays,
// concatenated (initializers are megabytes: no number[] copies of them).
type Bytes = Uint8Array;

export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 } as const;

const utf8 = new TextEncoder();

function cat(...parts: ArrayLike<number>[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 two's complement
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

const tag = (field: number, wire: number): number[] => varint((field << 3) | wire);
const int = (field: number, n: number): Bytes => cat(tag(field, 0), varint(n));
const len = (field: number, b: ArrayLike<number>): Bytes => cat(tag(field, 2), varint(b.length), b);
const str = (field: number, s: string): Bytes => len(field, utf8.encode(s));

// TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)
export function tensor(name: string, dtype: number, dims: number[], data: ArrayBufferView): Bytes {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return cat(...dims.map((d) => int(1, d)), int(2, dtype), str(8, name), len(9, raw));
}

// ValueInfoProto { name (1), type (2): TypeProto { tensor_type (1): { elem_type (1), shape (2): { dim (1): { dim_value (1) } } } } }
export function valueInfo(name: string, dtype: number, dims: number[]): Bytes {
  const shape = cat(...dims.map((d) => len(1, int(1, d))));
  return cat(str(1, name), len(2, len(1, cat(int(1, dtype), len(2, shape)))));
}

// AttributeProto: name (1), i (3), type (20): INT = 2
export function attrInt(name: string, v: number): Bytes {
  return cat(str(1, name), int(3, v), int(20, 2));
}

// NodeProto: input (1), output (2), op_type (4), attribute (5), domain (7)
export function node(op: string, inputs: string[], outputs: string[], attrs: Bytes[] = [], domain = ''): Bytes {
  return cat(
    ...inputs.map((s) => str(1, s)),
    ...outputs.map((s) => str(2, s)),
    str(4, op),
    ...attrs.map((a) => len(5, a)),
    domain ? str(7, domain) : [],
  );
}

export interface Graph {
  nodes: Bytes[];
  initializers: Bytes[];
  inputs: Bytes[];
  outputs: Bytes[];
  opsets?: [string, number][]; // (domain, version)
}

// ModelProto: ir_version (1), opset_import (8): { domain (1), version (2) }, graph (7): GraphProto
// { node (1), name (2), initializer (5), input (11), output (12) }
export function model(g: Graph): Uint8Array {
  const graph = cat(
    ...g.nodes.map((n) => len(1, n)),
    str(2, 'bench'),
    ...g.initializers.map((t) => len(5, t)),
    ...g.inputs.map((v) => len(11, v)),
    ...g.outputs.map((v) => len(12, v)),
  );
  const opsets = (g.opsets ?? [['', 17]]).map(([d, v]) => len(8, cat(str(1, d), int(2, v))));
  return cat(int(1, 8), ...opsets, len(7, graph));
}
