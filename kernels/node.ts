// Node loader: compiles the wasm from the build folder (Node, unlike workerd, may compile at run time).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Flavor, type Kernels, bestFlavor, instantiate } from './host.ts';

const cache = new Map<Flavor, WebAssembly.Module>();

export function wasmPath(flavor: Flavor): string {
  return fileURLToPath(new URL(`./build/kernels.${flavor}.wasm`, import.meta.url));
}

export function compileKernels(flavor: Flavor): WebAssembly.Module {
  let mod = cache.get(flavor);
  if (!mod) {
    mod = new WebAssembly.Module(readFileSync(wasmPath(flavor)));
    cache.set(flavor, mod);
  }
  return mod;
}

export function loadKernels(flavor: Flavor = bestFlavor(), memory?: WebAssembly.Memory): Kernels {
  return instantiate(compileKernels(flavor), flavor, memory);
}
