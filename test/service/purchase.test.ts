/**
 * The batched purchase script on the machine's real Redis, each test under its own key prefix. The HTTP tests
 * (api.test.ts) cover the same rules end to end; these pin down what batching must not change.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Keys } from '../../src/service/keys.js';
import { PurchaseCode } from '../../src/service/lua.js';
import { PurchaseBatcher } from '../../src/service/purchase.js';
import { REDIS_URL, deletePrefix } from './support.js';

describe('PurchaseBatcher (one EVALSHA per sale per event-loop turn)', () => {
  let redis: Redis;
  let keys: Keys;
  const prefixes: string[] = [];

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { enableAutoPipelining: true });
  });
  afterEach(async () => {
    for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
  });
  afterAll(() => redis.disconnect());

  async function sale(id: string, stock: number, startsInMs = -60_000, endsInMs = 3_600_000): Promise<void> {
    const now = Date.now();
    await redis.hset(keys.inventory(id), {
      stock,
      startsAt: now + startsInMs,
      endsAt: now + endsInMs,
    });
  }

  function fresh(batchMax = 100): PurchaseBatcher {
    const prefix = `fstest:${randomBytes(5).toString('hex')}:`;
    prefixes.push(prefix);
    keys = new Keys(prefix);
    return new PurchaseBatcher(redis, keys, 600, batchMax);
  }

  it('sells exactly the stock when one batch asks for more than there is', async () => {
    const b = fresh();
    await sale('1', 3);
    const codes = await Promise.all(Array.from({ length: 8 }, (_, i) => b.purchase('1', `u${i}`, `o${i}`)));
    expect(codes).toEqual([2, 1, 0, PurchaseCode.soldOut, -5, -5, -5, -5]);
    expect(await redis.hget(keys.inventory('1'), 'stock')).toBe('0');
    expect(await redis.hlen(keys.buyers('1'))).toBe(3);
  });

  it('sells once to a user who appears twice in the same batch', async () => {
    const b = fresh();
    await sale('1', 10);
    const codes = await Promise.all([
      b.purchase('1', 'alice', 'o1'),
      b.purchase('1', 'alice', 'o2'),
      b.purchase('1', 'bob', 'o3'),
    ]);
    expect(codes).toEqual([9, PurchaseCode.alreadyPurchased, 8]);
    expect(await redis.hget(keys.buyers('1'), 'alice')).toBe('o1');
    expect(await redis.get(keys.orderIndex('o1'))).toBe('1\nalice');
    expect(await redis.exists(keys.orderIndex('o2'))).toBe(0);
    expect(await redis.ttl(keys.orderIndex('o1'))).toBeGreaterThan(0);
  });

  it('keeps sales apart and answers every purchase of a refused sale with the sale-level code', async () => {
    const b = fresh();
    await sale('1', 5);
    await sale('2', 5, 60_000); // starts in a minute
    await sale('3', 5, -7_200_000, -3_600_000); // ended an hour ago
    const codes = await Promise.all([
      b.purchase('1', 'u1', 'a1'),
      b.purchase('2', 'u1', 'b1'),
      b.purchase('3', 'u1', 'c1'),
      b.purchase('4', 'u1', 'd1'),
      b.purchase('2', 'u2', 'b2'),
      b.purchase('1', 'u2', 'a2'),
    ]);
    expect(codes).toEqual([
      4,
      PurchaseCode.notStarted,
      PurchaseCode.ended,
      PurchaseCode.notFound,
      PurchaseCode.notStarted,
      3,
    ]);
    expect(await redis.hget(keys.inventory('2'), 'stock')).toBe('5');
    expect(await redis.exists(keys.buyers('2'))).toBe(0);
  });

  it('splits at PURCHASE_BATCH_MAX and still never oversells', async () => {
    const b = fresh(7);
    await sale('1', 50);
    const codes = await Promise.all(Array.from({ length: 120 }, (_, i) => b.purchase('1', `u${i}`, `o${i}`)));
    expect(codes.filter((c) => c >= 0)).toHaveLength(50);
    expect(codes.filter((c) => c === PurchaseCode.soldOut)).toHaveLength(70);
    expect(new Set(codes.filter((c) => c >= 0))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i)));
    expect(await redis.hget(keys.inventory('1'), 'stock')).toBe('0');
  });

  it('loads the script again after SCRIPT FLUSH (NOSCRIPT falls back to EVAL)', async () => {
    const b = fresh();
    await sale('1', 2);
    await redis.script('FLUSH');
    expect(await b.purchase('1', 'u1', 'o1')).toBe(1);
    expect(await b.purchase('1', 'u2', 'o2')).toBe(0);
  });

  it('rejects every purchase of the batch when Redis is unreachable, and takes nothing', async () => {
    const down = new Redis({
      port: 1,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    down.on('error', () => undefined);
    const p = `fstest:${randomBytes(5).toString('hex')}:`;
    const b = new PurchaseBatcher(down, new Keys(p), 600, 100);
    const results = await Promise.allSettled([b.purchase('1', 'u1', 'o1'), b.purchase('1', 'u2', 'o2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    down.disconnect();
  });
});
