// A model folder may hold several weight sets ("parts") of one shape and one tokenizer, each serving its own
// directions: one model per direction, as Bergamot ships, behind one name, one version and one set of files.
// config.json lists them; part i's tensors are stored in weights.safetensors under `<prefix><tensor name>`:
//   "directions": [["en","de"],["de","en"]],
//   "parts": [{"prefix":"en-de/","directions":[["en","de"]],"alpha":1.5}, {"prefix":"de-en/",...}]
// Without "parts" the tensors carry no prefix and every direction uses them (one multilingual model).
import type { Tensor } from './safetensors.ts';

export interface PartSpec {
  prefix: string; // e.g. 'en-de/'
  directions: Array<[string, string]>;
  alpha?: number; // length penalty tuned for this part; else the model's
}

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}\/$/;
const key = ([s, t]: [string, string]) => `${s}-${t}`;

export function isNonNegative(a: unknown): a is number {
  return typeof a === 'number' && a >= 0 && Number.isFinite(a);
}

// Validates config.parts against config.directions: every direction served by exactly one part.
export function checkParts(parts: unknown, directions: Array<[string, string]>): PartSpec[] | undefined {
  if (parts === undefined) return undefined;
  if (!Array.isArray(parts) || parts.length < 1) throw new Error('config.parts must be a non-empty array');
  const all = new Set(directions.map(key));
  const served = new Map<string, string>();
  const prefixes = new Set<string>();
  parts.forEach((p: PartSpec, i) => {
    if (typeof p?.prefix !== 'string' || !PREFIX.test(p.prefix)) throw new Error(`config.parts[${i}].prefix must look like "en-de/"`);
    if (prefixes.has(p.prefix)) throw new Error(`config.parts[${i}].prefix "${p.prefix}" is used twice`);
    prefixes.add(p.prefix);
    if (!Array.isArray(p.directions) || !p.directions.length) throw new Error(`config.parts[${i}].directions must list [source, target] pairs`);
    for (const d of p.directions) {
      if (!all.has(key(d))) throw new Error(`config.parts[${i}] serves ${key(d)}, which config.directions does not list`);
      if (served.has(key(d))) throw new Error(`direction ${key(d)} is served by two parts (${served.get(key(d))}, ${p.prefix})`);
      served.set(key(d), p.prefix);
    }
    if (p.alpha !== undefined && !isNonNegative(p.alpha)) throw new Error(`config.parts[${i}].alpha must be a number >= 0`);
  });
  const missing = [...all].filter((d) => !served.has(d));
  if (missing.length) throw new Error(`no part serves ${missing.join(', ')}`);
  return parts as PartSpec[];
}

// The tensors of one part, names without the prefix (views, no copy).
export function partTensors(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), t);
  return out;
}

// Applies fn to each part's tensors (or to all of them when the model has no parts) and joins the results
// back under the same prefixes: how quantize and export treat a multi-part model.
export function mapParts(parts: PartSpec[] | undefined, tensors: Map<string, Tensor>, fn: (t: Map<string, Tensor>) => Map<string, Tensor>): Map<string, Tensor> {
  if (!parts) return fn(tensors);
  const out = new Map<string, Tensor>();
  for (const p of parts) for (const [name, t] of fn(partTensors(tensors, p.prefix))) out.set(p.prefix + name, t);
  return out;
}
