// `mt`: the trainer's command line. Every failure ends with one line on stderr and a non-zero exit: 2 for a
// command or flag given wrongly (nothing ran), 1 for what went wrong after.
import { CliError, type Command } from './args.ts';
import { UsageError, helpText, parseCommandLine } from './flags.ts';
import { averageCommand } from './commands/average.ts';
import { combineCommand } from './commands/combine.ts';
import { evalCommand } from './commands/eval.ts';
import { exportCommand } from './commands/export.ts';
import { importCommand } from './commands/import.ts';
import { quantizeCommand } from './commands/quantize.ts';
import { catalogCommand, deployCommand, modelsCommand, pushCommand, rollbackCommand } from './commands/registry.ts';
import { langidCommand } from './commands/langid.ts';
import { tokenizerCommand } from './commands/tokenizer.ts';
import { trainCommand } from './commands/train.ts';
import { translateCommand } from './commands/translate.ts';

const COMMANDS: Command[] = [
  tokenizerCommand, trainCommand, averageCommand, evalCommand, translateCommand,
  quantizeCommand, combineCommand, langidCommand, exportCommand, importCommand, pushCommand, deployCommand, rollbackCommand, modelsCommand, catalogCommand,
];

function help(): string {
  return `mt: train, evaluate and run Transformer translation models

usage: mt <command> [options]   (mt <command> --help for its options)

${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}
`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name ? 0 : 1;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`mt: unknown command "${name}" (see mt --help)\n`);
    return 2;
  }
  try {
    const cli = parseCommandLine(cmd.name, cmd.flags, rest);
    if (!cli) process.stdout.write(helpText(cmd.name, cmd.summary, cmd.usage, cmd.flags, cmd.notes));
    else await cmd.run(cli.parsed.values, cli.positionals, cli.parsed.given);
    return 0;
  } catch (e) {
    const msg = e instanceof CliError ? e.message : `${(e as Error).message ?? e}`;
    process.stderr.write(`mt ${name}: ${msg.split('\n')[0]}\n`);
    if (!(e instanceof CliError) && process.env.MT_DEBUG) console.error(e);
    return e instanceof UsageError ? 2 : 1;
  }
}
