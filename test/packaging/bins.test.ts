/**
 * npx runs a checkout's own binaries through a link in its cache that npm made executable only when it first
 * created it; a rebuilt dist/ (a fresh clone at the same path) must be executable by itself.
 */
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };

describe('the built binaries', () => {
  it.each(Object.entries(pkg.bin))('%s (%s) is executable after npm run build', (_name, file) => {
    expect(statSync(file).mode & 0o111).toBe(0o111);
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
