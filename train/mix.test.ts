// Weighted corpus mixes: recipe checks, per-epoch sampling by weight, the sentence filter, and `mt train
// --config` end to end on a tiny recipe (several corpora, both directions, resume on the same data).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Example } from './data.ts';
import { epochExamples, isSentencePair, mixPairs, parseRecipe, type EncodedPart } from './mix.ts';

const ex = (id: number): Example => ({ src: Int32Array.of(id), tgt: Int32Array.of(id) });
const part = (base: number, n: number, weight: number): EncodedPart => ({ weight, examples: Array.from({ length: n }, (_, i) => ex(base + i)) });

describe('recipes', () => {
  it('takes flags by name and corpora; names the first problem', () => {
    const r = parseRecipe({ 'lr-scale': 2, 'pre-norm': true, corpora: [{ pair: 'en-de', tsv: 'x.tsv', weight: 0.5 }], valid: [{ pair: 'en-fr', tsv: 'v.tsv' }] }, 'r.json');
    expect(r.flags).toEqual({ 'lr-scale': 2, 'pre-norm': true });
    expect(mixPairs([...r.corpora, ...r.valid])).toBe('en-de,de-en,en-fr,fr-en');
    expect(mixPairs([{ pair: 'en-cs', tsv: 'a', directions: 'forward' }])).toBe('en-cs');
    expect(() => parseRecipe({ corpora: [{ pair: 'en-de' }] }, 'r.json')).toThrow(/r.json: corpora\[0\]: give exactly one of "tsv"/);
    expect(() => parseRecipe({ corpora: [{ pair: 'en-de', tsv: 'a', weight: -1 }] }, 'r.json')).toThrow(/"weight" must be a positive number/);
    expect(() => parseRecipe({ corpora: [{ pair: 'english', tsv: 'a' }] }, 'r.json')).toThrow(/"pair" must be like "en-de"/);
    expect(() => parseRecipe([], 'r.json')).toThrow(/a recipe is a JSON object/);
    // Flags are checked by mt train's declarations, as on the command line.
    expect(() => parseRecipe({ layers: [6, 2] }, 'r.json')).toThrow(/r.json: "layers" must be a string, got \[6,2\]/);
    expect(() => parseRecipe({ 'lr-rate': 2 }, 'r.json')).toThrow(/r.json: "lr-rate" is not a flag of mt train/);
    expect(() => parseRecipe({ dropout: 1 }, 'r.json')).toThrow(/r.json: "dropout" must be below 1, got "1"/);
    expect(() => parseRecipe({ warmup: 'soon' }, 'r.json')).toThrow(/r.json: "warmup" must be an integer >= 1, got "soon"/);
    expect(() => parseRecipe({ 'pre-norm': 'yes' }, 'r.json')).toThrow(/r.json: "pre-norm" must be true or false/);
    expect(() => parseRecipe({ preset: 'huge' }, 'r.json')).toThrow(/r.json: "preset" must be base, tiny or micro, got "huge"/);
  });

  it('the bundled recipes pass the checks', () => {
    const dir = new URL('../recipes/', import.meta.url);
    const names = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(names.length).toBeGreaterThan(1);
    for (const f of names) expect(() => parseRecipe(JSON.parse(readFileSync(new URL(f, dir), 'utf8')), f), f).not.toThrow();
  });

  it('keeps the full sentences among dictionary phrases', () => {
    expect(isSentencePair('Thank you for your help.', 'Danke für deine Hilfe.')).toBe(true);
    expect(isSentencePair('He said "done."', 'Er sagte „fertig“.')).toBe(true); // a closing quote after the stop
    expect(isSentencePair('valve position sensors', 'Ventilpositionssensoren')).toBe(false);
    expect(isSentencePair('thank you.', 'danke.')).toBe(false);
  });
});

describe('epochExamples', () => {
  const parts = [part(0, 100, 2), part(1000, 200, 0.25), part(5000, 40, 1.5)];
  it('gives floor(w) copies and a frac(w) sample of each part', () => {
    const e = epochExamples(parts, 1, 0);
    expect(e.length).toBe(200 + 50 + 60);
    const of = (lo: number, hi: number) => e.filter((x) => x.src[0] >= lo && x.src[0] < hi);
    expect(of(0, 100)).toHaveLength(200);
    const sampled = of(1000, 1200).map((x) => x.src[0]);
    expect(new Set(sampled).size).toBe(50); // without replacement
    expect(of(5000, 5040)).toHaveLength(60);
    expect(new Set(of(5000, 5040).map((x) => x.src[0])).size).toBe(40);
  });
  it('is the same for the same (seed, epoch) and another sample for the next epoch', () => {
    const ids = (s: number, ep: number) => epochExamples(parts, s, ep).map((x) => x.src[0]).join(',');
    expect(ids(1, 3)).toBe(ids(1, 3));
    expect(ids(1, 3)).not.toBe(ids(1, 4));
    expect(ids(1, 3)).not.toBe(ids(2, 3));
  });
});

const CLI = new URL('./cli.ts', import.meta.url).pathname;
const mt = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stderr: r.stderr };
};

describe('mt train --config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-mix-'));
  const en = ['a man rides a horse .', 'two dogs play in the snow .', 'a woman reads a book .'];
  const de = ['ein Mann reitet ein Pferd .', 'zwei Hunde spielen im Schnee .', 'eine Frau liest ein Buch .'];
  const fr = ['un homme monte un cheval .', 'deux chiens jouent dans la neige .', 'une femme lit un livre .'];
  writeFileSync(join(dir, 'ende.tsv'), en.map((e, i) => `${e}\t${de[i]}`).join('\n') + '\n');
  writeFileSync(join(dir, 'enfr.tsv'), en.map((e, i) => `${e}\t${fr[i]}`).join('\n') + '\n');
  const recipe = {
    preset: 'micro', 'batch-tokens': 120, warmup: 5, threads: 1, name: 'mix',
    corpora: [{ pair: 'en-de', tsv: 'ende.tsv', weight: 2 }, { pair: 'en-fr', tsv: 'enfr.tsv', weight: 0.5, directions: 'forward' }],
    valid: [{ pair: 'en-de', tsv: 'ende.tsv' }],
  };
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(recipe));
  const tok = join(dir, 'tok.json');
  const train = (out: string, steps: number, extra: string[] = []) =>
    mt(['train', '--config', join(dir, 'recipe.json'), '--data-root', dir, '--tokenizer', tok, '--out', out, '--steps', String(steps), ...extra]);

  it('trains the weighted mix in the recipe\'s directions, resumes on it, and refuses corpus flags beside it', () => {
    expect(mt(['tokenizer', '--out', tok, '--langs', 'en,de,fr', '--vocab', '300', join(dir, 'ende.tsv'), join(dir, 'enfr.tsv')]).code).toBe(0);
    const out = join(dir, 'run');
    const r = train(out, 2);
    // One French caption is longer than micro's maxLen (32) in this 300-piece vocabulary: it is not kept.
    expect(r.stderr).toMatch(/ende.tsv en-de: 3 pairs x 2 = 46.2%/);
    expect(r.stderr).toMatch(/enfr.tsv en-fr: 2 pairs x 0.5 = 7.7%/);
    expect(r.stderr).not.toMatch(/fr-en/);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'model/config.json'), 'utf8')).directions).toEqual([['en', 'de'], ['de', 'en'], ['en', 'fr']]);
    const again = train(out, 4);
    expect(again.stderr).toMatch(/resumed from .* at step 2/);
    expect(again.code).toBe(0);
    const clash = train(join(dir, 'other'), 2, ['--pairs', 'en-de']);
    expect(clash.stderr.trim()).toBe('mt train: --pairs and a recipe\'s corpora do not go together: the recipe says what to train on');
    expect(clash.code).toBe(1);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...recipe, corpora: [{ pair: 'en-es', tsv: 'ende.tsv' }] }));
    const bad = mt(['train', '--config', join(dir, 'bad.json'), '--data-root', dir, '--tokenizer', tok, '--out', join(dir, 'bad')]);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/unknown language "es"/);
    expect(bad.code).toBe(1);
    const missing = mt(['train', '--config', join(dir, 'nope.json'), '--tokenizer', tok, '--out', join(dir, 'x')]);
    expect(missing.stderr.trim()).toMatch(/^mt train: recipe not found: .*nope.json$/);
    writeFileSync(join(dir, 'rate.json'), JSON.stringify({ ...recipe, 'label-smoothing': 1.5 }));
    const rate = mt(['train', '--config', join(dir, 'rate.json'), '--data-root', dir, '--tokenizer', tok, '--out', join(dir, 'rate')]);
    expect(rate.stderr.trim()).toMatch(/^mt train: .*rate.json: "label-smoothing" must be below 1, got "1.5"$/);
    expect(rate.code).toBe(2); // a flag given wrongly, as on the command line
  });

  it('skips training and valid pairs longer than the model\'s maxLen (micro: 32) instead of stopping', () => {
    const long = Array.from({ length: 7 }, () => 'a man rides a horse .').join(' ');
    writeFileSync(join(dir, 'long.tsv'), `${long}\t${long}\n` + en.map((e, i) => `${e}\t${de[i]}`).join('\n') + '\n');
    writeFileSync(join(dir, 'long.json'), JSON.stringify({ ...recipe, 'valid-every': 1, corpora: [{ pair: 'en-de', tsv: 'long.tsv', weight: 30 }], valid: [{ pair: 'en-de', tsv: 'long.tsv' }] }));
    const out = join(dir, 'long-run');
    const r = mt(['train', '--config', join(dir, 'long.json'), '--data-root', dir, '--tokenizer', tok, '--out', out, '--steps', '2']);
    expect(r.stderr).not.toMatch(/longer than maxLen/);
    expect(r.code).toBe(0);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.filter((m) => m.kind === 'valid')).toHaveLength(2);
  });
});
