// Bindings as the workers pool sees them: wrangler.toml's plus the test-only TIGHT_LIMITER.
import type { Env } from '../worker/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
interface WorkerEnv extends Env {
  MODELS: R2Bucket;
  TIGHT_LIMITER: RateLimit;
}
