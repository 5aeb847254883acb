// The kernel library in workerd: both SIMD builds are bundled as compiled modules; the relaxed one is used
// where the runtime validates relaxed SIMD. Each engine gets its own instance (and memory), so a swapped-out
// model's memory is freed with it.
import { type Kernels, instantiate, relaxedSimdSupported } from '../kernels/host.ts';
import relaxedWasm from '../kernels/build/kernels.relaxed.wasm';
import simdWasm from '../kernels/build/kernels.simd.wasm';

export function workerKernels(): Kernels {
  return relaxedSimdSupported() ? instantiate(relaxedWasm, 'relaxed') : instantiate(simdWasm, 'simd');
}
