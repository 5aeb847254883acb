// GET /healthz: each catalogued model's state, from its manifest and config (no weights are loaded here).
// 200 "ok" when every model can serve, 200 "degraded" when some cannot, 503 when none can.
import { createRoute } from '@hono/zod-openapi';
import { identify } from '../middleware/auth.ts';
import { router } from '../openapi.ts';
import { Health } from '../schemas.ts';


const route = createRoute({
  method: 'get',
  path: '/healthz',
  summary: 'Health and model status',
  responses: {
    200: { description: 'serving', content: { 'application/json': { schema: Health } } },
    503: { description: 'no model loaded', content: { 'application/json': { schema: Health } } },
  },
});

export function healthRoutes() {
  const app = router();
  app.openapi(route, async (c) => {
    const models = (await c.var.models.catalog()).map((m) => ({
      name: m.name,
      ...(m.manifest ? { current: m.manifest.current } : {}),
      ...(m.serving ? { version: m.serving } : {}),
      loaded: m.loaded,
      ...(m.error ? { error: m.error } : {}),
    }));
    // A model can serve once a version was built, or while nothing failed for the one it has not loaded yet.
    const ok = models.filter((m) => m.version || (m.current && !m.error)).length;
    // Versions and errors (storage, sha256 mismatches) are for key holders and the logs; others get the status.
    const details = 'error' in (await identify(c)) ? {} : { models };
    for (const m of models) if (m.error) console.error(`healthz: model ${m.name}: ${m.error}`);
    if (ok === 0) return c.json({ status: 'model_unavailable' as const, ...details }, 503);
    return c.json({ status: ok === models.length ? ('ok' as const) : ('degraded' as const), ...details }, 200);
  });
  return app;
}
