import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import type { FakeApiServer } from '../support/server.js';
import {
  client,
  condition,
  eventually,
  getStack,
  loadExample,
  startOperator,
  startServer,
  STACKS,
} from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');

describe('the operator under API server faults', () => {
  let srv: FakeApiServer;
  let kc: KubeConfig;
  let op: Operator;
  let c: KubeClient;

  beforeEach(async () => {
    ({ srv, kc } = await startServer());
    c = client(kc);
  });

  afterEach(async () => {
    await op?.stop();
    await srv.stop();
  });

  const ready = (name = 'shop', timeoutMs = 30_000) =>
    eventually(
      async () => condition(await getStack(c, name), 'Ready')?.status === 'True',
      `${name} Ready`,
      timeoutMs,
    );

  async function nginxReplicas(): Promise<number | undefined> {
    const d = await c.getOrNull(DEPLOYMENTS, 'default', 'shop-nginx');
    return (d?.spec as { replicas?: number } | undefined)?.replicas;
  }

  async function deploymentCount(): Promise<number> {
    return (await c.list(DEPLOYMENTS, 'default', { labelSelector: 'flashsale.dev/stack=shop' })).items.length;
  }

  it('converges through bursts of 500, 409 and 429 and creates no duplicates', async () => {
    op = await startOperator(kc);
    srv.faults.failNext({ verb: 'patch', resource: 'deployments', code: 500, count: 3 });
    srv.faults.failNext({ verb: 'patch', resource: 'configmaps', code: 409, count: 2 });
    srv.faults.failNext({
      verb: 'patch',
      resource: 'statefulsets',
      code: 429,
      count: 2,
      retryAfterSeconds: 1,
    });
    srv.faults.failNext({ verb: 'patch', resource: 'flashsalestacks/status', code: 500, count: 2 });
    await c.create(loadExample('minimal.yaml'));
    await ready();
    await op.waitIdle();
    expect(await deploymentCount()).toBe(4); // pgbouncer, api, consumer, nginx — once each
    const errors = (
      await op.metrics.registry.getSingleMetric('flashsale_operator_reconcile_errors_total')?.get()
    )?.values[0]?.value;
    expect(errors).toBeGreaterThan(0);
  });

  it('recovers from dropped watches and from a 410 Gone on resume', async () => {
    op = await startOperator(kc);
    await c.create(loadExample('minimal.yaml'));
    await ready();
    expect(srv.faults.dropWatches()).toBeGreaterThan(0);
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await eventually(async () => (await nginxReplicas()) === 3, 'nginx replicas 3 after dropped watches');

    srv.faults.compact(); // every earlier resourceVersion is now too old: resuming gets 410
    srv.faults.dropWatches();
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 4 } } });
    await eventually(async () => (await nginxReplicas()) === 4, 'nginx replicas 4 after 410 and relist');
    expect(await deploymentCount()).toBe(4);
  });

  it('restarts a stalled watch through its watchdog', async () => {
    op = await startOperator(kc, { watchIdleTimeoutMs: 1_500 });
    await c.create(loadExample('minimal.yaml'));
    await ready();
    srv.faults.stallWatches();
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 5 } } });
    await eventually(
      async () => (await nginxReplicas()) === 5,
      'nginx replicas 5 after a stalled watch',
      15_000,
    );
  });

  it('survives the API server being down for 10 s and converges afterwards', async () => {
    op = await startOperator(kc);
    await c.create(loadExample('minimal.yaml'));
    await ready();
    const outage = srv.faults.down(10);
    await new Promise((r) => setTimeout(r, 500));
    // The operator keeps serving its own endpoints while the API server is gone.
    const health = await fetch(`http://127.0.0.1:${op.metricsPort}/healthz`);
    expect(health.status).toBe(200);
    await outage;
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await eventually(async () => (await nginxReplicas()) === 3, 'convergence after the outage', 40_000);
    await ready();
    expect(await deploymentCount()).toBe(4);
  }, 90_000);
});
