import { describe, expect, it } from 'vitest';
import { docsRoutes } from './docs.ts';

describe('GET /docs', () => {
  it('is a self-contained HTML page that renders /openapi.json', async () => {
    const res = await docsRoutes().request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain("fetch('/openapi.json')");
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/); // no CDN assets
  });
});
