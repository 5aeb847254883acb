// Flags declared once: the parser, the checks, --help and a recipe's keys all come from one declaration.
import { describe, expect, it } from 'vitest';
import { UsageError, defineFlags, flagRecord, helpText, overlay, parseCommandLine, required } from './flags.ts';

const FLAGS = defineFlags({
  steps: { type: 'number', arg: 'N', min: 0, help: 'stop after N steps' },
  beam: { type: 'integer', arg: 'N', min: 1, max: 8, default: 4, help: 'beam size' },
  dropout: { type: 'number', arg: 'P', min: 0, below: 1, default: 0.1, help: 'residual dropout\nmore text' },
  type: { type: 'string', choices: ['bpe', 'unigram'], default: 'bpe', help: 'model' },
  out: { type: 'string', arg: 'DIR', help: 'where' },
  fast: { type: 'boolean', help: 'go fast' },
});

const parse = (...argv: string[]) => parseCommandLine('x', FLAGS, argv)!;
const fails = (argv: string[]) => {
  try {
    parse(...argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(' ')} did not fail`);
};

describe('flags', () => {
  it('types the values, fills in the defaults and says which were given', () => {
    const { parsed, positionals } = parse('--steps', '12.5', 'a', '--beam=2', '--fast', 'b');
    expect(parsed.values).toEqual({ steps: 12.5, beam: 2, dropout: 0.1, type: 'bpe', out: undefined, fast: true });
    expect([...parsed.given].sort()).toEqual(['beam', 'fast', 'steps']);
    expect(positionals).toEqual(['a', 'b']);
    expect(parseCommandLine('x', FLAGS, ['--help'])).toBeUndefined();
  });

  it('checks each value against its declaration, one line naming the flag', () => {
    expect(fails(['--steps', '-5'])).toBe('--steps must be a number >= 0, got "-5"');
    expect(fails(['--steps', 'x'])).toBe('--steps must be a number >= 0, got "x"');
    expect(fails(['--steps='])).toBe('--steps must be a number >= 0, got ""');
    expect(fails(['--beam', '9'])).toBe('--beam must be an integer from 1 to 8, got "9"');
    expect(fails(['--beam', '1.5'])).toBe('--beam must be an integer from 1 to 8, got "1.5"');
    expect(fails(['--dropout', '1'])).toBe('--dropout must be below 1, got "1"');
    expect(fails(['--type', 'wordpiece'])).toBe('--type must be bpe or unigram, got "wordpiece"');
    expect(fails(['--nope'])).toMatch(/^Unknown option '--nope'.*\(see mt x --help\)$/);
    expect(() => required(parse().parsed.values, 'out')).toThrow('--out is required');
  });

  it('checks a recipe\'s keys by the same declarations and puts the command line over them', () => {
    const recipe = flagRecord('x', FLAGS, { steps: 100, dropout: 0.3, type: 'unigram' }, (k) => `r.json: "${k}"`);
    const { values, given } = overlay(FLAGS, recipe, parse('--steps', '5').parsed);
    expect(values).toMatchObject({ steps: 5, dropout: 0.3, type: 'unigram', beam: 4 });
    expect([...given].sort()).toEqual(['dropout', 'steps', 'type']);
    expect(() => flagRecord('x', FLAGS, { stepz: 1 }, (k) => `r.json: "${k}"`)).toThrow('r.json: "stepz" is not a flag of mt x');
    expect(() => flagRecord('x', FLAGS, { fast: 'yes' }, (k) => `r.json: "${k}"`)).toThrow('r.json: "fast" must be true or false, got "yes"');
    expect(() => flagRecord('x', FLAGS, { beam: 0 }, (k) => `r.json: "${k}"`)).toThrow('r.json: "beam" must be an integer from 1 to 8, got "0"');
  });

  it('writes --help from the declarations: help, default and bounds per flag', () => {
    expect(helpText('x', 'does x', 'mt x [--steps N]', FLAGS, 'a note')).toBe(
      [
        'mt x: does x',
        '',
        'mt x [--steps N]',
        '  --steps N    stop after N steps (>= 0)',
        '  --beam N     beam size (default 4; from 1 to 8)',
        '  --dropout P  residual dropout',
        '               more text (default 0.1; >= 0, < 1)',
        '  --type       model (default bpe; bpe | unigram)',
        '  --out DIR    where',
        '  --fast       go fast',
        'a note',
        '',
      ].join('\n'),
    );
  });
});
