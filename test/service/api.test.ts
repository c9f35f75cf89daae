import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { startConsumer, type RunningConsumer } from '../../src/service/consumer.js';
import { orderIdFor } from '../../src/service/keys.js';
import { Keys } from '../../src/service/keys.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import { probeApi, sumCounter } from '../../src/health/http.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/types.js';
import {
  ADMIN_TOKEN,
  AMQP_URL,
  call,
  createSale,
  createTestEnv,
  deletePrefix,
  orderCount,
  queueDepth,
  type TestEnv,
  waitFor,
} from './support.js';

describe('flash-sale API against real PostgreSQL, Redis and RabbitMQ', () => {
  let t: TestEnv;
  let srv: RunningServer;
  let consumer: RunningConsumer | undefined;

  beforeAll(async () => {
    t = await createTestEnv({ PUBLISH_TIMEOUT_MS: '1000', GUARD_CHECK_INTERVAL_MS: '200' });
    srv = await startServer(t.cfg);
  });
  afterAll(async () => {
    await consumer?.close();
    await srv?.close();
    await t?.cleanup();
  });

  const ensureConsumer = async (): Promise<void> => {
    consumer ??= await startConsumer(t.cfg);
  };

  it('2,000 concurrent buyers for 100 items: exactly 100 accepted, the rest sold out, 100 rows after drain', async () => {
    await ensureConsumer();
    const sale = await createSale(srv.url, 100);
    const replies = await Promise.all(
      Array.from({ length: 2000 }, (_, i) =>
        call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: `u${i}` }),
      ),
    );
    const accepted = replies.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(100);
    expect(replies.filter((r) => r.status === 410)).toHaveLength(1900);
    expect(replies.find((r) => r.status === 410)?.body.error).toBe('sold_out');
    for (const r of accepted) expect(r.body.status).toBe('pending');
    await waitFor('100 orders', async () => (await orderCount(t.pool, sale)) === 100);
    await waitFor('queue drained', async () => (await queueDepth(t.cfg)) === 0);
    const rows = await t.pool.query('SELECT id::text, user_id FROM orders WHERE sale_id = $1', [sale]);
    expect(new Set(rows.rows.map((r) => r.user_id)).size).toBe(100);
    expect(new Set(rows.rows.map((r) => r.id))).toEqual(new Set(accepted.map((r) => r.body.orderId)));
    const items = await t.pool.query(
      'SELECT count(*)::int AS n FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.sale_id = $1',
      [sale],
    );
    expect(items.rows[0].n).toBe(100);
    const pgStock = await t.pool.query('SELECT stock FROM flash_sales WHERE id = $1', [sale]);
    expect(pgStock.rows[0].stock).toBe(0);
    expect(await t.redis.hget(new Keys(t.cfg.redisKeyPrefix).inventory(sale), 'stock')).toBe('0');
    const got = await call(srv.url, 'GET', `/api/sales/${sale}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: sale, productId: 'sku-1', stock: 100, remaining: 0 });
    // An accepted order reads as confirmed once its row exists.
    const o = await call(srv.url, 'GET', `/api/orders/${accepted[0]!.body.orderId}`);
    expect(o.body).toMatchObject({ status: 'confirmed', saleId: sale, orderId: accepted[0]!.body.orderId });
  });

  it('one user, 50 concurrent requests: exactly one 202, the others 409 already_purchased', async () => {
    const sale = await createSale(srv.url, 10);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'same-user' }),
      ),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409 && r.body.error === 'already_purchased')).toHaveLength(49);
    await ensureConsumer();
    await waitFor('1 order', async () => (await orderCount(t.pool, sale)) === 1);
  });

  it('answers 403 outside the window, 404 for unknown sales, 400 for bad input, 401 without the token, 413 for big bodies', async () => {
    const future = await createSale(srv.url, 5, {
      startsAt: new Date(Date.now() + 3_600_000),
      endsAt: new Date(Date.now() + 7_200_000),
    });
    const past = await createSale(srv.url, 5, {
      startsAt: new Date(Date.now() - 7_200_000),
      endsAt: new Date(Date.now() - 3_600_000),
    });
    for (const s of [future, past]) {
      const r = await call(srv.url, 'POST', `/api/sales/${s}/orders`, { userId: 'u1' });
      expect(r.status).toBe(403);
      expect(r.body.error).toBe('sale_not_active');
      expect(await t.redis.hget(new Keys(t.cfg.redisKeyPrefix).inventory(s), 'stock')).toBe('5');
    }
    const unknown = await call(srv.url, 'POST', '/api/sales/999999/orders', { userId: 'u1' });
    expect(unknown).toMatchObject({ status: 404, body: { error: 'sale_not_found' } });
    expect((await call(srv.url, 'GET', '/api/sales/999999')).status).toBe(404);
    expect((await call(srv.url, 'GET', '/api/sales/abc')).status).toBe(404);
    expect((await call(srv.url, 'GET', `/api/orders/${orderIdFor('1', 'nobody')}`)).body.error).toBe(
      'order_not_found',
    );

    const sale = await createSale(srv.url, 5);
    const bad: unknown[] = [
      '{not json',
      '[]',
      {},
      { userId: '' },
      { userId: 7 },
      { userId: 'a b' },
      { userId: 'x'.repeat(129) },
    ];
    for (const b of bad) {
      const r = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, b);
      expect(r.status, JSON.stringify(b)).toBe(400);
      expect(r.body.error).toBe('invalid_request');
      expect(typeof r.body.message).toBe('string');
    }
    const big = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, {
      userId: 'u',
      pad: 'x'.repeat(20_000),
    });
    expect(big).toMatchObject({ status: 413, body: { error: 'payload_too_large' } });

    const saleBody = {
      productId: 'p',
      stock: 3,
      startsAt: '2030-01-01T00:00:00Z',
      endsAt: '2030-01-02T00:00:00Z',
    };
    expect((await call(srv.url, 'POST', '/api/sales', saleBody)).status).toBe(401);
    const wrong = await call(srv.url, 'POST', '/api/sales', saleBody, { authorization: 'Bearer nope' });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const b of [
      { ...saleBody, stock: 0 },
      { ...saleBody, stock: 1.5 },
      { ...saleBody, startsAt: 'tomorrow' },
      { ...saleBody, endsAt: '2029-01-01T00:00:00Z' },
      { ...saleBody, productId: undefined },
    ]) {
      const r = await call(srv.url, 'POST', '/api/sales', b, auth);
      expect(r.status, JSON.stringify(b)).toBe(400);
    }
    expect((await call(srv.url, 'POST', '/api/sales', saleBody, auth)).status).toBe(201);
    expect((await call(srv.url, 'GET', '/nope')).status).toBe(404);
    // nothing was taken by any refused request
    expect(await t.redis.hget(new Keys(t.cfg.redisKeyPrefix).inventory(sale), 'stock')).toBe('5');
  });

  it('replays the first answer for a repeated Idempotency-Key; pending turns confirmed', async () => {
    const sale = await createSale(srv.url, 5);
    const h = { 'idempotency-key': 'req-123' };
    const first = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'alice' }, h);
    expect(first.status).toBe(202);
    const again = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'alice' }, h);
    expect(again).toEqual(first);
    // without the key, the same user gets the truth: already purchased
    const plain = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'alice' });
    expect(plain.status).toBe(409);
    const other = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'bob' }, h);
    expect(other.status).toBe(422);
    expect(await t.redis.hget(new Keys(t.cfg.redisKeyPrefix).inventory(sale), 'stock')).toBe('4');
    await ensureConsumer();
    await waitFor('confirmed', async () => {
      const o = await call(srv.url, 'GET', `/api/orders/${first.body.orderId}`);
      expect(o.status).toBe(200);
      expect(['pending', 'confirmed']).toContain(o.body.status);
      return o.body.status === 'confirmed';
    });
  });

  it('shows pending orders before the consumer writes them', async () => {
    await consumer?.close();
    consumer = undefined;
    const sale = await createSale(srv.url, 5);
    const r = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'carol' });
    const o = await call(srv.url, 'GET', `/api/orders/${r.body.orderId}`);
    expect(o.body).toEqual({ orderId: r.body.orderId, saleId: sale, userId: 'carol', status: 'pending' });
    await ensureConsumer();
    await waitFor('row', async () => (await orderCount(t.pool, sale)) === 1);
  });

  it('broker connection lost mid-run: no 202 without a row; every 503 gave its stock back', async () => {
    await ensureConsumer();
    const initial = 400;
    const sale = await createSale(srv.url, initial);
    const fire = (from: number, n: number): Promise<{ status: number; body: any }[]> =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: `b${from + i}` }),
        ),
      );
    const wave1 = fire(0, 150);
    await new Promise((r) => setTimeout(r, 5));
    await srv.deps.publisher.dropConnection();
    const wave2 = await fire(150, 100); // inside the reconnect back-off: these must fail with 503
    const replies = [...(await wave1), ...wave2];
    await new Promise((r) => setTimeout(r, 600));
    replies.push(...(await fire(250, 100))); // after the back-off the publisher reconnects
    const accepted = replies.filter((r) => r.status === 202);
    const failed = replies.filter((r) => r.status === 503);
    expect(accepted.length + failed.length).toBe(replies.length);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.body.error).toBe('unavailable');
    expect(accepted.length).toBeGreaterThan(0);
    const stock = Number(await t.redis.hget(new Keys(t.cfg.redisKeyPrefix).inventory(sale), 'stock'));
    expect(stock).toBe(initial - accepted.length);
    await waitFor(
      'drain',
      async () => (await orderCount(t.pool, sale)) >= accepted.length && (await queueDepth(t.cfg)) === 0,
    );
    const rows = await t.pool.query('SELECT id::text FROM orders WHERE sale_id = $1', [sale]);
    const ids = new Set(rows.rows.map((r) => r.id));
    for (const a of accepted) expect(ids.has(a.body.orderId)).toBe(true);
    // A failed buyer can buy again: its marker was given back. (replies[i] is buyer b<i>.)
    const failedBuyer = `b${replies.findIndex((r) => r.status === 503)}`;
    const retry = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: failedBuyer });
    expect(retry.status).toBe(202);
  });

  it('an order the database refuses ends rejected with its reason (HTTP, metrics), and Redis is reconciled', async () => {
    await ensureConsumer();
    const keys = new Keys(t.cfg.redisKeyPrefix);
    const sale = await createSale(srv.url, 2);
    for (const u of ['p1', 'p2']) {
      expect((await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: u })).status).toBe(202);
    }
    await waitFor('2 rows', async () => (await orderCount(t.pool, sale)) === 2);
    // Redis' inventory went behind without the guard noticing (the case the guard cannot see: a write
    // behind its back), so it accepts an order PostgreSQL has no stock for.
    await t.redis.hset(keys.inventory(sale), 'stock', 3);
    const late = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'p3' });
    expect(late.status).toBe(202);
    await waitFor('rejected', async () => {
      const o = await call(srv.url, 'GET', `/api/orders/${late.body.orderId}`);
      return o.status === 200 && o.body.status === 'rejected';
    });
    const o = await call(srv.url, 'GET', `/api/orders/${late.body.orderId}`);
    expect(o.body).toMatchObject({
      orderId: late.body.orderId,
      saleId: sale,
      userId: 'p3',
      reason: 'out_of_stock',
    });
    expect(o.body.message).toMatch(/no stock left/);
    const cm = await consumer!.metrics.registry.metrics();
    expect(cm).toMatch(/orders_rejected_total\{reason="out_of_stock"\} 1/);
    // The rejection raised the fence; the recovery recomputes the stock from PostgreSQL by itself.
    await waitFor(
      'recovered',
      async () =>
        (await t.redis.hget(keys.guard(), 'reason')) === '' &&
        (await t.redis.hget(keys.inventory(sale), 'stock')) === '0',
      20_000,
    );
    await waitFor('fence lifted', async () => (await call(srv.url, 'GET', '/readyz')).status === 200, 20_000);
    expect(await t.redis.hget(keys.inventory(sale), 'stock')).toBe('0');
    expect(await t.redis.hexists(keys.buyers(sale), 'p3')).toBe(0);
    expect((await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'p4' })).status).toBe(410);
    const counters = await call(srv.url, 'GET', `/api/sales/${sale}/counters`, undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(counters.body).toMatchObject({ stock: 2, remaining: 0, accepted: 2, persisted: 2, rejected: 1 });
    expect(counters.body.inventory.state).toBe('ok');
  });

  it('dead-letters messages that are not orders, or whose rejection cannot be recorded, and keeps writing good ones', async () => {
    await ensureConsumer();
    const sale = await createSale(srv.url, 5);
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createConfirmChannel();
    const send = (body: string): void => {
      ch.sendToQueue(t.cfg.orderQueue, Buffer.from(body), { persistent: true });
    };
    send('not json');
    // a sale that does not exist: foreign-key violation, and no row (not even a rejected one) can refer to it
    send(
      JSON.stringify({
        orderId: orderIdFor('424242', 'x'),
        saleId: '424242',
        userId: 'x',
        acceptedAt: new Date().toISOString(),
      }),
    );
    send(
      JSON.stringify({
        orderId: orderIdFor(sale, 'good'),
        saleId: sale,
        userId: 'good',
        acceptedAt: new Date().toISOString(),
      }),
    );
    await ch.waitForConfirms();
    await conn.close();
    await waitFor('dead letters', async () => (await queueDepth(t.cfg, t.cfg.deadLetterQueue)) === 2);
    await waitFor('good row', async () => (await orderCount(t.pool, sale)) === 1);
  });

  it('Redis lost its keys: orders answer 503 inventory_recovering (never 404), the fence lifts by itself, stock and markers are exact', async () => {
    await ensureConsumer();
    await waitFor('no fence', async () => (await call(srv.url, 'GET', '/readyz')).status === 200, 20_000);
    const sale = await createSale(srv.url, 10);
    for (const u of ['r1', 'r2', 'r3']) {
      expect((await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: u })).status).toBe(202);
    }
    await waitFor('3 rows', async () => (await orderCount(t.pool, sale)) === 3);
    const recoveries = async (): Promise<number> =>
      sumCounter((await call(srv.metricsUrl, 'GET', '/metrics')).body, 'inventory_recoveries_total') ?? 0;
    const before = await recoveries();
    expect(await deletePrefix(t.redis, t.cfg.redisKeyPrefix)).toBeGreaterThan(0);
    const during = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'r4' });
    expect(during.status).toBe(503);
    expect(during.body.error).toBe('inventory_recovering');
    const ready = await call(srv.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.inventory).toMatchObject({ state: 'recovering', reason: 'redis_lost_data' });
    await waitFor('fence lifted', async () => (await call(srv.url, 'GET', '/readyz')).status === 200, 20_000);
    expect((await call(srv.url, 'GET', `/api/sales/${sale}`)).body.remaining).toBe(7);
    expect((await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'r1' })).status).toBe(409);
    expect((await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'r4' })).status).toBe(202);
    // inventory and markers have no TTL; cache keys do
    const keys = new Keys(t.cfg.redisKeyPrefix);
    expect(await t.redis.ttl(keys.inventory(sale))).toBe(-1);
    expect(await t.redis.ttl(keys.buyers(sale))).toBe(-1);
    await call(srv.url, 'GET', `/api/sales/${sale}`);
    expect(await t.redis.ttl(keys.saleInfo(sale))).toBeGreaterThan(0);
    expect(await t.redis.ttl(keys.orderIndex(orderIdFor(sale, 'r4')))).toBeGreaterThan(0);
    expect(await recoveries()).toBe(before + 1);
    expect((await call(srv.metricsUrl, 'GET', '/metrics')).body).toMatch(/inventory_fenced 0/);
  });

  it('serves /metrics on its metrics port only: the serving port answers 404 there, the metrics port nothing else', async () => {
    expect(srv.metricsPort).not.toBe(srv.port);
    const onServing = await call(srv.url, 'GET', '/metrics');
    expect(onServing.status).toBe(404);
    expect(String(onServing.body)).not.toContain('http_requests_total');
    const scrape = await call(srv.metricsUrl, 'GET', '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('http_requests_total');
    for (const [method, path] of [
      ['POST', '/api/sales'],
      ['GET', '/api/admin/counters'],
      ['GET', '/readyz'],
      ['GET', '/healthz'],
    ] as const) {
      expect((await call(srv.metricsUrl, method, path)).status, `${method} ${path}`).toBe(404);
    }
  });

  it('exposes the seed metric names and readiness', async () => {
    expect((await call(srv.url, 'GET', '/healthz')).status).toBe(200);
    expect((await call(srv.url, 'GET', '/readyz')).body).toEqual({ status: 'ready' });
    const m = await call(srv.metricsUrl, 'GET', '/metrics');
    for (const name of [
      'http_requests_total',
      'order_create_duration_ms_bucket',
      'stock_decrement_total',
      'redis_hits_total',
      'redis_requests_total',
      'order_publish_failures_total',
    ]) {
      expect(m.body).toContain(name);
    }
    expect(m.body).toMatch(
      /http_requests_total\{method="POST",route="\/api\/sales\/\{id\}\/orders",status="202"\} \d+/,
    );
    const cm = await consumer!.metrics.registry.metrics();
    expect(cm).toContain('order_consumer_lag_messages');
    expect(cm).toMatch(/order_consumer_messages_total\{result="inserted"\} [1-9]/);
  });

  it("the operator's API probe reads accepted vs persisted vs rejected into status.health.api", async () => {
    await ensureConsumer();
    await waitFor('no fence', async () => (await call(srv.url, 'GET', '/readyz')).status === 200, 20_000);
    await waitFor('queue drained', async () => (await queueDepth(t.cfg)) === 0);
    const all = await call(srv.url, 'GET', '/api/admin/counters', undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(all.status).toBe(200);
    const opts = { timeoutMs: 2000, thresholds: DEFAULT_THRESHOLDS };
    const r = await probeApi(srv.url, opts, undefined, ADMIN_TOKEN);
    expect(r.healthy).toBe(true);
    expect(r.inventory).toEqual({ state: 'ok' });
    expect(r.orders).toEqual(all.body.totals);
    expect(r.orders!.rejected).toBeGreaterThan(0); // the refused order of the test above
    expect(r.message).toContain(`rejected ${r.orders!.rejected}`);
    // One more rejection than the round before: the API is unhealthy for that round, with the reason.
    const previous = { ...r, orders: { ...r.orders!, rejected: r.orders!.rejected - 1 } };
    const next = await probeApi(srv.url, opts, previous, ADMIN_TOKEN);
    expect(next).toMatchObject({ healthy: false, reason: 'OrdersRejected' });
    expect(JSON.stringify(next)).not.toContain(ADMIN_TOKEN);
    // Without the token the probe still answers, just without counters.
    expect((await probeApi(srv.url, opts)).orders).toBeUndefined();
  });

  it("the operator's probe reads the request rate on the metrics port and notes the serving port's 404 for /metrics", async () => {
    const opts = { timeoutMs: 2000, thresholds: DEFAULT_THRESHOLDS };
    const r = await probeApi(srv.url, opts, undefined, ADMIN_TOKEN, srv.metricsUrl);
    expect(r.healthy).toBe(true);
    expect(r.requestsTotal).toBeGreaterThan(0);
    expect(r.message).not.toContain('/metrics');
    const onServing = await probeApi(srv.url, opts, undefined, ADMIN_TOKEN);
    expect(onServing.requestsTotal).toBeUndefined();
    expect(onServing.message).toContain('/metrics answered 404');
  });
});
