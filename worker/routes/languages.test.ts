import { describe, expect, it } from 'vitest';
import { fakeEngine, fakeProvider, routeApp } from '../testing.ts';
import { languageRoutes } from './languages.ts';

describe('GET /v1/languages', () => {
  it('lists the loaded model languages and directions', async () => {
    const engine = fakeEngine({ languages: ['de', 'en', 'fr'], directions: [['en', 'de'], ['de', 'en']] });
    const res = await routeApp(languageRoutes(), fakeProvider(engine)).request('/v1/languages');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: 'fake',
      version: 'v1',
      languages: ['de', 'en', 'fr'],
      directions: [{ source: 'en', target: 'de' }, { source: 'de', target: 'en' }],
    });
  });

  it('is 503 model_unavailable without a model', async () => {
    const res = await routeApp(languageRoutes(), fakeProvider(null)).request('/v1/languages');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_unavailable');
  });
});
