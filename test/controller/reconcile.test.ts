import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { FINALIZER } from '../../src/controller/reconciler.js';
import {
  condition,
  eventually,
  getStack,
  loadExample,
  STACKS,
  useOperatorTestEnv,
  waitReady,
  writes,
} from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');
const CONFIGMAPS = resourceTypeByKind('ConfigMap');
const STATEFULSETS = resourceTypeByKind('StatefulSet');

describe('reconciling a FlashSaleStack against the in-memory API server', () => {
  const env = useOperatorTestEnv({ operator: false });

  it('creates every rendered object with owner references and labels, then reports Ready', async () => {
    await env.startOperator();
    await env.c.create(loadExample('minimal.yaml'));
    const stack = await waitReady(env.c);
    const status = stack.status as Record<string, any>;
    expect(status.phase).toBe('Ready');
    expect(status.observedGeneration).toBe(stack.metadata.generation);
    expect(stack.metadata.finalizers).toContain(FINALIZER);
    expect(condition(stack, 'ConfigValid')?.status).toBe('True');
    for (const component of ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'consumer', 'nginx']) {
      expect(status.components[component]?.ready, component).toBe(true);
    }
    const deployments = await env.c.list(DEPLOYMENTS, 'default', {
      labelSelector: 'flashsale.dev/stack=shop',
    });
    expect(deployments.items.length).toBeGreaterThanOrEqual(4);
    for (const d of deployments.items) {
      expect(d.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'FlashSaleStack',
        name: 'shop',
        uid: stack.metadata.uid,
      });
      expect(d.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('flash-sale-operator');
    }
  });

  it('changing one Redis setting rewrites only the Redis ConfigMap and the Redis StatefulSet', async () => {
    const op = await env.startOperator();
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    await op.waitIdle();
    const before = await env.c.get(STATEFULSETS, 'default', 'shop-redis');
    const checksum = (o: any) => o.spec.template.metadata.annotations['flashsale.dev/config-checksum'];
    env.srv.resetRequests();
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { redis: { appendonly: false } } });
    await eventually(async () => {
      const s = await env.c.get(STATEFULSETS, 'default', 'shop-redis');
      return checksum(s) !== checksum(before) ? s : undefined;
    }, 'redis checksum to change');
    await op.waitIdle();
    const childWrites = writes(env.srv).filter(
      (w) => !w.resource.startsWith('flashsalestacks') && w.resource !== 'events',
    );
    expect(childWrites.map((w) => `${w.resource}/${w.name}`).sort()).toEqual([
      'configmaps/shop-redis',
      'statefulsets/shop-redis',
    ]);
    const cm = await env.c.get(CONFIGMAPS, 'default', 'shop-redis');
    expect((cm.data as Record<string, string>)['redis.conf']).toMatch(/^appendonly no$/m);
  });

  it('an unchanged stack costs zero writes over several resyncs', async () => {
    const op = await env.startOperator({ resyncMs: 1_000 });
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    await op.waitIdle();
    await new Promise((r) => setTimeout(r, 300));
    env.srv.resetRequests();
    await new Promise((r) => setTimeout(r, 3_500)); // three resyncs
    await op.waitIdle();
    expect(writes(env.srv)).toEqual([]);
  });

  it('an invalid spec sets ConfigValid=False with the messages, records an Event, and writes no children', async () => {
    const op = await env.startOperator();
    const stack = loadExample('minimal.yaml');
    // Valid for the CRD schema (a map of strings), invalid for PostgreSQL 18's catalog: only the operator's own
    // validation can catch it, and it must change nothing.
    stack.spec = { postgres: { parameters: { work_mem: 'lots', io_direct: 'data' } } };
    await env.c.create(stack);
    const s = await eventually(async () => {
      const got = await getStack(env.c, 'shop');
      return condition(got, 'ConfigValid')?.status === 'False' ? got : undefined;
    }, 'ConfigValid=False');
    const message = condition(s, 'ConfigValid')!.message;
    expect(message).toMatch(/spec\.postgres\.parameters\.work_mem/);
    expect(message).toMatch(/spec\.postgres\.parameters\.io_direct: .*io_method/);
    expect((s.status as any).phase).toBe('Failed');
    await op.waitIdle();
    const children = writes(env.srv).filter(
      (w) => !['flashsalestacks', 'flashsalestacks/status', 'events'].includes(w.resource),
    );
    expect(children).toEqual([]);
    const events = await env.c.list(resourceTypeByKind('Event'), 'default', {});
    expect(
      events.items.some((e: any) => e.reason === 'InvalidSpec' && e.involvedObject.name === 'shop'),
    ).toBe(true);

    // Fixing the spec makes it converge.
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { postgres: { parameters: null } } });
    await waitReady(env.c);
  });

  it('the API server itself refuses what the CRD schema can express (allkeys-lru on inventory Redis)', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { redis: { maxmemoryPolicy: 'allkeys-lru' } };
    await expect(env.c.create(stack)).rejects.toThrow(/spec\.redis\.maxmemoryPolicy.*allkeys-\* eviction/);
  });
});
