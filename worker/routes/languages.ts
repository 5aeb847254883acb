// GET /v1/languages: what the loaded model can translate.
import { createRoute, z } from '@hono/zod-openapi';
import { errors, router } from '../openapi.ts';

const Languages = z
  .object({
    model: z.string(),
    version: z.string(),
    languages: z.array(z.string()).openapi({ example: ['en', 'de'] }),
    directions: z.array(z.object({ source: z.string(), target: z.string() })),
  })
  .openapi('Languages');

const route = createRoute({
  method: 'get',
  path: '/languages',
  summary: 'Languages and directions of the loaded model',
  responses: { 200: { description: 'supported languages', content: { 'application/json': { schema: Languages } } }, ...errors(401, 429, 503) },
});

export function languageRoutes() {
  const app = router();
  app.openapi(route, async (c) => {
    const { name, version, engine } = await c.var.models.current();
    const { languages, directions } = engine.info;
    return c.json({ model: name, version, languages, directions: directions.map(([source, target]) => ({ source, target })) }, 200);
  });
  return app;
}
