import { afterEach, describe, expect, it } from 'vitest';
import { DecodedObjects, Informer } from '../../src/controller/informer.js';
import type { ApiObject, KubeClient } from '../../src/controller/kube-client.js';
import { silentLogger } from '../../src/controller/logger.js';
import { DECODED_PER_WORKER } from '../../src/controller/operator.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import type { FakeApiServer } from '../support/server.js';
import { client, eventually, startServer, useOperatorTestEnv, waitReady } from './harness.js';

const CONFIGMAPS = resourceTypeByKind('ConfigMap');
const SERVICEACCOUNTS = resourceTypeByKind('ServiceAccount');

describe('Informer (compact caches)', () => {
  let srv: FakeApiServer | undefined;
  const informers: Informer[] = [];
  afterEach(async () => {
    await Promise.all(informers.splice(0).map((i) => i.stop()));
    await srv?.stop();
    srv = undefined;
  });

  async function seed(c: KubeClient, n: number): Promise<void> {
    for (let i = 0; i < n; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, n - i) }, (_, j) => {
          const name = `obj-${i + j}`;
          const labels = { 'app.kubernetes.io/instance': `s${(i + j) % 7}` };
          return Promise.all([
            c.create({
              apiVersion: 'v1',
              kind: 'ConfigMap',
              metadata: { name, namespace: 'default', labels },
              data: { n: String(i + j) },
            }),
            c.create({
              apiVersion: 'v1',
              kind: 'ServiceAccount',
              metadata: { name, namespace: 'default', labels },
            }),
          ]);
        }),
      );
    }
  }

  function compactInformer(c: KubeClient, kind: typeof CONFIGMAPS, decoded: DecodedObjects): Informer {
    const informer = new Informer(
      c,
      kind,
      {
        namespace: 'default',
        compact: true,
        decoded,
        indexBy: (o) => o.metadata.labels?.['app.kubernetes.io/instance'],
      },
      () => undefined,
      silentLogger,
    );
    informer.start();
    informers.push(informer);
    return informer;
  }

  it('keeps no more objects decoded than the budget its informers share, and still reads every object whole', async () => {
    let kc;
    ({ srv, kc } = await startServer());
    const c = client(kc);
    const n = 120;
    await seed(c, n);
    // Two kinds share a budget far below what they cache (an operator has 14 owned kinds): the bound is
    // for all of them together, not per kind.
    const decoded = new DecodedObjects(50);
    const configMaps = compactInformer(c, CONFIGMAPS, decoded);
    const accounts = compactInformer(c, SERVICEACCOUNTS, decoded);
    await Promise.all([configMaps.waitForSync(), accounts.waitForSync()]);
    expect(decoded.size).toBeLessThanOrEqual(50);

    const cms = configMaps.list();
    const sas = accounts.list();
    expect(cms).toHaveLength(n);
    expect(sas).toHaveLength(n);
    expect(decoded.size).toBeLessThanOrEqual(50);
    expect(new Set(cms.map((o) => (o.data as { n: string }).n)).size).toBe(n);
    for (const o of cms) expect((o.data as { n: string }).n).toBe(o.metadata.name.slice('obj-'.length));
    expect(
      configMaps
        .byIndex('s3')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(
      cms
        .filter((o) => o.metadata.labels?.['app.kubernetes.io/instance'] === 's3')
        .map((o) => o.metadata.name)
        .sort(),
    );
    expect(accounts.get('default', 'obj-7')?.metadata.name).toBe('obj-7');
  });

  it('hands out the current version after a watch event replaced a decoded object, and frozen copies', async () => {
    let kc;
    ({ srv, kc } = await startServer());
    const c = client(kc);
    await seed(c, 10);
    const decoded = new DecodedObjects(4);
    const configMaps = compactInformer(c, CONFIGMAPS, decoded);
    await configMaps.waitForSync();
    const before = configMaps.get('default', 'obj-3')!;
    expect((before.data as { n: string }).n).toBe('3');
    expect(() => {
      (before.data as { n: string }).n = 'changed';
    }).toThrow(TypeError);
    await c.mergePatch(CONFIGMAPS, 'default', 'obj-3', { data: { n: 'three' } });
    const after = await eventually(() => {
      const o: ApiObject | undefined = configMaps.get('default', 'obj-3');
      return (o?.data as { n?: string } | undefined)?.n === 'three' ? o : undefined;
    }, 'the informer to see the patched ConfigMap');
    expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
    expect(decoded.size).toBeLessThanOrEqual(4);
    // Read everything (evicting obj-3), then obj-3 again: decoded afresh from the stored current version.
    expect(configMaps.list()).toHaveLength(10);
    expect((configMaps.get('default', 'obj-3')!.data as { n: string }).n).toBe('three');
  });
});

describe('Operator cache memory', () => {
  const env = useOperatorTestEnv({ operator: { concurrency: 1 } });

  it('holds a bounded number of cached objects decoded, whatever the number of stacks and kinds', async () => {
    const stacks = 6;
    for (let i = 0; i < stacks; i++) {
      await env.c.create({
        apiVersion: 'flashsale.dev/v1alpha1',
        kind: 'FlashSaleStack',
        metadata: { name: `shop-${i}`, namespace: 'default' },
        spec: {},
      });
    }
    for (let i = 0; i < stacks; i++) await waitReady(env.c, `shop-${i}`, 120_000);
    const { objects, decoded } = env.op.cacheSize();
    // Every stack owns about 75 objects of 14 kinds; one worker's budget is far fewer than those
    // (a budget per kind held all of them decoded).
    expect(objects).toBeGreaterThan(stacks * 50);
    expect(DECODED_PER_WORKER).toBeLessThan(stacks * 50);
    expect(decoded).toBeLessThanOrEqual(DECODED_PER_WORKER);
  });
});
