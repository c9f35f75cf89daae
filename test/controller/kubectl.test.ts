/**
 * The README's "without a cluster" walk-through, as processes: the standalone in-memory API server
 * (`npm run fake-apiserver`), the built operator binary (`flash-sale-operator run`), and kubectl as a second
 * client: apply, get (printer columns), wait for Ready, describe (conditions and events), delete.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlBinary } from '../support/tools.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = process.execPath;

function waitForLine(proc: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what}; output so far:\n${buf}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = pattern.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: process exited with ${code}; output:\n${buf}`));
    });
  });
}

function kubectl(kubeconfig: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('kubectl against the in-memory API server with the operator binary running', () => {
  let dir: string;
  let kubeconfig: string;
  let apiserver: ChildProcess;
  let operator: ChildProcess;
  let operatorLog = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fso-kubectl-'));
    kubeconfig = join(dir, 'kubeconfig');
    apiserver = spawn(
      NODE,
      ['dist/test/support/main.js', '--port', '0', '--kubeconfig', kubeconfig, '--kubelet'],
      {
        cwd: ROOT,
      },
    );
    await waitForLine(apiserver, /listening on https:\/\/\S+/, 'fake-apiserver');
    operator = spawn(
      NODE,
      [
        'dist/src/cli/main.js',
        'run',
        '--kubeconfig',
        kubeconfig,
        '--metrics-addr',
        '127.0.0.1:0',
        '--no-health',
      ],
      { cwd: ROOT },
    );
    operator.stderr?.on('data', (d: Buffer) => (operatorLog += d.toString()));
    await waitForLine(operator, /"msg":"operator running"/, 'operator start');
  });

  afterAll(async () => {
    for (const p of [operator, apiserver]) {
      if (p && p.exitCode === null) {
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies, lists with printer columns, waits for Ready, describes and deletes a stack', () => {
    const apply = kubectl(kubeconfig, 'apply', '-f', 'examples/minimal.yaml');
    expect(apply.stderr).toBe('');
    expect(apply.stdout).toMatch(/flashsalestack.flashsale.dev\/shop created/);

    const wait = kubectl(kubeconfig, 'wait', '--for=condition=Ready', 'fss/shop', '--timeout=60s');
    expect(wait.status, `${wait.stderr}\n${operatorLog.slice(-3000)}`).toBe(0);

    const get = kubectl(kubeconfig, 'get', 'fss');
    expect(get.status).toBe(0);
    const [header, row] = get.stdout.trim().split('\n');
    expect(header).toMatch(/NAME\s+PHASE\s+READY\s+POSTGRES\s+API\s+AGE/);
    expect(row).toMatch(/^shop\s+Ready\s+7\/7\s+18\s+2\s+/);

    const describe = kubectl(kubeconfig, 'describe', 'fss', 'shop');
    expect(describe.status).toBe(0);
    expect(describe.stdout).toMatch(/Type:\s+Ready/);
    expect(describe.stdout).toMatch(/Reason:\s+AllComponentsReady/);
    expect(describe.stdout).toMatch(/Events:/);
    expect(describe.stdout).toMatch(/Normal\s+Ready\s+.*flash-sale-operator/);

    const del = kubectl(kubeconfig, 'delete', 'fss', 'shop', '--timeout=60s');
    expect(del.status, del.stderr).toBe(0);
    const after = kubectl(kubeconfig, 'get', 'fss', 'shop');
    expect(after.status).not.toBe(0);
    expect(after.stderr).toMatch(/NotFound|not found/);
    const left = kubectl(
      kubeconfig,
      'get',
      'deployments,statefulsets,configmaps',
      '-l',
      'flashsale.dev/stack=shop',
      '-o',
      'name',
    );
    expect(left.stdout.trim()).toBe('');
  });

  it('server-side apply through kubectl coexists with the operator (no conflict on fields it does not own)', () => {
    const apply = kubectl(
      kubeconfig,
      'apply',
      '--server-side',
      '--field-manager=gitops',
      '-f',
      'examples/minimal.yaml',
    );
    expect(apply.status, apply.stderr).toBe(0);
    const wait = kubectl(kubeconfig, 'wait', '--for=condition=Ready', 'fss/shop', '--timeout=60s');
    expect(wait.status, wait.stderr).toBe(0);
    // GitOps re-applies the same manifest: no conflict with the operator's status or finalizer.
    const again = kubectl(
      kubeconfig,
      'apply',
      '--server-side',
      '--field-manager=gitops',
      '-f',
      'examples/minimal.yaml',
    );
    expect(again.status, again.stderr).toBe(0);
    expect(kubectl(kubeconfig, 'delete', 'fss', 'shop', '--timeout=60s').status).toBe(0);
  });
});
