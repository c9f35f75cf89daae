/**
 * RBAC versus the calls the controller really makes. One scenario walks every path the operator has
 * (create with a user credentials Secret and a half-filled generated Secret, clustered RabbitMQ, autoscaling,
 * monitoring with the Prometheus Operator present, a bootstrap Job and a maintenance CronJob, backup-now,
 * pruning when features are switched off, deletion with a final backup and PVC clean-up, leader election)
 * as the operator's ServiceAccount bound to the generated RBAC, records every (group, resource, verb) the
 * API server authorised for it — each request's verb, `create` for a server-side apply that created its
 * object (answered 201), and the checks admission made inside writes (update on the owner's finalizers for
 * blockOwnerDeletion) — and compares it with the rules the ClusterRole and the leader-election Role are
 * generated from: nothing missing, nothing granted unused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import { silentLogger } from '../../src/controller/logger.js';
import {
  API_SERVER_ENDPOINTS_RULES,
  grantedTriples,
  LEADER_ELECTION_RULES,
  OPERATOR_RULES,
} from '../../src/controller/rbac.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { generatedSecretName } from '../../src/controller/secrets.js';
import type { FakeApiServer } from '../support/server.js';
import {
  client,
  eventually,
  getStack,
  loadExample,
  OPERATOR_NAMESPACE,
  OPERATOR_USER,
  operatorOptions,
  startServer,
  STACKS,
  testParts,
  waitReady,
} from './harness.js';

describe('RBAC grants exactly what the controller calls', () => {
  let srv: FakeApiServer;
  let kc: KubeConfig;
  let operatorKc: KubeConfig;
  let c: KubeClient;
  let op: Operator;
  let used = new Set<string>();
  let refused: string[] = [];

  beforeAll(async () => {
    ({ srv, kc, operatorKc } = await startServer({ prometheusOperator: true }));
    c = client(kc);
    op = new Operator(
      operatorKc,
      operatorOptions({
        leaderElect: true,
        identity: 'rbac',
        operatorNamespace: OPERATOR_NAMESPACE,
        leaseDurationMs: 2_000,
        renewDeadlineMs: 1_500,
        retryPeriodMs: 200,
      }),
      testParts(),
      silentLogger,
    );
    await op.start();

    // A user-provided database Secret, and a generated-secrets Secret someone left half-filled.
    await c.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'shop-db', namespace: 'default' },
      stringData: { username: 'postgres', password: 'from-the-user' },
    });
    await c.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: generatedSecretName('shop'),
        namespace: 'default',
        labels: { 'app.kubernetes.io/managed-by': 'flash-sale-operator', 'flashsale.dev/stack': 'shop' },
      },
      stringData: { redisPassword: 'kept' },
    });
    await c.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'expandable' },
      provisioner: 'csi.example.com',
      allowVolumeExpansion: true,
    });
    const stack = loadExample('minimal.yaml');
    stack.spec = {
      postgres: {
        storage: { size: '20Gi', storageClassName: 'expandable' },
        credentialsSecret: 'shop-db',
        bootstrap: { fromBackup: { claimName: 'old-backups', file: 'latest' } },
        maintenance: { schedule: '30 3 * * *' },
      },
      rabbitmq: { replicas: 3 },
      api: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } },
      backup: { onDelete: true },
      monitoring: { serviceMonitor: 'auto' },
      pvcRetentionPolicy: 'Delete',
    };
    await c.create(stack);
    await waitReady(c);
    await c.mergePatch(STACKS, 'default', 'shop', {
      metadata: { annotations: { 'flashsale.dev/backup-now': 'rbac' } },
    });
    await eventually(
      async () => ((await getStack(c, 'shop')).status as any)?.lastBackup?.job !== undefined,
      'the backup-now Job to finish',
    );
    // Grow the data volume (StorageClass check, StatefulSet replaced) and change the autoscaled API
    // Deployment (replicas handed over to the HPA).
    await c.mergePatch(STACKS, 'default', 'shop', {
      spec: { postgres: { storage: { size: '30Gi' } }, api: { env: [{ name: 'RBAC_TEST', value: '1' }] } },
    });
    await eventually(async () => {
      const sts = await c.getOrNull(resourceTypeByKind('StatefulSet'), 'default', 'shop-postgres');
      return (sts?.spec as any)?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage === '30Gi';
    }, 'the StatefulSet replaced with the grown volume');
    await waitReady(c);
    // Switch features off: their objects are pruned.
    await c.mergePatch(STACKS, 'default', 'shop', {
      spec: {
        pgbouncer: { enabled: false },
        rabbitmq: { replicas: 1 },
        api: { autoscaling: { enabled: false } },
        monitoring: { enabled: false },
        postgres: { bootstrap: null, maintenance: null },
      },
    });
    await eventually(
      async () =>
        (await c.list(resourceTypeByKind('HorizontalPodAutoscaler'), 'default', {})).items.length === 0 &&
        (await c.list(resourceTypeByKind('CronJob'), 'default', {})).items.length === 1,
      'pruning',
    );
    await waitReady(c);
    // A FlashSale far in the future: listed, watched and given its Scheduled status.
    await c.create({
      apiVersion: 'flashsale.dev/v1alpha1',
      kind: 'FlashSale',
      metadata: { name: 'later', namespace: 'default' },
      spec: {
        stackName: 'shop',
        productId: 'sku-1',
        stock: 10,
        startsAt: '2099-01-01T20:00:00Z',
        endsAt: '2099-01-01T20:15:00Z',
        expectedPeakOrdersPerSecond: 100,
      },
    });
    await eventually(
      async () =>
        ((await c.get(resourceTypeByKind('FlashSale'), 'default', 'later')).status as any)?.phase ===
        'Scheduled',
      'the FlashSale Scheduled',
    );
    // A second, plain stack: its generated Secret is created from scratch.
    const other = loadExample('minimal.yaml');
    other.metadata.name = 'other';
    await c.create(other);
    await waitReady(c, 'other');
    await c.delete(STACKS, 'default', 'other');
    await c.delete(STACKS, 'default', 'shop');
    await eventually(
      async () =>
        (await c.getOrNull(STACKS, 'default', 'shop')) === null &&
        (await c.getOrNull(STACKS, 'default', 'other')) === null,
      'deletion',
      30_000,
    );
    await op.waitIdle();
    await op.stop();

    const triple = (group: string, resource: string, verb: string) =>
      `${group || 'core'}/${resource}:${verb}`;
    // Non-resource URLs (/version) are open to every authenticated user (system:discovery), not in our rules.
    const requests = srv.requests().filter((r) => r.user === OPERATOR_USER && r.resource !== '');
    const checks = srv.authorizations().filter((a) => a.user === OPERATOR_USER && a.during === 'admission');
    used = new Set([
      ...requests.map((r) => triple(r.group, r.resource, r.verb)),
      ...requests
        .filter((r) => r.verb === 'patch' && r.code === 201)
        .map((r) => triple(r.group, r.resource, 'create')),
      ...checks.filter((a) => a.allowed).map((a) => triple(a.apiGroup, a.resource, a.verb)),
    ]);
    refused = [
      ...requests.filter((r) => r.code === 403).map((r) => `${r.method} ${r.path}`),
      // escalate and bind are only shortcuts before the rule comparison; the operator is not granted them.
      ...checks
        .filter((a) => !a.allowed && a.verb !== 'escalate' && a.verb !== 'bind')
        .map((a) => triple(a.apiGroup, a.resource, a.verb)),
    ];
  }, 120_000);

  afterAll(async () => {
    await srv.stop();
  });

  const granted = grantedTriples([
    ...OPERATOR_RULES,
    ...LEADER_ELECTION_RULES,
    ...API_SERVER_ENDPOINTS_RULES,
  ]);

  it('grants every call the controller made, so nothing it did was refused', () => {
    expect(refused).toEqual([]);
    const missing = [...used].filter((t) => !granted.has(t)).sort();
    expect(missing).toEqual([]);
  });

  it('counted the rights a real server checks inside writes', () => {
    expect(used).toContain('apps/deployments:create'); // an apply that created the Deployment
    expect(used).toContain('flashsale.dev/flashsalestacks/finalizers:update'); // blockOwnerDeletion
  });

  it('grants nothing the controller never called', () => {
    const unused = [...granted].filter((t) => !used.has(t)).sort();
    expect(unused).toEqual([]);
  });

  it('uses no wildcards', () => {
    for (const r of [...OPERATOR_RULES, ...LEADER_ELECTION_RULES, ...API_SERVER_ENDPOINTS_RULES]) {
      expect([...r.apiGroups, ...r.resources, ...r.verbs]).not.toContain('*');
    }
  });
});
