// Builds the two packages an app installs: `@edge-mt/client` (the typed API client) and `@edge-mt/browser`
// (the offline engine: Translator and Catalog, their module Web Worker, the SIMD / relaxed-SIMD kernels and
// the language identifier), each as ES modules with type declarations, into dist/<name>/ (publish with `npm publish dist/client`, or install the
// folder or its `npm pack` tarball). The sources stay TypeScript; this is what leaves the repository.
import { build, type Plugin } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(import.meta.dirname, '..');
const WASM = ['kernels.simd.wasm', 'kernels.relaxed.wasm'];

interface Pkg {
  name: string;
  dir: string; // source folder
  description: string;
  entries: Record<string, string>; // output name -> source entry
  assets?: Record<string, string>; // output path -> repo path
}

const PACKAGES: Pkg[] = [
  {
    name: '@edge-mt/client',
    dir: 'client',
    description: 'Typed client for the edge-mt translation API: retries, SSE streaming, offline fallback.',
    entries: { index: 'client/index.ts' },
  },
  {
    name: '@edge-mt/browser',
    dir: 'browser',
    description: 'The edge-mt translation engine in the browser: WebAssembly SIMD kernels in a Web Worker, offline.',
    entries: { index: 'browser/index.ts', 'engine.worker': 'browser/engine.worker.ts' },
    assets: { ...Object.fromEntries(WASM.map((f) => [`wasm/${f}`, `kernels/build/${f}`])), 'langid.json': 'models/langid.json' },
  },
];

// In the repository the engine finds its worker, kernels and language identifier beside the sources; in the
// package they sit beside index.js. Written as `new URL(literal, import.meta.url)` so that Vite and webpack 5
// bundle them.
const SOURCE_URLS: Record<string, Array<[string, string]>> = {
  'translator.ts': [
    ["new URL('./engine.worker.ts', import.meta.url)", "new URL('./engine.worker.js', import.meta.url)"],
    ["new URL('../kernels/build/', import.meta.url)", "new URL('./wasm/', import.meta.url)"],
  ],
  'catalog.ts': [["new URL('../models/langid.json', import.meta.url)", "new URL('./langid.json', import.meta.url)"]],
};
const packagedUrls: Plugin = {
  name: 'packaged-urls',
  setup(b) {
    b.onLoad({ filter: /browser[\\/](translator|catalog)\.ts$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      for (const [from, to] of SOURCE_URLS[basename(args.path)]) {
        if (!text.includes(from)) throw new Error(`${relative(root, args.path)} no longer contains ${from}: update scripts/build-packages.ts`);
        text = text.replaceAll(from, to);
      }
      return { contents: text, loader: 'ts' };
    });
  },
};

export async function buildPackages(out = join(root, 'dist')): Promise<string[]> {
  for (const f of WASM) {
    if (!existsSync(join(root, 'kernels/build', f))) throw new Error(`kernels/build/${f} is missing: run \`npm run build\` first`);
  }
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
  const dirs: string[] = [];
  for (const p of PACKAGES) {
    const dir = join(out, p.dir);
    rmSync(dir, { recursive: true, force: true });
    await build({
      absWorkingDir: root,
      entryPoints: p.entries,
      outdir: dir,
      bundle: true,
      format: 'esm',
      platform: 'neutral', // fetch, ReadableStream, Worker: browsers, Node 18+, Workers
      target: 'es2022',
      sourcemap: 'linked',
      legalComments: 'none',
      logLevel: 'warning',
      plugins: [packagedUrls],
    });
    for (const [to, from] of Object.entries(p.assets ?? {})) {
      mkdirSync(dirname(join(dir, to)), { recursive: true });
      copyFileSync(join(root, from), join(dir, to));
    }
    emitDeclarations(join(root, p.entries.index), join(dir, 'types'));
    const types = `./types/${p.dir}/index.d.ts`;
    writeFileSync(join(dir, 'index.d.ts'), `export * from '${types.replace(/\.d\.ts$/, '.js')}';\n`);
    const pkg = {
      name: p.name,
      version,
      description: p.description,
      type: 'module',
      license: 'MIT',
      sideEffects: false,
      exports: { '.': { types: './index.d.ts', import: './index.js' }, ...(p.assets ? { './engine.worker.js': './engine.worker.js', './wasm/*': './wasm/*', './langid.json': './langid.json' } : {}), './package.json': './package.json' },
      types: './index.d.ts',
      files: ['*.js', '*.js.map', '*.d.ts', 'types', ...(p.assets ? ['wasm', 'langid.json'] : [])],
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
    dirs.push(dir);
  }
  return dirs;
}

// Declarations of the entry and everything it imports, with the sources' `.ts` specifiers as `.js` (what
// a consumer's TypeScript resolves to the emitted `.d.ts`). Type errors fail the build. The wire types
// that client/types.ts derives from the API's zod schemas are written out in full (inlineWireTypes), so
// the packages' types need neither zod nor the worker; any other package import left is an error.
function emitDeclarations(entry: string, outDir: string): void {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    rewriteRelativeImportExtensions: true,
    rootDir: root,
    outDir,
  };
  const program = ts.createProgram([entry], options);
  const diagnostics = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(), ...program.emit().diagnostics];
  if (diagnostics.length) throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  inlineWireTypes(program, outDir);
  const reached = new Set<string>();
  const visit = (p: string) => {
    if (reached.has(p)) return;
    reached.add(p);
    const text = readFileSync(p, 'utf8').replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\.ts\2/g, '$1$2$3.js$2');
    const external = /(?:from\s+|import\()['"]([^'".][^'"]*)['"]/.exec(text);
    if (external) throw new Error(`${relative(outDir, p)} imports ${external[1]}, which the package does not ship`);
    writeFileSync(p, text);
    for (const m of text.matchAll(/(?:from\s+|import\()['"](\.{1,2}\/[^'"]+)\.js['"]/g)) visit(join(dirname(p), `${m[1]}.d.ts`));
  };
  visit(join(outDir, relative(root, entry).replace(/\.ts$/, '.d.ts')));
  // Declarations only the inlined types needed (the schemas and what they import) are left out.
  const entries = readdirSync(outDir, { recursive: true, withFileTypes: true }).map((e) => ({ dir: e.isDirectory(), p: join(e.parentPath, e.name) }));
  for (const { dir, p } of entries) if (!dir && !reached.has(p)) rmSync(p);
  for (const { p } of entries.filter((e) => e.dir).sort((a, b) => b.p.length - a.p.length)) if (!readdirSync(p).length) rmSync(p, { recursive: true });
}

// In the declarations of client/types.ts, each type alias becomes the structural type it stands for
// (what z.infer computes), and the type-only imports of zod and the schemas go.
function inlineWireTypes(program: ts.Program, outDir: string): void {
  const source = program.getSourceFile(join(root, 'client/types.ts'));
  if (!source) return;
  const checker = program.getTypeChecker();
  const flags = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias | ts.TypeFormatFlags.UseStructuralFallback;
  const full = new Map<string, string>();
  for (const s of source.statements) if (ts.isTypeAliasDeclaration(s)) full.set(s.name.text, checker.typeToString(checker.getTypeAtLocation(s.name), s, flags));
  const path = join(outDir, 'client/types.d.ts');
  const text = readFileSync(path, 'utf8');
  const dts = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const edits: Array<[number, number, string]> = [];
  for (const s of dts.statements) {
    if (ts.isImportDeclaration(s) && /^(zod|.*\/schemas\.(ts|js))$/.test((s.moduleSpecifier as ts.StringLiteral).text)) edits.push([s.getFullStart(), s.getEnd(), '']);
    else if (ts.isTypeAliasDeclaration(s)) edits.push([s.type.getStart(), s.type.getEnd(), full.get(s.name.text)!]);
  }
  let out = text;
  for (const [start, end, by] of edits.reverse()) out = out.slice(0, start) + by + out.slice(end);
  writeFileSync(path, out);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const d of await buildPackages()) console.log(`built ${relative(root, d)}`);
}
