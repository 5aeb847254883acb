import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['kernels/**/*.test.ts', 'train/**/*.test.ts', 'model/**/*.test.ts'],
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
          testTimeout: 30_000,
        },
      },
    ],
  },
});
