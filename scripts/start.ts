// npm start: seed local R2 with the bundled models (if any), then `wrangler dev` offline on 127.0.0.1.
// (`npm start` builds the kernels first; `npm run dev` skips that.) PORT overrides 8787.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { offlineEnv, root } from '../registry/local-r2.ts';
import { seedLocalModels } from '../registry/seed.ts';
import { bundledModels } from '../train/paths.ts';

for (const line of await seedLocalModels(bundledModels().map((m) => m.dir))) console.log(line);

const port = process.env.PORT ?? '8787';
// Own process group: killing `wrangler` alone would leave workerd running, so signals go to the group.
const child = spawn(join(root, 'node_modules/.bin/wrangler'), ['dev', '--ip', '127.0.0.1', '--port', port], {
  cwd: root,
  env: offlineEnv,
  stdio: 'inherit',
  detached: true,
});
const stop = (signal: NodeJS.Signals) => {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('exit', () => stop('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
