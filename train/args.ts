// Command-line plumbing shared by the `mt` subcommands: the command shape (its flags are declared in
// train/flags.ts terms), and errors that end the process with one line and a non-zero exit.
import { existsSync, readFileSync } from 'node:fs';
import { Tokenizer } from '../model/tokenizer.ts';
import type { FlagValues, Flags } from './flags.ts';

// A failure the user can act on: one line on stderr, exit 1 (UsageError, a flag given wrongly: exit 2).
export class CliError extends Error {}

export interface Command<F extends Flags = Flags> {
  name: string;
  summary: string;
  usage: string; // the synopsis lines of --help
  flags: F; // --help lists them in this order
  notes?: string; // --help text after the flags
  run(values: FlagValues<F>, positionals: string[], given: ReadonlySet<string>): Promise<void>;
}

// Declares a command (keeps its flags' literal types for its run's values).
export function command<const F extends Flags>(c: Command<F>): Command<F> {
  return c;
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
