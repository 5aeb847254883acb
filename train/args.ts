// Command-line plumbing shared by the `mt` subcommands: option parsing with --help, and errors that end
// the process with one line and a non-zero exit.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Tokenizer } from '../model/tokenizer.ts';

export class CliError extends Error {}

export interface Command {
  name: string;
  summary: string;
  usage: string; // full --help text after the first line
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, any>, positionals: string[]): Promise<void>;
}

export function parse(cmd: Command, argv: string[]): { values: Record<string, any>; positionals: string[] } | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv, cmd.options), options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`${(e as Error).message.split('\n')[0]} (see mt ${cmd.name} --help)`);
  }
  if (parsed.values.help) {
    process.stdout.write(`mt ${cmd.name}: ${cmd.summary}\n\n${cmd.usage.trim()}\n`);
    return undefined;
  }
  return parsed;
}

// `--steps -5` would be read as a flag "-5" (parseArgs: "argument is ambiguous"); a string option followed
// by a negative number takes it as its value, so the range check can name the problem.
function joinNegativeValues(argv: string[], options: Command['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i])?.[1];
    if (name && options[name]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) {
      out.push(`--${name}=${argv[i + 1]}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

// A tokenizer.json, with the file named in any error.
export function loadTokenizer(path: string): Tokenizer {
  if (!existsSync(path)) throw new CliError(`tokenizer not found: ${path} (make one with mt tokenizer)`);
  try {
    return Tokenizer.fromJSON(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`tokenizer ${path} is not usable: ${(e as Error).message.split('\n')[0]}`);
  }
}

export function num(values: Record<string, any>, key: string, def?: number, { min = -Infinity, integer = false } = {}): number {
  const raw = values[key];
  if (raw === undefined) {
    if (def === undefined) throw new CliError(`--${key} is required`);
    return def;
  }
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new CliError(`--${key} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got "${raw}"`);
  }
  return v;
}

// An optional numeric flag: undefined when absent, else checked as num() checks it.
export function optNum(values: Record<string, any>, key: string, limits: { min?: number; integer?: boolean } = {}): number | undefined {
  return values[key] === undefined ? undefined : num(values, key, undefined, limits);
}

export function str(values: Record<string, any>, key: string, def?: string): string {
  const v = values[key] ?? def;
  if (v === undefined) throw new CliError(`--${key} is required`);
  return String(v);
}
