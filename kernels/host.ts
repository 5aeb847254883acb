// Host side of the kernel library: instantiate a compiled module over an imported memory, and a bump
// arena that hands out aligned regions of it. Runs unchanged in Node, workerd and the browser: the caller
// brings a compiled WebAssembly.Module (workerd forbids compiling at run time; see loaders below).
import type { KernelExports } from './api.ts';

export type Flavor = 'scalar' | 'simd' | 'relaxed' | 'threads' | 'threads-relaxed';
const WASM_PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, as declared by asconfig.json's maximumMemory

export interface Kernels {
  k: KernelExports;
  memory: WebAssembly.Memory;
  heapBase: number;
}

// A tiny module that uses one relaxed-SIMD instruction: validates only where relaxed SIMD is on.
// (module (func (result v128) v128.const i32x4 0 0 0 0 v128.const i32x4 0 0 0 0 v128.const i32x4 0 0 0 0 f32x4.relaxed_madd))
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  253, 133, 2, 11,
]);

export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

// Picks the fastest flavour this engine runs.
export function bestFlavor(threads = false): Flavor {
  const relaxed = relaxedSimdSupported();
  if (threads) return relaxed ? 'threads-relaxed' : 'threads';
  return relaxed ? 'relaxed' : 'simd';
}

function isShared(flavor: Flavor): boolean {
  return flavor === 'threads' || flavor === 'threads-relaxed';
}

// Instantiates `module`. Pass `memory` to share one (worker_threads); otherwise a fresh one is made.
export function instantiate(module: WebAssembly.Module, flavor: Flavor, memory?: WebAssembly.Memory): Kernels {
  if (!memory) {
    const imp = WebAssembly.Module.imports(module).find((i) => i.name === 'memory');
    if (!imp) throw new Error('kernel module does not import its memory');
    memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: isShared(flavor) } as WebAssembly.MemoryDescriptor);
  }
  const abort = () => {
    throw new Error('kernel abort');
  };
  const instance = new WebAssembly.Instance(module, { env: { memory, abort } });
  const k = instance.exports as unknown as KernelExports;
  return { k, memory, heapBase: Number(k.heap_base()) };
}

// Bump allocator over linear memory. Kernels never allocate: callers take regions here, and free by
// resetting to a mark. Typed views are made fresh on every call because growing memory detaches buffers.
export class Arena {
  readonly kernels: Kernels;
  top: number;
  peak: number; // the highest top so far: what the arena has taken of memory, whatever was freed since
  readonly limit: number;
  // [start, limit) is this arena's address range: threads sharing one memory each get their own.
  constructor(kernels: Kernels, start = kernels.heapBase, limit = MAX_PAGES * WASM_PAGE) {
    this.kernels = kernels;
    this.top = this.peak = align(start, 64);
    this.limit = limit;
  }
  alloc(bytes: number, alignment = 64): number {
    const ptr = align(this.top, alignment);
    const end = ptr + bytes;
    if (end > this.limit) {
      throw new Error(`out of kernel memory: need ${((end - this.top) / 2 ** 20).toFixed(1)} MiB more than this arena's ${((this.limit - this.top) / 2 ** 20).toFixed(1)} MiB (use smaller batches)`);
    }
    const have = this.kernels.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / WASM_PAGE);
      this.kernels.memory.grow(pages);
    }
    this.top = end;
    if (end > this.peak) this.peak = end;
    return ptr;
  }
  f32(n: number): number {
    return this.alloc(n * 4);
  }
  i32(n: number): number {
    return this.alloc(n * 4);
  }
  mark(): number {
    return this.top;
  }
  reset(mark: number): void {
    this.top = mark;
  }
  f32view(ptr: number, n: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, ptr, n);
  }
  i32view(ptr: number, n: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, ptr, n);
  }
  i8view(ptr: number, n: number): Int8Array {
    return new Int8Array(this.kernels.memory.buffer, ptr, n);
  }
  u8view(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.kernels.memory.buffer, ptr, n);
  }
  // Copies `data` into a new region and returns its pointer.
  putF32(data: ArrayLike<number>): number {
    const ptr = this.f32(data.length);
    this.f32view(ptr, data.length).set(data);
    return ptr;
  }
  putI32(data: ArrayLike<number>): number {
    const ptr = this.i32(data.length);
    this.i32view(ptr, data.length).set(data);
    return ptr;
  }
}

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
