import { describe, expect, it } from 'vitest';
import { fakeEngine, fakeProvider, routeApp } from '../testing.ts';
import { healthRoutes } from './health.ts';

describe('GET /healthz', () => {
  it('is ok with the served version', async () => {
    const res = await routeApp(healthRoutes(), fakeProvider(fakeEngine()), '/').request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', models: [{ name: 'fake', version: 'v1', loaded: true }] });
  });

  it('says why when no model is loaded', async () => {
    const res = await routeApp(healthRoutes(), fakeProvider(null), '/').request('/healthz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'model_unavailable', models: [{ name: 'fake', loaded: false, error: 'no model yet' }] });
  });
});
