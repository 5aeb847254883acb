// GET /v1/languages: what the catalogued models can translate, each direction direct or through English
// (model/routing.ts), with the models that serve it. Reads manifests and configs only: nothing is loaded.
import { createRoute } from '@hono/zod-openapi';
import { allPairs, routableLanguages } from '../../model/routing.ts';
import { ApiError } from '../errors.ts';
import { errors, router } from '../openapi.ts';
import { Languages } from '../schemas.ts';


const route = createRoute({
  method: 'get',
  path: '/languages',
  summary: 'Languages and directions of the catalogued models, direct or through English',
  responses: { 200: { description: 'supported languages', content: { 'application/json': { schema: Languages } } }, ...errors(401, 429, 503) },
});

export function languageRoutes() {
  const app = router();
  app.openapi(route, async (c) => {
    const catalog = await c.var.models.catalog();
    const known = catalog.filter((m) => m.directions.length > 0);
    if (!known.length) {
      throw new ApiError(503, 'model_unavailable', `no model is available: ${catalog.map((m) => `${m.name}: ${m.error ?? 'loading'}`).join('; ')}`);
    }
    const directions = allPairs(known).map(({ source, target, route }) => ({
      source,
      target,
      route: route.pivot ? ('pivot' as const) : ('direct' as const),
      models: route.legs.map((l) => l.model),
      ...(route.pivot ? { pivot: route.pivot } : {}),
    }));
    const models = known.map((m) => ({
      name: m.name,
      ...(m.serving ?? m.manifest?.current ? { version: m.serving ?? m.manifest!.current } : {}),
      directions: m.directions.map(([source, target]) => ({ source, target })),
    }));
    return c.json({ languages: routableLanguages(known), directions, models }, 200);
  });
  return app;
}
