import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsumer, type RunningConsumer } from '../../src/service/consumer.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import {
  ADMIN_TOKEN,
  call,
  createSale,
  createTestEnv,
  orderCount,
  queueDepth,
  type Reply,
  type TestEnv,
  waitFor,
} from './support.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

interface Shot {
  sentAt: number;
  doneAt: number;
  reply: Reply;
}

describe('suspending a sale under load', () => {
  let t: TestEnv;
  let srv: RunningServer;
  let consumer: RunningConsumer;

  beforeAll(async () => {
    t = await createTestEnv({ PUBLISH_TIMEOUT_MS: '2000', GUARD_CHECK_INTERVAL_MS: '500' });
    srv = await startServer(t.cfg);
    consumer = await startConsumer(t.cfg);
  });
  afterAll(async () => {
    await consumer?.close();
    await srv?.close();
    await t?.cleanup();
  });

  it('stops new 202s once the suspend answered, loses nothing accepted, and resume reopens', async () => {
    const sale = await createSale(srv.url, 1_000_000);
    const shots: Shot[] = [];
    let stop = false;
    let next = 0;
    const buyer = async (): Promise<void> => {
      while (!stop) {
        const sentAt = performance.now();
        const reply = await call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: `load-${next++}` });
        shots.push({ sentAt, doneAt: performance.now(), reply });
      }
    };
    const load = Array.from({ length: 32 }, buyer);
    await waitFor(
      'orders accepted under load',
      async () => shots.filter((s) => s.reply.status === 202).length >= 300,
    );

    const suspendSent = performance.now();
    const suspended = await call(srv.url, 'POST', `/api/sales/${sale}/suspend`, undefined, admin);
    const suspendDone = performance.now();
    expect(suspended).toMatchObject({ status: 200, body: { gate: 'suspended' } });
    await waitFor('orders refused after the suspend', async () =>
      shots.some((s) => s.sentAt > suspendDone && s.reply.status === 403),
    );
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(load);

    const after = shots.filter((s) => s.sentAt > suspendDone);
    expect(after.length).toBeGreaterThan(0);
    for (const s of after) expect(s.reply.body.error).toBe('sale_suspended');
    // Only requests already in flight when the suspend was sent may still have been accepted.
    const accepted = shots.filter((s) => s.reply.status === 202);
    const lastAccepted = Math.max(...accepted.map((s) => s.doneAt));
    const firstRefused = Math.min(
      ...shots.filter((s) => s.reply.body.error === 'sale_suspended').map((s) => s.doneAt),
    );
    for (const s of shots) expect([202, 403]).toContain(s.reply.status);
    process.stdout.write(
      `suspend under load: ${shots.length} orders, ${accepted.length} accepted; suspend answered in ` +
        `${(suspendDone - suspendSent).toFixed(1)} ms, first sale_suspended ${(firstRefused - suspendSent).toFixed(1)} ms ` +
        `and last 202 ${(lastAccepted - suspendSent).toFixed(1)} ms after it was sent\n`,
    );

    // Nothing accepted is lost: every 202 becomes its row, and Redis agrees with PostgreSQL.
    await waitFor(
      'every accepted order persisted',
      async () => (await orderCount(t.pool, sale)) === accepted.length,
    );
    await waitFor('queue drained', async () => (await queueDepth(t.cfg)) === 0);
    const rows = await t.pool.query<{ id: string }>('SELECT id::text FROM orders WHERE sale_id = $1', [sale]);
    expect(new Set(rows.rows.map((r) => r.id))).toEqual(new Set(accepted.map((s) => s.reply.body.orderId)));
    const rec = await call(srv.url, 'GET', `/api/sales/${sale}/reconciliation`, undefined, admin);
    expect(rec.body).toMatchObject({
      soldInRedis: accepted.length,
      ordersInDatabase: accepted.length,
      consistent: true,
    });

    expect((await call(srv.url, 'POST', `/api/sales/${sale}/resume`, undefined, admin)).body.gate).toBe(
      'open',
    );
    const reopened = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: `back-${i}` }),
      ),
    );
    expect(reopened.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 202));
  });
});
