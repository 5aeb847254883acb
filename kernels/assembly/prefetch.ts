// Software "prefetch" (wasm has no prefetch instruction): reading a region front to back first, one load per
// 64-byte line in a single sequential stream, brings it from L3/DRAM into L2 faster than the kernel's own
// access pattern would (the matmul tiles read 4 weight rows at once, attention reads a head's rows of a
// wide buffer), which the hardware prefetchers follow poorly.

// Weights larger than L2 (1 MiB per core here) come from L3 or DRAM on every call: touch each block first.
// (Measured on 2-16 MiB weights, M = 4..16: 1.2-1.8x faster from L3/DRAM, up to 15% slower if all in L2.)
export const STREAM_BYTES: u64 = 1 << 20;

// Loads one v128 per cache line of `rows` segments of `bytes` bytes, `stride` bytes apart. The loads must not
// be optimized away, so their OR decides a store, one that rewrites the value already there (harmless even
// if the branch is taken).
export function touch_rows(p: usize, rows: i32, stride: usize, bytes: usize): void {
  if (rows <= 0 || bytes < 16) return;
  let t = i32x4.splat(0);
  for (let r = 0; r < rows; r++, p += stride) {
    for (let o: usize = 0; o < bytes; o += 64) t = v128.or(t, v128.load(p + o));
    t = v128.or(t, v128.load(p + bytes - 16)); // the last line when the segment straddles one more
  }
  if (i32x4.extract_lane(t, 0) == 0x7fc00123) store<i32>(p - stride, load<i32>(p - stride));
}

// touch_rows of one segment [p, p + bytes)
@inline export function touch(p: usize, bytes: usize): void {
  touch_rows(p, 1, 0, bytes);
}
