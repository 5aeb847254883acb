// The README's code examples are files here, type-checked by `tsc --noEmit` (part of `npm test`) against
// the real client and browser APIs; this test keeps the README's copy identical to the checked file.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

describe('README examples', () => {
  const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  it.each(files)('README shows docs/examples/%s as it is type-checked', (f) => {
    expect(blocks).toContain(readFileSync(join(import.meta.dirname, f), 'utf8'));
  });
});
