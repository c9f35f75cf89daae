/**
 * Golden files: `flash-sale-operator render -f examples/<name>.yaml --prometheus-operator` for every valid
 * example, stored in test/golden/<name>.yaml so every change to rendered output shows up in review.
 *
 * After an intended change, regenerate and review the diff:
 *   UPDATE_GOLDEN=1 npx vitest run test/render/golden.test.ts && git diff test/golden/
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { EXAMPLES_DIR, GOLDEN_DIR, exampleNames } from '../golden/fixtures.js';

const update = process.env.UPDATE_GOLDEN === '1';

async function renderExample(name: string): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await main(['render', '-f', join(EXAMPLES_DIR, `${name}.yaml`), '--prometheus-operator'], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
  });
  if (code !== 0) throw new Error(`render ${name} exited ${code}: ${stderr}`);
  return stdout;
}

describe('golden files', () => {
  it.each(exampleNames())('%s renders exactly as its golden file (test/golden/<name>.yaml)', async (name) => {
    const file = join(GOLDEN_DIR, `${name}.yaml`);
    const actual = await renderExample(name);
    if (update) writeFileSync(file, actual);
    expect(
      existsSync(file),
      `missing ${file}: run UPDATE_GOLDEN=1 npx vitest run test/render/golden.test.ts`,
    ).toBe(true);
    const expected = readFileSync(file, 'utf8');
    // On failure: review the change; if intended, run UPDATE_GOLDEN=1 npx vitest run test/render/golden.test.ts
    expect(actual).toBe(expected);
  });
});
