// `npm run bench:e2e`: translation end to end with the bundled model (models/multi30k): our engine (int8
// weights, wasm SIMD, one thread) against the model's KV-cached ONNX export (f32 encoder.onnx +
// decoder_model_merged.onnx, as `mt export --format onnx` writes them) in onnxruntime-web (wasm) and
// onnxruntime-node (native), each on one thread. Greedy and beam 4, short (test_2016_flickr captions) and
// long (four captions joined into one sentence) inputs, one sentence per call and 32 per call. The peers
// run the same search as our engine: model/search.ts's BeamSearch (greedy is beam 1) fed with their
// log-probabilities. Runs interleave (ours, web, node, ours,
// ...) and the median of ROUNDS is reported; outputs are compared (ours is int8, theirs f32: a few differ).
// Last line: one JSON object of ratios peer time / our time (> 1: we are faster), keys ending in
// _vs_ort_web and _vs_ort_node.
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadKernels } from '../../kernels/node.ts';
import { Arena } from '../../kernels/host.ts';
import { parse } from '../../model/safetensors.ts';
import { BeamSearch, paperRules } from '../../model/search.ts';
import type { DecoderState, InferenceModel } from '../../model/runtime.ts';
import { Tokenizer } from '../../model/tokenizer.ts';
import { createEngine, parseMeta } from '../../model/translator.ts';
import { DECODE_DEFAULTS } from '../../model/decode.ts';
import { dequantizeTensors } from '../../model/quant.ts';
import { readLines, splitFile } from '../data.ts';
import { readModelDir } from '../model-dir.ts';
import { decoderMergedGraph, encoderGraph } from '../onnx/export.ts';
import { defaultModelDir, multi30kDir } from '../paths.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const N = Number(process.env.BENCH_SENTENCES ?? 32); // sentences per measurement
type Ort = typeof ortNode;

const files = readModelDir(defaultModelDir());
const meta = parseMeta(files.config);
const tok = Tokenizer.fromJSON(files.tokenizer);
const kernels = loadKernels();
const engine = createEngine(files, kernels);
// The peers' buffers live in their own wasm memory: an Arena over the engine's kernels would write over it.
const peerKernels = loadKernels();
const weights = dequantizeTensors(meta, parse(files.weights).tensors, peerKernels);
const H = meta.heads;
const D = meta.dModel / H;
const V = meta.vocabSize;
const alpha = meta.alpha ?? 0.6;

const captions = readLines(splitFile(multi30kDir(), 'test_2016_flickr', 'en'));
const short = captions.slice(0, N);
const long = Array.from({ length: N }, (_, i) => captions.slice(N + 4 * i, N + 4 * i + 4).map((c) => c.replace(/\.\s*$/, '')).join(', and ') + '.');

// One ONNX Runtime (web or node): sessions and the two searches over them.
class Peer {
  readonly name: string;
  private ort: Ort;
  private enc!: ortNode.InferenceSession;
  private dec!: ortNode.InferenceSession;
  constructor(name: string, ort: Ort) {
    this.name = name;
    this.ort = ort;
  }
  async load(): Promise<this> {
    const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
    this.enc = await this.ort.InferenceSession.create(encoderGraph(meta, weights), opts);
    this.dec = await this.ort.InferenceSession.create(decoderMergedGraph(meta, weights), opts);
    return this;
  }

  // Sources as our engine feeds them: <2de> x1..xn </s>, padded with 0; one row per sentence (BeamSearch
  // widens it to the beam after the first step, as it does our decoder state).
  private async start(texts: string[]) {
    const { ort } = this;
    const srcs = texts.map((t) => [tok.langId('de'), ...tok.encode(t).slice(0, meta.maxLen - 2), tok.eosId]);
    const S = Math.max(...srcs.map((s) => s.length));
    const R = srcs.length;
    const ids = new BigInt64Array(R * S);
    const mask = new BigInt64Array(R * S);
    srcs.forEach((s, b) => s.forEach((x, j) => ((ids[b * S + j] = BigInt(x)), (mask[b * S + j] = 1n))));
    const out = await this.enc.run({ input_ids: new ort.Tensor('int64', ids, [R, S]), attention_mask: new ort.Tensor('int64', mask, [R, S]) });
    const mem = out.last_hidden_state.data as Float32Array;
    const C = meta.dModel;
    const past: Record<string, ortNode.Tensor> = {};
    for (let l = 0; l < meta.decoderLayers; l++) for (const side of ['decoder', 'encoder']) for (const kv of ['key', 'value']) past[`past_key_values.${l}.${side}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [R, H, 0, D]);
    const feeds = { encoder_hidden_states: new ort.Tensor('float32', mem, [R, S, C]), encoder_attention_mask: new ort.Tensor('int64', mask, [R, S]) };
    const maxSteps = srcs.map((s) => Math.min(s.length + DECODE_DEFAULTS.extraSteps, meta.maxLen - 1));
    return { R, S, past, feeds, maxSteps, t: 0 };
  }

  // One decoder step for every row: log-probabilities (R, V).
  private async step(st: Awaited<ReturnType<Peer['start']>>, tokens: Int32Array): Promise<Float32Array> {
    const { ort } = this;
    const out = await this.dec.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [st.R, 1]), ...st.feeds, ...st.past, use_cache_branch: new ort.Tensor('bool', [st.t > 0], [1]) });
    for (const k of Object.keys(st.past)) st.past[k] = out[k.replace('past_key_values.', 'present.')];
    st.t++;
    const logits = out.logits.data as Float32Array;
    for (let r = 0; r < st.R; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, row[v]);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(row[v] - m);
      const lse = m + Math.log(sum);
      for (let v = 0; v < V; v++) row[v] -= lse;
    }
    return logits;
  }

  // BeamSearch over this runtime: a model object whose stepTopK is served by the previous await.
  async beam(texts: string[], beam: number): Promise<string[]> {
    const st = await this.start(texts);
    const arena = new Arena(peerKernels);
    const mark = arena.mark();
    let pending: Float32Array | undefined;
    const self = this;
    const model = {
      config: meta,
      arena,
      stepTopK(_s: DecoderState, _tokens: Int32Array, K: number, idx: number, logp: number) {
        const lp = pending!;
        const I = arena.i32view(idx, st.R * K);
        const L = arena.f32view(logp, st.R * K);
        for (let r = 0; r < st.R; r++) {
          const row = lp.subarray(r * V, (r + 1) * V);
          const top: number[] = [];
          for (let v = 0; v < V; v++) {
            if (top.length === K && row[v] <= row[top[K - 1]]) continue;
            let i = Math.min(top.length, K - 1);
            top[i] = v;
            while (i > 0 && row[top[i - 1]] < row[v]) [top[i - 1], top[i]] = [top[i], top[i - 1]], i--;
          }
          for (let k = 0; k < K; k++) ((I[r * K + k] = top[k]), (L[r * K + k] = row[top[k]]));
        }
      },
      // Every per-row input gathered by parents (-1: any row), as our reorder does with the decoder state.
      reorder(state: DecoderState, parents: Int32Array, group: number) {
        const gather = <T extends ortNode.Tensor>(t: T): T => {
          const src = t.data as Float32Array | BigInt64Array;
          const row = src.length / st.R;
          const dst = new (src.constructor as Float32ArrayConstructor | BigInt64ArrayConstructor)(parents.length * row);
          parents.forEach((p, r) => dst.set(src.subarray(Math.max(p, 0) * row, (Math.max(p, 0) + 1) * row) as never, r * row));
          return new self.ort.Tensor(t.type as 'float32', dst as Float32Array, [parents.length, ...t.dims.slice(1)]) as unknown as T;
        };
        for (const k of Object.keys(st.past)) st.past[k] = gather(st.past[k]);
        st.feeds = { encoder_hidden_states: gather(st.feeds.encoder_hidden_states), encoder_attention_mask: gather(st.feeds.encoder_attention_mask) };
        Object.assign(state, { R: parents.length, Bs: parents.length / group, group });
        st.R = parents.length;
      },
    };
    const state = { R: st.R, Bs: texts.length, group: 1, S: st.S, t: 0 } as DecoderState;
    const search = new BeamSearch(model as unknown as InferenceModel, state, { beam, alpha, maxSteps: st.maxSteps, rules: paperRules(tok.specials) });
    while (!search.finishedAll) {
      pending = await this.step(st, search.rowTokens());
      state.t = st.t;
      search.step();
    }
    const out = search.results().map((h) => tok.decode(h.tokens));
    arena.reset(mark);
    return out;
  }
}

async function ours(texts: string[], beam: number): Promise<string[]> {
  return (await engine.translate(texts, { source: 'en', target: 'de', beam, alpha })).map((r) => r.text);
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main() {
  ortWeb.env.wasm.numThreads = 1;
  const peers = [await new Peer('ort_web', ortWeb as unknown as Ort).load(), await new Peer('ort_node', ortNode).load()];
  const ratios: Record<string, number> = {};
  console.log(`bundled model ${meta.encoderLayers}+${meta.decoderLayers} layers, d_model ${meta.dModel}, vocab ${V}; ${N} sentences per measurement, median of ${ROUNDS}`);
  console.log('| case | ours ms/sentence | ort-web | ort-node | ours/web x | ours/node x | outputs equal web / node |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [inputName, texts] of [['short', short], ['long', long]] as const) {
    for (const beam of [1, 4]) {
      for (const batch of [1, 32]) {
        const chunks = Array.from({ length: Math.ceil(texts.length / batch) }, (_, i) => texts.slice(i * batch, (i + 1) * batch));
        const run = async (f: (c: string[]) => Promise<string[]>) => {
          const out: string[] = [];
          for (const c of chunks) out.push(...(await f(c)));
          return out;
        };
        const runners: Array<(c: string[]) => Promise<string[]>> = [
          (c) => ours(c, beam),
          ...peers.map((p) => (c: string[]) => p.beam(c, beam)),
        ];
        await run(runners[0]); // V8 tier-up of our kernels
        const times: number[][] = runners.map(() => []);
        const outputs: string[][] = [];
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < runners.length; i++) {
            const [ms, out] = await timed(() => run(runners[i]));
            times[i].push(ms / texts.length);
            outputs[i] = out;
          }
        }
        const [o, w, n] = times.map(median);
        const same = outputs.slice(1).map((out) => out.filter((t, i) => t === outputs[0][i]).length);
        const key = `${beam === 1 ? 'greedy' : `beam${beam}`}_${inputName}_b${batch}`;
        ratios[`${key}_vs_ort_web`] = +(w / o).toFixed(2);
        ratios[`${key}_vs_ort_node`] = +(n / o).toFixed(2);
        console.log(`| ${key} | ${o.toFixed(2)} | ${w.toFixed(2)} | ${n.toFixed(2)} | ${(w / o).toFixed(2)} | ${(n / o).toFixed(2)} | ${same[0]}/${texts.length} / ${same[1]}/${texts.length} |`);
      }
    }
  }
  console.log(JSON.stringify(ratios));
}

await main();
