import { describe, expect, it } from 'vitest';
import {
  ManifestError,
  currentEntry,
  describeVersion,
  emptyManifest,
  fileKey,
  manifestKey,
  parseManifest,
  parseManifestText,
  sha256Hex,
  totalSize,
  withCurrent,
  withVersion,
} from './manifest.ts';

const enc = new TextEncoder();
const files = (seed: string) => ({
  'config.json': enc.encode(`{"seed":"${seed}"}`),
  'tokenizer.json': enc.encode('{}'),
  'weights.safetensors': new Uint8Array([1, 2, 3, seed.length]),
});

describe('manifest', () => {
  it('hashes like the SHA-256 test vector', async () => {
    expect(await sha256Hex(enc.encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('round-trips a described version and keys the bucket layout', async () => {
    const v1 = await describeVersion('v1', files('a'), { created: '2026-01-01T00:00:00Z', bleu: { 'en-de': 30.5 } });
    const m = emptyManifest('multi30k', v1);
    expect(parseManifestText(JSON.stringify(m))).toEqual(m);
    expect(currentEntry(m).files['weights.safetensors'].size).toBe(4);
    expect(totalSize(v1)).toBe(files('a')['config.json'].byteLength + 2 + 4);
    expect(manifestKey('multi30k')).toBe('models/multi30k/manifest.json');
    expect(fileKey('multi30k', 'v1', 'tokenizer.json')).toBe('models/multi30k/v1/tokenizer.json');
  });

  it('adds versions immutably and moves current', async () => {
    const v1 = await describeVersion('v1', files('a'));
    const v2 = await describeVersion('v2', files('bb'));
    let m = withVersion(emptyManifest('m', v1), v2);
    expect(m.current).toBe('v1');
    m = withCurrent(m, 'v2');
    expect(currentEntry(m).version).toBe('v2');
    expect(withVersion(m, v2).history).toHaveLength(2); // same files: idempotent
    const v2other = await describeVersion('v2', files('cc'));
    expect(() => withVersion(m, v2other)).toThrow(/immutable/);
    expect(() => withCurrent(m, 'v9')).toThrow(/not in the history/);
  });

  it('rejects malformed manifests naming the field', async () => {
    const v1 = await describeVersion('v1', files('a'));
    const good = emptyManifest('m', v1);
    const bad = (patch: object) => () => parseManifest({ ...good, ...patch });
    expect(() => parseManifestText('{')).toThrow(ManifestError);
    expect(bad({ schema: 2 })).toThrow(/schema/);
    expect(bad({ current: 'v2' })).toThrow(/not in history/);
    expect(bad({ name: '../etc' })).toThrow(/manifest.name/);
    expect(bad({ history: [v1, v1] })).toThrow(/twice/);
    const badSha = { ...v1, files: { ...v1.files, 'config.json': { sha256: 'XYZ', size: 1 } } };
    expect(bad({ history: [badSha] })).toThrow(/history\[0\].files\["config.json"\].sha256/);
    const noFile = { ...v1, files: { 'config.json': v1.files['config.json'] } };
    expect(bad({ history: [noFile] })).toThrow(/tokenizer.json/);
    expect(bad({ history: [{ ...v1, created: 'yesterday' }] })).toThrow(/created/);
  });
});
