/**
 * Stopping `flash-sale-operator run`: SIGINT, SIGTERM and SIGHUP stop it gracefully (exit 0); a repeat of the
 * signal within a second is the same request (under `npm start` one Ctrl-C arrives twice); and started the
 * way the README shows, `npx flash-sale-operator run … &`, killing npx's PID stops the operator too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';
import { startFakeApiServer, type FakeApiServer } from '../support/server.js';
import {
  commandLine,
  descendants,
  isRunning,
  PROCESS_TEST_TIMEOUT_MS,
  PROCESS_WAIT_MS,
  waitUntilGone,
} from './process-tree.js';

const BIN = join(ROOT, 'dist/src/cli/main.js');
let srv: FakeApiServer;
const started: ChildProcess[] = [];

beforeAll(async () => {
  srv = await startFakeApiServer({ crdFiles: [join(ROOT, 'crds/flashsale.dev_flashsalestacks.yaml')] });
});
afterAll(async () => {
  for (const p of started) if (p.pid !== undefined && isRunning(p.pid)) p.kill('SIGKILL');
  await srv.stop();
});

interface Started {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[]): Started {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

async function until(what: string, ok: () => boolean, timeoutMs = PROCESS_WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const runArgs = () => [
  'run',
  '--kubeconfig',
  srv.kubeconfigPath,
  '--no-health',
  '--metrics-addr',
  '127.0.0.1:0',
];

describe('stopping flash-sale-operator run', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('SIGINT, SIGTERM and SIGHUP each stop it gracefully, exit 0', async () => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    await Promise.all(
      signals.map(async (signal) => {
        const op = start(process.execPath, [BIN, ...runArgs()]);
        await until('operator running', () => op.stderr().includes('"operator running"'));
        op.child.kill(signal);
        expect(await op.exited, signal).toBe(0);
        expect(op.stderr()).toMatch(new RegExp(`"msg":"shutting down","signal":"${signal}"`));
      }),
    );
  });

  it('a signal while it is still starting (a slow API server) stops it instead of leaving it running', async () => {
    srv.resetRequests();
    srv.faults.addLatency({ ms: 3000, verb: 'list', resource: 'flashsalestacks' });
    try {
      const op = start(process.execPath, [BIN, ...runArgs()]);
      await until('the preflight list', () =>
        srv.requests().some((r) => r.verb === 'list' && r.resource === 'flashsalestacks'),
      );
      op.child.kill('SIGTERM');
      expect(await op.exited).toBe(0);
      expect(op.stderr()).toMatch(/"msg":"shutting down","signal":"SIGTERM"/);
    } finally {
      srv.faults.clear();
    }
  });

  it('a second Ctrl-C at once (npm forwards the terminal one) is the same request: still a graceful exit 0', async () => {
    const op = start(process.execPath, [BIN, ...runArgs()]);
    await until('operator running', () => op.stderr().includes('"operator running"'));
    op.child.kill('SIGINT');
    op.child.kill('SIGINT');
    expect(await op.exited).toBe(0);
    expect(op.stderr()).not.toMatch(/exiting now/);
    expect(op.stderr().match(/shutting down/g)).toHaveLength(1);
  });

  it('started as `npx flash-sale-operator run … &`, killing the PID of npx stops the operator', async () => {
    const npx = start('npx', ['flash-sale-operator', ...runArgs()]);
    await until('operator running', () => npx.stderr().includes('"operator running"'));
    // npx runs it as npx → sh -c → node; the sh is what npx's signal reaches.
    const operator = descendants(npx.child.pid!).find((pid) =>
      /^node \S*flash-sale-operator run --kubeconfig/.test(commandLine(pid)),
    );
    expect(operator, 'the operator process below npx').toBeDefined();
    npx.child.kill('SIGTERM');
    await npx.exited;
    expect(await waitUntilGone([operator!], PROCESS_WAIT_MS)).toEqual([]);
  });

  it('started by npm, but orphaned before it even loaded (npx killed at once), it stops as well', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fso-orphan-'));
    // bash starts it in the background and exits at once: it is adopted before its first line of code runs.
    const orphan = (env: Record<string, string>) => {
      const r = spawnSync(
        'bash',
        ['-c', '"$0" "$@" >"$LOG" 2>&1 </dev/null & echo $!', process.execPath, BIN, ...runArgs()],
        { env: { ...process.env, ...env }, encoding: 'utf8' },
      );
      return Number(r.stdout.trim());
    };
    try {
      const { npm_command: _drop, ...notNpm } = process.env;
      const plain = spawnSync(
        'bash',
        ['-c', '"$0" "$@" >"$LOG" 2>&1 </dev/null & echo $!', process.execPath, BIN, ...runArgs()],
        { env: { ...notNpm, LOG: join(dir, 'plain.log') } as NodeJS.ProcessEnv, encoding: 'utf8' },
      );
      const control = Number(plain.stdout.trim());
      const underNpm = orphan({ npm_command: 'exec', LOG: join(dir, 'npm.log') });
      expect(await waitUntilGone([underNpm], PROCESS_WAIT_MS)).toEqual([]);
      // Not started by npm: an orphan is none of our business (nohup, daemon managers), it keeps running.
      await until('the control operator running', () =>
        readFileSync(join(dir, 'plain.log'), 'utf8').includes('"operator running"'),
      );
      expect(isRunning(control)).toBe(true);
      process.kill(control, 'SIGTERM');
      expect(await waitUntilGone([control], PROCESS_WAIT_MS)).toEqual([]);
      expect(readFileSync(join(dir, 'plain.log'), 'utf8')).toMatch(
        /"msg":"shutting down","signal":"SIGTERM"/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
