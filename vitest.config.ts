import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { mkdirSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// wrangler.toml's [assets] directory must exist for the workers pool to start; `npm run build` fills it
// with the demo page (scripts/build-web.ts), which no workers test needs.
mkdirSync('public', { recursive: true });

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['kernels/**/*.test.ts', 'train/**/*.test.ts', 'registry/**/*.test.ts', 'model/**/*.test.ts', 'client/**/*.test.ts', 'browser/**/*.test.ts', 'scripts/**/*.test.ts', 'docs/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
        },
      },
      {
        // Route tests (worker/**) and workerd-level tests (test/**) run inside workerd with wrangler.toml's
        // bindings (local R2, rate limiter); TIGHT_LIMITER is a tiny limit for the 429 test.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: { MANIFEST_TTL_SECONDS: '0' },
              ratelimits: { TIGHT_LIMITER: { simple: { limit: 2, period: 60 } } },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['worker/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/e2e/**'], // real-browser tests run in Node
          testTimeout: 30_000,
        },
      },
    ],
  },
});
