// The worker: composes middleware, routes, onError and notFound. Everything else lives in its own file.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { buildEngine } from './engine-loader.ts';
import type { AppEnv } from './env.ts';
import { notFound, onError } from './errors.ts';
import { apiKeyAuth } from './middleware/auth.ts';
import { corsFromEnv } from './middleware/cors.ts';
import { modelProvider } from './middleware/models.ts';
import { byAddress, byKey, rateLimit } from './middleware/rate-limit.ts';
import type { ModelProvider } from './model-provider.ts';
import { r2Models } from './model-store.ts';
import { docsRoutes } from './routes/docs.ts';
import { healthRoutes } from './routes/health.ts';
import { languageRoutes } from './routes/languages.ts';
import { modelRoutes } from './routes/models.ts';
import { translateRoutes } from './routes/translate.ts';

export interface AppDeps {
  models: (c: Context<AppEnv>) => ModelProvider;
}

export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  app.use('*', corsFromEnv());
  app.use('*', modelProvider(deps.models));
  app.use('*', rateLimit(byAddress)); // before auth: bad keys count too
  app.use('/v1/*', apiKeyAuth(), rateLimit(byKey));

  app.route('/', healthRoutes());
  app.route('/v1', translateRoutes());
  app.route('/v1', languageRoutes());
  app.route('/v1', modelRoutes());
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  app.doc('/openapi.json', {
    openapi: '3.0.0',
    info: {
      title: 'edge-mt',
      version: '0.1.0',
      description: 'Translation on the Transformer of "Attention Is All You Need", at the edge. /v1 routes take Authorization: Bearer <key> when keys are configured.',
    },
    security: [{ bearer: [] }],
  });
  app.route('/', docsRoutes());

  app.onError(onError);
  app.notFound(notFound(app));
  return app;
}

export default createApp({ models: r2Models(buildEngine) });
