// GET /healthz: 200 when a model is being served, 503 (with the reason) when not.
import { createRoute, z } from '@hono/zod-openapi';
import { router } from '../openapi.ts';

const Health = z
  .object({
    status: z.enum(['ok', 'model_unavailable']),
    model: z.object({ name: z.string(), version: z.string().optional(), error: z.string().optional() }),
  })
  .openapi('Health');

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
    const models = c.var.models;
    await models.current().catch(() => undefined); // loads on first use, re-checks the manifest when stale
    const model = models.status();
    return model.version ? c.json({ status: 'ok' as const, model }, 200) : c.json({ status: 'model_unavailable' as const, model }, 503);
  });
  return app;
}
