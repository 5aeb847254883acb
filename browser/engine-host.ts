// The engine side of the Web Worker, without the worker global so tests can drive it in Node: compiles the
// kernels (relaxed SIMD where the browser validates it, else baseline SIMD), builds the Engine from the
// weights' body as it downloads (each chunk hashed and copied into wasm memory), and answers translate
// messages with the hosts' one split-translate-join (model/texts.ts), token by token when streaming.
import { type Flavor, type Kernels, instantiate, relaxedSimdSupported } from '../kernels/host.ts';
import type { Engine } from '../model/engine.ts';
import { loadEngine } from '../model/translator.ts';
import { planTexts, streamPlans, translateTexts } from '../model/texts.ts';
import { VerifiedBody } from '../model/verified-body.ts';
import { CORRUPT_DOWNLOAD, type FromEngine, type ToEngine, portStream, sha256Check } from './protocol.ts';

export type Compile = (flavor: Flavor, wasmBase: string) => Promise<WebAssembly.Module>;

// Browsers may compile wasm at run time (workerd may not): fetch the flavour's file next to the others.
export const fetchAndCompile: Compile = async (flavor, wasmBase) => {
  const url = new URL(`kernels.${flavor}.wasm`, wasmBase);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load the kernels from ${url}: HTTP ${res.status}`);
  return WebAssembly.compile(await res.arrayBuffer());
};

export function engineHost(post: (m: FromEngine) => void, compile: Compile = fetchAndCompile): (m: ToEngine) => Promise<void> {
  let engine: Engine | null = null; // set only once its weights passed the check
  return async (m) => {
    try {
      if (m.type === 'init') {
        const flavor: Flavor = relaxedSimdSupported() ? 'relaxed' : 'simd';
        const weights = new VerifiedBody(m.weights instanceof ReadableStream ? m.weights : portStream(m.weights), sha256Check('weights.safetensors', m.sha256));
        const kernels = instantiate(await compile(flavor, m.wasmBase), flavor);
        engine = await loadVerified(m.config, m.tokenizer, weights, kernels);
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

// The engine, once every byte of its weights passed the check (VerifiedBody.chunks() ends only then). When the
// build fails first, the rest of the body is read and checked all the same, so that a cut or changed file is
// reported as corrupt_download rather than as the parse error it caused (a build that failed on config.json,
// before any weight, does not wait for them). A failed build leaves nothing in use: its arena goes with
// `kernels`, and the page terminates this worker.
async function loadVerified(config: string, tokenizer: string, weights: VerifiedBody, kernels: Kernels): Promise<Engine> {
  try {
    return await loadEngine({ config, tokenizer, weights: weights.chunks() }, kernels);
  } catch (e) {
    if (!weights.started) throw e;
    await weights.verify().catch((v: unknown) => {
      if ((v as { code?: unknown }).code === CORRUPT_DOWNLOAD) throw v;
      const why = v instanceof Error ? v.message : String(v);
      throw Object.assign(new Error(`weights.safetensors: the download broke off after ${weights.size} bytes (${why})`), { code: CORRUPT_DOWNLOAD });
    });
    throw e;
  }
}
