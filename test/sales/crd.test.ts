/**
 * The generated FlashSale CRD on the strict in-memory API server: it installs, defaults, refuses an end
 * before the start, and refuses changing stock or startsAt once the sale is Live (transition rules on the
 * root that read the stored status).
 */
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type ApiObject } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { startFakeApiServer, type FakeApiServer } from '../support/server.js';

const SALE_CRD = fileURLToPath(new URL('../../crds/flashsale.dev_flashsales.yaml', import.meta.url));
const SALES = resourceTypeByKind('FlashSale');

function sale(name: string, spec: Record<string, unknown> = {}): ApiObject {
  return {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSale',
    metadata: { name, namespace: 'default' },
    spec: {
      stackName: 'shop',
      productId: 'sku-42',
      stock: 100,
      startsAt: '2026-12-24T20:00:00Z',
      endsAt: '2026-12-24T20:15:00Z',
      expectedPeakOrdersPerSecond: 5000,
      ...spec,
    },
  };
}

describe('the FlashSale CRD', () => {
  let srv: FakeApiServer;
  let c: KubeClient;
  beforeAll(async () => {
    srv = await startFakeApiServer({ crdFiles: [SALE_CRD] });
    const kc = new KubeConfig();
    kc.loadFromFile(srv.kubeconfigPath);
    c = new KubeClient(kc, 10_000, 'test');
  });
  afterAll(async () => {
    await c.close();
    await srv.stop();
  });

  it('is served and fills in leadTime, coolDown, startPolicy and suspend', async () => {
    const created = await c.create(sale('defaults'));
    expect(created.spec).toMatchObject({
      leadTime: '10m',
      coolDown: '10m',
      startPolicy: 'WaitUntilSafe',
      suspend: false,
    });
  });

  it('refuses an end before the start', async () => {
    await expect(c.create(sale('backwards', { endsAt: '2026-12-24T19:00:00Z' }))).rejects.toThrow(
      /endsAt must be after startsAt/,
    );
  });

  it('refuses a new stock or start once Live, allows extending the end', async () => {
    await c.create(sale('live'));
    await c.mergePatch(SALES, 'default', 'live', { status: { phase: 'Live' } }, 'status');
    await expect(c.mergePatch(SALES, 'default', 'live', { spec: { stock: 50 } })).rejects.toThrow(
      /spec.stock cannot change once the sale is Live/,
    );
    await expect(
      c.mergePatch(SALES, 'default', 'live', { spec: { startsAt: '2026-12-24T19:30:00Z' } }),
    ).rejects.toThrow(/spec.startsAt cannot change once the sale is Live/);
    const extended = await c.mergePatch(SALES, 'default', 'live', {
      spec: { endsAt: '2026-12-24T20:30:00Z' },
    });
    expect((extended.spec as { endsAt: string }).endsAt).toBe('2026-12-24T20:30:00Z');
  });

  it('lets a sale that is not Live yet change its stock', async () => {
    await c.create(sale('early'));
    await c.mergePatch(SALES, 'default', 'early', { status: { phase: 'Prewarming' } }, 'status');
    const changed = await c.mergePatch(SALES, 'default', 'early', { spec: { stock: 50 } });
    expect((changed.spec as { stock: number }).stock).toBe(50);
  });
});
