// GET /docs: a self-contained page that renders /openapi.json (no CDN assets: it must work offline).
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-mt API</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
h1 { margin-bottom: 0 } .op { border: 1px solid #ddd; border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem; }
.m { display: inline-block; min-width: 4rem; font-weight: bold; text-transform: uppercase; }
.get { color: #0a7 } .post { color: #07c } code, pre { background: #f6f6f6; border-radius: 4px; }
pre { padding: .5rem; overflow: auto; font-size: 13px } summary { cursor: pointer }
</style></head>
<body><h1 id="title">edge-mt API</h1><p id="desc"></p><p><a href="/openapi.json">openapi.json</a></p><div id="ops">loading...</div>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);
const pre = (x) => '<pre>' + esc(JSON.stringify(x, null, 2)) + '</pre>';
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  document.getElementById('desc').textContent = doc.info.description || '';
  const schemas = (doc.components && doc.components.schemas) || {};
  let html = '';
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      html += '<div class="op"><p><span class="m ' + method + '">' + method + '</span><code>' + esc(path) + '</code> ' + esc(op.summary) + '</p>';
      if (op.description) html += '<p>' + esc(op.description) + '</p>';
      if (op.parameters) html += '<details><summary>parameters</summary>' + pre(op.parameters) + '</details>';
      if (op.requestBody) html += '<details open><summary>request body</summary>' + pre(op.requestBody.content) + '</details>';
      html += '<details><summary>responses</summary>' + pre(op.responses) + '</details></div>';
    }
  }
  html += '<h2>Schemas</h2>' + Object.entries(schemas).map(([n, s]) => '<details><summary>' + esc(n) + '</summary>' + pre(s) + '</details>').join('');
  document.getElementById('ops').innerHTML = html;
}).catch((e) => { document.getElementById('ops').textContent = 'could not load /openapi.json: ' + e; });
</script></body></html>`;

export function docsRoutes() {
  const app = new Hono<AppEnv>();
  app.get('/docs', (c) => c.html(PAGE));
  return app;
}
