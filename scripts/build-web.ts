// Builds the demo page into public/ (served by the worker as static assets, wrangler.toml [assets]):
// web/main.ts -> app.js, browser/engine.worker.ts -> engine.worker.js (the in-browser engine's Web Worker),
// the SIMD and relaxed-SIMD kernels -> wasm/, the language identifier (models/langid.json, for source "auto"
// in the browser) -> langid.json, plus index.html and style.css. No CDN: everything is local.
// Run by `npm run build` after the kernels (it needs kernels/build/*.wasm).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const WASM = ['kernels.simd.wasm', 'kernels.relaxed.wasm'];

export async function buildWeb(out = join(root, 'public')): Promise<string> {
  for (const f of WASM) {
    if (!existsSync(join(root, 'kernels/build', f))) throw new Error(`kernels/build/${f} is missing: run \`npm run build\` first`);
  }
  const r = await build({
    absWorkingDir: root,
    entryPoints: { app: 'web/main.ts', 'engine.worker': 'browser/engine.worker.ts' },
    outdir: out,
    write: false,
    bundle: true,
    format: 'esm', // the engine runs in a module worker
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const files = new Map<string, Uint8Array>(r.outputFiles.map((f) => [f.path, f.contents]));
  for (const f of ['index.html', 'style.css']) files.set(join(out, f), readFileSync(join(root, 'web', f)));
  for (const f of WASM) files.set(join(out, 'wasm', f), readFileSync(join(root, 'kernels/build', f)));
  files.set(join(out, 'langid.json'), readFileSync(join(root, 'models/langid.json')));
  sync(out, files);
  return out;
}

// Makes `out` hold exactly `files`, writing only what changed: a running `wrangler dev` watches public/ and
// restarts the worker on any write, failing the requests in flight ("Your worker restarted mid-request").
function sync(out: string, files: Map<string, Uint8Array>): void {
  if (existsSync(out)) {
    for (const e of readdirSync(out, { recursive: true, withFileTypes: true })) {
      const p = join(e.parentPath, e.name);
      if (e.isFile() && !files.has(p)) rmSync(p);
    }
  }
  for (const [p, data] of files) {
    if (existsSync(p) && Buffer.from(data).equals(readFileSync(p))) continue;
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`built the demo page into ${await buildWeb()}`);
