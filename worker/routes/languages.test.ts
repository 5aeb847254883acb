import { describe, expect, it } from 'vitest';
import { fakeEngine, fakeProvider, routeApp } from '../testing.ts';
import { languageRoutes } from './languages.ts';

describe('GET /v1/languages', () => {
  it('lists each direction, direct or through English, with the models serving it', async () => {
    const ende = fakeEngine({ name: 'ende', directions: [['en', 'de'], ['de', 'en']] });
    const fr = fakeEngine({ name: 'fr', version: 'v7', directions: [['fr', 'en'], ['en', 'fr'], ['en', 'de']] });
    const res = await routeApp(languageRoutes(), fakeProvider([ende, fr])).request('/v1/languages');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      languages: ['de', 'en', 'fr'],
      directions: [
        { source: 'en', target: 'de', route: 'direct', models: ['ende'] }, // the first model serving it
        { source: 'de', target: 'en', route: 'direct', models: ['ende'] },
        { source: 'fr', target: 'en', route: 'direct', models: ['fr'] },
        { source: 'en', target: 'fr', route: 'direct', models: ['fr'] },
        { source: 'de', target: 'fr', route: 'pivot', models: ['ende', 'fr'], pivot: 'en' },
        { source: 'fr', target: 'de', route: 'pivot', models: ['fr', 'ende'], pivot: 'en' },
      ],
      models: [
        { name: 'ende', version: 'v1', directions: [{ source: 'en', target: 'de' }, { source: 'de', target: 'en' }] },
        { name: 'fr', version: 'v7', directions: [{ source: 'fr', target: 'en' }, { source: 'en', target: 'fr' }, { source: 'en', target: 'de' }] },
      ],
    });
  });

  it('is 503 model_unavailable without a model', async () => {
    const res = await routeApp(languageRoutes(), fakeProvider(null)).request('/v1/languages');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_unavailable');
  });
});
