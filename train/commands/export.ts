// `mt export`: the model for other tools. safetensors: f32 weights (dequantized if int8) + config.json +
// tokenizer.json; onnx: encoder.onnx + decoder.onnx + decoder_model_merged.onnx (opset 17, train/onnx/export.ts)
// beside them; hf: the folder transformers.js loads (train/onnx/hf.ts).
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Kernels } from '../../kernels/host.ts';
import { Arena } from '../../kernels/host.ts';
import { loadKernels } from '../../kernels/node.ts';
import type { ModelConfig } from '../../model/config.ts';
import { paramLayout } from '../../model/params.ts';
import { mapParts, partTensors } from '../../model/parts.ts';
import { SCALE_SUFFIX } from '../../model/quant.ts';
import { asF32, parse, serialize, type Tensor } from '../../model/safetensors.ts';
import { CliError, command } from '../args.ts';
import { UsageError, required } from '../flags.ts';
import { writeAtomic, writeFolderAtomic } from '../checkpoint.ts';
import { readModelDir } from '../model-dir.ts';
import { decoderGraph, decoderMergedGraph, encoderGraph, OPSET } from '../onnx/export.ts';
import { hfFolder, hfUnsupported } from '../onnx/hf.ts';

// Every layout tensor as F32, in layout order: int8 weights are dequantized as the runtime does (q * scale).
export function f32Weights(config: ModelConfig, tensors: Map<string, Tensor>, kernels: Kernels): Map<string, Tensor> {
  const arena = new Arena(kernels);
  const out = new Map<string, Tensor>();
  for (const t of paramLayout(config).tensors) {
    const src = tensors.get(t.name);
    if (!src) throw new CliError(`weights are missing tensor ${t.name}`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new CliError(`tensor ${t.name}: shape ${src.shape}, expected ${t.shape}`);
    if (src.dtype === 'F32') {
      out.set(t.name, { dtype: 'F32', shape: t.shape, data: new Uint8Array(asF32(src).slice().buffer) });
      continue;
    }
    const sc = tensors.get(t.name + SCALE_SUFFIX);
    if (src.dtype !== 'I8' || !sc) throw new CliError(`tensor ${t.name}: ${src.dtype} without ${t.name + SCALE_SUFFIX} cannot be read`);
    const [N, K] = t.shape;
    const mark = arena.mark();
    const q = arena.alloc(N * K);
    arena.u8view(q, N * K).set(src.data);
    const w = arena.f32(N * K);
    kernels.k.dequantize_rows_q8(w, q, arena.putF32(asF32(sc)), N, K);
    out.set(t.name, { dtype: 'F32', shape: t.shape, data: arena.u8view(w, N * K * 4).slice() });
    arena.reset(mark);
  }
  return out;
}

export const exportCommand = command({
  name: 'export',
  summary: 'export a model for other tools: f32 safetensors, ONNX graphs, or a folder transformers.js loads',
  usage: 'mt export <model-dir> --format safetensors|onnx|hf --out DIR',
  flags: {
    format: { type: 'string', arg: 'F', choices: ['safetensors', 'onnx', 'hf'], help: 'what to write (below)' },
    out: { type: 'string', arg: 'DIR', help: 'the folder to write, another than the model\'s' },
  },
  notes: `
  safetensors  DIR/weights.safetensors (f32, dequantized if the model is int8), config.json, tokenizer.json
  onnx         DIR/encoder.onnx: input_ids, attention_mask (batch, src_len) int64 -> last_hidden_state
               DIR/decoder.onnx: input_ids (batch, tgt_len) int64, encoder_hidden_states, encoder_attention_mask
                                 -> logits (batch, tgt_len, vocab), the whole prefix each call
               DIR/decoder_model_merged.onnx: the decoder with a KV cache, named as HF optimum exports
                                 (past_key_values.N.decoder|encoder.key|value, use_cache_branch -> logits,
                                 present.N.*): one token a call, cross-attention keys/values computed once
               plus config.json, tokenizer.json (opset ${OPSET}); a model combined per direction (mt combine)
               gets its graphs per part, in DIR/en-de/ etc.
  hf           a Hugging Face ONNX model folder that transformers.js loads offline as a MarianMTModel
               (pipeline('translation', DIR), the source text starting with its target tag: '<2de> A man.'):
               config.json, generation_config.json (greedy), tokenizer.json (+ </s>), tokenizer_config.json,
               onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx (KV cache, as above) and their
               int8 variants onnx/*_quantized.onnx (dtype 'q8': int8 weights, dequantized in the graph).
               DIR must not exist (it is written whole or not at all). Not for a model combined per
               direction, a unigram tokenizer, nor yet an imported Marian model (their tokenizers).`,
  async run(v, positionals) {
    if (positionals.length !== 1) throw new UsageError('give one model folder (see mt export --help)');
    const [dir] = positionals;
    const out = required(v, 'out');
    const format = required(v, 'format');
    if (resolve(dir) === resolve(out)) throw new CliError('--out must be another folder than the input model');
    const model = readModelDir(dir);
    const kernels = loadKernels();
    const tensors = parse(model.weights).tensors;
    const weights = mapParts(model.meta.parts, tensors, (t) => f32Weights(model.meta, t, kernels));
    const { quantized: _, ...config } = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (format === 'hf') {
      const tokenizer = JSON.parse(model.tokenizer as string) as object;
      const why = hfUnsupported(model.meta, tokenizer);
      if (why) throw new CliError(`cannot export ${dir} for transformers.js: ${why}`);
      if (existsSync(out)) throw new CliError(`${out} already exists: remove it or choose another --out`);
      const files = hfFolder(model.meta, tokenizer, tensors, weights, kernels);
      writeFolderAtomic(out, [...files]);
      return report(out, [...files.keys()]);
    }
    mkdirSync(out, { recursive: true });
    const written: string[] = [];
    if (format === 'safetensors') {
      writeAtomic(join(out, 'weights.safetensors'), serialize(weights, { format: 'pt' }));
      written.push('weights.safetensors');
    } else {
      // A model combined per direction: one encoder + decoder pair per part, in DIR/<prefix> (e.g. DIR/en-de/).
      for (const prefix of model.meta.parts?.map((p) => p.prefix) ?? ['']) {
        const part = partTensors(weights, prefix);
        mkdirSync(join(out, prefix), { recursive: true });
        writeAtomic(join(out, prefix + 'encoder.onnx'), encoderGraph(model.meta, part));
        writeAtomic(join(out, prefix + 'decoder.onnx'), decoderGraph(model.meta, part));
        writeAtomic(join(out, prefix + 'decoder_model_merged.onnx'), decoderMergedGraph(model.meta, part));
        written.push(prefix + 'encoder.onnx', prefix + 'decoder.onnx', prefix + 'decoder_model_merged.onnx');
      }
    }
    writeAtomic(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    copyFileSync(join(dir, 'tokenizer.json'), join(out, 'tokenizer.json'));
    report(out, [...written, 'config.json', 'tokenizer.json']);
  },
});

function report(out: string, files: string[]): void {
  for (const f of files) console.log(`${join(out, f)}  ${(statSync(join(out, f)).size / 1e6).toFixed(2)} MB`);
}
