// A download verified as it streams, so it never has to be whole in memory to be checked: chunks() hands the
// body's chunks to a consumer (the weights reader copies each into wasm memory) and hashes them on the way;
// after the last one, `check(size, sha256)` runs before the consumer sees the end, and throws to refuse the
// bytes. A consumer that stops early (a build that failed on a bad header) leaves the rest to verify(),
// which reads and hashes it and runs the check: a changed byte is then reported as what it is, not as the
// parse error it caused. The worker (R2 object bodies) and the browser's Web Worker (fetch bodies) share it.
import { Sha256, hex } from './sha256.ts';

// What hashes the chunks: the TypeScript SHA-256 by default, workerd's native crypto.DigestStream where it
// exists (worker/model-store.ts).
export interface ChunkHasher {
  update(chunk: Uint8Array): void | Promise<void>;
  hex(): string | Promise<string>; // the sha256 of every chunk updated, as lowercase hex
}

export function sha256Hasher(): ChunkHasher {
  const h = new Sha256();
  return { update: (chunk) => void h.update(chunk), hex: () => hex(h.digest()) };
}

export class VerifiedBody {
  size = 0; // bytes read so far
  started = false; // whether anything asked for a chunk yet
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly check: (size: number, sha256: string) => void;
  private readonly hasher: ChunkHasher;
  private ended = false;
  private verified?: Promise<void>;

  constructor(body: ReadableStream<Uint8Array>, check: (size: number, sha256: string) => void, hasher: ChunkHasher = sha256Hasher()) {
    this.reader = body.getReader();
    this.check = check;
    this.hasher = hasher;
  }

  // The body's chunks as they arrive; the stream's end is reached only once the check passed. Errors reading
  // the body (a connection cut) are thrown as they are.
  async *chunks(): AsyncGenerator<Uint8Array> {
    for (let chunk; (chunk = await this.next()); ) yield chunk;
    await this.verify();
  }

  // Reads what no consumer read, then checks size and sha256, once: later calls share the outcome.
  verify(): Promise<void> {
    this.verified ??= (async () => {
      while (await this.next());
      this.check(this.size, await this.hasher.hex());
    })();
    return this.verified;
  }

  private async next(): Promise<Uint8Array | null> {
    this.started = true;
    if (this.ended) return null;
    const { value, done } = await this.reader.read();
    if (done) {
      this.ended = true;
      return null;
    }
    this.size += value.byteLength;
    await this.hasher.update(value);
    return value;
  }
}
