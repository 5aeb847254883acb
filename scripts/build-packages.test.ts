// The packages an app installs (scripts/build-packages.ts): built into a temporary folder, installed into
// a throwaway app's node_modules, type-checked from the app's side (plain TypeScript settings: no
// `.ts` imports), and the client run from its built JavaScript.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from './build-packages.ts';

const out = mkdtempSync(join(tmpdir(), 'mt-packages-'));
const app = join(out, 'app');

describe('publishable packages', () => {
  beforeAll(async () => {
    await buildPackages(out);
    mkdirSync(join(app, 'node_modules/@edge-mt'), { recursive: true });
    symlinkSync(join(out, 'client'), join(app, 'node_modules/@edge-mt/client'));
    symlinkSync(join(out, 'browser'), join(app, 'node_modules/@edge-mt/browser'));
  }, 120_000);

  it('type-check from an app that imports them by name', () => {
    const file = join(app, 'app.ts');
    writeFileSync(
      file,
      `import { createClient, ApiError, type Translation } from '@edge-mt/client';
import { Catalog, Translator, EngineError, type CatalogTranslation } from '@edge-mt/browser';
const api = createClient({ baseUrl: 'https://mt.example.com' });
export const t: Promise<Translation> = api.translate('Hello.', { source: 'en', target: 'de' });
export const local: Promise<Translator> = Translator.load('/model/', { onProgress: (p) => p.loaded });
export const errors = [ApiError, EngineError];
export const pivoted: Promise<CatalogTranslation> = Catalog.fromApi('https://mt.example.com').then((c) => c.translate('Bonjour.', { source: 'auto', target: 'de' }));
// @ts-expect-error the text comes first, then the parameters
api.translate({ text: 'Hello.', source: 'en', target: 'de' });
`,
    );
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });

  it('run as JavaScript: the client translates through the given fetch', async () => {
    const { createClient } = await import(pathToFileURL(join(out, 'client/index.js')).href);
    const seen: unknown[] = [];
    const fetch = async (url: string, init: RequestInit) => {
      seen.push([url, JSON.parse(String(init.body))]);
      return new Response(JSON.stringify({ translation: 'Hallo.', model: 'm', version: 'v' }), { headers: { 'content-type': 'application/json' } });
    };
    const r = await createClient({ baseUrl: 'https://mt.example.com/', fetch }).translate('Hello.', { source: 'en', target: 'de' });
    expect(r.translation).toBe('Hallo.');
    expect(seen).toEqual([['https://mt.example.com/v1/translate', { text: 'Hello.', source: 'en', target: 'de' }]]);
  });

  it('ship the browser engine\'s worker and kernels beside it, found relative to the module', () => {
    const js = readFileSync(join(out, 'browser/index.js'), 'utf8');
    expect(js).toContain('new URL("./engine.worker.js", import.meta.url)');
    expect(js).toContain('new URL("./wasm/", import.meta.url)');
    expect(js).toContain('new URL("./langid.json", import.meta.url)');
    expect(js).not.toMatch(/\.ts["']/);
    for (const f of ['engine.worker.js', 'wasm/kernels.simd.wasm', 'wasm/kernels.relaxed.wasm', 'langid.json']) {
      expect(readFileSync(join(out, 'browser', f)).byteLength).toBeGreaterThan(1000);
    }
    const pkg = JSON.parse(readFileSync(join(out, 'browser/package.json'), 'utf8'));
    expect(pkg).toMatchObject({ name: '@edge-mt/browser', type: 'module', exports: { '.': { types: './index.d.ts', import: './index.js' } } });
    expect(WebAssembly.validate(readFileSync(join(out, 'browser/wasm/kernels.simd.wasm')))).toBe(true);
  });
});
