/**
 * The batched purchase script on the machine's real Redis, each test under its own key prefix. The HTTP tests
 * (api.test.ts) cover the same rules end to end; these pin down what batching must not change.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { InventoryGuard } from '../../src/service/inventory-guard.js';
import { Keys } from '../../src/service/keys.js';
import { PurchaseCode } from '../../src/service/lua.js';
import { PurchaseBatcher, type PurchaseReply } from '../../src/service/purchase.js';
import { REDIS_URL, deletePrefix, verifiedGuard } from './support.js';

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

  async function fresh(batchMax = 100): Promise<PurchaseBatcher> {
    const prefix = `fstest:${randomBytes(5).toString('hex')}:`;
    prefixes.push(prefix);
    keys = new Keys(prefix);
    return new PurchaseBatcher(redis, keys, await verifiedGuard(redis, keys), 600, batchMax);
  }

  /** The codes of a batch of purchases (the attempt numbers are checked where they matter). */
  const codes = async (ps: Promise<PurchaseReply>[]): Promise<number[]> =>
    (await Promise.all(ps)).map((r) => r.code);

  it('sells exactly the stock when one batch asks for more than there is', async () => {
    const b = await fresh();
    await sale('1', 3);
    const got = await codes(Array.from({ length: 8 }, (_, i) => b.purchase('1', `u${i}`, `o${i}`)));
    expect(got).toEqual([2, 1, 0, PurchaseCode.soldOut, -5, -5, -5, -5]);
    expect(await redis.hget(keys.inventory('1'), 'stock')).toBe('0');
    expect(await redis.hlen(keys.buyers('1'))).toBe(3);
  });

  it('sells once to a user who appears twice in the same batch', async () => {
    const b = await fresh();
    await sale('1', 10);
    const replies = await Promise.all([
      b.purchase('1', 'alice', 'o1'),
      b.purchase('1', 'alice', 'o2'),
      b.purchase('1', 'bob', 'o3'),
    ]);
    expect(replies.map((r) => r.code)).toEqual([9, PurchaseCode.alreadyPurchased, 8]);
    // One batch, one attempt number for what it took; nothing for what it refused.
    expect(replies.map((r) => r.attempt)).toEqual([1, 0, 1]);
    expect(await redis.hget(keys.buyers('1'), 'alice')).toBe('o1');
    expect(await redis.get(keys.orderIndex('o1'))).toBe('1\nalice');
    expect(await redis.exists(keys.orderIndex('o2'))).toBe(0);
    expect(await redis.ttl(keys.orderIndex('o1'))).toBeGreaterThan(0);
  });

  it('keeps sales apart and answers every purchase of a refused sale with the sale-level code', async () => {
    const b = await fresh();
    await sale('1', 5);
    await sale('2', 5, 60_000); // starts in a minute
    await sale('3', 5, -7_200_000, -3_600_000); // ended an hour ago
    const got = await codes([
      b.purchase('1', 'u1', 'a1'),
      b.purchase('2', 'u1', 'b1'),
      b.purchase('3', 'u1', 'c1'),
      b.purchase('4', 'u1', 'd1'),
      b.purchase('2', 'u2', 'b2'),
      b.purchase('1', 'u2', 'a2'),
    ]);
    expect(got).toEqual([
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
    const b = await fresh(7);
    await sale('1', 50);
    const got = await codes(Array.from({ length: 120 }, (_, i) => b.purchase('1', `u${i}`, `o${i}`)));
    expect(got.filter((c) => c >= 0)).toHaveLength(50);
    expect(got.filter((c) => c === PurchaseCode.soldOut)).toHaveLength(70);
    expect(new Set(got.filter((c) => c >= 0))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i)));
    expect(await redis.hget(keys.inventory('1'), 'stock')).toBe('0');
  });

  it('after SCRIPT FLUSH in the same Redis process, loads the script again through the guard and sells', async () => {
    const b = await fresh();
    await sale('1', 2);
    await redis.script('FLUSH');
    expect((await b.purchase('1', 'u1', 'o1')).code).toBe(1);
    expect((await b.purchase('1', 'u2', 'o2')).code).toBe(0);
  });

  it('refuses every purchase, taking nothing, while the guard is missing, recovering or of another epoch', async () => {
    const b = await fresh();
    await sale('1', 5);
    await redis.hset(keys.guard(), 'epoch', '2'); // the guard moved on (a recovery elsewhere) …
    const stale = await b.purchase('1', 'u1', 'o1');
    expect(stale.code).toBe(4); // … so the batcher re-read the epoch and sold once it agreed
    await redis.hset(keys.guard(), 'state', 'recovering');
    expect(await codes([b.purchase('1', 'u2', 'o2'), b.purchase('1', 'u3', 'o3')])).toEqual([
      PurchaseCode.recovering,
      PurchaseCode.recovering,
    ]);
    await redis.del(keys.guard());
    expect((await b.purchase('1', 'u4', 'o4')).code).toBe(PurchaseCode.recovering);
    expect(await redis.hget(keys.inventory('1'), 'stock')).toBe('4');
    expect(await redis.hlen(keys.buyers('1'))).toBe(1);
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
    const k = new Keys(p);
    const b = new PurchaseBatcher(down, k, new InventoryGuard(down, k, async () => undefined), 600, 100);
    const results = await Promise.allSettled([b.purchase('1', 'u1', 'o1'), b.purchase('1', 'u2', 'o2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    down.disconnect();
  });
});
