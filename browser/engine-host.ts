// The engine side of the Web Worker, without the worker global so tests can drive it in Node: compiles the
// kernels (relaxed SIMD where the browser validates it, else baseline SIMD), builds the Engine, and answers
// translate messages with the hosts' one split-translate-join (model/texts.ts), token by token when
// streaming.
import { type Flavor, instantiate, relaxedSimdSupported } from '../kernels/host.ts';
import type { Engine } from '../model/engine.ts';
import { createEngine } from '../model/translator.ts';
import { planTexts, streamPlans, translateTexts } from '../model/texts.ts';
import type { FromEngine, ToEngine } from './protocol.ts';

export type Compile = (flavor: Flavor, wasmBase: string) => Promise<WebAssembly.Module>;

// Browsers may compile wasm at run time (workerd may not): fetch the flavour's file next to the others.
export const fetchAndCompile: Compile = async (flavor, wasmBase) => {
  const url = new URL(`kernels.${flavor}.wasm`, wasmBase);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load the kernels from ${url}: HTTP ${res.status}`);
  return WebAssembly.compile(await res.arrayBuffer());
};

export function engineHost(post: (m: FromEngine) => void, compile: Compile = fetchAndCompile): (m: ToEngine) => Promise<void> {
  let engine: Engine | null = null;
  return async (m) => {
    try {
      if (m.type === 'init') {
        const flavor: Flavor = relaxedSimdSupported() ? 'relaxed' : 'simd';
        const kernels = instantiate(await compile(flavor, m.wasmBase), flavor);
        engine = createEngine({ config: m.config, tokenizer: m.tokenizer, weights: new Uint8Array(m.weights) }, kernels);
        post({ type: 'ready', id: m.id, info: engine.info, flavor });
      } else {
        if (!engine) throw new Error('the model is not loaded yet');
        const results = m.stream
          ? await streamPlans(engine, planTexts(engine, m.texts, m.options), m.options, async (index, piece) => post({ type: 'token', id: m.id, index, piece }))
          : await translateTexts(engine, m.texts, m.options);
        post({ type: 'result', id: m.id, results });
      }
    } catch (e) {
      const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'engine_error';
      post({ type: 'error', id: m.id, code, message: e instanceof Error ? e.message : String(e) });
    }
  };
}
