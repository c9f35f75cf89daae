import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';
import { ROOT } from '../api/crd-helpers.js';

const run = runCli;

const ex = (f: string) => join(ROOT, 'examples', f);
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fss-validate-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('flash-sale-operator validate', () => {
  it('exits 0 for the valid examples', async () => {
    const r = await run(
      'validate',
      '-f',
      ex('minimal.yaml'),
      '-f',
      ex('production.yaml'),
      '-f',
      ex('seed.yaml'),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3 FlashSaleStack document\(s\) in 3 file\(s\) valid/);
  });

  it('exits 1 with one "FILE: path: message" line per problem', async () => {
    const file = ex('invalid/pool-params-in-postgres.yaml');
    const r = await run('validate', '-f', ex('minimal.yaml'), '-f', file);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines)
      expect(l).toMatch(new RegExp(`^${file}: spec\\.postgres\\.parameters\\.pool_\\w+: .*spec\\.pgbouncer`));
  });

  it('gives clear errors for unparsable YAML, other kinds and missing files', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'kind: FlashSaleStack\nspec: {postgres: [\n');
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n');
    const r = await run('validate', '-f', bad, '-f', other, '-f', join(dir, 'missing.yaml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${bad}: line \\d+, column \\d+: unparsable YAML: `, 'm'));
    expect(r.stderr).toMatch(
      new RegExp(`^${other}: document 1: is a Deployment \\(apps/v1\\), not a FlashSaleStack`, 'm'),
    );
    expect(r.stderr).toMatch(/missing\.yaml: cannot read file: no such file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('marks the document when a file holds several', async () => {
    const multi = join(dir, 'multi.yaml');
    writeFileSync(
      multi,
      'apiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: a}\n---\napiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: b}\nspec: {api: {replicas: -1}}\n',
    );
    const r = await run('validate', '-f', multi);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`${multi}: spec.api.replicas: must be at least 0, got -1 [document 2]\n`);
  });

  it('prints help and refuses bad usage', async () => {
    const help = await run('validate', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: flash-sale-operator validate -f FILE/);
    const none = await run('validate');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/at least one file/);
  });

  it('works as the built binary (dist/, built by npm test / npm run build)', () => {
    const bin = join(ROOT, 'dist/src/cli/main.js');
    expect(existsSync(bin), 'run npm run build first').toBe(true);
    const ok = spawnSync(process.execPath, [bin, 'validate', '-f', ex('seed.yaml')], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    const bad = spawnSync(
      process.execPath,
      [bin, 'validate', '-f', ex('invalid/allkeys-lru-inventory.yaml')],
      {
        encoding: 'utf8',
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(
      /allkeys-lru-inventory\.yaml: spec\.redis\.maxmemoryPolicy: allkeys-lru can evict/,
    );
  });
});
