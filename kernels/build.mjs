// Compiles kernels/assembly into one wasm per target of asconfig.json (scalar oracle, baseline SIMD,
// relaxed SIMD, and the shared-memory builds the trainer's worker_threads use). Skips when up to date.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));
const srcDir = join(root, 'kernels/assembly');
const newestSource = Math.max(
  statSync(join(root, 'asconfig.json')).mtimeMs,
  ...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs),
);
const asc = join(root, 'node_modules/assemblyscript/bin/asc.js');
const force = process.argv.includes('--force');

for (const [target, { outFile }] of Object.entries(config.targets)) {
  const out = join(root, outFile);
  if (!force && existsSync(out) && statSync(out).mtimeMs > newestSource) continue;
  execFileSync(process.execPath, [asc, config.entries[0], '--config', 'asconfig.json', '--target', target], {
    cwd: root,
    stdio: 'inherit',
  });
  console.log(`built ${outFile}`);
}
