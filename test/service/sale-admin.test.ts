import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../src/service/consumer.js';
import { insertSale } from '../../src/service/db.js';
import { Keys } from '../../src/service/keys.js';
import { rebuildInventory } from '../../src/service/rebuild.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import {
  ADMIN_TOKEN,
  call,
  createSale,
  createTestEnv,
  orderCount,
  type TestEnv,
  waitFor,
} from './support.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('the admin endpoints a FlashSale drives, against real PostgreSQL, Redis and RabbitMQ', () => {
  let t: TestEnv;
  let srv: RunningServer;
  let consumer: RunningConsumer;
  let keys: Keys;

  beforeAll(async () => {
    t = await createTestEnv({ PUBLISH_TIMEOUT_MS: '1000', GUARD_CHECK_INTERVAL_MS: '200' });
    srv = await startServer(t.cfg);
    consumer = await startConsumer(t.cfg);
    keys = new Keys(t.cfg.redisKeyPrefix);
  });
  afterAll(async () => {
    await consumer?.close();
    await srv?.close();
    await t?.cleanup();
  });

  const body = (externalId: string, over: Record<string, unknown> = {}): Record<string, unknown> => ({
    externalId,
    productId: 'sku-42',
    name: 'launch',
    stock: 10,
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: '2099-01-01T00:00:00.000Z',
    ...over,
  });
  const buy = (sale: string, userId: string) =>
    call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId });

  it('creates with an externalId once: 201, then 200 with the same sale; 20 concurrent creates make one row', async () => {
    const b = body('shop/launch/uid-1');
    const first = await call(srv.url, 'POST', '/api/sales', b, admin);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      externalId: 'shop/launch/uid-1',
      gate: 'open',
      stock: 10,
      remaining: 10,
    });
    const again = await call(srv.url, 'POST', '/api/sales', b, admin);
    expect(again).toMatchObject({
      status: 200,
      body: { id: first.body.id, externalId: 'shop/launch/uid-1' },
    });

    const race = body('shop/race/uid-2');
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => call(srv.url, 'POST', '/api/sales', race, admin)),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
    const rows = await t.pool.query(
      "SELECT count(*)::int AS n FROM flash_sales WHERE external_id = 'shop/race/uid-2'",
    );
    expect(rows.rows[0].n).toBe(1);
  });

  it('answers 409 external_id_conflict naming the fields that differ, and changes nothing', async () => {
    const b = body('shop/conflict/uid-3');
    const first = await call(srv.url, 'POST', '/api/sales', b, admin);
    const other = await call(srv.url, 'POST', '/api/sales', { ...b, stock: 11, productId: 'sku-43' }, admin);
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('external_id_conflict');
    expect(other.body.message).toMatch(/productId, stock/);
    expect(other.body.message).not.toMatch(/endsAt|startsAt|name/);
    const got = await call(srv.url, 'GET', `/api/sales/${first.body.id}`);
    expect(got.body).toMatchObject({ productId: 'sku-42', stock: 10 });
  });

  it('shows the externalId (namespace/name/uid of the FlashSale) only to an admin, not to buyers', async () => {
    const created = await call(srv.url, 'POST', '/api/sales', body('team-a/secret-launch/uid-9'), admin);
    expect(created.status).toBe(201);
    const path = `/api/sales/${created.body.id}`;
    // Twice each: the first read may come from PostgreSQL, the second from the Redis copy.
    for (let i = 0; i < 2; i++) {
      const publicRead = await call(srv.url, 'GET', path);
      expect(publicRead.status).toBe(200);
      expect(publicRead.body).not.toHaveProperty('externalId');
      expect(JSON.stringify(publicRead.body)).not.toContain('secret-launch');
      const adminRead = await call(srv.url, 'GET', path, undefined, admin);
      expect(adminRead.body.externalId).toBe('team-a/secret-launch/uid-9');
    }
  });

  it('a null externalId creates a plain sale; a malformed one is 400 naming the field', async () => {
    const plain = await call(srv.url, 'POST', '/api/sales', body('x', { externalId: null }), admin);
    expect(plain).toMatchObject({ status: 201, body: { externalId: null } });
    for (const externalId of ['', 'a b', 'x'.repeat(254), 7, 'ünï']) {
      const r = await call(srv.url, 'POST', '/api/sales', body('x', { externalId }), admin);
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/^externalId must be/);
    }
  });

  it('suspend refuses orders with 403 sale_suspended taking nothing; resume reopens; close is for good', async () => {
    const sale = await createSale(srv.url, 5);
    expect((await buy(sale, 'a')).status).toBe(202);
    const s = await call(srv.url, 'POST', `/api/sales/${sale}/suspend`, undefined, admin);
    expect(s).toMatchObject({ status: 200, body: { id: sale, gate: 'suspended', remaining: 4 } });
    expect((await call(srv.url, 'POST', `/api/sales/${sale}/suspend`, undefined, admin)).body.gate).toBe(
      'suspended',
    );
    const refused = await buy(sale, 'b');
    expect(refused).toMatchObject({ status: 403, body: { error: 'sale_suspended' } });
    expect(await t.redis.hget(keys.inventory(sale), 'stock')).toBe('4');
    expect(await t.redis.hexists(keys.buyers(sale), 'b')).toBe(0);
    expect((await call(srv.url, 'GET', `/api/sales/${sale}`)).body.gate).toBe('suspended');

    const r = await call(srv.url, 'POST', `/api/sales/${sale}/resume`, undefined, admin);
    expect(r.body.gate).toBe('open');
    expect((await buy(sale, 'b')).status).toBe(202);

    const c = await call(srv.url, 'POST', `/api/sales/${sale}/close`, undefined, admin);
    expect(c).toMatchObject({ status: 200, body: { gate: 'closed' } });
    expect(await buy(sale, 'c')).toMatchObject({ status: 403, body: { error: 'sale_closed' } });
    expect(await call(srv.url, 'POST', `/api/sales/${sale}/resume`, undefined, admin)).toMatchObject({
      status: 409,
      body: { error: 'sale_closed' },
    });
    expect((await call(srv.url, 'POST', `/api/sales/${sale}/suspend`, undefined, admin)).body.gate).toBe(
      'closed',
    );
    expect(await t.redis.hget(keys.inventory(sale), 'stock')).toBe('3');
    const pg = await t.pool.query('SELECT gate FROM flash_sales WHERE id = $1', [sale]);
    expect(pg.rows[0].gate).toBe('closed');
  });

  it('concurrent suspends, resumes and extensions leave Redis with what PostgreSQL holds', async () => {
    const sale = await createSale(srv.url, 5);
    const base = Date.parse('2099-01-01T00:00:00Z');
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 3 === 2
          ? call(
              srv.url,
              'PATCH',
              `/api/sales/${sale}`,
              { endsAt: new Date(base + i * 1000).toISOString() },
              admin,
            )
          : call(
              srv.url,
              'POST',
              `/api/sales/${sale}/${i % 3 === 0 ? 'suspend' : 'resume'}`,
              undefined,
              admin,
            ),
      ),
    );
    // An extension that lost the race to a later one is refused (earlier than the current end); none else fails.
    for (const r of replies) expect([200, 400]).toContain(r.status);
    const pg = await t.pool.query('SELECT gate, ends_at FROM flash_sales WHERE id = $1', [sale]);
    expect(await t.redis.hget(keys.inventory(sale), 'gate')).toBe(pg.rows[0].gate);
    expect(await t.redis.hget(keys.inventory(sale), 'endsAt')).toBe(String(pg.rows[0].ends_at.getTime()));
    expect(pg.rows[0].ends_at.getTime()).toBe(base + 38_000);
  });

  it('the gate and the end endpoints need the admin token and a known sale', async () => {
    const sale = await createSale(srv.url, 5);
    for (const [m, p] of [
      ['POST', `/api/sales/${sale}/suspend`],
      ['POST', `/api/sales/${sale}/close`],
      ['PATCH', `/api/sales/${sale}`],
      ['GET', `/api/sales/${sale}/reconciliation`],
    ] as const) {
      const r = await call(srv.url, m, p, m === 'PATCH' ? { endsAt: '2100-01-01T00:00:00Z' } : undefined);
      expect(r.status).toBe(401);
    }
    expect((await call(srv.url, 'GET', `/api/sales/${sale}`)).body.gate).toBe('open');
    expect(await call(srv.url, 'POST', '/api/sales/999999/suspend', undefined, admin)).toMatchObject({
      status: 404,
      body: { error: 'sale_not_found' },
    });
  });

  it('PATCH extends endsAt (orders follow the new end in Redis); an earlier end or another field is 400', async () => {
    const now = Date.now();
    const sale = await createSale(srv.url, 5, {
      startsAt: new Date(now - 60_000),
      endsAt: new Date(now - 1_000),
    });
    expect(await buy(sale, 'late')).toMatchObject({ status: 403, body: { error: 'sale_not_active' } });
    const endsAt = new Date(now + 3_600_000).toISOString();
    const p = await call(srv.url, 'PATCH', `/api/sales/${sale}`, { endsAt }, admin);
    expect(p).toMatchObject({ status: 200, body: { endsAt } });
    expect(await t.redis.hget(keys.inventory(sale), 'endsAt')).toBe(String(Date.parse(endsAt)));
    expect((await buy(sale, 'late')).status).toBe(202);
    expect((await call(srv.url, 'GET', `/api/sales/${sale}`)).body.endsAt).toBe(endsAt);
    expect((await call(srv.url, 'PATCH', `/api/sales/${sale}`, { endsAt }, admin)).status).toBe(200);

    const earlier = await call(
      srv.url,
      'PATCH',
      `/api/sales/${sale}`,
      { endsAt: new Date(now + 60_000).toISOString() },
      admin,
    );
    expect(earlier.status).toBe(400);
    expect(earlier.body.message).toMatch(/^endsAt must not be earlier than the sale's current end/);
    const stock = await call(srv.url, 'PATCH', `/api/sales/${sale}`, { endsAt, stock: 9 }, admin);
    expect(stock.status).toBe(400);
    expect(stock.body.message).toMatch(/only endsAt can be changed.*remove stock/);
    const garbled = await call(srv.url, 'PATCH', `/api/sales/${sale}`, { endsAt: 'tomorrow' }, admin);
    expect(garbled.status).toBe(400);
    expect(garbled.body.message).toMatch(
      /^endsAt: "tomorrow" is not a date-time; write an RFC 3339 date-time/,
    );
    expect(await call(srv.url, 'PATCH', '/api/sales/999999', { endsAt }, admin)).toMatchObject({
      status: 404,
      body: { error: 'sale_not_found' },
    });
    const pg = await t.pool.query('SELECT ends_at, initial_stock FROM flash_sales WHERE id = $1', [sale]);
    expect(pg.rows[0].ends_at.toISOString()).toBe(endsAt);
    expect(pg.rows[0].initial_stock).toBe(5);
  });

  it('a recovery restores the gate and the end from PostgreSQL', async () => {
    const sale = await createSale(srv.url, 5);
    await call(srv.url, 'POST', `/api/sales/${sale}/suspend`, undefined, admin);
    const endsAt = '2099-06-01T00:00:00.000Z';
    await call(srv.url, 'PATCH', `/api/sales/${sale}`, { endsAt }, admin);
    // Redis forgets the sale's inventory: the next order raises the fence and the recovery rebuilds it.
    await t.redis.del(keys.inventory(sale));
    expect((await buy(sale, 'x')).status).toBe(503);
    await waitFor('fence lifted', async () => (await call(srv.url, 'GET', '/readyz')).status === 200, 20_000);
    expect(await t.redis.hget(keys.inventory(sale), 'gate')).toBe('suspended');
    expect(await t.redis.hget(keys.inventory(sale), 'endsAt')).toBe(String(Date.parse(endsAt)));
    expect(await buy(sale, 'x')).toMatchObject({ status: 403, body: { error: 'sale_suspended' } });
  });

  it('Redis unreachable: a create answers 503 and leaves no row, a suspend answers 503 and changes nothing', async () => {
    const sale = await createSale(srv.url, 5);
    const cut = await startServer(t.cfg, { log: () => undefined });
    try {
      cut.deps.redis.disconnect();
      const c = await call(cut.url, 'POST', '/api/sales', body('shop/redis-down/uid-9'), admin);
      expect(c).toMatchObject({ status: 503, body: { error: 'unavailable' } });
      expect(c.body.message).toMatch(/no sale was created/);
      const rows = await t.pool.query(
        "SELECT 1 FROM flash_sales WHERE external_id = 'shop/redis-down/uid-9'",
      );
      expect(rows.rowCount).toBe(0);
      const s = await call(cut.url, 'POST', `/api/sales/${sale}/suspend`, undefined, admin);
      expect(s).toMatchObject({ status: 503, body: { error: 'unavailable' } });
      expect(s.body.message).toMatch(/unchanged/);
      const pg = await t.pool.query('SELECT gate FROM flash_sales WHERE id = $1', [sale]);
      expect(pg.rows[0].gate).toBe('open');
    } finally {
      await cut.close();
    }
    expect((await buy(sale, 'still-open')).status).toBe(202);
  });

  it('counters and reconciliation agree with the database; a removed order row makes it inconsistent', async () => {
    const sale = await createSale(srv.url, 10);
    for (const u of ['r1', 'r2', 'r3', 'r4']) expect((await buy(sale, u)).status).toBe(202);
    await waitFor('4 orders', async () => (await orderCount(t.pool, sale)) === 4);
    const counters = await call(srv.url, 'GET', `/api/sales/${sale}/counters`, undefined, admin);
    expect(counters.body).toMatchObject({
      saleId: sale,
      stock: 10,
      remaining: 6,
      accepted: 4,
      persisted: 4,
      rejected: 0,
      cancelled: 0,
      pending: 0,
    });
    const ok = await call(srv.url, 'GET', `/api/sales/${sale}/reconciliation`, undefined, admin);
    expect(ok.body).toEqual({
      saleId: sale,
      stock: 10,
      soldInRedis: 4,
      ordersInDatabase: 4,
      duplicateBuyers: 0,
      pending: 0,
      consistent: true,
    });
    await t.pool.query("DELETE FROM orders WHERE sale_id = $1 AND user_id = 'r2'", [sale]);
    const bad = await call(srv.url, 'GET', `/api/sales/${sale}/reconciliation`, undefined, admin);
    expect(bad.body).toMatchObject({ soldInRedis: 4, ordersInDatabase: 3, consistent: false });
  });
});

describe('the rebuild against a gate change in progress', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestEnv();
  });
  afterAll(async () => t?.cleanup());

  it('waits for the change to commit and writes the new gate, never the one read before', async () => {
    const keys = new Keys(t.cfg.redisKeyPrefix);
    const now = Date.now();
    const sale = (await insertSale(t.pool, {
      productId: 'sku',
      name: null,
      stock: 5,
      startsAt: new Date(now - 60_000),
      endsAt: new Date(now + 3_600_000),
    }))!;
    await rebuildInventory(t.pool, t.redis, keys);
    expect(await t.redis.hget(keys.inventory(sale.id), 'gate')).toBe('open');

    // What a suspend does (sale-admin.ts): row locked and updated, Redis written, then the commit.
    const change = await t.pool.connect();
    try {
      await change.query('BEGIN');
      await change.query('SELECT 1 FROM flash_sales WHERE id = $1 FOR UPDATE', [sale.id]);
      await change.query("UPDATE flash_sales SET gate = 'suspended' WHERE id = $1", [sale.id]);
      await t.redis.hset(keys.inventory(sale.id), 'gate', 'suspended');
      const rebuilt = rebuildInventory(t.pool, t.redis, keys);
      await waitFor(
        'the rebuild waiting for the row lock',
        async () => {
          const r = await t.pool.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
          );
          return r.rows[0].n > 0;
        },
        10_000,
      );
      await change.query('COMMIT');
      await rebuilt;
    } finally {
      change.release();
    }
    expect(await t.redis.hget(keys.inventory(sale.id), 'gate')).toBe('suspended');
  });
});
