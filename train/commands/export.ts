// `mt export`: the model for other tools. safetensors: f32 weights (dequantized if int8) + config.json +
// tokenizer.json; onnx: encoder.onnx + decoder.onnx + decoder_model_merged.onnx (opset 17, train/onnx/export.ts)
// beside them; hf: the folder transformers.js loads (train/onnx/hf.ts).
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadKernels } from '../../kernels/node.ts';
import { mapParts, partTensors } from '../../model/parts.ts';
import { dequantizeTensors } from '../../model/quant.ts';
import { parse, serialize } from '../../model/safetensors.ts';
import { CliError, command } from '../args.ts';
import { UsageError, required } from '../flags.ts';
import { writeAtomic, writeFolderAtomic } from '../checkpoint.ts';
import { readModelDir } from '../model-dir.ts';
import { decoderGraph, decoderMergedGraph, encoderGraph, OPSET } from '../onnx/export.ts';
import { hfFolder, hfUnsupported } from '../onnx/hf.ts';

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
    const weights = mapParts(model.meta.parts, tensors, (t) => dequantizeTensors(model.meta, t, kernels));
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
