// GET /v1/models: every version of every catalogued model; GET /v1/models/:name/:version/:file: a model
// file, for the in-browser engine. Only bytes that match the manifest's sha256 are sent (immutable per
// version, so cached for a year; X-Content-SHA256 to check again); others are 503 file_unverified.
import { createRoute, z } from '@hono/zod-openapi';
import { MODEL_FILES, isModelFileName, totalSize } from '../../registry/manifest.ts';
import { ApiError } from '../errors.ts';
import { errors, router } from '../openapi.ts';
import { ModelList } from '../schemas.ts';


const list = createRoute({
  method: 'get',
  path: '/models',
  summary: 'Model versions (catalog order, newest first within a model)',
  responses: {
    200: { description: 'versions', content: { 'application/json': { schema: ModelList } } },
    ...errors(401, 429),
  },
});

const download = createRoute({
  method: 'get',
  path: '/models/{name}/{version}/{file}',
  summary: 'Download a model file',
  request: {
    params: z.object({
      name: z.string(),
      version: z.string(),
      file: z.string().openapi({ description: MODEL_FILES.join(', '), example: 'config.json' }),
    }),
  },
  responses: {
    200: { description: 'file bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errors(401, 404, 429, 503),
  },
});

export function modelRoutes() {
  const app = router();
  app.openapi(list, async (c) => {
    const models = (await c.var.models.catalog()).flatMap(({ manifest, serving }) =>
      (manifest?.history ?? [])
        .map((v) => ({
          name: manifest!.name,
          version: v.version,
          current: v.version === manifest!.current,
          serving: v.version === serving,
          size: totalSize(v),
          created: v.created,
          ...(v.bleu ? { bleu: v.bleu } : {}),
        }))
        .reverse(),
    );
    return c.json({ models }, 200);
  });
  app.openapi(download, async (c) => {
    const { name, version, file } = c.req.valid('param');
    const found = isModelFileName(file) ? await c.var.models.file(name, version, file) : null;
    if (!found) throw new ApiError(404, 'not_found', `no file ${file} in model ${name} version ${version}`);
    return c.body(found.body, 200, {
      'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'Content-Length': String(found.size),
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: `"${found.sha256}"`,
      'X-Content-SHA256': found.sha256,
    });
  });
  return app;
}
