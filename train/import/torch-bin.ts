// Reads a PyTorch checkpoint (`torch.save` of a state dict, e.g. Hugging Face's pytorch_model.bin) without
// Python: the zip container torch >= 1.6 writes (archive/data.pkl + archive/data/<key> storages) and a
// pickle machine that knows only what a state dict needs: containers, numbers, strings, and the few torch
// globals that rebuild tensors. Any other global is refused, so a checkpoint cannot run code here (unlike
// torch.load without weights_only). Every floating tensor comes back as f32; integer tensors as well.
import { inflateRawSync } from 'node:zlib';

export interface TorchTensor {
  dtype: string; // the storage's: 'float32', 'float16', 'bfloat16', 'float64', 'int64', ...
  shape: number[];
  values: Float32Array; // row-major, contiguous
}

// ---- zip ----

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function zipEntries(buf: Uint8Array): ZipEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (torch >= 1.6 format)');
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  // ZIP64: the end-of-central-directory locator sits just before the classic record.
  if (eocd >= 20 && dv.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(dv.getBigUint64(eocd - 20 + 8, true));
    if (dv.getUint32(z64, true) !== 0x06064b50) throw new Error('broken zip64 end of central directory');
    count = Number(dv.getBigUint64(z64 + 32, true));
    cdOffset = Number(dv.getBigUint64(z64 + 48, true));
  }
  const out: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || dv.getUint32(p, true) !== 0x02014b50) throw new Error('broken zip central directory');
    const method = dv.getUint16(p + 10, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    const name = new TextDecoder().decode(buf.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extra field: the 64-bit values of whichever fields are 0xffffffff, in this order.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = Number(dv.getBigUint64(q, true))), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = Number(dv.getBigUint64(q, true))), (q += 8);
        if (localOffset === 0xffffffff) localOffset = Number(dv.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    out.push({ name, method, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

function entryData(buf: Uint8Array, e: ZipEntry): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(e.localOffset, true) !== 0x04034b50) throw new Error(`broken zip entry ${e.name}`);
  const start = e.localOffset + 30 + dv.getUint16(e.localOffset + 26, true) + dv.getUint16(e.localOffset + 28, true);
  if (start + e.compressedSize > buf.length) throw new Error(`zip entry ${e.name} is cut short (truncated file?)`);
  const raw = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method === 8) return new Uint8Array(inflateRawSync(raw));
  throw new Error(`zip entry ${e.name} uses compression method ${e.method}`);
}

// ---- pickle ----

class Global {
  readonly module: string;
  readonly name: string;
  constructor(module: string, name: string) {
    this.module = module;
    this.name = name;
  }
}
interface StorageRef {
  kind: 'storage';
  dtype: string;
  key: string;
}
interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}
const MARK = Symbol('mark');

// torch's storage classes (torch.FloatStorage, ...) and, since torch 2, torch.float32-style dtypes.
const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8', BoolStorage: 'bool',
  float32: 'float32', float: 'float32', float16: 'float16', half: 'float16', bfloat16: 'bfloat16', float64: 'float64', double: 'float64',
  int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int16: 'int16', int8: 'int8', uint8: 'uint8', bool: 'bool',
};
const ALLOWED = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', 'builtins.set', 'torch.Size']);

function call(fn: unknown, args: unknown[]): unknown {
  if (!(fn instanceof Global)) throw new Error('pickle calls something that is not a function');
  const id = `${fn.module}.${fn.name}`;
  if (id === 'collections.OrderedDict') return new Map();
  if (id === 'torch._utils._rebuild_tensor_v2') {
    const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
    return { kind: 'tensor', storage, offset, shape: [...shape], stride: [...stride] } satisfies TensorRef;
  }
  if (id === 'torch._utils._rebuild_parameter') return args[0]; // (tensor, requires_grad, hooks)
  if (id === 'builtins.set' || id === 'torch.Size') return args[0] ?? [];
  throw new Error(`pickle calls ${id}, which a state dict does not need (refused)`);
}

function unpickle(data: Uint8Array, persistent: (pid: unknown[]) => StorageRef): unknown {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const text = new TextDecoder();
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  const popMark = (): unknown[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) throw new Error('pickle: MARK missing');
    const items = stack.splice(i + 1);
    stack.pop();
    return items;
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, p);
    const s = text.decode(data.subarray(p, end));
    p = end + 1;
    return s;
  };
  const str = (n: number): string => {
    const s = text.decode(data.subarray(p, p + n));
    p += n;
    return s;
  };
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map) && (typeof target !== 'object' || target === null)) throw new Error('pickle: SETITEMS on a non-dict');
    for (let i = 0; i < items.length; i += 2) {
      if (target instanceof Map) target.set(items[i], items[i + 1]);
      else (target as Record<string, unknown>)[String(items[i])] = items[i + 1];
    }
  };
  while (p < data.length) {
    const op = data[p++];
    switch (op) {
      case 0x80: p++; break; // PROTO n
      case 0x95: p += 8; break; // FRAME
      case 0x2e: return stack.pop(); // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push([]); break; // EMPTY_SET
      case 0x64: { const items = popMark(); const m = new Map(); setItems(m, items); stack.push(m); break; } // DICT
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); const a = stack.pop(); stack.push([a, b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); const a = stack.pop(); stack.push([a, b, c]); break; } // TUPLE3
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(dv.getInt32(p, true)); p += 4; break; // BININT
      case 0x4b: stack.push(data[p++]); break; // BININT1
      case 0x4d: stack.push(dv.getUint16(p, true)); p += 2; break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        const n = data[p++];
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]);
        if (n && data[p + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        p += n;
        stack.push(Number(v));
        break;
      }
      case 0x47: stack.push(dv.getFloat64(p, false)); p += 8; break; // BINFLOAT (big-endian)
      case 0x58: { const n = dv.getUint32(p, true); p += 4; stack.push(str(n)); break; } // BINUNICODE
      case 0x8c: { const n = data[p++]; stack.push(str(n)); break; } // SHORT_BINUNICODE
      case 0x8d: { const n = Number(dv.getBigUint64(p, true)); p += 8; stack.push(str(n)); break; } // BINUNICODE8
      case 0x55: { const n = data[p++]; stack.push(str(n)); break; } // SHORT_BINSTRING
      case 0x54: { const n = dv.getUint32(p, true); p += 4; stack.push(str(n)); break; } // BINSTRING
      case 0x43: { const n = data[p++]; stack.push(data.slice(p, p + n)); p += n; break; } // SHORT_BINBYTES
      case 0x42: { const n = dv.getUint32(p, true); p += 4; stack.push(data.slice(p, p + n)); p += n; break; } // BINBYTES
      case 0x71: memo.set(data[p++], stack.at(-1)); break; // BINPUT
      case 0x72: memo.set(dv.getUint32(p, true), stack.at(-1)); p += 4; break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack.at(-1)); break; // MEMOIZE
      case 0x68: stack.push(memo.get(data[p++])); break; // BINGET
      case 0x6a: stack.push(memo.get(dv.getUint32(p, true))); p += 4; break; // LONG_BINGET
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: { const name = stack.pop() as string; const module = stack.pop() as string; stack.push(global(module, name)); break; } // STACK_GLOBAL
      case 0x51: stack.push(persistent(stack.pop() as unknown[])); break; // BINPERSID
      case 0x52: { const args = stack.pop() as unknown[]; const fn = stack.pop(); stack.push(call(fn, args)); break; } // REDUCE
      case 0x81: { const args = stack.pop() as unknown[]; const cls = stack.pop(); stack.push(call(cls, args)); break; } // NEWOBJ
      case 0x62: stack.pop(); break; // BUILD: state of an OrderedDict/parameter (e.g. _metadata) is not needed
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItems(stack.at(-1), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(stack.at(-1), items); break; } // SETITEMS
      case 0x61: { const v = stack.pop(); (stack.at(-1) as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); (stack.at(-1) as unknown[]).push(...items); break; } // APPENDS
      case 0x90: { const items = popMark(); (stack.at(-1) as unknown[]).push(...items); break; } // ADDITEMS
      case 0x30: stack.pop(); break; // POP
      case 0x32: stack.push(stack.at(-1)); break; // DUP
      default:
        throw new Error(`pickle opcode 0x${op.toString(16)} at byte ${p - 1} is not supported`);
    }
  }
  throw new Error('pickle: no STOP (truncated?)');
}

function global(module: string, name: string): Global {
  if (module === 'torch' && STORAGE_DTYPES[name]) return new Global(module, name);
  if (!ALLOWED.has(`${module}.${name}`)) throw new Error(`the checkpoint needs ${module}.${name}, which a state dict does not (refused)`);
  return new Global(module, name);
}

// ---- storages to f32 ----

const ITEM_BYTES: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const BF16 = new DataView(new ArrayBuffer(4)); // bf16 is the top half of an f32

function readElement(dv: DataView, dtype: string, i: number): number {
  switch (dtype) {
    case 'float32': return dv.getFloat32(4 * i, true);
    case 'float16': return f16(dv.getUint16(2 * i, true));
    case 'bfloat16': BF16.setUint32(0, dv.getUint16(2 * i, true) << 16, true); return BF16.getFloat32(0, true);
    case 'float64': return dv.getFloat64(8 * i, true);
    case 'int64': return Number(dv.getBigInt64(8 * i, true));
    case 'int32': return dv.getInt32(4 * i, true);
    case 'int16': return dv.getInt16(2 * i, true);
    case 'int8': return dv.getInt8(i);
    default: return dv.getUint8(i); // uint8, bool
  }
}

// A contiguous little-endian array of `dtype` elements (a torch storage dtype name) as f32: what
// safetensors files in F16, BF16 or F64 hold (train/import/marian.ts).
export function floatsOf(bytes: Uint8Array, dtype: string): Float32Array {
  const size = ITEM_BYTES[dtype];
  if (!size || bytes.byteLength % size) throw new Error(`cannot read ${bytes.byteLength} bytes as ${dtype}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / size);
  for (let i = 0; i < out.length; i++) out[i] = readElement(dv, dtype, i);
  return out;
}

export function readTorchCheckpoint(bytes: Uint8Array): Map<string, TorchTensor> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new Error('a legacy (torch < 1.6) checkpoint: re-save it with torch.save(state_dict, path) from torch >= 1.6, or convert it to safetensors');
  }
  const entries = zipEntries(bytes);
  const pkl = entries.find((e) => /(^|\/)data\.pkl$/.test(e.name));
  if (!pkl) throw new Error('no data.pkl in the archive: not a torch.save checkpoint');
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const order = entries.find((e) => e.name === `${prefix}byteorder`);
  if (order && new TextDecoder().decode(entryData(bytes, order)).trim() !== 'little') throw new Error('a big-endian checkpoint is not supported');
  const root = unpickle(entryData(bytes, pkl), (pid) => {
    const [kind, type, key] = pid as [string, Global | string, string];
    if (kind !== 'storage') throw new Error(`unknown persistent id ${kind}`);
    const name = type instanceof Global ? type.name : String(type);
    const dtype = STORAGE_DTYPES[name];
    if (!dtype) throw new Error(`unknown storage type ${name}`);
    return { kind: 'storage', dtype, key: String(key) };
  });
  const dict = root instanceof Map && root.has('state_dict') ? root.get('state_dict') : root;
  if (!(dict instanceof Map)) throw new Error('the checkpoint is not a state dict (a mapping of names to tensors)');
  const storages = new Map<string, DataView>();
  const out = new Map<string, TorchTensor>();
  for (const [name, t] of dict as Map<string, unknown>) {
    const ref = t as TensorRef;
    if (ref?.kind !== 'tensor') continue; // e.g. a version number beside the tensors
    const { dtype, key } = ref.storage;
    let dv = storages.get(key);
    if (!dv) {
      const e = byName.get(`${prefix}data/${key}`);
      if (!e) throw new Error(`storage ${key} of ${name} is missing from the archive`);
      const d = entryData(bytes, e);
      dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      storages.set(key, dv);
    }
    const n = ref.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    let maxIndex = ref.offset;
    for (let d = 0; d < ref.shape.length; d++) if (ref.shape[d] > 0) maxIndex += (ref.shape[d] - 1) * ref.stride[d];
    if (n > 0 && (maxIndex + 1) * ITEM_BYTES[dtype] > dv.byteLength) throw new Error(`tensor ${name} reaches past its storage (corrupt checkpoint)`);
    let contiguous = true;
    for (let d = ref.shape.length - 1, want = 1; d >= 0; want *= ref.shape[d], d--) if (ref.shape[d] > 1 && ref.stride[d] !== want) contiguous = false;
    if (contiguous && dtype === 'float32') {
      const start = dv.byteOffset + 4 * ref.offset;
      values.set(new Float32Array(dv.buffer.slice(start, start + 4 * n)));
      out.set(name, { dtype, shape: ref.shape, values });
      continue;
    }
    // Row-major walk over a strided view or a dtype to convert.
    const idx = new Array(ref.shape.length).fill(0);
    for (let i = 0; i < n; i++) {
      let at = ref.offset;
      for (let d = 0; d < idx.length; d++) at += idx[d] * ref.stride[d];
      values[i] = readElement(dv, dtype, at);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < ref.shape[d]) break;
        idx[d] = 0;
      }
    }
    out.set(name, { dtype, shape: ref.shape, values });
  }
  return out;
}
