/**
 * Both binaries refuse an unsupported Node.js at once, with one line that names the version needed, instead of
 * crashing inside a dependency (undici on Node.js 20: "Cannot read properties of undefined (reading 'bind')").
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_REQUIRED, nodeVersionProblem } from '../../src/entry-guard.js';
import { ROOT } from '../api/crd-helpers.js';

const BINARIES = [
  ['flash-sale-operator', 'dist/src/cli/main.js'],
  ['flash-sale-api', 'dist/src/service/main.js'],
] as const;

/** Runs a built binary on this Node.js made to report another version (a preload that rewrites it). */
function runReporting(version: string, entry: string, args: string[]) {
  const preload = `data:text/javascript,${encodeURIComponent(
    `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} });`,
  )}`;
  return spawnSync(process.execPath, ['--import', preload, join(ROOT, entry), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('the Node.js version gate', () => {
  it('accepts exactly the versions package.json and undici declare', () => {
    const engines = (file: string) =>
      (JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines('package.json')).toBe(`>=${NODE_REQUIRED}`);
    expect(engines('node_modules/undici/package.json')).toBe(`>=${NODE_REQUIRED}.0`);
    for (const ok of ['22.19.0', '22.20.1', '23.0.0', '24.11.1', '30.1.2'])
      expect(nodeVersionProblem('x', ok), ok).toBeUndefined();
    for (const old of ['22.18.9', '20.20.2', '18.0.0', '8.1.0'])
      expect(nodeVersionProblem('x', old), old).toContain(`needs Node.js ${NODE_REQUIRED} or newer`);
  });

  it.each(BINARIES)(
    '%s on Node.js 20 prints one line naming the version needed and exits 1',
    (bin, entry) => {
      for (const args of [['--help'], ['serve'], ['run', '--kubeconfig', '/nonexistent']]) {
        const r = runReporting('20.20.2', entry, args);
        expect(r.status, r.stderr).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(
          `${bin}: needs Node.js 22.19 or newer, this is Node.js 20.20.2; from a checkout run \`npx ${bin}\` (npm ci brings Node.js 24 for npm and npx), or install Node.js 24\n`,
        );
      }
    },
  );

  it.each(BINARIES)('%s lets the oldest supported version, 22.19.0, through', (bin, entry) => {
    const r = runReporting('22.19.0', entry, ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(bin === 'flash-sale-api' ? /^usage: flash-sale-api/ : /^flash-sale-operator:/);
  });

  it.each(BINARIES)(
    '%s loads nothing before the check: its entry imports only src/entry-guard',
    (_bin, entry) => {
      const text = readFileSync(join(ROOT, entry), 'utf8');
      const staticImports = [...text.matchAll(/^\s*import\s[^(]*?from\s+['"]([^'"]+)['"]/gm)].map(
        (m) => m[1],
      );
      expect(staticImports).toEqual(['../entry-guard.js']);
      const guard = readFileSync(join(ROOT, 'dist/src/entry-guard.js'), 'utf8');
      expect(guard).not.toMatch(/^\s*import\s/m);
    },
  );

  it("works or refuses in one line on the machine's own Node.js (v20 on this kind of machine), never crashes", () => {
    const which = spawnSync('bash', ['-c', 'PATH=/usr/local/bin:/usr/bin:/bin command -v node'], {
      encoding: 'utf8',
    });
    const machineNode = which.stdout.trim() || process.execPath;
    const version = spawnSync(machineNode, ['-p', 'process.versions.node'], {
      encoding: 'utf8',
    }).stdout.trim();
    for (const [bin, entry] of BINARIES) {
      const r = spawnSync(machineNode, [join(ROOT, entry), '--help'], { encoding: 'utf8', timeout: 120_000 });
      if (nodeVersionProblem(bin, version)) {
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr).toBe(`${nodeVersionProblem(bin, version)}\n`);
      } else {
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr).toBe('');
      }
    }
  });
});
