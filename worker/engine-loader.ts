// Turns a verified set of model files into an Engine: the one place the worker meets the model runtime.
import type { Engine } from '../model/engine.ts';
import type { ModelFileName, VersionEntry } from '../registry/manifest.ts';
import { loadEngine } from '../model/translator.ts';
import { workerKernels } from './kernels.ts';

export interface ModelFiles {
  name: string;
  version: string;
  entry: VersionEntry; // created, bleu, file sizes and hashes, from the manifest
  files: Record<Exclude<ModelFileName, 'weights.safetensors'>, Uint8Array>; // raw bytes, size and sha256 already checked
  // weights.safetensors as it streams from R2, hashed on the way (model-store.ts verifiedWeights): the
  // engine is served only once the whole file matched the manifest.
  weights: AsyncIterable<Uint8Array>;
}

// INTEGRATION POINT with model/translator.ts: the weights go from the stream straight into wasm memory, and
// each engine gets fresh kernels (its own wasm memory), so a swapped-out model's memory goes away with it. The manifest, not config.json, names the version served.
export async function buildEngine(m: ModelFiles): Promise<Engine> {
  const text = new TextDecoder();
  const files = {
    config: text.decode(m.files['config.json']),
    tokenizer: text.decode(m.files['tokenizer.json']),
    weights: m.weights,
  };
  return loadEngine(files, workerKernels());
}
