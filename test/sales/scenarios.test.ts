/**
 * FlashSale scenarios on one running world (stand-in, operator with a test clock, real flash-sale-api serve
 * and consume, PostgreSQL, RabbitMQ, private AOF Redis): an unready component at T−lead with both start
 * policies, suspend mid-sale, an order row removed after the sale, two overlapping sales, and an operator
 * restarted in every phase.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../service/support.js';
import { eventually, writes } from '../controller/harness.js';
import {
  apiSalesFor,
  buyers,
  createHealthyStack,
  getSale,
  replicas,
  saleEvents,
  saleObject,
  SALES,
  startSaleWorld,
  waitPhase,
  type SaleWorld,
} from './harness.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FlashSale scenarios', () => {
  let w: SaleWorld;
  beforeAll(async () => {
    w = await startSaleWorld();
    await createHealthyStack(w);
  }, 200_000);
  afterAll(async () => {
    await w?.close();
  });
  afterEach(async () => {
    for (const s of (await w.c.list(SALES, 'default', {})).items)
      await w.c.delete(SALES, 'default', s.metadata.name);
    w.srv.kubelet.heal('Deployment', 'default', 'shop-consumer');
    w.clock.setOffset(0);
    await eventually(async () => (await replicas(w, 'shop-api')) === 2, 'capacity released');
  });

  const buyOnce = async (saleId: string, userId: string) =>
    (await call(w.apiUrl, 'POST', `/api/sales/${saleId}/orders`, { userId })).status;

  it('an unready component at T−lead gives SafeToStart=False naming it; WaitUntilSafe keeps the gate closed past startsAt, and opens it once the component is healthy', async () => {
    w.srv.kubelet.fail('Deployment', 'default', 'shop-consumer', 'CrashLoopBackOff');
    const startsAt = Date.now() + 3_000;
    await w.c.create(
      saleObject('careful', {
        stock: 100,
        startsAt: iso(startsAt),
        // Long enough that the window cannot end (NeverOpened) while a loaded machine runs this test.
        endsAt: iso(startsAt + 10 * 60_000),
        expectedPeakOrdersPerSecond: 1_000,
      }),
    );
    const unsafe = await eventually(async () => {
      const s = await getSale(w, 'careful');
      return s.status?.safeToStart === 'False' ? s : undefined;
    }, 'SafeToStart=False');
    const cond = unsafe.status.conditions.find((c: any) => c.type === 'SafeToStart');
    expect(cond.reason).toBe('ChecksFailed');
    expect(cond.message).toMatch(/5\. planned replicas ready: consumer: 0\/1 planned replicas ready/);
    await sleep(Math.max(0, startsAt - Date.now()) + 1_500);
    const waiting = await getSale(w, 'careful');
    expect(waiting.status.phase).toBe('Prewarming');
    expect(waiting.status.gate).toBe('suspended');
    expect(await buyOnce(waiting.status.saleId, 'early-bird')).toBe(403);

    // Still waiting, not opened late by a retry: the story so far has no Live.
    expect(await saleEvents(w, 'careful')).toEqual(['Scheduled', 'Prewarming']);

    // The consumer recovers: the sale becomes safe and opens late rather than never.
    w.srv.kubelet.heal('Deployment', 'default', 'shop-consumer');
    const live = await eventually(async () => {
      const s = await getSale(w, 'careful');
      return s.status?.phase === 'Live' ? s : undefined;
    }, 'Live once the consumer is ready');
    expect(live.status.safeToStart).toBe('True');
    expect(live.status.gate).toBe('open');
    expect(await buyOnce(live.status.saleId, 'first-buyer')).toBe(202);
    expect(await saleEvents(w, 'careful')).toEqual(['Scheduled', 'Prewarming', 'Live']);
  }, 120_000);

  it('StartAnyway opens an unsafe sale at startsAt with a Warning naming the failing checks', async () => {
    w.srv.kubelet.fail('Deployment', 'default', 'shop-consumer', 'CrashLoopBackOff');
    const startsAt = Date.now() + 3_000;
    await w.c.create(
      saleObject('bold', {
        stock: 100,
        startsAt: iso(startsAt),
        endsAt: iso(startsAt + 60_000),
        expectedPeakOrdersPerSecond: 1_000,
        startPolicy: 'StartAnyway',
      }),
    );
    const live = await waitPhase(w, 'bold', 'Live', 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(startsAt);
    expect(live.status).toMatchObject({ startedAnyway: true, safeToStart: 'False', gate: 'open' });
    expect(await buyOnce(live.status.saleId, 'brave')).toBe(202);
    const events = (
      await w.c.list(
        { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
        'default',
        {},
      )
    ).items as any[];
    const warning = events.find((e) => e.involvedObject?.name === 'bold' && e.reason === 'StartedUnsafe');
    expect(warning.type).toBe('Warning');
    expect(warning.message).toMatch(/1\. stack ready/);
  }, 60_000);

  it('suspend mid-sale stops new 202s within 5 s and loses nothing accepted', async () => {
    const startsAt = Date.now() + 2_000;
    const endsAt = startsAt + 12_000;
    await w.c.create(
      saleObject('pause', {
        stock: 100_000,
        startsAt: iso(startsAt),
        endsAt: iso(endsAt),
        expectedPeakOrdersPerSecond: 1_000,
      }),
    );
    const live = await waitPhase(w, 'pause', 'Live', 20_000);
    const saleId = live.status.saleId as string;
    const load = buyers(w.apiUrl, () => saleId, endsAt, 'pause');
    await sleep(3_000);
    const suspendedAt = Date.now();
    await w.c.mergePatch(SALES, 'default', 'pause', { spec: { suspend: true } });
    const purchases = await load;
    const accepted = purchases.filter((p) => p.status === 202);
    expect(accepted.filter((p) => p.sentAt < suspendedAt).length).toBeGreaterThan(0);
    const late = purchases.filter((p) => p.sentAt > suspendedAt + 5_000);
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((p) => p.status === 202)).toEqual([]);
    expect(new Set(late.map((p) => p.error))).toEqual(new Set(['sale_suspended']));
    const done = await waitPhase(w, 'pause', 'Reconciling', 30_000);
    expect(done.status.result).toMatchObject({
      soldInRedis: accepted.length,
      ordersInDatabase: accepted.length,
      consistent: true,
    });
    expect(await saleEvents(w, 'pause')).toContain('Suspended');
  }, 60_000);

  it('an order row removed after the sale gives Reconciled=False with the numbers, a Warning and the metric', async () => {
    const startsAt = Date.now() + 2_000;
    const endsAt = startsAt + 5_000;
    await w.c.create(
      saleObject('leaky', {
        stock: 50,
        startsAt: iso(startsAt),
        endsAt: iso(endsAt),
        expectedPeakOrdersPerSecond: 1_000,
      }),
    );
    const live = await waitPhase(w, 'leaky', 'Live', 20_000);
    const saleId = live.status.saleId as string;
    const accepted = (await buyers(w.apiUrl, () => saleId, Date.now() + 1_500, 'leaky')).filter(
      (p) => p.status === 202,
    );
    expect(accepted.length).toBe(50);
    await eventually(async () => {
      const r = await w.t.pool.query('SELECT count(*)::int AS n FROM orders WHERE sale_id = $1', [saleId]);
      return r.rows[0].n === 50;
    }, 'every order persisted');
    await w.t.pool.query(
      'DELETE FROM orders WHERE id = (SELECT id FROM orders WHERE sale_id = $1 ORDER BY id LIMIT 1)',
      [saleId],
    );
    await waitPhase(w, 'leaky', 'Draining', 20_000);
    w.clock.setOffset(2 * 60_000); // the lost order never drains: past the drain stall time
    const rec = await waitPhase(w, 'leaky', 'Reconciling');
    expect(rec.status.result).toMatchObject({ soldInRedis: 50, ordersInDatabase: 49, consistent: false });
    const cond = rec.status.conditions.find((c: any) => c.type === 'Reconciled');
    expect(cond).toMatchObject({ status: 'False', reason: 'Mismatch' });
    expect(cond.message).toBe(
      'Redis and PostgreSQL disagree: sold in Redis 50, orders in PostgreSQL 49, stock 50, duplicate buyers 0',
    );
    await eventually(async () => (await saleEvents(w, 'leaky')).length >= 6, 'the Mismatch Event');
    expect(await saleEvents(w, 'leaky')).toEqual([
      'Scheduled',
      'Prewarming',
      'Live',
      'Draining',
      'DrainStalled',
      'Mismatch',
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${w.op.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /flashsale_sale_reconcile_mismatch\{stack_namespace="default",stack="shop",sale="leaky"\} 1/,
    );
  }, 60_000);

  it('two overlapping sales add up their capacity, released only when both are done', async () => {
    const now = Date.now();
    await w.c.create(
      saleObject('first', {
        stock: 10,
        startsAt: iso(now + 2_000),
        endsAt: iso(now + 5_000),
        coolDown: '1m',
        expectedPeakOrdersPerSecond: 10_000,
      }),
    );
    await w.c.create(
      saleObject('second', {
        stock: 10,
        startsAt: iso(now + 3_000),
        endsAt: iso(now + 7_000),
        expectedPeakOrdersPerSecond: 12_500,
      }),
    );
    await eventually(async () => (await replicas(w, 'shop-api')) === 9, 'API at 4 + 5 replicas');
    expect(await replicas(w, 'shop-consumer')).toBe(9);
    await waitPhase(w, 'first', 'Reconciling', 20_000);
    await waitPhase(w, 'second', 'Reconciling', 20_000);
    w.clock.setOffset(5 * 60_000); // past the first sale's cool-down, not the second's
    await waitPhase(w, 'first', 'Completed');
    await eventually(async () => (await replicas(w, 'shop-api')) === 5, 'API at the second sale alone');
    expect((await getSale(w, 'second')).status.phase).toBe('Reconciling');
    w.clock.setOffset(2 * HOUR);
    await waitPhase(w, 'second', 'Completed');
    await eventually(async () => (await replicas(w, 'shop-api')) === 2, 'API back to its spec');
  }, 60_000);

  it('an operator restarted in every phase resumes without a second sale, scale-up or transition, writing nothing while nothing changes', async () => {
    w.clock.setOffset(-2 * HOUR);
    const startsAt = Date.now() + 20_000;
    const endsAt = startsAt + 3_000;
    await w.c.create(
      saleObject('phoenix', {
        stock: 10,
        startsAt: iso(startsAt),
        endsAt: iso(endsAt),
        expectedPeakOrdersPerSecond: 5_000,
      }),
    );
    const restart = async (phase: string) => {
      await waitPhase(w, 'phoenix', phase, 20_000);
      await w.op.waitIdle();
      await w.op.stop();
      w.srv.resetRequests();
      await w.restartOperator();
      await w.op.waitIdle();
      // The restarted operator probes the stack afresh (its status moves, and a prewarming sale re-judges
      // SafeToStart from it); once that settled, the sale costs nothing.
      await sleep(2_000);
      await w.op.waitIdle();
      const scaled = writes(w.srv).filter((x) => /^(deployments|horizontalpodautoscalers)/.test(x.resource));
      expect(scaled, `scale writes after a restart in ${phase}`).toEqual([]);
      w.srv.resetRequests();
      await sleep(1_000);
      const seen = writes(w.srv).filter((x) => /^flashsales(\/|$)/.test(x.resource));
      expect(seen, `sale writes while nothing changes after a restart in ${phase}`).toEqual([]);
    };
    await restart('Scheduled');
    w.clock.setOffset(0);
    await restart('Prewarming');
    expect(await replicas(w, 'shop-api')).toBe(2);
    await waitPhase(w, 'phoenix', 'Live', 20_000);
    await restart('Reconciling');
    w.clock.setOffset(2 * HOUR);
    await restart('Completed');
    expect(await apiSalesFor(w, 'phoenix')).toHaveLength(1);
    await eventually(async () => (await saleEvents(w, 'phoenix')).length >= 7, 'the Completed Event');
    expect(await saleEvents(w, 'phoenix')).toEqual([
      'Scheduled',
      'Prewarming',
      'Live',
      'Draining',
      'Reconciling',
      'Consistent',
      'Completed',
    ]);
  }, 90_000);
});
