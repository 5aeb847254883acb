// The few ONNX protobuf messages an exported model needs, encoded by hand (field numbers from onnx/onnx.proto,
// proto2: repeated scalars are written unpacked, which every protobuf parser accepts).
//   ModelProto { ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8, doc_string 6 }
//   GraphProto { node 1, name 2, initializer 5, doc_string 10, input 11, output 12 }
//   NodeProto { input 1, output 2, name 3, op_type 4, attribute 5 }
//   AttributeProto { name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, type 20 }
//   TensorProto { dims 1, data_type 2, name 8, raw_data 9 }
//   ValueInfoProto { name 1, type 2 } / TypeProto { tensor_type 1 } / TypeProto.Tensor { elem_type 1, shape 2 }
//   TensorShapeProto { dim 1 } / Dimension { dim_value 1, dim_param 2 }

export const DataType = { FLOAT: 1, INT8: 3, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type DataTypeId = (typeof DataType)[keyof typeof DataType];
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7 } as const;

// Protobuf wire format: a growable byte buffer of tagged fields.
class Writer {
  private buf = new Uint8Array(256);
  private n = 0;

  private reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
  varint(v: number | bigint): void {
    // Negative int64 values are 10-byte two's complement varints.
    let x = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.n++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.n++] = Number(x);
  }
  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.n, v, true);
    this.n += 4;
  }
  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  string(field: number, s: string): void {
    this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, fill: (w: Writer) => void): void {
    const w = new Writer();
    fill(w);
    this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export interface TensorInit {
  name: string;
  type: DataTypeId;
  dims: number[];
  raw: Uint8Array; // little-endian values
}

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number } | { graph: GraphDef } | TensorInit;

export interface NodeDef {
  op: string;
  inputs: string[]; // '' for an omitted optional input
  outputs: string[];
  name: string;
  attrs?: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  type: DataTypeId;
  dims: Array<number | string>; // number: fixed size; string: a named dynamic dimension
}

export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  initializers: TensorInit[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  doc?: string;
}

function tensor(w: Writer, t: TensorInit): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

// Integers are INT / INTS attributes; use { float } and { floats } for float ones.
function attribute(w: Writer, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    w.int(3, v);
    w.int(20, AttrType.INT);
  } else if (typeof v === 'string') {
    w.string(4, v);
    w.int(20, AttrType.STRING);
  } else if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    w.int(20, AttrType.INTS);
  } else if ('float' in v) {
    w.float(2, v.float);
    w.int(20, AttrType.FLOAT);
  } else if ('floats' in v) {
    for (const x of v.floats) w.float(7, x);
    w.int(20, AttrType.FLOATS);
  } else if ('graph' in v) {
    w.message(6, (gw) => graph(gw, v.graph)); // a subgraph, e.g. the branches of If
    w.int(20, AttrType.GRAPH);
  } else {
    w.message(5, (m) => tensor(m, v));
    w.int(20, AttrType.TENSOR);
  }
}

function valueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, v.type);
      tt.message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function graph(gw: Writer, g: GraphDef): void {
  for (const n of g.nodes) {
    gw.message(1, (nw) => {
      for (const i of n.inputs) nw.string(1, i);
      for (const out of n.outputs) nw.string(2, out);
      nw.string(3, n.name);
      nw.string(4, n.op);
      for (const [k, v] of Object.entries(n.attrs ?? {})) nw.message(5, (aw) => attribute(aw, k, v));
    });
  }
  gw.string(2, g.name);
  for (const t of g.initializers) gw.message(5, (tw) => tensor(tw, t));
  if (g.doc) gw.string(10, g.doc);
  for (const v of g.inputs) gw.message(11, (vw) => valueInfo(vw, v));
  for (const v of g.outputs) gw.message(12, (vw) => valueInfo(vw, v));
}

// ir_version 8 goes with opset 17 (onnx/docs/Versioning.md).
export function encodeModel(g: GraphDef, o: { opset?: number; irVersion?: number; producer?: string; version?: string } = {}): Uint8Array {
  const w = new Writer();
  w.int(1, o.irVersion ?? 8);
  w.string(2, o.producer ?? 'edge-mt');
  w.string(3, o.version ?? '0.1.0');
  w.message(7, (gw) => graph(gw, g));
  w.message(8, (ow) => {
    ow.string(1, '');
    ow.int(2, o.opset ?? 17);
  });
  return w.finish();
}
