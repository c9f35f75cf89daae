/**
 * The start-up version check: below the supported range the operator exits non-zero at once with one line
 * naming the range and the server's version; a supported server's version reaches render.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MIN_SUPPORTED, supportedRangeText, type KubernetesVersion } from '../../src/kubernetes/version.js';
import { checkServerVersion } from '../../src/controller/server-version.js';
import { loadExample, startServer, testParts, useOperatorTestEnv, waitReady } from './harness.js';
import { operatorRunArgs, ROOT } from './operator-process.js';

function runOperator(
  kubeconfig: string,
  deadlineMs: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, operatorRunArgs(kubeconfig), { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the operator was still running after ${deadlineMs} ms; stderr:\n${stderr}`));
    }, deadlineMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the server version check at start', () => {
  it('judges /version documents as servers write them', () => {
    expect(checkServerVersion({ major: '1', minor: '29+', gitVersion: 'v1.29.4-gke.1043' })).toEqual({
      major: 1,
      minor: 29,
    });
    expect(checkServerVersion({ major: '1', minor: '28', gitVersion: 'v1.28.7' })).toEqual(MIN_SUPPORTED);
    expect(() => checkServerVersion({ major: '1', minor: '27', gitVersion: 'v1.27.3' })).toThrow(
      `the API server runs Kubernetes v1.27.3 (1.27), which flash-sale-operator does not support: it needs Kubernetes ${supportedRangeText()}`,
    );
    expect(() => checkServerVersion({ gitVersion: 'banana' })).toThrow(/cannot tell the Kubernetes version/);
  });

  // The acceptance is "exits within 10 s": it exits after its first request, with no retry or wait, so the time
  // is Node.js loading the CLI (seconds on a loaded machine). The deadline here only stops a hung process.
  it('below the supported range, `run` exits non-zero after one request with one line naming the range', async () => {
    const { srv } = await startServer({ kubernetesVersion: '1.27' });
    try {
      const { code, stderr } = await runOperator(srv.kubeconfigPath, 60_000);
      expect(code).not.toBe(0);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(
        `flash-sale-operator run: the API server runs Kubernetes v1.27.0-fake (1.27), which flash-sale-operator does not support: it needs Kubernetes ${supportedRangeText()}`,
      );
      // Nothing was reconciled: the only requests were the version check.
      expect(srv.requests().map((r) => r.path)).toEqual(['/version']);
    } finally {
      await srv.stop();
    }
  });

  describe('on a supported server', () => {
    const seen: KubernetesVersion[] = [];
    const env = useOperatorTestEnv({
      server: { kubernetesVersion: '1.30' },
      parts: () => {
        const parts = testParts();
        return {
          ...parts,
          render: (stack, inputs) => (seen.push(inputs.kubernetesVersion), parts.render(stack, inputs)),
        };
      },
    });

    it("render gets the server's version", async () => {
      await env.c.create(loadExample('minimal.yaml'));
      await waitReady(env.c);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((v) => v.major === 1 && v.minor === 30)).toBe(true);
    });
  });
});
