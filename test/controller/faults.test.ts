import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { eventually, loadExample, STACKS, useOperatorTestEnv, waitReady } from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');

describe('the operator under API server faults', () => {
  const env = useOperatorTestEnv({ operator: false });

  async function nginxReplicas(): Promise<number | undefined> {
    const d = await env.c.getOrNull(DEPLOYMENTS, 'default', 'shop-nginx');
    return (d?.spec as { replicas?: number } | undefined)?.replicas;
  }

  async function deploymentCount(): Promise<number> {
    return (await env.c.list(DEPLOYMENTS, 'default', { labelSelector: 'flashsale.dev/stack=shop' })).items
      .length;
  }

  it('converges through bursts of 500, 409 and 429 and creates no duplicates', async () => {
    const op = await env.startOperator();
    env.srv.faults.failNext({ verb: 'patch', resource: 'deployments', code: 500, count: 3 });
    env.srv.faults.failNext({ verb: 'patch', resource: 'configmaps', code: 409, count: 2 });
    env.srv.faults.failNext({
      verb: 'patch',
      resource: 'statefulsets',
      code: 429,
      count: 2,
      retryAfterSeconds: 1,
    });
    env.srv.faults.failNext({ verb: 'patch', resource: 'flashsalestacks/status', code: 500, count: 2 });
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    await op.waitIdle();
    expect(await deploymentCount()).toBe(4); // pgbouncer, api, consumer, nginx — once each
    const errors = (
      await op.metrics.registry.getSingleMetric('flashsale_operator_reconcile_errors_total')?.get()
    )?.values[0]?.value;
    expect(errors).toBeGreaterThan(0);
  });

  it('recovers from dropped watches and from a 410 Gone on resume', async () => {
    await env.startOperator();
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    expect(env.srv.faults.dropWatches()).toBeGreaterThan(0);
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await eventually(async () => (await nginxReplicas()) === 3, 'nginx replicas 3 after dropped watches');

    env.srv.faults.compact(); // every earlier resourceVersion is now too old: resuming gets 410
    env.srv.faults.dropWatches();
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 4 } } });
    await eventually(async () => (await nginxReplicas()) === 4, 'nginx replicas 4 after 410 and relist');
    expect(await deploymentCount()).toBe(4);
  });

  it('restarts a stalled watch through its watchdog', async () => {
    await env.startOperator({ watchIdleTimeoutMs: 1_500 });
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    env.srv.faults.stallWatches();
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 5 } } });
    await eventually(
      async () => (await nginxReplicas()) === 5,
      'nginx replicas 5 after a stalled watch',
      15_000,
    );
  });

  it('survives the API server being down for 10 s and converges afterwards', async () => {
    const op = await env.startOperator();
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    const outage = env.srv.faults.down(10);
    await new Promise((r) => setTimeout(r, 500));
    // The operator keeps serving its own endpoints while the API server is gone.
    const health = await fetch(`http://127.0.0.1:${op.metricsPort}/healthz`);
    expect(health.status).toBe(200);
    await outage;
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await eventually(async () => (await nginxReplicas()) === 3, 'convergence after the outage', 40_000);
    await waitReady(env.c);
    expect(await deploymentCount()).toBe(4);
  }, 90_000);
});
