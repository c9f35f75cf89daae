/**
 * `npm start` / `flash-sale-operator playground`: the in-memory API server, the operator against it and the
 * example stack, Ready for `kubectl get fss` within 30 s; Ctrl-C or SIGTERM stops it and leaves no process,
 * port or temporary directory behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';
import { kubectlBinary } from '../support/tools.js';
import {
  descendants,
  isRunning,
  PROCESS_TEST_TIMEOUT_MS,
  PROCESS_WAIT_MS,
  waitUntilGone,
} from './process-tree.js';

const BIN = join(ROOT, 'dist/src/cli/main.js');
const READY_LINE = 'Ctrl-C stops the playground.';
const children: ChildProcess[] = [];
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fso-playground-test-'));
});
afterAll(() => {
  for (const c of children) if (c.pid !== undefined && isRunning(c.pid)) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Playground {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function start(command: string, args: string[], detached = false): Playground {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

/** Waits until the playground says the stack is Ready (on an idle machine: seconds; README promises 30 s). */
async function ready(p: Playground): Promise<{ kubeconfig: string; url: string; tempDir: string }> {
  const deadline = Date.now() + PROCESS_WAIT_MS;
  while (!p.out().includes(READY_LINE)) {
    if (Date.now() > deadline || p.child.exitCode !== null)
      throw new Error(`the playground did not get Ready:\n${p.out()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const kubeconfig = /^ {2}kubeconfig {4}(\S+)$/m.exec(p.out())![1]!;
  const url = /^ {2}API server {4}(\S+)$/m.exec(p.out())![1]!;
  const tempDir = /^ {2}operator log {2}(\S+)\/operator\.log$/m.exec(p.out())![1]!;
  return { kubeconfig, url, tempDir };
}

function kubectl(kubeconfig: string, ...args: string[]) {
  return spawnSync(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' });
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

describe('the playground', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('shows a Ready example stack to kubectl get fss, and Ctrl-C leaves nothing behind', async () => {
    const p = start(process.execPath, [BIN, 'playground']);
    const { kubeconfig, url, tempDir } = await ready(p);
    expect(p.out()).toMatch(/^created FlashSaleStack default\/shop from examples\/minimal\.yaml$/m);
    expect(p.out()).toMatch(/^FlashSaleStack default\/shop is Ready$/m);
    expect(p.out()).toContain(`  export KUBECONFIG=${kubeconfig}\n  kubectl get fss\n`);

    const fss = kubectl(
      kubeconfig,
      'get',
      'fss',
      '-o',
      'jsonpath={.items[*].metadata.name}={.items[*].status.phase}',
    );
    expect(fss.stderr).toBe('');
    expect(fss.stdout).toBe('shop=Ready');
    const table = kubectl(kubeconfig, 'get', 'fss');
    expect(table.stdout).toMatch(/^shop\s+Ready\s/m);
    expect(kubectl(kubeconfig, 'get', 'deployment', 'shop-api').status).toBe(0);

    // One process: the API server and the operator run inside it, so nothing else can outlive it.
    expect(descendants(p.child.pid!)).toEqual([]);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(p.out()).toMatch(/SIGINT: stopping the operator and the API server\nstopped\n$/);
    expect(await portOpen(url)).toBe(false);
    expect(existsSync(tempDir)).toBe(false);
  });

  it('npm start: a Ctrl-C to the terminal (SIGINT to the whole process group) stops npm and the playground', async () => {
    const npm = start('npm', ['start', '--silent'], true);
    const { url } = await ready(npm);
    const tree = [npm.child.pid!, ...descendants(npm.child.pid!)];
    process.kill(-npm.child.pid!, 'SIGINT'); // what the terminal does on Ctrl-C
    await npm.exited;
    expect(await waitUntilGone(tree, PROCESS_WAIT_MS)).toEqual([]);
    expect(npm.out()).toMatch(/stopped\n$/);
    expect(npm.out()).not.toMatch(/exiting now/);
    expect(await portOpen(url)).toBe(false);
  });

  it('npm start: SIGTERM to the PID of npm stops the playground too', async () => {
    const npm = start('npm', ['start', '--silent']);
    const { url } = await ready(npm);
    const tree = [npm.child.pid!, ...descendants(npm.child.pid!)];
    expect(tree.length).toBeGreaterThan(1);
    npm.child.kill('SIGTERM');
    expect(await waitUntilGone(tree, PROCESS_WAIT_MS)).toEqual([]);
    expect(await portOpen(url)).toBe(false);
  });

  it('--kubeconfig FILE and -f FILE: the kubeconfig where asked, the stacks of FILE', async () => {
    const kubeconfig = join(dir, 'kc');
    const p = start(process.execPath, [
      BIN,
      'playground',
      '--kubeconfig',
      kubeconfig,
      '-f',
      'examples/seed.yaml',
    ]);
    const shown = await ready(p);
    expect(shown.kubeconfig).toBe(kubeconfig);
    expect(readFileSync(kubeconfig, 'utf8')).toContain(shown.url);
    expect(p.out()).toMatch(/^created FlashSaleStack default\/\S+ from examples\/seed\.yaml$/m);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('an invalid stack file is refused before anything starts', async () => {
    const p = start(process.execPath, [BIN, 'playground', '-f', 'examples/invalid/bad-cron.yaml']);
    expect(await p.exited).toBe(1);
    expect(p.out()).toMatch(/^examples\/invalid\/bad-cron\.yaml: spec\.backup\.schedule: /m);
    expect(p.out()).not.toContain('API server');
  });
});
