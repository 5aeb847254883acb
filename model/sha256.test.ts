// The incremental SHA-256 against node:crypto: random inputs split at random chunk boundaries (empty chunks
// included), every length around the padding's edges (55/56/63/64 bytes and their multiples), and the
// standard test vectors.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './params.ts';
import { Sha256, hex } from './sha256.ts';

const reference = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function randomBytes(n: number, rand: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

// `bytes` cut at random points into chunks of 0..max bytes.
function split(bytes: Uint8Array, rand: () => number, max: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(Math.floor(rand() * (max + 1)), bytes.length - at);
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  chunks.splice(Math.floor(rand() * (chunks.length + 1)), 0, new Uint8Array(0));
  return chunks;
}

const hashChunks = (chunks: Uint8Array[]) => {
  const h = new Sha256();
  for (const c of chunks) h.update(c);
  return hex(h.digest());
};

describe('Sha256', () => {
  it('gives the FIPS 180-4 test vectors', () => {
    const enc = new TextEncoder();
    expect(hex(new Sha256().digest())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(new Sha256().update(enc.encode('abc')).digest())).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const two = enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    expect(hex(new Sha256().update(two).digest())).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  it('matches node:crypto on every length around the padding edges, whole and byte by byte', () => {
    const rand = mulberry32(7);
    const lengths = [0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 183, 184, 191, 192, 1000];
    for (const n of lengths) {
      const bytes = randomBytes(n, rand);
      const want = reference(bytes);
      expect(hashChunks([bytes]), `${n} bytes whole`).toBe(want);
      expect(hashChunks([...bytes].map((b) => Uint8Array.of(b))), `${n} bytes one by one`).toBe(want);
    }
  });

  it('matches node:crypto on random inputs cut at random chunk boundaries', () => {
    const rand = mulberry32(11);
    for (let trial = 0; trial < 200; trial++) {
      const n = trial < 100 ? Math.floor(rand() * 300) : Math.floor(rand() * 20_000);
      const bytes = randomBytes(n, rand);
      const max = [1, 7, 55, 56, 63, 64, 65, 200, 5000][trial % 9];
      const chunks = split(bytes, rand, max);
      expect(chunks.some((c) => c.length === 0)).toBe(true);
      expect(hashChunks(chunks), `trial ${trial}: ${n} bytes in ${chunks.length} chunks of <= ${max}`).toBe(reference(bytes));
    }
  });

  it('hashes views into a larger buffer by their own bytes', () => {
    const big = randomBytes(4096, mulberry32(3));
    const view = big.subarray(13, 13 + 3000);
    expect(hashChunks([view.subarray(0, 1000), view.subarray(1000)])).toBe(reference(view));
  });

  it('refuses bytes after the digest', () => {
    const h = new Sha256();
    h.digest();
    expect(() => h.update(new Uint8Array(1))).toThrow(/after digest/);
    expect(() => h.digest()).toThrow(/twice/);
  });
});
