import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Operator } from '../../src/controller/operator.js';
import type { KubeClient } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { FINALIZER } from '../../src/controller/reconciler.js';
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
  writes,
} from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');
const CONFIGMAPS = resourceTypeByKind('ConfigMap');
const STATEFULSETS = resourceTypeByKind('StatefulSet');

describe('reconciling a FlashSaleStack against the in-memory API server', () => {
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

  async function readyStack(name = 'shop') {
    return eventually(async () => {
      const s = await getStack(c, name);
      return condition(s, 'Ready')?.status === 'True' ? s : undefined;
    }, `${name} Ready`);
  }

  it('creates every rendered object with owner references and labels, then reports Ready', async () => {
    op = await startOperator(kc);
    await c.create(loadExample('minimal.yaml'));
    const stack = await readyStack();
    const status = stack.status as Record<string, any>;
    expect(status.phase).toBe('Ready');
    expect(status.observedGeneration).toBe(stack.metadata.generation);
    expect(stack.metadata.finalizers).toContain(FINALIZER);
    expect(condition(stack, 'ConfigValid')?.status).toBe('True');
    for (const component of ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'consumer', 'nginx']) {
      expect(status.components[component]?.ready, component).toBe(true);
    }
    const deployments = await c.list(DEPLOYMENTS, 'default', { labelSelector: 'flashsale.dev/stack=shop' });
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
    op = await startOperator(kc);
    await c.create(loadExample('minimal.yaml'));
    await readyStack();
    await op.waitIdle();
    const before = await c.get(STATEFULSETS, 'default', 'shop-redis');
    const checksum = (o: any) => o.spec.template.metadata.annotations['flashsale.dev/config-checksum'];
    srv.resetRequests();
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { redis: { appendonly: false } } });
    await eventually(async () => {
      const s = await c.get(STATEFULSETS, 'default', 'shop-redis');
      return checksum(s) !== checksum(before) ? s : undefined;
    }, 'redis checksum to change');
    await op.waitIdle();
    const childWrites = writes(srv).filter(
      (w) => !w.resource.startsWith('flashsalestacks') && w.resource !== 'events',
    );
    expect(childWrites.map((w) => `${w.resource}/${w.name}`).sort()).toEqual([
      'configmaps/shop-redis',
      'statefulsets/shop-redis',
    ]);
    const cm = await c.get(CONFIGMAPS, 'default', 'shop-redis');
    expect((cm.data as Record<string, string>)['redis.conf']).toMatch(/^appendonly no$/m);
  });

  it('an unchanged stack costs zero writes over several resyncs', async () => {
    op = await startOperator(kc, { resyncMs: 1_000 });
    await c.create(loadExample('minimal.yaml'));
    await readyStack();
    await op.waitIdle();
    await new Promise((r) => setTimeout(r, 300));
    srv.resetRequests();
    await new Promise((r) => setTimeout(r, 3_500)); // three resyncs
    await op.waitIdle();
    expect(writes(srv)).toEqual([]);
  });

  it('an invalid spec sets ConfigValid=False with the messages, records an Event, and writes no children', async () => {
    op = await startOperator(kc);
    const stack = loadExample('minimal.yaml');
    // Valid for the CRD schema (a map of strings), invalid for PostgreSQL 18's catalog: only the operator's own
    // validation can catch it, and it must change nothing.
    stack.spec = { postgres: { parameters: { work_mem: 'lots', io_direct: 'data' } } };
    await c.create(stack);
    const s = await eventually(async () => {
      const got = await getStack(c, 'shop');
      return condition(got, 'ConfigValid')?.status === 'False' ? got : undefined;
    }, 'ConfigValid=False');
    const message = condition(s, 'ConfigValid')!.message;
    expect(message).toMatch(/spec\.postgres\.parameters\.work_mem/);
    expect(message).toMatch(/spec\.postgres\.parameters\.io_direct: .*io_method/);
    expect((s.status as any).phase).toBe('Failed');
    await op.waitIdle();
    const children = writes(srv).filter(
      (w) => !['flashsalestacks', 'flashsalestacks/status', 'events'].includes(w.resource),
    );
    expect(children).toEqual([]);
    const events = await c.list(resourceTypeByKind('Event'), 'default', {});
    expect(
      events.items.some((e: any) => e.reason === 'InvalidSpec' && e.involvedObject.name === 'shop'),
    ).toBe(true);

    // Fixing the spec makes it converge.
    await c.mergePatch(STACKS, 'default', 'shop', { spec: { postgres: { parameters: null } } });
    await readyStack();
  });

  it('the API server itself refuses what the CRD schema can express (allkeys-lru on inventory Redis)', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { redis: { maxmemoryPolicy: 'allkeys-lru' } };
    await expect(c.create(stack)).rejects.toThrow(/spec\.redis\.maxmemoryPolicy.*allkeys-\* eviction/);
  });
});
