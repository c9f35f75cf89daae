/**
 * Hostile YAML given to the CLI (validate, render): an oversized file, an alias bomb, too many documents,
 * deep nesting and invalid UTF-8 are each refused with one `FILE: message` line and exit 1 — no stack trace —
 * at a bounded cost. The built CLI runs as a child so its peak RSS can be read; `[measured]` lines are the
 * figures docs/security.md quotes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';
import { invalidUtf8Offset, MAX_FILE_BYTES } from '../../src/cli/stack-files.js';
import { YAML_LIMITS } from '../../src/api/parse.js';

const MAIN = join(ROOT, 'dist/src/cli/main.js');
// Prints the child's peak RSS on exit, so the test can bound it.
const RSS_HOOK = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\nmaxrss-kib='+process.resourceUsage().maxRSS+'\\n'))`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fss-hostile-yaml-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]): { code: number | null; stderr: string; stdout: string; rssMiB: number } {
  const r = spawnSync(process.execPath, ['--import', RSS_HOOK, MAIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  const m = /\nmaxrss-kib=(\d+)\n$/.exec(r.stderr);
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: m ? r.stderr.slice(0, m.index) : r.stderr,
    rssMiB: m ? Number(m[1]) / 1024 : NaN,
  };
}

function cliAsync(...args: string[]): Promise<ReturnType<typeof cli>> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', RSS_HOOK, MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('close', (code) => {
      clearTimeout(timer);
      const m = /\nmaxrss-kib=(\d+)\n$/.exec(stderr);
      resolve({
        code,
        stdout,
        stderr: m ? stderr.slice(0, m.index) : stderr,
        rssMiB: m ? Number(m[1]) / 1024 : NaN,
      });
    });
  });
}

const minimal = readFileSync(join(ROOT, 'examples/minimal.yaml'), 'utf8');

function file(name: string, content: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function aliasBomb(levels: number): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(',')}]`,
    );
  return `${lines.join('\n')}\n`;
}

const cases: { name: string; make: () => string; message: RegExp }[] = [
  {
    name: 'a 50 MB file',
    make: () => file('big.yaml', `${minimal}\n# ${'x'.repeat(50 * 1024 * 1024)}\n`),
    message: /: the file is larger than 1 MiB; .*split a bundle/,
  },
  {
    name: 'an alias bomb (9^9 expansions)',
    make: () => file('bomb.yaml', aliasBomb(9)),
    message:
      /: document 1: expands its aliases \(\*name\) more than 100 times; write the values out instead$/,
  },
  {
    name: `${YAML_LIMITS.documents + 1}+ documents`,
    make: () => file('many.yaml', Array(2000).fill(minimal).join('\n---\n')),
    message: /: document 101: the file has more than 100 YAML documents; split it into several files$/,
  },
  {
    name: 'mappings nested 100 deep',
    make: () =>
      file('deep.yaml', Array.from({ length: 100 }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' 1\n'),
    message: /: document 1: is nested more than 64 levels deep/,
  },
  {
    name: 'flow lists nested 200,000 deep',
    make: () => file('flow.yaml', `${'['.repeat(200_000)}${']'.repeat(200_000)}\n`),
    message: /: document 1: is nested more than 64 levels deep/,
  },
  {
    name: 'compact lists nested 200,000 deep',
    make: () => file('dashes.yaml', `${'- '.repeat(200_000)}x\n`),
    message: /: document 1: is nested more than 64 levels deep/,
  },
  {
    name: 'invalid UTF-8',
    make: () => {
      const at = minimal.indexOf('name:') + 6;
      return file(
        'latin1.yaml',
        Buffer.concat([
          Buffer.from(minimal.slice(0, at)),
          Buffer.from([0xe9]),
          Buffer.from(minimal.slice(at)),
        ]),
      );
    },
    message: /: byte offset \d+: not valid UTF-8 \(byte 0xe9\); save the file as UTF-8$/,
  },
];

describe('hostile YAML to the CLI', () => {
  it.each(cases)(
    'validate and render refuse $name: one FILE: line, exit 1, no stack trace',
    async ({ name, make, message }) => {
      const path = make();
      const runs = await Promise.all(
        ['validate', 'render'].map(async (cmd) => ({ cmd, r: await cliAsync(cmd, '-f', path) })),
      );
      for (const { cmd, r } of runs) {
        expect(r.code, r.stderr).toBe(1);
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines[0]!.startsWith(`${path}: `), r.stderr).toBe(true);
        expect(lines[0]).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
        expect(r.stdout).toBe('');
        expect(r.rssMiB).toBeLessThan(300);
        if (cmd === 'validate')
          console.log(`[measured] validate of ${name}: peak RSS ${Math.round(r.rssMiB)} MiB`);
      }
    },
  );

  it('names the offset of the first byte that is not UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('kind: Flash'), Buffer.from([0xc3, 0x28]), Buffer.from('Sale')]);
    const p = file('offset.yaml', bytes);
    expect(cli('validate', '-f', p).stderr.trimEnd()).toBe(
      `${p}: byte offset 11: not valid UTF-8 (byte 0xc3); save the file as UTF-8`,
    );
    expect(invalidUtf8Offset(Buffer.from('ascii, é, 漢字, 😀'))).toBe(-1);
    for (const [bad, at] of [
      [[0x61, 0xc0, 0xaf], 1], // overlong '/'
      [[0xed, 0xa0, 0x80], 0], // a UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x61, 0x62, 0xe2, 0x82], 2], // truncated at the end
      [[0xff], 0],
    ] as const) {
      expect(invalidUtf8Offset(Uint8Array.from(bad)), JSON.stringify(bad)).toBe(at);
    }
  });

  it('still reads a bundle just inside the limits', () => {
    const p = file('bundle.yaml', Array(YAML_LIMITS.documents).fill(minimal).join('\n---\n'));
    expect(readFileSync(p).length).toBeLessThan(MAX_FILE_BYTES);
    const r = cli('validate', '-f', p);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/100 FlashSaleStack document\(s\) in 1 file\(s\) valid/);
    // Anchors and aliases within the limit are ordinary YAML.
    const anchors = file(
      'anchors.yaml',
      'apiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata:\n  name: shop\n  labels: &l {team: a}\n  annotations: *l\nspec: {}\n',
    );
    const a = cli('validate', '-f', anchors);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
  });
});
