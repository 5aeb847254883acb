// A body verified as it streams: chunks pass unchanged, the check sees the size and sha256 of every byte
// before the consumer sees the end, a consumer that stops early leaves the rest to verify(), and read errors
// surface as they are.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './params.ts';
import { VerifiedBody } from './verified-body.ts';

const rand = mulberry32(5);
const bytes = Uint8Array.from({ length: 10_000 }, () => Math.floor(rand() * 256));
const sha = createHash('sha256').update(bytes).digest('hex');

// `bytes` in chunks of `size`, failing after `failAt` bytes when given.
function body(size: number, failAt = Infinity): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= Math.min(bytes.length, failAt)) return at < bytes.length ? c.error(new Error('connection lost')) : c.close();
      c.enqueue(bytes.slice(at, (at = Math.min(at + size, bytes.length, failAt))));
    },
  });
}

describe('VerifiedBody', () => {
  it('passes the chunks through and checks size and sha256 before the end', async () => {
    const seen: Array<[number, string]> = [];
    const b = new VerifiedBody(body(999), (size, sha256) => void seen.push([size, sha256]));
    const out: number[] = [];
    for await (const c of b.chunks()) {
      expect(seen).toEqual([]); // not before the last chunk
      out.push(...c);
    }
    expect(Uint8Array.from(out)).toEqual(bytes);
    expect(seen).toEqual([[bytes.length, sha]]);
    await b.verify(); // once: later calls share the outcome
    expect(seen).toHaveLength(1);
  });

  it('fails the end of the stream when the check refuses the bytes', async () => {
    const b = new VerifiedBody(body(4096), () => {
      throw new Error('refused');
    });
    const chunks: number[] = [];
    await expect((async () => {
      for await (const c of b.chunks()) chunks.push(c.length);
    })()).rejects.toThrow('refused');
    expect(chunks).toEqual([4096, 4096, 1808]);
    await expect(b.verify()).rejects.toThrow('refused');
  });

  it('verify() reads and hashes what a consumer that stopped early left', async () => {
    let got: [number, string] | null = null;
    const b = new VerifiedBody(body(1000), (size, sha256) => (got = [size, sha256]));
    for await (const _ of b.chunks()) break;
    expect(got).toBe(null);
    await b.verify();
    expect(got).toEqual([bytes.length, sha]);
  });

  it('surfaces a read error as it is, with the bytes read before it', async () => {
    const b = new VerifiedBody(body(1000, 2500), () => undefined);
    await expect(b.verify()).rejects.toThrow('connection lost');
    expect(b.size).toBe(2500);
  });
});
