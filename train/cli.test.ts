// The `mt` command line end to end on a small corpus: tokenizer -> train -> kill/resume -> average ->
// translate, and one-line errors with a non-zero exit on bad input.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { microModelFiles } from '../model/testing.ts';

const CLI = new URL('./cli.ts', import.meta.url).pathname;

function mt(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'mt-cli-'));
const en = ['a man rides a horse .', 'two dogs play in the snow .', 'a woman reads a book .', 'children play football .'];
const de = ['ein Mann reitet ein Pferd .', 'zwei Hunde spielen im Schnee .', 'eine Frau liest ein Buch .', 'Kinder spielen Fußball .'];
const rep = <T,>(xs: T[], n: number) => Array.from({ length: n }, (_, i) => xs[i % xs.length]);

describe('mt CLI', () => {
  beforeAll(() => {
    writeFileSync(join(dir, 'train.en'), rep(en, 40).join('\n') + '\n');
    writeFileSync(join(dir, 'train.de'), rep(de, 40).join('\n') + '\n');
    writeFileSync(join(dir, 'short.de'), de.join('\n') + '\n');
    writeFileSync(join(dir, 'pairs.tsv'), en.map((e, i) => `${e}\t${de[i]}`).join('\n') + '\n');
    const r = mt(['tokenizer', '--out', join(dir, 'tok.json'), '--langs', 'en,de', '--vocab', '400', join(dir, 'train.en'), join(dir, 'train.de')]);
    expect(r.stderr).toMatch(/learned/);
    expect(r.code).toBe(0);
    expect(mt(['tokenizer', '--out', join(dir, 'tok-small.json'), '--langs', 'en,de', '--vocab', '300', join(dir, 'train.en'), join(dir, 'train.de')]).code).toBe(0);
  }, 120_000); // two tokenizers learned in child processes: slow on a loaded machine

  const train = (out: string, steps: number, extra: string[] = []) =>
    mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', out, '--pairs', 'en-de', '--src', join(dir, 'train.en'), '--tgt', join(dir, 'train.de'),
      '--preset', 'micro', '--steps', String(steps), '--batch-tokens', '120', '--warmup', '5', '--threads', '1', ...extra]);

  it('resumes from a checkpoint exactly where an uninterrupted run would be', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    expect(train(a, 8).code).toBe(0);
    expect(train(b, 4).code).toBe(0);
    const resumed = train(b, 8);
    expect(resumed.stderr).toMatch(/resumed from .* at step 4/);
    expect(resumed.code).toBe(0);
    const wa = readFileSync(join(a, 'model/weights.safetensors'));
    const wb = readFileSync(join(b, 'model/weights.safetensors'));
    expect(wa.equals(wb)).toBe(true);
    expect(readFileSync(join(a, 'curves.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('keeps a checkpoint\'s --oversample on resume and refuses another', () => {
    const run = join(dir, 'over');
    expect(train(run, 2, ['--oversample', 'en-de=2']).code).toBe(0);
    const again = train(run, 3); // without the flag: the checkpoint's data
    expect(again.stderr).toMatch(/resumed from .* at step 2\n.*on 80 pairs/);
    expect(again.code).toBe(0);
    const other = train(run, 4, ['--oversample', 'en-de=3']);
    expect(other.stderr).toMatch(/the checkpoint was trained with --oversample en-de=2, not en-de=3: a resumed run keeps its data/);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.code).toBe(1);
  });

  it('cools the learning rate down to 0 at --steps and oversamples a pair', () => {
    const run = join(dir, 'cool');
    const r = train(run, 20, ['--cooldown', '10', '--oversample', 'en-de=2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/on 80 pairs/); // 40 lines, each twice
    const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const last = rows.find((x) => x.step === 20);
    // micro: d_model 8, warmup 5 -> paper rate at step 20 = 8^-0.5 * 20^-0.5; cooldown leaves 1/10 of it
    expect(last.lr).toBeCloseTo(8 ** -0.5 * 20 ** -0.5 / 10, 9);
    const more = train(run, 30);
    expect(more.stderr).toMatch(/learning rate reaches 0 at step 20/);
    expect(more.code).toBe(1);
  });

  it('branches a cooldown off a checkpoint of a run that had none', () => {
    const run = join(dir, 'branch');
    expect(train(run, 10).code).toBe(0);
    const r = train(run, 20, ['--cooldown', '5']);
    expect(r.stderr).toMatch(/resumed from .* at step 10/);
    expect(r.code).toBe(0);
    const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.find((x) => x.step === 20).lr).toBeCloseTo(8 ** -0.5 * 20 ** -0.5 / 5, 9);
    const late = mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'branch'), '--pairs', 'en-de', '--src', join(dir, 'train.en'), '--tgt', join(dir, 'train.de'), '--steps', '15', '--cooldown', '5']);
    expect(late.stderr).toMatch(/--steps \(15\) must be past the checkpoint's step 20/);
    expect(late.code).toBe(1);
  });

  it('re-segments the corpus every epoch under --bpe-dropout, the same way after a resume', () => {
    const [a, b, plain] = ['bd-a', 'bd-b', 'bd-plain'].map((d) => join(dir, d));
    const ra = train(a, 14, ['--bpe-dropout', '0.2']); // ~6 batches an epoch: two epochs and a bit
    expect(ra.stderr).toMatch(/BPE-dropout 0.2/);
    expect(ra.code).toBe(0);
    expect(train(b, 9, ['--bpe-dropout', '0.2']).code).toBe(0); // stops inside the second epoch
    expect(train(b, 14).code).toBe(0); // the checkpoint keeps the dropout rate
    expect(train(plain, 14).code).toBe(0);
    const w = (d: string) => readFileSync(join(d, 'model/weights.safetensors'));
    expect(w(a).equals(w(b))).toBe(true);
    expect(w(a).equals(w(plain))).toBe(false);
  });

  it('drops attention weights under --attention-dropout (a training setting the checkpoint keeps)', () => {
    const [ad, plain] = ['ad', 'ad-plain'].map((d) => join(dir, d));
    const r = train(ad, 4, ['--attention-dropout', '0.5']);
    expect(r.stderr).toMatch(/attention dropout 0.5/);
    expect(r.code).toBe(0);
    expect(train(plain, 4).code).toBe(0);
    const w = (d: string) => readFileSync(join(d, 'model/weights.safetensors'));
    expect(w(ad).equals(w(plain))).toBe(false);
    const other = train(ad, 6, ['--attention-dropout', '0.1']);
    expect(other.stderr).toMatch(/trained with --attention-dropout 0.5, not 0.1/);
    expect(other.code).toBe(1);
  });

  it('runs each batch twice under --rdrop and logs the KL term (a training setting the checkpoint keeps)', () => {
    const [rd, plain] = ['rd', 'rd-plain'].map((d) => join(dir, d));
    const r = train(rd, 20, ['--rdrop', '5']); // metrics are written every 20 steps
    expect(r.stderr).toMatch(/R-Drop alpha 5/);
    expect(r.code).toBe(0);
    expect(train(plain, 20).code).toBe(0);
    const w = (d: string) => readFileSync(join(d, 'model/weights.safetensors'));
    expect(w(rd).equals(w(plain))).toBe(false);
    const rows = readFileSync(join(rd, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.kind === 'train');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((m) => m.kl > 0 && Number.isFinite(m.loss))).toBe(true);
    const other = train(rd, 22, ['--rdrop', '1']);
    expect(other.stderr).toMatch(/trained with --rdrop 5, not 1/);
    expect(other.code).toBe(1);
  });

  it('trains a shape other than the preset\'s (--layers 3,1 --d-ff 10) and keeps it on resume', () => {
    const run = join(dir, 'shape');
    const r = train(run, 3, ['--layers', '3,1', '--d-ff', '10']);
    expect(r.stderr).toMatch(/training 3\+1 layers, d_model 8, d_ff 10, 2 heads \(\d+ parameters\)/);
    expect(r.code).toBe(0);
    const config = JSON.parse(readFileSync(join(run, 'model/config.json'), 'utf8'));
    expect([config.encoderLayers, config.decoderLayers, config.dModel, config.dFF, config.heads]).toEqual([3, 1, 8, 10, 2]);
    const out = mt(['translate', '--from', 'en', '--to', 'de', '--model', join(run, 'model')], 'a man rides\n');
    expect(out.code).toBe(0);
    expect(out.stdout.split('\n')).toHaveLength(2);
    const resumed = train(run, 5, ['--layers', '3,1', '--d-ff', '10']); // the same command resumes
    expect(resumed.stderr).toMatch(/resumed from .* at step 3\n.*3\+1 layers/);
    expect(resumed.code).toBe(0);
    const other = train(run, 6, ['--layers', '2', '--d-ff', '10']);
    expect(other.stderr).toMatch(/the checkpoint has encoderLayers 3, not 2: a new shape needs a new --out/);
    expect(other.code).toBe(1);
    // The checkpoint's other settings are not silently replaced either.
    const shape = ['--layers', '3,1', '--d-ff', '10'];
    for (const [flags, message] of [
      [[...shape, '--pre-norm'], /the checkpoint has preNorm false, not true/],
      [['--preset', 'tiny'], /the checkpoint has dModel 8, not 128/],
      [['--layers', '3,1'], /the checkpoint has dFF 10, not 12/], // --preset micro without the run's --d-ff 10
      [[...shape, '--lr-scale', '2'], /the checkpoint was trained with --lr-scale 1, not 2: a resumed run keeps its settings/],
      [[...shape, '--dropout', '0.3'], /trained with --dropout 0.1, not 0.3/],
      [[...shape, '--bpe-dropout', '0.1'], /trained with --bpe-dropout 0, not 0.1/],
      [[...shape, '--rdrop', '5'], /trained with --rdrop 0, not 5/],
      [[...shape, '--seed', '7'], /trained with --seed 1, not 7/],
      [[...shape, '--oversample', 'en-de=2'], /trained with --oversample none, not en-de=2/],
      [[...shape, '--name', 'other'], /the checkpoint's model is named multi30k, not other: a resumed run keeps its name/],
      [[...shape, '--pairs', 'de-en'], /the checkpoint was trained on --pairs en-de, not de-en: a resumed run keeps its pairs/],
    ] as Array<[string[], RegExp]>) {
      const r = train(run, 6, flags);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(1);
    }
    expect(train(run, 6, [...shape, '--dropout', '0.1', '--seed', '1', '--name', 'multi30k']).code).toBe(0); // the same values are fine
  });

  it('--init starts a new run from a model folder (f32 or int8), its shape and tokenizer, with a fresh schedule', () => {
    const src = join(dir, 'init-src');
    const shape = ['--layers', '3,1', '--d-ff', '10'];
    expect(train(src, 4, shape).code).toBe(0);
    const corpus = ['--pairs', 'en-de', '--src', join(dir, 'train.en'), '--tgt', join(dir, 'train.de'), '--batch-tokens', '120', '--warmup', '5', '--threads', '1'];
    // No --tokenizer, no shape flags: both come from the model; at --steps 0 the exported weights are the model's.
    const same = join(dir, 'init-same');
    const r = mt(['train', '--init', join(src, 'model'), '--out', same, '--steps', '0', ...corpus]);
    expect(r.stderr).toMatch(/starting from the weights of .*init-src\/model\n.*3\+1 layers, d_model 8, d_ff 10/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(same, 'model/weights.safetensors')).equals(readFileSync(join(src, 'model/weights.safetensors')))).toBe(true);
    // It trains on from there, and its weights move.
    const on = join(dir, 'init-on');
    expect(mt(['train', '--init', join(src, 'model'), '--out', on, '--steps', '2', '--save-minutes', '0', ...corpus]).code).toBe(0);
    expect(readFileSync(join(on, 'model/weights.safetensors')).equals(readFileSync(join(src, 'model/weights.safetensors')))).toBe(false);
    // The same command again resumes the new run's checkpoint (the model folder no longer matters).
    const again = mt(['train', '--init', join(src, 'model'), '--out', on, '--steps', '3', ...corpus]);
    expect(again.stderr).toMatch(/warning: resuming from the checkpoint in .*; --init .* applies only to a new run\nresumed from .* at step 2/);
    expect(again.code).toBe(0);
    // An int8 model is dequantized.
    const q8 = join(dir, 'init-q8');
    expect(mt(['quantize', join(src, 'model'), '--out', q8]).code).toBe(0);
    const fromQ8 = mt(['train', '--init', q8, '--out', join(dir, 'init-from-q8'), '--steps', '1', ...corpus]);
    expect(fromQ8.stderr).toMatch(/starting from the weights of .*init-q8/);
    expect(fromQ8.code).toBe(0);
    // What cannot work is refused in one line.
    for (const [args, message] of [
      [['--init', join(src, 'model'), '--layers', '2'], /the --init model has encoderLayers 3, not 2: its weights fix the shape/],
      [['--init', join(dir, 'nowhere')], /not a model folder: .*nowhere\/.* is missing/],
      [['--init', join(src, 'model'), '--tokenizer', join(dir, 'tok-small.json')], /--init .* has a \d+-token vocabulary, the tokenizer \d+: give the model's own tokenizer/],
    ] as Array<[string[], RegExp]>) {
      const bad = mt(['train', ...args, '--out', join(dir, 'init-bad'), '--steps', '1', ...corpus]);
      expect(bad.stderr).toMatch(message);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.code).toBe(1);
    }
  });

  it('averages checkpoints and translates stdin line by line (empty line -> empty line)', () => {
    const run = join(dir, 'avg');
    expect(train(run, 6, ['--save-minutes', '0']).code).toBe(0);
    const avg = mt(['average', run, '--last', '3']);
    expect(avg.stderr).toMatch(/averaged 3 checkpoints/);
    const out = mt(['translate', '--from', 'en', '--to', 'de', '--model', join(run, 'model'), '--beam', '2'], 'a man rides\n\ntwo dogs\n');
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines.length).toBe(4); // three translations + the final newline
    expect(lines[1]).toBe('');
  });

  it('resumes from the newest checkpoint that verifies, drops metrics rows past it, and refuses when none does', () => {
    const run = join(dir, 'flip');
    expect(train(run, 4, ['--save-minutes', '0']).code).toBe(0);
    const last = join(run, 'ckpt-0000004.safetensors');
    const bytes = readFileSync(last);
    bytes[bytes.length - 10] ^= 0x10; // one flipped bit in the tensor data
    writeFileSync(last, bytes);
    // As a run killed after logging step 4 leaves it; the resumed run logs steps after 3 again.
    writeFileSync(join(run, 'metrics.jsonl'), [{ kind: 'train', step: 2, loss: 2 }, { kind: 'train', step: 4, loss: 1 }].map((r) => JSON.stringify(r) + '\n').join(''));
    const r = train(run, 5);
    expect(r.stderr).toMatch(/warning: skipped corrupt checkpoint .*ckpt-0000004.safetensors: its bytes do not match the checksum written with it: resuming from .*ckpt-0000003/);
    expect(r.stderr).toMatch(/resumed from .*ckpt-0000003.safetensors at step 3/);
    expect(r.code).toBe(0);
    expect(readFileSync(join(run, 'metrics.jsonl'), 'utf8')).toBe(JSON.stringify({ kind: 'train', step: 2, loss: 2 }) + '\n');
    for (const f of readdirSync(run).filter((f) => f.startsWith('ckpt-'))) {
      const b = readFileSync(join(run, f));
      b[b.length - 20] ^= 0x01;
      writeFileSync(join(run, f), b);
    }
    const none = train(run, 6);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/^mt train: no checkpoint in .* verifies/);
    expect(none.code).toBe(1);
  });

  it('refuses corpora that are not what their names say, naming the file', () => {
    writeFileSync(join(dir, 'fake.en.gz'), 'plain text, not gzip\n');
    const gz = train(join(dir, 'gz'), 1).stderr; // baseline flags, then the bad file:
    expect(gz).not.toMatch(/not gzip/);
    const bad = mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'gz2'), '--pairs', 'en-de', '--src', join(dir, 'fake.en.gz'), '--tgt', join(dir, 'train.de'), '--preset', 'micro', '--steps', '1']);
    expect(bad.stderr.trim()).toMatch(/^mt train: .*fake.en.gz: not gzip/);
    expect(bad.code).toBe(1);
    writeFileSync(join(dir, 'latin1.en'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    const enc = mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'enc'), '--pairs', 'en-de', '--src', join(dir, 'latin1.en'), '--tgt', join(dir, 'short.de'), '--preset', 'micro', '--steps', '1']);
    expect(enc.stderr.trim()).toMatch(/^mt train: .*latin1.en: not UTF-8 text$/);
    expect(enc.code).toBe(1);
  });

  it('--from auto detects each line\'s language and keeps the lines in order (the bundled model)', () => {
    const out = mt(['translate', '--from', 'auto', '--to', 'en', '--beam', '1'], 'Ein Hund läuft.\n\nZwei Männer spielen Fußball.\n');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/dog/i);
    expect(lines[1]).toBe('');
    expect(lines[2]).toMatch(/soccer|football/i);
    const none = mt(['translate', '--from', 'auto', '--to', 'fr'], 'x\n');
    expect(none.stderr.trim()).toBe("mt translate: --from auto: nothing translates into 'fr'; supported directions: en-de, de-en");
    expect(none.code).toBe(1);
  });

  it.each([
    [['bogus'], /unknown command "bogus"/],
    [['train', '--nope'], /Unknown option '--nope'/],
    [['translate', '--from', 'en', '--to', 'de', '--model', '/nonexistent'], /not a model folder/],
    [['translate', '--from', 'en', '--to', 'de', '--alpha', 'x'], /--alpha must be a number >= 0, got "x"/],
    [['train', '--tokenizer', '/nonexistent.json', '--out', '/tmp/x', '--pairs', 'en-de'], /tokenizer not found/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--oversample', 'en-de'], /--oversample wants PAIR=K/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--oversample', 'de-en=2'], /de-en, which is not in --pairs/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--cooldown', '5'], /--cooldown needs --steps/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--bpe-dropout', '1'], /--bpe-dropout must be below 1/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--dropout', '1'], /--dropout must be below 1, got "1"/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--attention-dropout', '1.5'], /--attention-dropout must be below 1/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--bpe-dropout=-0.1'], /--bpe-dropout must be a number >= 0, got "-0.1"/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--rdrop=-1'], /--rdrop must be a number >= 0, got "-1"/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--rdrop', '5', '--dropout', '0'], /--rdrop needs dropout/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--threads', '2', '--hours', 'x'], /--hours must be a number/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--layers', '4,0'], /--layers wants N \(both stacks\) or ENCODER,DECODER/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--layers', '2,3,4'], /--layers wants N/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--d-model', '130'], /config.dModel \(130\) must be divisible by heads \(4\)/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--heads', '0'], /--heads must be an integer >= 1, got "0"/],
    [['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv'), '--steps', '-5'], /--steps must be a number >= 0, got "-5"/],
    [['train', '--tokenizer', join(dir, 'pairs.tsv'), '--out', join(dir, 'x'), '--pairs', 'en-de', '--tsv', join(dir, 'pairs.tsv')], /tokenizer .*pairs.tsv is not usable: /],
  ])('mt %j fails with one line', (args, msg) => {
    const r = mt(args as string[]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'x'))).toBe(false); // a refused mt train leaves no --out behind
  });

  it('refuses misaligned corpora, unknown languages and corrupt checkpoints', () => {
    const bad = mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'c'), '--pairs', 'en-de', '--src', join(dir, 'train.en'), '--tgt', join(dir, 'short.de'), '--preset', 'micro']);
    expect(bad.stderr).toMatch(/misaligned: .* has 40 lines, .* has 4/);
    expect(bad.code).toBe(1);
    const lang = mt(['train', '--tokenizer', join(dir, 'tok.json'), '--out', join(dir, 'c'), '--pairs', 'en-xx', '--tsv', join(dir, 'pairs.tsv'), '--preset', 'micro']);
    expect(lang.stderr).toMatch(/unknown language "xx"/);
    expect(lang.code).toBe(1);
    const run = join(dir, 'corrupt');
    expect(train(run, 2).code).toBe(0);
    const latest = JSON.parse(readFileSync(join(run, 'latest.json'), 'utf8')).checkpoint;
    writeFileSync(join(run, latest), 'garbage');
    const r = train(run, 4);
    expect(r.stderr).toMatch(/corrupt checkpoint/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.code).toBe(1);
  });
});

describe('mt translate', () => {
  it('says on stderr which line\'s translation stopped at the longest output the model may write', () => {
    const folder = (name: string, eosLogit: number) => {
      const files = microModelFiles(1, { maxLen: 12 }, eosLogit);
      const out = join(dir, name);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'config.json'), JSON.stringify(files.config));
      writeFileSync(join(out, 'tokenizer.json'), JSON.stringify(files.tokenizer));
      writeFileSync(join(out, 'weights.safetensors'), files.weights);
      return out;
    };
    const run = (model: string) => mt(['translate', '--from', 'en', '--to', 'de', '--model', model, '--beam', '1'], 'a man\n\ntwo dogs play\n');
    const cut = run(folder('never-ends', -100));
    expect(cut.code).toBe(0);
    expect(cut.stdout.split('\n')).toHaveLength(4); // every line still translated, as far as it went
    expect(cut.stderr.trim().split('\n')).toEqual([1, 3].map((n) => `mt translate: line ${n} (en-de): a sentence's translation stopped at the longest output the model may write; its end may be missing`));
    const ends = run(folder('ends', 100));
    expect([ends.code, ends.stderr]).toEqual([0, '']);
  });
});
