/**
 * A 202 is a promise, through Redis losing inventory under load (issue 15's acceptance). Each test runs its own
 * redis-server (never the shared one) that it kills and brings back — once from an older snapshot (a rollback:
 * every key is there, just old), once empty — while buyers keep ordering for a few seconds. After the queue
 * drains: every 202 has a confirmed row, no row lacks a 202, orders ≤ stock, no buyer twice, no 404 for the
 * existing sale, and the window in which buyers got `503 inventory_recovering` is bounded, measured and closed
 * by the fence lifting itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startConsumer, type RunningConsumer } from '../../src/service/consumer.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import { startRedis, type Daemon } from '../health/daemons.js';
import { call, createSale, createTestEnv, queueDepth, type TestEnv, waitFor } from './support.js';

const STOCK = 600;
const LOAD_MS = 4000;
const IN_FLIGHT = 24;

interface Outcome {
  user: string;
  status: number;
  error?: string;
  orderId?: string;
  at: number;
}

describe('inventory Redis lost under load (private redis-server)', () => {
  let t: TestEnv | undefined;
  let srv: RunningServer | undefined;
  let consumer: RunningConsumer | undefined;
  let redis: Daemon | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await consumer?.close();
    await srv?.close();
    await redis?.kill();
    await t?.cleanup().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
    consumer = srv = redis = t = dir = undefined;
  });

  async function setUp(): Promise<{ sale: string; direct: Redis }> {
    dir = mkdtempSync(join(tmpdir(), 'fs-redis-fault-'));
    redis = await startRedis(['--dir', dir, '--dbfilename', 'dump.rdb']);
    const url = `redis://127.0.0.1:${redis.port}`;
    t = await createTestEnv({ REDIS_URL: url, PUBLISH_TIMEOUT_MS: '1000', GUARD_CHECK_INTERVAL_MS: '200' });
    srv = await startServer(t.cfg, { log: () => undefined });
    consumer = await startConsumer(t.cfg);
    const sale = await createSale(srv.url, STOCK);
    return { sale, direct: new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }) };
  }

  /** IN_FLIGHT buyers in a loop for LOAD_MS, each user ordering once; `fault` runs meanwhile. */
  async function load(sale: string, fault: () => Promise<void>): Promise<Outcome[]> {
    const out: Outcome[] = [];
    const end = Date.now() + LOAD_MS;
    let next = 0;
    const buyer = async (): Promise<void> => {
      while (Date.now() < end) {
        const user = `u${next++}`;
        const r = await call(srv!.url, 'POST', `/api/sales/${sale}/orders`, { userId: user });
        out.push({ user, status: r.status, error: r.body?.error, orderId: r.body?.orderId, at: Date.now() });
        await new Promise((res) => setTimeout(res, 2)); // a few hundred orders/s, not a flood
      }
    };
    await Promise.all([...Array.from({ length: IN_FLIGHT }, buyer), fault()]);
    return out;
  }

  async function assertPromisesKept(sale: string, outcomes: Outcome[]): Promise<{ fenceMs: number }> {
    await waitFor(
      'fence lifted',
      async () => (await call(srv!.url, 'GET', '/readyz')).status === 200,
      30_000,
    );
    await waitFor('queue drained', async () => (await queueDepth(t!.cfg)) === 0, 30_000);
    const accepted = outcomes.filter((o) => o.status === 202);
    await waitFor('every 202 persisted', async () => {
      const r = await t!.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM orders WHERE sale_id = $1 AND status = 'confirmed'",
        [sale],
      );
      return r.rows[0]!.n >= accepted.length;
    });
    const rows = await t!.pool.query<{ id: string; user_id: string }>(
      "SELECT id::text, user_id FROM orders WHERE sale_id = $1 AND status = 'confirmed'",
      [sale],
    );
    const rowIds = new Set(rows.rows.map((r) => r.id));
    const acceptedIds = new Set(accepted.map((a) => a.orderId));
    for (const id of acceptedIds) expect(rowIds.has(id!), `202 ${id} has a row`).toBe(true);
    for (const id of rowIds) expect(acceptedIds.has(id), `row ${id} had a 202`).toBe(true);
    expect(rows.rows.length).toBeLessThanOrEqual(STOCK);
    expect(new Set(rows.rows.map((r) => r.user_id)).size).toBe(rows.rows.length);
    const rejected = await t!.pool.query("SELECT 1 FROM orders WHERE status = 'rejected'");
    expect(rejected.rowCount).toBe(0);
    expect(outcomes.filter((o) => o.status === 404)).toEqual([]);
    // Nothing but the contract's answers: sold, sold out, or refused while Redis was away or recovering.
    for (const o of outcomes) expect([202, 410, 503]).toContain(o.status);
    const fenced = outcomes.filter((o) => o.error === 'inventory_recovering');
    expect(fenced.length).toBeGreaterThan(0);
    const fenceMs = fenced[fenced.length - 1]!.at - fenced[0]!.at;
    expect(fenceMs).toBeLessThan(20_000);
    // The fence lifted by itself: a new buyer can buy (or is told the sale sold out).
    const after = await call(srv!.url, 'POST', `/api/sales/${sale}/orders`, { userId: 'after-the-fence' });
    expect([202, 410]).toContain(after.status);
    // Redis' stock is exactly what PostgreSQL's rows leave (plus the buyer just served).
    const remaining = (await call(srv!.url, 'GET', `/api/sales/${sale}`)).body.remaining;
    expect(remaining).toBe(STOCK - rows.rows.length - (after.status === 202 ? 1 : 0));
    return { fenceMs };
  }

  it('rolled back to an older snapshot mid-sale: every 202 becomes a row, no oversell, the fence lifts by itself', async () => {
    const { sale, direct } = await setUp();
    const outcomes = await load(sale, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await direct.connect();
      await direct.bgsave();
      await waitFor('snapshot', async () =>
        /rdb_bgsave_in_progress:0/.test(await direct.info('persistence')),
      );
      direct.disconnect();
      await new Promise((r) => setTimeout(r, 1000)); // sell on past the snapshot …
      const port = redis!.port;
      await redis!.kill(); // … then lose it: SIGKILL, and restart from the older snapshot
      redis = await startRedis(['--dir', dir!, '--dbfilename', 'dump.rdb'], port);
    });
    const sold = outcomes.filter((o) => o.status === 202).length;
    expect(sold).toBeGreaterThan(0);
    const { fenceMs } = await assertPromisesKept(sale, outcomes);
    console.log(`rollback: ${sold} accepted, 503 inventory_recovering for ${fenceMs} ms`);
  });

  it('restarted empty under load: no 404 for the existing sale, every 202 becomes a row, the fence lifts by itself', async () => {
    const { sale } = await setUp();
    const outcomes = await load(sale, async () => {
      await new Promise((r) => setTimeout(r, 1500));
      const port = redis!.port;
      await redis!.kill();
      rmSync(join(dir!, 'dump.rdb'), { force: true });
      redis = await startRedis(['--dir', dir!, '--dbfilename', 'dump.rdb'], port);
    });
    const { fenceMs } = await assertPromisesKept(sale, outcomes);
    console.log(
      `restart empty: ${outcomes.filter((o) => o.status === 202).length} accepted, 503 inventory_recovering for ${fenceMs} ms`,
    );
  });
});
