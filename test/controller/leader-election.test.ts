import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import { Operator } from '../../src/controller/operator.js';
import { createLogger, silentLogger } from '../../src/controller/logger.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import type { FakeApiServer } from '../support/server.js';
import {
  client,
  eventually,
  loadExample,
  operatorOptions,
  OPERATOR_NAMESPACE,
  startServer,
  STACKS,
  testParts,
  waitReady,
} from './harness.js';

const LEASES = resourceTypeByKind('Lease');
const DEPLOYMENTS = resourceTypeByKind('Deployment');

describe('leader election on a coordination.k8s.io Lease', () => {
  let srv: FakeApiServer;
  let kc: KubeConfig;
  let operatorKc: KubeConfig;
  let c: KubeClient;
  const ops: Operator[] = [];

  beforeEach(async () => {
    ({ srv, kc, operatorKc } = await startServer());
    c = client(kc);
  });

  afterEach(async () => {
    await Promise.all(ops.splice(0).map((o) => o.stop()));
    await srv.stop();
  });

  const electionOpts = (identity: string) => ({
    leaderElect: true,
    identity,
    operatorNamespace: OPERATOR_NAMESPACE,
    leaseDurationMs: 2_000,
    renewDeadlineMs: 1_500,
    retryPeriodMs: 300,
  });

  /** Starts an operator; a standby's start() blocks until it leads, so it is not awaited. */
  function launch(identity: string): { op: Promise<Operator>; started: Promise<void> } {
    let resolveOp!: (o: Operator) => void;
    const op = new Promise<Operator>((r) => (resolveOp = r));
    const started = (async () => {
      const log = process.env.OPERATOR_LOGS ? createLogger('debug').child({ identity }) : silentLogger;
      const o = new Operator(operatorKc, operatorOptions(electionOpts(identity)), testParts(), log);
      ops.push(o);
      resolveOp(o);
      await o.start();
    })();
    return { op, started };
  }

  it('only the leader writes; when it stops, the standby takes over', async () => {
    const a = launch('replica-a');
    await a.started;
    const leaderA = await a.op;
    const b = launch('replica-b');
    const standby = await b.op;

    await c.create(loadExample('minimal.yaml'));
    await waitReady(c);
    await leaderA.waitIdle();
    const lease = await c.get(LEASES, OPERATOR_NAMESPACE, 'flash-sale-operator-leader');
    expect((lease.spec as any).holderIdentity).toBe('replica-a');
    expect(leaderA.writes).toBeGreaterThan(0);
    expect(standby.writes).toBe(0);
    const patchers = new Set(
      srv
        .requests()
        .filter((r) => r.verb === 'patch' && r.resource === 'deployments')
        .map((r) => r.userAgent),
    );
    expect([...patchers]).toEqual(['flash-sale-operator (replica-a)']);

    // Graceful stop releases the lease: the standby takes over without waiting for expiry.
    await leaderA.stop();
    await b.started;
    await eventually(
      async () =>
        ((await c.get(LEASES, OPERATOR_NAMESPACE, 'flash-sale-operator-leader')).spec as any)
          .holderIdentity === 'replica-b',
      'replica-b to hold the lease',
    );
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await eventually(
      async () => ((await c.get(DEPLOYMENTS, 'default', 'shop-nginx')).spec as any).replicas === 3,
      'the new leader to reconcile',
    );
    await standby.waitIdle();
    expect(standby.writes).toBeGreaterThan(0);
  });

  it('a standby takes over after the leader vanishes without releasing (lease expiry)', async () => {
    const a = launch('replica-a');
    await a.started;
    const leaderA = await a.op;
    const b = launch('replica-b');
    await b.op;
    // Simulate a crash: the leader stops renewing but does not release the lease.
    (leaderA as any).elector.leading = false;
    (leaderA as any).elector.stopping.abort();
    const t0 = Date.now();
    await b.started;
    const waited = Date.now() - t0;
    const lease = await c.get(LEASES, OPERATOR_NAMESPACE, 'flash-sale-operator-leader');
    expect((lease.spec as any).holderIdentity).toBe('replica-b');
    expect((lease.spec as any).leaseTransitions).toBeGreaterThanOrEqual(1);
    // It had to wait for the 2 s lease to expire (it could not take a live lease).
    expect(waited).toBeGreaterThan(500);
  });
});
