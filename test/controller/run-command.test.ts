/**
 * `flash-sale-operator run` refuses to start, with a message that says what to do, when the cluster cannot
 * be used: no credentials, an unreachable API server, or the FlashSaleStack CRD not installed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeApiServer, type FakeApiServer } from '../support/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OTHER_CRD = fileURLToPath(new URL('../fake-apiserver/fixtures/widgets-crd.yaml', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      ['dist/src/cli/main.js', 'run', '--metrics-addr', '127.0.0.1:0', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', KUBERNETES_SERVICE_HOST: '' },
      },
    );
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('flash-sale-operator run preflight', () => {
  let srv: FakeApiServer;

  beforeAll(async () => {
    srv = await startFakeApiServer({ crdFiles: [OTHER_CRD] }); // a cluster without our CRD
  });

  afterAll(async () => {
    await srv.stop();
  });

  it('exits 1 and names the CRD to install when FlashSaleStack is not served', async () => {
    const r = await run(['--kubeconfig', srv.kubeconfigPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FlashSaleStack CRD is not installed.*kubectl apply -f crds\/flashsale\.dev_flashsalestacks\.yaml/,
    );
  });

  it('exits 1 with a clear message when the kubeconfig file does not exist', async () => {
    const r = await run(['--kubeconfig', '/nonexistent/kubeconfig']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot load Kubernetes credentials/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 1 when the API server cannot be reached', async () => {
    const stopped = await startFakeApiServer({});
    const kubeconfig = stopped.kubeconfigPath;
    await stopped.stop();
    const r = await run(['--kubeconfig', kubeconfig]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the Kubernetes API/);
  });

  it('exits 2 on a bad flag value, naming the flag', async () => {
    const r = await run(['--concurrency', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--concurrency must be a whole number/);
  });
});
