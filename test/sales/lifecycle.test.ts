/**
 * A whole sale on the in-memory API server with the real API service processes and the real PostgreSQL,
 * RabbitMQ and (private, AOF on) Redis: Scheduled → Prewarming (scale-up, sale created suspended) → Live →
 * Draining → Reconciling → Completed (scale back), buyers getting 202 only inside the window, the result
 * equal to what the database holds, one Event per transition, and no writes while nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writes } from '../controller/harness.js';
import {
  apiSalesFor,
  buyers,
  createHealthyStack,
  getSale,
  replicas,
  saleEvents,
  saleObject,
  startSaleWorld,
  waitPhase,
  type SaleWorld,
} from './harness.js';
import { eventually } from '../controller/harness.js';

const HOUR = 3_600_000;

describe('a FlashSale from kubectl apply to the reconciled result', () => {
  let w: SaleWorld;
  beforeAll(async () => {
    w = await startSaleWorld();
    await createHealthyStack(w);
  }, 120_000);
  afterAll(async () => {
    await w?.close();
  });

  it('scales up before the start, sells only inside the window, reconciles equal to PostgreSQL, scales back after the cool-down', async () => {
    w.clock.setOffset(-2 * HOUR); // the operator's time: two hours before the sale
    const startsAt = Date.now() + 15_000;
    const endsAt = startsAt + 6_000;
    await w.c.create(
      saleObject('xmas', {
        stock: 2_000,
        startsAt: new Date(startsAt).toISOString(),
        endsAt: new Date(endsAt).toISOString(),
        expectedPeakOrdersPerSecond: 30_000,
      }),
    );
    const scheduled = await waitPhase(w, 'xmas', 'Scheduled');
    expect(scheduled.status.safeToStart).toBe('Unknown');
    expect(await apiSalesFor(w, 'xmas')).toEqual([]);
    const before = {
      api: await replicas(w, 'shop-api'),
      consumer: await replicas(w, 'shop-consumer'),
      nginx: await replicas(w, 'shop-nginx'),
    };
    expect(before).toEqual({ api: 2, consumer: 2, nginx: 2 });

    // Zero writes for a scheduled sale while nothing changes.
    await w.op.waitIdle();
    w.srv.resetRequests();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(writes(w.srv).filter((x) => /^flashsales(\/|$)/.test(x.resource))).toEqual([]);

    w.clock.setOffset(0); // T − lead has passed (lead is 1h): Prewarming
    const prewarming = await waitPhase(w, 'xmas', 'Prewarming');
    expect(prewarming.status.capacity).toEqual({ apiReplicas: 12, consumerReplicas: 12, nginxReplicas: 3 });
    await eventually(async () => (await replicas(w, 'shop-api')) === 12, 'API scaled to 12');
    expect(await replicas(w, 'shop-consumer')).toBe(12);
    expect(await replicas(w, 'shop-nginx')).toBe(3);
    const rows = await eventually(async () => {
      const r = await apiSalesFor(w, 'xmas');
      return r.length > 0 ? r : undefined;
    }, 'the sale in the API');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.external_id).toBe(`default/xmas/${prewarming.metadata.uid}`);
    const safe = await eventually(async () => {
      const s = await getSale(w, 'xmas');
      return s.status?.safeToStart === 'True' ? s : undefined;
    }, 'SafeToStart=True');
    expect(safe.status.gate).toBe('suspended');
    expect(Date.now()).toBeLessThan(startsAt); // safe and scaled before the start

    const saleId = safe.status.saleId as string;
    const purchases = await buyers(w.apiUrl, () => saleId, endsAt + 2_000, 'buyer');
    const accepted = purchases.filter((p) => p.status === 202);
    expect(purchases.filter((p) => p.doneAt < startsAt).length).toBeGreaterThan(100);
    expect(accepted.length).toBeGreaterThan(0);
    expect(new Set(purchases.map((p) => p.userId)).size).toBeGreaterThan(2_000);
    for (const p of accepted) {
      expect(p.doneAt).toBeGreaterThanOrEqual(startsAt);
      expect(p.sentAt).toBeLessThanOrEqual(endsAt);
    }
    expect(purchases.filter((p) => p.status === 0)).toEqual([]);

    const reconciling = await waitPhase(w, 'xmas', 'Reconciling', 30_000);
    expect(await replicas(w, 'shop-api')).toBe(12); // held through the cool-down
    const inDb = await w.t.pool.query<{ n: number; users: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM orders WHERE sale_id = $1',
      [saleId],
    );
    expect(reconciling.status.result).toMatchObject({
      stock: 2_000,
      soldInRedis: accepted.length,
      ordersInDatabase: inDb.rows[0]!.n,
      duplicateBuyers: 0,
      consistent: true,
    });
    expect(inDb.rows[0]).toEqual({ n: accepted.length, users: accepted.length });
    expect(reconciling.status.sold).toBe(accepted.length);
    expect(reconciling.status.conditions.find((c: any) => c.type === 'Reconciled')).toMatchObject({
      status: 'True',
      reason: 'Consistent',
    });

    w.clock.setOffset(2 * HOUR); // past endsAt + coolDown
    await waitPhase(w, 'xmas', 'Completed');
    await eventually(async () => (await replicas(w, 'shop-api')) === 2, 'API back to 2');
    expect(await replicas(w, 'shop-consumer')).toBe(before.consumer);
    expect(await replicas(w, 'shop-nginx')).toBe(before.nginx);

    await w.op.waitIdle();
    expect(await saleEvents(w, 'xmas')).toEqual([
      'Scheduled',
      'Prewarming',
      'Live',
      'Draining',
      'Reconciling',
      'Consistent',
      'Completed',
    ]);
    expect(await apiSalesFor(w, 'xmas')).toHaveLength(1);
    w.srv.resetRequests();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(writes(w.srv).filter((x) => /^flashsales(\/|$)/.test(x.resource))).toEqual([]);
  }, 120_000);
});
