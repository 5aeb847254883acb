import { describe, expect, it } from 'vitest';
import { Arena, relaxedSimdSupported } from './host.ts';
import { loadKernels } from './node.ts';
import { FLAVORS } from './testing.ts';

describe('host', () => {
  it('each flavour reports the features it was built with', () => {
    expect(loadKernels('scalar').k.features()).toBe(0);
    expect(loadKernels('simd').k.features()).toBe(1);
    expect(relaxedSimdSupported()).toBe(true); // npm scripts run Node 22, where relaxed SIMD is on
    expect(loadKernels('relaxed').k.features()).toBe(3);
    expect(loadKernels('threads-relaxed').k.features()).toBe(7);
  });

  it('arena aligns, grows memory and resets', () => {
    for (const f of FLAVORS) {
      const kernels = loadKernels(f);
      const arena = new Arena(kernels);
      const m = arena.mark();
      const a = arena.alloc(3, 64);
      const b = arena.f32(1 << 22); // 16 MiB: forces growth
      expect(a % 64).toBe(0);
      expect(b % 64).toBe(0);
      expect(b).toBeGreaterThanOrEqual(a + 3);
      arena.f32view(b, 4).set([1, 2, 3, 4]);
      const c = arena.f32(4);
      kernels.k.copy_f32(c, b, 4);
      expect(Array.from(arena.f32view(c, 4))).toEqual([1, 2, 3, 4]);
      kernels.k.zero_f32(b, 4);
      expect(Array.from(arena.f32view(b, 4))).toEqual([0, 0, 0, 0]);
      arena.reset(m);
      expect(arena.alloc(8)).toBe(a);
    }
  });
});
