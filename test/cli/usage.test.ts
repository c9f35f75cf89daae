/**
 * How the flash-sale-operator command line treats a person who types it: every --help prints help and nothing
 * else, a usage error is its one line first plus a short hint (exit 2), a reader that stops early ends it
 * quietly, and a path that is a directory or unreadable says so.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { ROOT } from '../api/crd-helpers.js';
import { LOCAL_CHECK_ARGS as LOCAL, runCli } from './run-cli.js';

const BIN = join(ROOT, 'dist/src/cli/main.js');
const run = runCli;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fso-usage-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('help', () => {
  it.each(commands.map((c) => c.name))('%s --help prints its usage and runs nothing', async (name) => {
    const usage = commands.find((c) => c.name === name)!.usage;
    // Arguments that would make the command do something (or fail) if it ran.
    for (const argv of [
      [name, '--help'],
      [name, '-f', '/nonexistent.yaml', '--kubeconfig', '/nonexistent', '-h'],
      ['help', name],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout.trimEnd()).toBe(usage.trimEnd());
    }
  });

  it('--help lists every command, the playground first', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    const listed = [...r.stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);
    expect(listed).toEqual(commands.map((c) => c.name));
    expect(listed[0]).toBe('playground');
  });
});

describe('usage errors: the error line first, then one hint; exit 2', () => {
  it.each([
    [[], 'flash-sale-operator: give a command: playground, validate, render, run, check, backup', ''],
    [['bogus'], "flash-sale-operator: unknown command 'bogus'", ''],
    [['help', 'bogus'], "flash-sale-operator: unknown command 'bogus'", ''],
    [['render'], 'flash-sale-operator render: give at least one file with -f FILE', 'render'],
    [['validate', '--bogus'], "flash-sale-operator validate: unknown argument '--bogus'", 'validate'],
    [
      ['run', '--concurrency', 'many'],
      'flash-sale-operator run: --concurrency must be a whole number',
      'run',
    ],
    [
      ['playground', '--port', 'x'],
      'flash-sale-operator playground: --port must be a port number',
      'playground',
    ],
    [['backup', 'restore'], 'flash-sale-operator backup: the only backup sub-command is "drill"', 'backup'],
    [
      ['check', '--postgres', 'postgres://x@y/z'],
      'flash-sale-operator check: missing --redis, --amqp',
      'check',
    ],
  ])('%j', async (argv, line, command) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines[0]!.startsWith(line), r.stderr).toBe(true);
    const prefix = command ? `flash-sale-operator ${command}` : 'flash-sale-operator';
    expect(lines.slice(1)).toEqual([`Run '${prefix} --help' for usage.`, '']);
  });

  it('check with an address instead of a URL is a usage error naming the flag and the form, probing nothing', async () => {
    const argv = [...LOCAL];
    argv[1] = '127.0.0.1:5432';
    const r = await run('check', ...argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "flash-sale-operator check: --postgres: not a URL; expected e.g. postgres://postgres@127.0.0.1:5432/postgres\nRun 'flash-sale-operator check --help' for usage.\n",
    );
    const wrongScheme = await run('check', ...LOCAL, '--api', 'ftp://127.0.0.1');
    expect(wrongScheme.code).toBe(2);
    expect(wrongScheme.stderr.split('\n')[0]).toMatch(
      /^flash-sale-operator check: --api: scheme must be http/,
    );
  });
});

describe('paths that cannot be read', () => {
  it.each(['validate', 'render'])('%s -f DIRECTORY says it is a directory (exit 1)', async (cmd) => {
    const r = await run(cmd, '-f', join(ROOT, 'examples'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${join(ROOT, 'examples')}: cannot read file: it is a directory; give each YAML file in it with its own -f (e.g. -f examples/minimal.yaml)\n`,
    );
  });

  it.each(['validate', 'render'])('%s -f UNREADABLE says permission denied (exit 1)', (cmd) => {
    const file = join(dir, `${cmd}-secret.yaml`);
    writeFileSync(file, 'apiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: x}\n');
    chmodSync(file, 0o000);
    // root reads any file, so as root the built CLI runs as the unprivileged user nobody.
    const asRoot = process.getuid?.() === 0;
    const [cmdline, args] = asRoot
      ? ['runuser', ['-u', 'nobody', '--', process.execPath, BIN, cmd, '-f', file]]
      : [process.execPath, [BIN, cmd, '-f', file]];
    const r = spawnSync(cmdline, args, { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${file}: cannot read file: permission denied\n`);
  });
});

describe('a reader that stops early', () => {
  it('render … | head -1 prints the first line and ends quietly, exit 0', () => {
    const r = spawnSync(
      'bash',
      ['-c', `set -o pipefail; "${process.execPath}" "${BIN}" render -f examples/production.yaml | head -1`],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('---\n');
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
  });
});
