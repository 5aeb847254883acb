// The typed contract (kernels/api.ts) against what each built flavour really exports: every export is
// declared, every declared kernel is exported (flavour-specific ones only where FLAVOR_ONLY says), and each
// takes as many arguments as its declaration. A kernel added in AssemblyScript but not to api.ts, or a
// declaration whose kernel was renamed or lost a parameter, fails here instead of at a host's call.
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { FLAVOR_ONLY } from './api.ts';
import type { Flavor } from './host.ts';
import { compileKernels, loadKernels } from './node.ts';

const ALL: Flavor[] = ['scalar', 'simd', 'relaxed', 'threads', 'threads-relaxed'];

interface Declared {
  params: number;
  optional: boolean;
}

// KernelExports' methods as api.ts declares them: name -> parameter count, optional (flavour-specific).
function declared(): Map<string, Declared> {
  const file = new URL('./api.ts', import.meta.url);
  const src = ts.createSourceFile('api.ts', readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const out = new Map<string, Declared>();
  src.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== 'KernelExports') return;
    for (const m of node.members) {
      if (!ts.isMethodSignature(m) || !ts.isIdentifier(m.name)) throw new Error(`api.ts: KernelExports member ${m.getText(src)} is not a method`);
      out.set(m.name.text, { params: m.parameters.length, optional: !!m.questionToken });
    }
  });
  return out;
}

describe('kernels/api.ts matches every flavour', () => {
  const decl = declared();

  it('declares the kernels (parsing api.ts found them)', () => {
    expect(decl.size).toBeGreaterThan(30);
    expect(decl.get('matmul_forward')).toEqual({ params: 7, optional: false });
  });

  it('lists a flavour-specific export in FLAVOR_ONLY exactly when it is declared optional', () => {
    const optional = [...decl].filter(([, d]) => d.optional).map(([n]) => n).sort();
    expect(Object.keys(FLAVOR_ONLY).sort()).toEqual(optional);
  });

  for (const flavor of ALL) {
    it(`${flavor}: exports exactly the declared functions (and the memory), with the declared arities`, () => {
      const exports = WebAssembly.Module.exports(compileKernels(flavor));
      const fns = exports.filter((e) => e.kind === 'function').map((e) => e.name);
      expect(exports.filter((e) => e.kind !== 'function').map((e) => `${e.kind} ${e.name}`)).toEqual(['memory memory']);
      const want = [...decl].filter(([n, d]) => !d.optional || FLAVOR_ONLY[n as keyof typeof FLAVOR_ONLY]?.includes(flavor)).map(([n]) => n);
      expect(fns.filter((n) => !decl.has(n)), 'exported but not declared in api.ts').toEqual([]);
      expect(want.filter((n) => !fns.includes(n)), 'declared but not exported').toEqual([]);
      expect(fns.filter((n) => decl.get(n)?.optional && !want.includes(n)), 'flavour-specific export in a flavour FLAVOR_ONLY does not list').toEqual([]);
      // An exported wasm function's length is its parameter count.
      const k = loadKernels(flavor).k as unknown as Record<string, (...a: number[]) => unknown>;
      const arity = fns.filter((n) => k[n].length !== decl.get(n)!.params).map((n) => `${n}: wasm ${k[n].length}, api.ts ${decl.get(n)!.params}`);
      expect(arity, 'parameter counts').toEqual([]);
    });
  }
});
