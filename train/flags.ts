// `mt` flags declared once: each command lists its flags as { type, default, bounds, help }, and from that
// list come the parser's options, the --help text, the typed values the command runs with, and the checks
// (one line naming the flag, exit 2), for the command line and a recipe's keys alike (mt train --config).
import { parseArgs } from 'node:util';
import { CliError } from './args.ts';

// A flag given wrongly (unknown, out of bounds, malformed, missing): the command never started; exit 2.
export class UsageError extends CliError {}

interface Common {
  help: string; // lines after the first are indented under it in --help
  arg?: string; // the value's name in --help: --steps N
}
export interface BooleanFlag extends Common {
  type: 'boolean'; // absent: false
}
export interface StringFlag extends Common {
  type: 'string';
  default?: string;
  choices?: readonly string[];
}
export interface NumberFlag extends Common {
  type: 'number' | 'integer';
  default?: number;
  min?: number; // inclusive bounds
  max?: number;
  below?: number; // exclusive upper bound (a rate below 1)
}
export type Flag = BooleanFlag | StringFlag | NumberFlag;
export type Flags = Record<string, Flag>;

type ValueOf<F extends Flag> = F extends BooleanFlag ? boolean : F extends NumberFlag ? number : F extends { choices: readonly (infer C)[] } ? C : string;
// A command's values: booleans and flags with a default always have one; the others are undefined when absent.
export type FlagValues<F extends Flags> = {
  -readonly [K in keyof F]: F[K] extends BooleanFlag ? boolean : F[K] extends { default: unknown } ? ValueOf<F[K]> : ValueOf<F[K]> | undefined;
};

// Keeps the literal types of a declaration (`type: 'boolean'`, `choices`), which FlagValues reads.
export function defineFlags<const F extends Flags>(flags: F): F {
  return flags;
}

export interface Parsed<F extends Flags> {
  values: FlagValues<F>;
  given: ReadonlySet<string>; // the flags set explicitly (a resumed run refuses those that differ)
}

// The command line: unknown flags, bad values and --help; undefined when --help was answered.
export function parseCommandLine<F extends Flags>(command: string, flags: F, argv: string[]): { parsed: Parsed<F>; positionals: string[] } | undefined {
  const options: NonNullable<Parameters<typeof parseArgs>[0]>['options'] = { help: { type: 'boolean', short: 'h' } };
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string' };
  let out;
  try {
    out = parseArgs({ args: joinNegativeValues(argv, flags), options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} (see mt ${command} --help)`);
  }
  const { help, ...raw } = out.values;
  if (help) return undefined;
  return { parsed: complete(flags, typed(flags, raw, (name) => `--${name}`)), positionals: out.positionals };
}

// Flag values from elsewhere, a recipe's JSON ({ "lr-scale": 2.25, "pre-norm": true }): each key must be one
// of the flags, and each value is checked as on the command line; `label` names a key in messages.
export function flagRecord<F extends Flags>(command: string, flags: F, raw: Record<string, unknown>, label: (name: string) => string): Partial<FlagValues<F>> {
  for (const name of Object.keys(raw)) if (!Object.hasOwn(flags, name)) throw new UsageError(`${label(name)} is not a flag of mt ${command}`);
  return typed(flags, raw, label).values;
}

// `below` (a recipe's values) under what the command line gave: the command line wins, and both count as given.
export function overlay<F extends Flags>(flags: F, below: Partial<FlagValues<F>>, top: Parsed<F>): Parsed<F> {
  const values: Record<string, unknown> = { ...below };
  for (const name of top.given) values[name] = top.values[name];
  return complete(flags, { values, given: new Set([...Object.keys(below), ...top.given]) });
}

// --help: the synopsis, one line per flag (its help, default and bounds), then the notes.
export function helpText(command: string, summary: string, usage: string, flags: Flags, notes = ''): string {
  const lines = [`mt ${command}: ${summary}`, '', usage.trim()];
  const left = (name: string, f: Flag) => `  --${name}${f.arg ? ` ${f.arg}` : ''}`;
  const width = Math.min(28, Math.max(...Object.entries(flags).map(([n, f]) => left(n, f).length), 0) + 2);
  for (const [name, f] of Object.entries(flags)) {
    const head = left(name, f);
    const [first, ...more] = `${f.help}${describe(f)}`.split('\n');
    lines.push(head.length + 2 <= width ? head.padEnd(width) + first : `${head}  ${first}`, ...more.map((l) => ' '.repeat(width) + l.trim()));
  }
  if (notes.trim()) lines.push(notes.replace(/^\n+|\s+$/g, ''));
  return lines.join('\n') + '\n';
}

// "(default 5; 1 to 8)": what the declaration says beyond the help text.
function describe(f: Flag): string {
  const parts: string[] = [];
  if (f.type !== 'boolean' && f.default !== undefined) parts.push(`default ${f.default}`);
  if (f.type === 'number' || f.type === 'integer') {
    const range = bounds(f);
    if (range) parts.push(range);
  }
  if (f.type === 'string' && f.choices) parts.push(f.choices.join(' | '));
  return parts.length ? ` (${parts.join('; ')})` : '';
}

function bounds(f: NumberFlag): string {
  if (f.min !== undefined && f.max !== undefined) return `from ${f.min} to ${f.max}`;
  const parts = [f.min !== undefined ? `>= ${f.min}` : '', f.max !== undefined ? `<= ${f.max}` : '', f.below !== undefined ? `< ${f.below}` : ''];
  return parts.filter(Boolean).join(', ');
}

// The given values, each converted to its flag's type and checked against its bounds.
function typed<F extends Flags>(flags: F, raw: Record<string, unknown>, label: (name: string) => string): { values: Partial<FlagValues<F>>; given: Set<string> } {
  const values: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(raw)) if (v !== undefined) values[name] = value(flags[name], v, label(name));
  return { values: values as Partial<FlagValues<F>>, given: new Set(Object.keys(values)) };
}

function value(f: Flag, raw: unknown, label: string): boolean | string | number {
  if (f.type === 'boolean') {
    if (typeof raw !== 'boolean') throw new UsageError(`${label} must be true or false, got ${JSON.stringify(raw)}`);
    return raw;
  }
  if (typeof raw !== 'string' && typeof raw !== 'number') throw new UsageError(`${label} must be a ${f.type === 'string' ? 'string' : 'number'}, got ${JSON.stringify(raw)}`);
  const text = String(raw);
  if (f.type === 'string') {
    if (f.choices && !f.choices.includes(text)) throw new UsageError(`${label} must be ${f.choices.slice(0, -1).join(', ')} or ${f.choices.at(-1)}, got "${text}"`);
    return text;
  }
  const n = text.trim() === '' ? NaN : Number(text);
  const integer = f.type === 'integer';
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || (f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
    const range = f.min !== undefined && f.max !== undefined ? ` from ${f.min} to ${f.max}` : f.min !== undefined ? ` >= ${f.min}` : f.max !== undefined ? ` <= ${f.max}` : '';
    throw new UsageError(`${label} must be ${integer ? 'an integer' : 'a number'}${range}, got "${text}"`);
  }
  if (f.below !== undefined && n >= f.below) throw new UsageError(`${label} must be below ${f.below}, got "${text}"`);
  return n;
}

// Defaults for what was not given; false for absent booleans.
function complete<F extends Flags>(flags: F, p: { values: Record<string, unknown>; given: ReadonlySet<string> }): Parsed<F> {
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(flags)) values[name] = p.values[name] ?? (f.type === 'boolean' ? false : f.default);
  return { values: values as FlagValues<F>, given: p.given };
}

// A flag that must be there (given, from a recipe, or by default): its value, else a usage error.
export function required<V, K extends keyof V & string>(values: V, name: K): NonNullable<V[K]> {
  const v = values[name];
  if (v === undefined || v === null) throw new UsageError(`--${name} is required`);
  return v as NonNullable<V[K]>;
}

// `--steps -5` would be read as a flag "-5" (parseArgs: "argument is ambiguous"); a value flag followed by
// a negative number takes it as its value, so the bounds check can name the problem.
function joinNegativeValues(argv: string[], flags: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i])?.[1];
    if (name && flags[name] && flags[name].type !== 'boolean' && /^-\d/.test(argv[i + 1] ?? '')) {
      out.push(`--${name}=${argv[i + 1]}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}
