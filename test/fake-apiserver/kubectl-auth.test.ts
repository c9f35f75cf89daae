/**
 * Every kubectl on the machine works against the stand-in with its kubeconfigs: imperative creates (which
 * kubectl 1.31 and newer send as protobuf), `kubectl auth can-i`, and RBAC refusals as a ServiceAccount.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { installedKubectls } from '../support/tools.js';
import { http, start } from './helpers.js';

const run = promisify(execFile);
const KUBECTLS = installedKubectls();
let srv: FakeApiServer;
let dir: string;
let saKubeconfig: string;

async function kubectl(
  bin: string,
  kubeconfig: string,
  ...args: string[]
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(bin, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], {
      timeout: 30_000,
    });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

beforeAll(async () => {
  ({ srv } = await start());
  dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-kubectl-auth-'));
  await http(srv, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'viewer' } });
  const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces/default';
  await http(srv, 'POST', `${rbac}/roles`, {
    metadata: { name: 'cm-reader' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
  });
  await http(srv, 'POST', `${rbac}/rolebindings`, {
    metadata: { name: 'cm-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'viewer' }],
  });
  saKubeconfig = srv.writeKubeconfig(
    { serviceAccount: { namespace: 'default', name: 'viewer' } },
    join(dir, 'viewer.kubeconfig'),
  );
});
afterAll(async () => {
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl with the admin kubeconfig', () => {
  it('finds the installed kubectls', () => {
    expect(KUBECTLS.length).toBeGreaterThan(0);
  });

  it.each(KUBECTLS)(
    '$name creates a namespace, a ConfigMap, a Secret and a ServiceAccount',
    async ({ name, path }) => {
      const ns = `ns-${name.replace(/\./g, '-')}`;
      const kc = srv.kubeconfigPath;
      const created = await kubectl(path, kc, 'create', 'namespace', ns);
      expect(created.stderr).toBe('');
      expect(created.stdout).toBe(`namespace/${ns} created\n`);
      expect(srv.object('v1', 'Namespace', undefined, ns)?.status).toEqual({ phase: 'Active' });
      expect(
        (await kubectl(path, kc, '-n', ns, 'create', 'configmap', 'cfg', '--from-literal=mode=sale')).code,
      ).toBe(0);
      expect(srv.object('v1', 'ConfigMap', ns, 'cfg')?.data).toEqual({ mode: 'sale' });
      expect(
        (
          await kubectl(
            path,
            kc,
            '-n',
            ns,
            'create',
            'secret',
            'generic',
            'creds',
            '--from-literal=password=s3cr3t',
          )
        ).code,
      ).toBe(0);
      const secret = srv.object('v1', 'Secret', ns, 'creds');
      expect(secret?.type).toBe('Opaque');
      expect(Buffer.from(String(secret?.data?.password), 'base64').toString()).toBe('s3cr3t');
      expect((await kubectl(path, kc, '-n', ns, 'create', 'serviceaccount', 'bot')).code).toBe(0);
      expect(srv.object('v1', 'ServiceAccount', ns, 'bot')).toBeDefined();
    },
  );
});

describe('kubectl as a ServiceAccount', () => {
  it.each([KUBECTLS[0]!, KUBECTLS[KUBECTLS.length - 1]!])(
    '$name: auth can-i answers from RBAC (SelfSubjectAccessReview)',
    async ({ path }) => {
      const yes = await kubectl(path, saKubeconfig, 'auth', 'can-i', 'list', 'configmaps');
      expect([yes.code, yes.stdout.trim()]).toEqual([0, 'yes']);
      const no = await kubectl(path, saKubeconfig, 'auth', 'can-i', 'create', 'configmaps');
      expect([no.code, no.stdout.trim()]).toEqual([1, 'no']);
      const admin = await kubectl(path, srv.kubeconfigPath, 'auth', 'can-i', 'delete', 'nodes');
      expect(admin.stdout.trim()).toBe('yes');
    },
  );

  it('shows the Forbidden message of what RBAC does not allow', async () => {
    const r = await kubectl(KUBECTLS[KUBECTLS.length - 1]!.path, saKubeconfig, 'get', 'secrets');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:default:viewer" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
    expect((await kubectl(KUBECTLS[0]!.path, saKubeconfig, 'get', 'configmaps')).code).toBe(0);
  });
});
