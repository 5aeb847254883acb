// buildWeb writes public/ so that a second build of the same sources touches nothing (a running
// `wrangler dev` restarts the worker on any write there) and leaves no stale file behind.
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWeb } from './build-web.ts';

const list = (dir: string) => (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).sort();

describe('buildWeb', () => {
  it('rebuilds without rewriting unchanged files and removes stale ones', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'web-')), 'public');
    await buildWeb(out);
    const files = list(out);
    expect(files).toEqual(expect.arrayContaining(['app.js', 'app.js.map', 'engine.worker.js', 'index.html', 'langid.json', 'style.css', join('wasm', 'kernels.simd.wasm')]));
    const mtimes = files.map((f) => statSync(join(out, f)).mtimeMs);
    writeFileSync(join(out, 'stale.js'), 'old');
    writeFileSync(join(out, 'style.css'), 'edited by hand');
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would get a later mtime
    await buildWeb(out);
    expect(existsSync(join(out, 'stale.js'))).toBe(false);
    expect(list(out)).toEqual(files);
    const changed = files.filter((f, i) => statSync(join(out, f)).mtimeMs !== mtimes[i]);
    expect(changed).toEqual(['style.css']); // only the file that differed was written
  });
});
