// Builds the demo page into public/ (served by the worker as static assets, wrangler.toml [assets]):
// web/main.ts -> app.js, browser/engine.worker.ts -> engine.worker.js (the in-browser engine's Web Worker),
// the SIMD and relaxed-SIMD kernels -> wasm/, plus index.html and style.css. No CDN: everything is local.
// Run by `npm run build` after the kernels (it needs kernels/build/*.wasm).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(import.meta.dirname, '..');
const WASM = ['kernels.simd.wasm', 'kernels.relaxed.wasm'];

export async function buildWeb(out = join(root, 'public')): Promise<string> {
  for (const f of WASM) {
    if (!existsSync(join(root, 'kernels/build', f))) throw new Error(`kernels/build/${f} is missing: run \`npm run build\` first`);
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'wasm'), { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { app: 'web/main.ts', 'engine.worker': 'browser/engine.worker.ts' },
    outdir: out,
    bundle: true,
    format: 'esm', // the engine runs in a module worker
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(out, f));
  for (const f of WASM) copyFileSync(join(root, 'kernels/build', f), join(out, 'wasm', f));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`built the demo page into ${await buildWeb()}`);
