/**
 * Fields a real API server will not change in place answer 422 Invalid with upstream's message (and the PVC
 * resize admission a 403), so an operator that needs such a change has to perform it explicitly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, type KubeConfig, type V1StatefulSet } from '@kubernetes/client-node';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { apiError, eventually, http, kubectlFor, start } from './helpers.js';

const NS = '/apis/apps/v1/namespaces/default';
const CORE = '/api/v1/namespaces/default';
const BATCH = '/apis/batch/v1/namespaces/default';

const apply = (srv: FakeApiServer, path: string, body: unknown) =>
  http(srv, 'PATCH', `${path}?fieldManager=test&force=true`, body, 'application/apply-patch+yaml');

const podTemplate = (app: string, image = 'redis:7.2') => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: app, image }] },
});

function statefulSet(size: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      replicas: 1,
      selector: { matchLabels: { app: 'db' } },
      template: podTemplate('db'),
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
        },
      ],
      ...extra,
    },
  };
}

function pvc(name: string, size: string, storageClassName?: string) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      ...(storageClassName !== undefined ? { storageClassName } : {}),
    },
  };
}

const STS_MESSAGE_1_28 =
  "StatefulSet.apps \"db\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

describe('immutable fields on a 1.28 server', () => {
  let srv: FakeApiServer;
  let kc: KubeConfig;
  beforeAll(async () => {
    ({ srv, kc } = await start({ kubelet: { delayMs: 20 } }));
  });
  afterAll(() => srv.stop());

  it('StatefulSet: volumeClaimTemplates and serviceName are refused; replicas, template and updateStrategy change', async () => {
    expect((await apply(srv, `${NS}/statefulsets/db`, statefulSet('1Gi'))).status).toBe(201);
    const grow = await apply(srv, `${NS}/statefulsets/db`, statefulSet('2Gi'));
    expect(grow.status).toBe(422);
    expect(grow.json.message).toBe(STS_MESSAGE_1_28);
    expect(grow.json.details.causes).toEqual([
      {
        reason: 'FieldValueForbidden',
        field: 'spec',
        message: expect.stringMatching(/^Forbidden: updates to statefulset spec/),
      },
    ]);
    const rename = await apply(srv, `${NS}/statefulsets/db`, {
      ...statefulSet('1Gi'),
      spec: { ...statefulSet('1Gi').spec, serviceName: 'other' },
    });
    expect(rename.status).toBe(422);
    const allowed = statefulSet('1Gi', {
      replicas: 3,
      template: podTemplate('db', 'redis:7.4'),
      updateStrategy: { type: 'OnDelete' },
      minReadySeconds: 5,
    });
    const ok = await apply(srv, `${NS}/statefulsets/db`, allowed);
    expect(ok.status).toBe(200);
    expect(ok.json.spec.replicas).toBe(3);
    expect(ok.json.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
  });

  it('the same refusal reaches client-node (PUT) and kubectl (client-side apply)', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    // The simulated kubelet is still bringing up the 3 replicas of the previous test and writes status, so
    // wait until it settled: otherwise the PUT's resourceVersion is stale and the answer is a 409 Conflict,
    // which the real server also checks before validation.
    await eventually(
      async () =>
        (await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'default' })).status?.readyReplicas ===
        3,
      'the 3 replicas ready',
    );
    const live = await apps.readNamespacedStatefulSet({ name: 'db', namespace: 'default' });
    const changed: V1StatefulSet = structuredClone(live);
    changed.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests!.storage = '3Gi';
    const e = await apiError(
      apps.replaceNamespacedStatefulSet({ name: 'db', namespace: 'default', body: changed }),
      422,
    );
    expect(e.message).toBe(STS_MESSAGE_1_28);
    const dir = mkdtempSync(join(tmpdir(), 'immutable-'));
    try {
      const file = join(dir, 'db.yaml');
      writeFileSync(
        file,
        YAML.stringify({ ...statefulSet('5Gi'), metadata: { name: 'db', namespace: 'default' } }),
      );
      const k = await kubectlFor(srv, dir)('apply', '-f', file);
      expect(k.code).not.toBe(0);
      expect(k.stderr).toContain(STS_MESSAGE_1_28.replace('StatefulSet.apps "db" is invalid: ', ''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('StatefulSet revisionHistoryLimit is immutable before 1.34 and mutable from 1.34', async () => {
    const r = await apply(srv, `${NS}/statefulsets/db`, statefulSet('1Gi', { revisionHistoryLimit: 3 }));
    expect(r.status).toBe(422);
    const newer = await start({ kubernetesVersion: '1.34' });
    try {
      expect((await apply(newer.srv, `${NS}/statefulsets/db`, statefulSet('1Gi'))).status).toBe(201);
      const changed = await apply(
        newer.srv,
        `${NS}/statefulsets/db`,
        statefulSet('1Gi', { revisionHistoryLimit: 3 }),
      );
      expect(changed.status).toBe(200);
      const grow = await apply(newer.srv, `${NS}/statefulsets/db`, statefulSet('2Gi'));
      expect(grow.json.message).toContain(
        "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      );
    } finally {
      await newer.srv.stop();
    }
  });

  it('Deployment selector', async () => {
    const dep = (app: string) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app } }, template: podTemplate(app) },
    });
    expect((await apply(srv, `${NS}/deployments/web`, dep('web'))).status).toBe(201);
    const r = await apply(srv, `${NS}/deployments/web`, dep('web2'));
    expect(r.status).toBe(422);
    expect(r.json.message).toBe(
      'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    );
  });

  it('Job: a new pod template and completions are refused; the generated selector is kept', async () => {
    const job = (image: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'bootstrap' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'b', image }] } }, ...extra },
    });
    const created = await apply(srv, `${BATCH}/jobs/bootstrap`, job('postgres:16'));
    expect(created.status).toBe(201);
    const uid = created.json.metadata.uid;
    expect(created.json.spec.selector).toEqual({
      matchLabels: { 'batch.kubernetes.io/controller-uid': uid },
    });
    expect(created.json.spec.template.metadata.labels).toMatchObject({
      'job-name': 'bootstrap',
      'controller-uid': uid,
    });
    const same = await apply(srv, `${BATCH}/jobs/bootstrap`, job('postgres:16'));
    expect(same.status).toBe(200);
    expect(same.json.metadata.generation).toBe(1);
    const changed = await apply(srv, `${BATCH}/jobs/bootstrap`, job('postgres:17'));
    expect(changed.status).toBe(422);
    expect(changed.json.message).toBe(
      'Job.batch "bootstrap" is invalid: spec.template: Invalid value: core.PodTemplateSpec{…}: field is immutable',
    );
    const completions = await apply(srv, `${BATCH}/jobs/bootstrap`, job('postgres:16', { completions: 2 }));
    expect(completions.status).toBe(422);
    expect(completions.json.message).toContain('spec.completions: Invalid value: 2: field is immutable');
  });

  it('Service clusterIP', async () => {
    const svc = (clusterIP?: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db' },
      spec: { ...(clusterIP ? { clusterIP } : {}), selector: { app: 'db' }, ports: [{ port: 5432 }] },
    });
    const created = await apply(srv, `${CORE}/services/db`, svc('None'));
    expect(created.status).toBe(201);
    expect(created.json.spec.clusterIPs).toEqual(['None']);
    const r = await apply(srv, `${CORE}/services/db`, svc('10.96.0.99'));
    expect(r.status).toBe(422);
    expect(r.json.message).toMatch(
      /^Service "db" is invalid: \[spec\.clusterIPs\[0\]: Invalid value: \[\]string\{"None"\}: may not change once set, /,
    );
    expect(r.json.message).toContain('spec.clusterIP: Invalid value: "10.96.0.99": field is immutable]');
  });

  it('ConfigMap marked immutable', async () => {
    const cm = (v: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'frozen' },
      immutable: true,
      data: { k: v },
    });
    expect((await apply(srv, `${CORE}/configmaps/frozen`, cm('a'))).status).toBe(201);
    const r = await apply(srv, `${CORE}/configmaps/frozen`, cm('b'));
    expect(r.status).toBe(422);
    expect(r.json.message).toBe(
      'ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set',
    );
  });

  it('PVC: the storage class never changes; a Pending claim cannot be resized', async () => {
    const created = await apply(
      srv,
      `${CORE}/persistentvolumeclaims/pending`,
      pvc('pending', '1Gi', 'standard'),
    );
    expect(created.status).toBe(201);
    srv.kubelet.fail('PersistentVolumeClaim', 'default', 'pending');
    const cls = await apply(srv, `${CORE}/persistentvolumeclaims/pending`, pvc('pending', '1Gi', 'fast'));
    expect(cls.status).toBe(422);
    expect(cls.json.message).toBe(
      'PersistentVolumeClaim "pending" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests for bound claims',
    );
  });

  it('PVC: a bound claim may not shrink, and may grow only if its StorageClass allows expansion (403 otherwise)', async () => {
    expect((await apply(srv, `${CORE}/persistentvolumeclaims/data`, pvc('data', '2Gi'))).status).toBe(201);
    const bound = await eventually(async () => {
      const r = await http(srv, 'GET', `${CORE}/persistentvolumeclaims/data`);
      return r.json.status?.phase === 'Bound' ? r.json : undefined;
    }, 'the claim bound');
    expect(bound.spec.storageClassName).toBe('standard'); // the default StorageClass, set at create
    const shrink = await apply(srv, `${CORE}/persistentvolumeclaims/data`, pvc('data', '1Gi'));
    expect(shrink.status).toBe(422);
    expect(shrink.json.message).toBe(
      'PersistentVolumeClaim "data" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than previous value',
    );
    const grow = await apply(srv, `${CORE}/persistentvolumeclaims/data`, pvc('data', '4Gi'));
    expect(grow.status).toBe(403);
    expect(grow.json.message).toBe(
      'persistentvolumeclaims "data" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize',
    );
  });
});

describe('PVC growth where the StorageClass allows expansion', () => {
  it('is accepted for a bound claim (and shrinking below its capacity still is not, from 1.32)', async () => {
    const { srv } = await start({
      kubelet: { delayMs: 20 },
      kubernetesVersion: '1.32',
      storageClass: { name: 'expandable', allowVolumeExpansion: true },
    });
    try {
      const sc = await http(srv, 'GET', '/apis/storage.k8s.io/v1/storageclasses/expandable');
      expect(sc.json).toMatchObject({
        allowVolumeExpansion: true,
        metadata: { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      });
      expect((await apply(srv, `${CORE}/persistentvolumeclaims/data`, pvc('data', '2Gi'))).status).toBe(201);
      await eventually(
        async () =>
          (await http(srv, 'GET', `${CORE}/persistentvolumeclaims/data`)).json.status?.phase === 'Bound',
        'the claim bound',
      );
      const grow = await apply(srv, `${CORE}/persistentvolumeclaims/data`, pvc('data', '4Gi'));
      expect(grow.status).toBe(200);
      expect(grow.json.spec.resources.requests.storage).toBe('4Gi');
      const shrink = await apply(srv, `${CORE}/persistentvolumeclaims/data`, pvc('data', '1Gi'));
      expect(shrink.status).toBe(422);
      expect(shrink.json.message).toContain(
        'spec.resources.requests.storage: Forbidden: field can not be less than status.capacity',
      );
    } finally {
      await srv.stop();
    }
  });
});
