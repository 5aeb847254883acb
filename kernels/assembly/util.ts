// Memory helpers the host needs around the kernels.

// First byte after the module's static data: the host arena starts here.
export function heap_base(): usize {
  return __heap_base;
}

// Which build this is, so the host and tests can tell the flavours apart (bit 0 SIMD, bit 1 relaxed, bit 2 threads).
export function features(): i32 {
  return (ASC_FEATURE_SIMD ? 1 : 0) | (ASC_FEATURE_RELAXED_SIMD ? 2 : 0) | (ASC_FEATURE_THREADS ? 4 : 0);
}

// out (N) = 0
export function zero_f32(out: usize, N: i32): void {
  memory.fill(out, 0, <usize>N << 2);
}

// out (N) = inp (N)
export function copy_f32(out: usize, inp: usize, N: i32): void {
  memory.copy(out, inp, <usize>N << 2);
}
