import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { request } from '../support/tls.js';
import { apiError, eventually, http, start } from './helpers.js';

let srv: FakeApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let batch: BatchV1Api;

beforeAll(async () => {
  ({ srv, kc } = await start({ kubelet: { delayMs: 30 } }));
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  batch = kc.makeApiClient(BatchV1Api);
});
afterAll(() => srv.stop());

const deployment = (name: string, replicas = 2) => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: 'nginx:1' }] },
    },
  },
});

describe('fault injection', () => {
  it('fails the next N matching requests with 500, 409 and 429 (+Retry-After), then recovers', async () => {
    srv.faults.failNext({ verb: 'create', resource: 'configmaps', count: 2, code: 500 });
    await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'f1' } } }),
      500,
    );
    const s = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'f1' } } }),
      500,
    );
    expect(s).toMatchObject({ kind: 'Status', reason: 'InternalError' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'f1' } } });
    // other verbs/resources are unaffected by a rule that does not match them
    srv.faults.failNext({ verb: 'get', resource: 'secrets', code: 409 });
    await core.readNamespacedConfigMap({ name: 'f1', namespace: 'default' });
    expect((await apiError(core.readNamespacedSecret({ name: 'x', namespace: 'default' }), 409)).reason).toBe(
      'Conflict',
    );
    srv.faults.failNext({ resource: 'configmaps', code: 429, retryAfterSeconds: 3 });
    const r = await http(srv, 'GET', '/api/v1/namespaces/default/configmaps/f1');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('3');
    expect(r.json).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 3 } });
    expect((await http(srv, 'GET', '/api/v1/namespaces/default/configmaps/f1')).status).toBe(200);
  });

  it('adds latency to matching requests only', async () => {
    srv.faults.addLatency({ ms: 500, verb: 'list', resource: 'services' });
    let slowDone = false;
    const slow = core.listNamespacedService({ namespace: 'default' }).then(() => (slowDone = true));
    await core.listNamespacedConfigMap({ namespace: 'default' });
    expect(slowDone).toBe(false);
    await slow;
    srv.faults.clear();
  });

  it('goes down (connection refused) and comes back on the same port', async () => {
    const down = srv.faults.down(1);
    await eventually(async () => {
      try {
        await request(`${srv.url}/version`);
        return false;
      } catch (e) {
        return (e as { code?: string }).code === 'ECONNREFUSED';
      }
    }, 'connection refused');
    await down;
    expect((await http(srv, 'GET', '/version')).status).toBe(200);
    expect((await core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
  });

  it('refuses one object with 422 Invalid and the given message, leaving other objects alone', async () => {
    const message =
      'StatefulSet.apps "web" is invalid: spec: Forbidden: updates to statefulset spec are forbidden';
    srv.faults.failNext({
      verb: 'patch',
      resource: 'configmaps',
      name: 'refused',
      code: 422,
      count: 2,
      message,
    });
    await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'refused' } });
    await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'fine' } });
    const patch = (name: string) =>
      http(
        srv,
        'PATCH',
        `/api/v1/namespaces/default/configmaps/${name}`,
        { data: { a: '1' } },
        'application/merge-patch+json',
      );
    const r = await patch('refused');
    expect([r.status, r.json.reason, r.json.message]).toEqual([422, 'Invalid', message]);
    expect((await patch('fine')).status).toBe(200);
    expect((await patch('refused')).status).toBe(422);
    expect((await patch('refused')).status).toBe(200);
  });

  it('exposes the same controls over HTTP under /debug', async () => {
    await http(srv, 'POST', '/debug/fail', { verb: 'delete', resource: 'configmaps', code: 500 });
    expect((await http(srv, 'DELETE', '/api/v1/namespaces/default/configmaps/f1')).status).toBe(500);
    expect((await http(srv, 'DELETE', '/api/v1/namespaces/default/configmaps/f1')).status).toBe(200);
    expect((await http(srv, 'POST', '/debug/latency', {})).status).toBe(400);
    expect((await http(srv, 'DELETE', '/debug/faults')).status).toBe(200);
    expect((await http(srv, 'POST', '/debug/nope')).status).toBe(404);
  });
});

describe('request log', () => {
  it('counts requests by verb and resource and can be reset', async () => {
    await http(srv, 'DELETE', '/debug/requests');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'log1' } } });
    await core.patchNamespacedConfigMap({
      name: 'log1',
      namespace: 'default',
      body: [{ op: 'add', path: '/data', value: { a: 'b' } }],
    });
    await core.listNamespacedConfigMap({ namespace: 'default' });
    await apps.listNamespacedDeployment({ namespace: 'default' });
    const r = await http(srv, 'GET', '/debug/requests');
    expect(r.json.counts.byVerbResource).toEqual({
      'create configmaps': 1,
      'patch configmaps': 1,
      'list configmaps': 1,
      'list deployments': 1,
    });
    expect(r.json.counts.writes).toBe(2);
    expect(srv.requestCounts().byVerb).toEqual({ create: 1, patch: 1, list: 2 });
    expect(srv.requests().find((x) => x.verb === 'create')).toMatchObject({
      resource: 'configmaps',
      namespace: 'default',
      code: 201,
    });
    srv.resetRequests();
    expect(srv.requestCounts().total).toBe(0);
  });
});

describe('simulated kubelet', () => {
  it('marks Deployments and StatefulSets ready and Jobs complete; fail() and heal() flip them', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('kd') });
    const ready = await eventually(async () => {
      const d = await apps.readNamespacedDeployment({ name: 'kd', namespace: 'default' });
      return d.status?.readyReplicas === 2 ? d : undefined;
    }, 'deployment ready');
    expect(ready.status).toMatchObject({
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 2,
      observedGeneration: 1,
    });
    expect(ready.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');

    await apps.createNamespacedStatefulSet({
      namespace: 'default',
      body: { ...deployment('ks', 3), spec: { ...deployment('ks', 3).spec, serviceName: 'ks' } },
    });
    await eventually(
      async () =>
        (await apps.readNamespacedStatefulSet({ name: 'ks', namespace: 'default' })).status?.readyReplicas ===
        3,
      'sts ready',
    );

    await batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'kj' },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox' }] } },
        },
      },
    });
    await eventually(
      async () =>
        (await batch.readNamespacedJob({ name: 'kj', namespace: 'default' })).status?.conditions?.some(
          (c) => c.type === 'Complete' && c.status === 'True',
        ),
      'job complete',
    );

    srv.kubelet.fail('Deployment', 'default', 'kd', 'image pull failed');
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ name: 'kd', namespace: 'default' })).status?.readyReplicas ===
        0,
      'deployment not ready',
    );
    srv.kubelet.heal('Deployment', 'default', 'kd');
    await eventually(
      async () =>
        (await apps.readNamespacedDeployment({ name: 'kd', namespace: 'default' })).status?.readyReplicas ===
        2,
      'deployment ready again',
    );

    // scaling bumps generation; the kubelet catches up with observedGeneration
    await apps.patchNamespacedDeployment({
      name: 'kd',
      namespace: 'default',
      body: [{ op: 'replace', path: '/spec/replicas', value: 4 }],
    });
    await eventually(async () => {
      const d = await apps.readNamespacedDeployment({ name: 'kd', namespace: 'default' });
      return d.status?.observedGeneration === 2 && d.status.readyReplicas === 4;
    }, 'scaled');

    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: { name: 'kp' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const pvc = await eventually(async () => {
      const p = await core.readNamespacedPersistentVolumeClaim({ name: 'kp', namespace: 'default' });
      return p.status?.phase === 'Bound' ? p : undefined;
    }, 'pvc bound');
    expect(pvc.status?.capacity?.storage).toBe('1Gi');

    await http(srv, 'POST', '/debug/kubelet/fail', { kind: 'Job', namespace: 'default', name: 'kj2' });
    await batch.createNamespacedJob({
      namespace: 'default',
      body: {
        metadata: { name: 'kj2' },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox' }] } },
        },
      },
    });
    await eventually(
      async () =>
        (await batch.readNamespacedJob({ name: 'kj2', namespace: 'default' })).status?.conditions?.some(
          (c) => c.type === 'Failed' && c.status === 'True',
        ),
      'job failed',
    );
  });
});

describe('standalone start', () => {
  it('npm run fake-apiserver writes a kubeconfig, prints the URL and serves until killed', async () => {
    const main = new URL('../../dist/test/support/main.js', import.meta.url);
    expect(existsSync(main), 'run `npm run build` first (npm test does)').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'fake-apiserver-cli-'));
    const kcPath = join(dir, 'kc');
    const child = spawn(
      process.execPath,
      [main.pathname, '--port', '0', '--kubeconfig', kcPath, '--kubelet'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const url = await eventually(
        () => out.match(/listening on (https:\/\/127\.0\.0\.1:\d+)/)?.[1],
        'URL printed',
      );
      const kubeconfig = readFileSync(kcPath, 'utf8');
      expect(kubeconfig).toContain(`server: ${url}`);
      const token = /token: (\S+)/.exec(kubeconfig)![1]!;
      const v = await request(`${url}/version`, { headers: { Authorization: `Bearer ${token}` } });
      expect(v.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
    expect(child.exitCode === 0 || child.signalCode === 'SIGTERM').toBe(true);
  });
});
