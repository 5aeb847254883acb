// GET /v1/models: the versions in the manifest; GET /v1/models/:name/:version/:file: a model file, for
// the in-browser engine (immutable per version, so cached for a year; verify against X-Content-SHA256).
import { createRoute, z } from '@hono/zod-openapi';
import { MODEL_FILES, isModelFileName, totalSize } from '../../model/manifest.ts';
import { ApiError } from '../errors.ts';
import { errors, router } from '../openapi.ts';

const ModelVersion = z
  .object({
    name: z.string(),
    version: z.string(),
    current: z.boolean(),
    size: z.number().openapi({ description: 'bytes of all files' }),
    created: z.string(),
    bleu: z.record(z.string(), z.number()).optional().openapi({ example: { 'en-de': 27.3 } }),
  })
  .openapi('ModelVersion');

const list = createRoute({
  method: 'get',
  path: '/models',
  summary: 'Model versions (newest first)',
  responses: {
    200: { description: 'versions', content: { 'application/json': { schema: z.object({ models: z.array(ModelVersion) }) } } },
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
    ...errors(401, 404, 429),
  },
});

export function modelRoutes() {
  const app = router();
  app.openapi(list, async (c) => {
    const manifest = await c.var.models.manifest();
    const models = (manifest?.history ?? [])
      .map((v) => ({
        name: manifest!.name,
        version: v.version,
        current: v.version === manifest!.current,
        size: totalSize(v),
        created: v.created,
        ...(v.bleu ? { bleu: v.bleu } : {}),
      }))
      .reverse();
    return c.json({ models }, 200);
  });
  app.openapi(download, async (c) => {
    const { name, version, file } = c.req.valid('param');
    const models = c.var.models;
    const found = name === models.name && isModelFileName(file) ? await models.file(version, file) : null;
    if (!found) throw new ApiError(404, 'not_found', `no file ${file} in model ${name} version ${version}`);
    return c.body(found.body, 200, {
      'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'Content-Length': String(found.size),
      'Cache-Control': 'public, max-age=31536000, immutable',
      ETag: `"${found.sha256}"`,
      'X-Content-SHA256': found.sha256,
    }) as never;
  });
  return app;
}
