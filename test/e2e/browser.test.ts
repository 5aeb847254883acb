// The demo page in a real browser (Debian's Chromium via playwright-core) against a real `wrangler dev`
// serving two tiny random-weight models (en<->de, en<->fr): the page, the API behind it and the in-browser
// engine end to end. Translates through the edge API and in the browser, directly, through English and with
// the source detected, checks both give the API's own answer (offline too, once the models are in the
// browser) and that the attention heatmap is drawn, refuses weights cut or changed on the way (their body
// streams into the engine's Web Worker, hashed as it passes), and saves test-artifacts/demo.png (and
// no-model.png).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWeb } from '../../scripts/build-web.ts';
import { root } from '../../registry/local-r2.ts';
import { type DevServer, startDevServer } from './server.ts';
import { tinyModel } from './tiny-model.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SENTENCE = 'Two dogs play in the snow.';
const artifacts = join(root, 'test-artifacts');

let server: DevServer;
let browser: Browser;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the browser test needs Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (Debian)`);
  }
  await buildWeb(); // public/ from web/ and the current kernels
  server = await startDevServer({ multi30k: tinyModel(1, ['en', 'de']), 'tiny-fr': tinyModel(2, ['en', 'fr']) });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openDemo(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${server.url}/`);
  return page;
}

const translate = async (body: object) =>
  (await (
    await fetch(`${server.url}/v1/translate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })
  ).json()) as { translation: string; pivot?: string; detected?: { language: string } };

const options = (page: Page, select: string) => page.$$eval(`${select} option`, (os) => os.map((o) => (o as HTMLOptionElement).value));

const state = (page: Page, engine: string, s: string) => page.waitForSelector(`body[data-engine=${engine}][data-state=${s}]`, { timeout: 60_000 });

// Painted cells: pixels that are neither transparent nor near-white.
const heatmapInk = (page: Page) =>
  page.evaluate(() => {
    const c = document.getElementById('heatmap') as HTMLCanvasElement;
    if (!c.width || !c.height) return 0;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && px[i] + px[i + 1] + px[i + 2] < 700) n++;
    return n;
  });

describe('demo page in Chromium', () => {
  it('serves the page as assets while the API routes still reach the worker', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<canvas id="heatmap"');
    const langs = await fetch(`${server.url}/v1/languages`);
    expect(langs.status).toBe(200);
    expect(await langs.json()).toMatchObject({
      languages: ['de', 'en', 'fr'],
      models: [{ name: 'multi30k', version: server.version }, { name: 'tiny-fr', version: server.version }],
    });
    expect((await fetch(`${server.url}/v1/nope`)).status).toBe(404); // the worker's JSON 404, not an asset
    expect(await (await fetch(`${server.url}/v1/nope`)).json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('translates through the API and in the browser alike, and draws the attention', async () => {
    const api = await translate({ text: SENTENCE, source: 'en', target: 'de', beam: 4 });
    expect(api.translation.length).toBeGreaterThan(0);

    const page = await openDemo();
    await state(page, 'api', 'done'); // the example text
    await page.fill('#input', SENTENCE);
    await state(page, 'api', 'done');
    expect(await page.textContent('#output')).toBe(api.translation);
    expect(await page.textContent('#status')).toContain('edge API');
    expect(await heatmapInk(page)).toBeGreaterThan(500);
    expect(await page.isDisabled('#head')).toBe(false); // the API sends every layer and head too

    await page.click('text=In this browser');
    await state(page, 'browser', 'done');
    expect(await page.textContent('#output')).toBe(api.translation);
    expect(await page.textContent('#status')).toMatch(/in this browser \((relaxed )?SIMD wasm\)/);
    // Every layer and head is there: pick one and it is drawn.
    const heads = await page.$$eval('#head option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(heads).toEqual(expect.arrayContaining(['avg', '0:mean', '1:3']));
    await page.selectOption('#head', '1:3');
    expect(await heatmapInk(page)).toBeGreaterThan(500);
    await page.selectOption('#head', 'avg');
    // Rows are drawn scaled to their maximum by default (a random model's attention is nearly uniform);
    // raw weights are one click away and still drawn.
    expect(await page.isChecked('#stretch')).toBe(true);
    await page.uncheck('#stretch');
    expect(await heatmapInk(page)).toBeGreaterThan(0);
    await page.check('#stretch');

    // Reranking (the model serves both directions, so the box is enabled): the in-browser engine picks
    // what the API picks. A new input sets the page pending at once, so the wait sees the new result.
    const other = 'A woman reads a book.';
    const reranked = await translate({ text: other, source: 'en', target: 'de', beam: 4, rerank: true });
    expect(await page.isDisabled('#rerank')).toBe(false);
    await page.check('#rerank');
    await page.fill('#input', other);
    await state(page, 'browser', 'done');
    expect(await page.textContent('#output')).toBe(reranked.translation);

    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'demo.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('offers every language both ways and "auto", and translates through English and detected in the browser, offline too', async () => {
    const german = 'Zwei Hunde spielen im Schnee.';
    // A text of its own for "auto": the API caches by the detected source, so a text translated from 'de'
    // before would come back from the cache without `detected`.
    const other = 'Ein Mann fährt mit dem Fahrrad durch die Stadt.';
    const pivot = await translate({ text: german, source: 'de', target: 'fr', beam: 4 });
    const detected = await translate({ text: other, source: 'auto', target: 'fr', beam: 4 });
    expect(pivot.pivot).toBe('en');
    expect(detected).toMatchObject({ detected: { language: 'de' }, pivot: 'en' });

    const page = await openDemo();
    await state(page, 'api', 'done');
    expect(await options(page, '#source')).toEqual(['auto', 'de', 'en', 'fr']);
    await page.selectOption('#source', 'de');
    expect(await options(page, '#target')).toEqual(['en', 'fr']); // fr through English
    await page.selectOption('#target', 'fr');
    await page.fill('#input', german);
    await state(page, 'api', 'done');
    expect(await page.textContent('#output')).toBe(pivot.translation);
    expect(await page.textContent('#status')).toContain('via English');
    expect(await page.textContent('#empty')).toContain('goes through English');

    await page.click('text=In this browser');
    await state(page, 'browser', 'done');
    expect(await page.textContent('#output')).toBe(pivot.translation);
    expect(await page.textContent('#status')).toMatch(/in this browser .* via English · multi30k\+tiny-fr/);

    await page.selectOption('#source', 'auto');
    await page.fill('#input', other);
    await state(page, 'browser', 'done');
    expect(await page.textContent('#output')).toBe(detected.translation);
    expect(await page.textContent('#status')).toContain('detected German');

    // Both models are in the page now: with the network gone, every direction still translates.
    await page.context().setOffline(true);
    await page.selectOption('#source', 'de');
    await page.selectOption('#target', 'fr');
    await page.fill('#input', 'Eine Frau liest ein Buch.');
    await state(page, 'browser', 'done');
    expect(await page.textContent('#status')).toContain('via English');
    const offline = await page.textContent('#output');
    await page.context().setOffline(false);
    expect(offline).toBe((await translate({ text: 'Eine Frau liest ein Buch.', source: 'de', target: 'fr', beam: 4 })).translation);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('refuses weights cut or changed on the way into the browser (corrupt_download), then loads them whole', async () => {
    const page = await openDemo();
    await state(page, 'api', 'done');
    const sentence = 'A man reads a book.';
    const api = await translate({ text: sentence, source: 'en', target: 'de', beam: 4 });
    // The weights' body as the browser receives it, changed after the API's headers (X-Content-SHA256) were made.
    let alter: ((b: Buffer) => Buffer) | null = (b) => b.subarray(0, b.length - 100);
    await page.route('**/weights.safetensors', async (route) => {
      const res = await route.fetch();
      const body = await res.body();
      await route.fulfill({ response: res, body: alter ? alter(body) : body });
    });
    // Each attempt's message names the bytes it hashed: wait for the one of this attempt.
    const size = tinyModel(1, ['en', 'de'])['weights.safetensors'].length;
    const refused = async (bytes: number) => {
      await page.waitForFunction((n) => document.getElementById('message')!.textContent!.includes(`of ${n} bytes`), bytes, { timeout: 60_000 });
      await state(page, 'browser', 'error');
      expect(await page.textContent('#message')).toMatch(/weights.safetensors: sha256 [0-9a-f]{64} of \d+ bytes does not match .* \(corrupt_download, HTTP 200\)/);
    };
    await page.fill('#input', sentence);
    await page.click('text=In this browser');
    await refused(size - 100);

    alter = (b) => {
      const out = Buffer.from(b);
      out[out.length >> 1] ^= 1;
      return out;
    };
    await page.fill('#input', `${sentence} `);
    await refused(size);

    alter = null; // the download intact: the model loads and answers as the API does
    await page.fill('#input', sentence);
    await state(page, 'browser', 'done');
    expect(await page.textContent('#output')).toBe(api.translation);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('says clearly when no model is served', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.route('**/v1/languages', (r) =>
      r.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'model_unavailable', message: "model 'multi30k' is not available: no model yet" } }) }),
    );
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-state=error]', { timeout: 30_000 });
    expect(await page.textContent('#message')).toContain('No model is being served yet');
    await page.screenshot({ path: join(artifacts, 'no-model.png') });
    await page.close();
  });
});
