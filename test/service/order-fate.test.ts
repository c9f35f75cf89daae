/**
 * The database decides an unconfirmed order's fate (real PostgreSQL): when the broker did not confirm a publish,
 * the API records the order cancelled unless the consumer already confirmed it, and the two can never both
 * win. A late copy of a cancelled order changes nothing; the same buyer's later purchase (higher attempt)
 * is confirmed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  insertOrders,
  insertSale,
  retryKeyRace,
  settleUnconfirmed,
  type OrderMessage,
} from '../../src/service/db.js';
import { orderIdFor } from '../../src/service/keys.js';
import { createTestEnv, type TestEnv } from './support.js';

describe('settleUnconfirmed against the consumer insert', () => {
  let t: TestEnv;
  let saleId: string;
  beforeAll(async () => {
    t = await createTestEnv();
    const now = Date.now();
    saleId = (await insertSale(t.pool, {
      productId: 'sku',
      name: null,
      stock: 100,
      startsAt: new Date(now - 60_000),
      endsAt: new Date(now + 3_600_000),
    }))!.id;
  });
  afterAll(async () => t?.cleanup());

  const order = (user: string, attempt: number): OrderMessage => ({
    orderId: orderIdFor(saleId, user),
    saleId,
    userId: user,
    acceptedAt: new Date().toISOString(),
    attempt,
  });
  /** The consumer's write of one order (as in its one-by-one path). */
  const write = (o: OrderMessage): Promise<number> =>
    retryKeyRace(async () => {
      const c = await t.pool.connect();
      try {
        return await insertOrders(c, [o]);
      } finally {
        c.release();
      }
    });
  const row = async (user: string) =>
    (
      await t.pool.query<{ status: string; attempt: string; reason: string | null }>(
        'SELECT status, attempt::text, reason FROM orders WHERE sale_id = $1 AND user_id = $2',
        [saleId, user],
      )
    ).rows[0];
  const stock = async (): Promise<number> =>
    (await t.pool.query<{ stock: number }>('SELECT stock FROM flash_sales WHERE id = $1', [saleId])).rows[0]!
      .stock;

  it('cancelled first: the late message is not confirmed and takes no stock', async () => {
    expect(await settleUnconfirmed(t.pool, order('a', 3), 'cancelled', 'publish_unconfirmed')).toBe(
      'cancelled',
    );
    expect(await write(order('a', 3))).toBe(0);
    expect(await row('a')).toEqual({ status: 'cancelled', attempt: '3', reason: 'publish_unconfirmed' });
    expect(await stock()).toBe(100);
  });

  it('a later purchase by the same buyer supersedes the cancellation', async () => {
    expect(await write(order('a', 7))).toBe(1);
    expect(await row('a')).toEqual({ status: 'confirmed', attempt: '7', reason: null });
    expect(await stock()).toBe(99);
  });

  it('confirmed first: the settlement answers confirmed and changes nothing (the buyer gets its 202)', async () => {
    expect(await write(order('b', 1))).toBe(1);
    expect(await settleUnconfirmed(t.pool, order('b', 1), 'cancelled', 'publish_unconfirmed')).toBe(
      'confirmed',
    );
    expect((await row('b'))!.status).toBe('confirmed');
    expect(await stock()).toBe(98);
  });

  it('racing each other, exactly one wins, and stock follows the winner', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const o = order(`race${i}`, 1);
        return Promise.all([write(o), settleUnconfirmed(t.pool, o, 'cancelled', 'publish_unconfirmed')]);
      }),
    );
    const before = 98;
    let confirmed = 0;
    for (const [i, [inserted, settled]] of results.entries()) {
      const r = await row(`race${i}`);
      expect(settled).toBe(r!.status); // the API's answer agrees with the row
      if (inserted === 1) {
        confirmed++;
        expect(r!.status).toBe('confirmed');
      } else expect(r!.status).toBe('cancelled');
    }
    expect(await stock()).toBe(before - confirmed);
  });
});
