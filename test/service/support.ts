/** Per-test isolation on the machine's real services: own database, Redis key prefix and queue names. */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';
import amqp from 'amqplib';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig, type ServiceConfig } from '../../src/service/config.js';
import { createPool, migrate } from '../../src/service/db.js';
import { InventoryGuard } from '../../src/service/inventory-guard.js';
import type { Keys } from '../../src/service/keys.js';

export const PG_ADMIN = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const ADMIN_TOKEN = 'test-admin-token';

export interface TestEnv {
  cfg: ServiceConfig;
  env: Record<string, string>;
  pool: pg.Pool;
  redis: Redis;
  cleanup(): Promise<void>;
}

export async function createTestEnv(overrides: Record<string, string> = {}): Promise<TestEnv> {
  const id = randomBytes(5).toString('hex');
  const db = `fs_test_${id}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  await admin.end();
  const databaseUrl = PG_ADMIN.replace(/\/[^/]*$/, `/${db}`);
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    AMQP_URL,
    PORT: '0',
    HOST: '127.0.0.1',
    ADMIN_TOKEN,
    WORKERS: '1',
    REDIS_KEY_PREFIX: `fstest:${id}:`,
    ORDER_QUEUE: `fs_test_${id}_orders`,
    METRICS_PORT: '0',
    CONSUMER_METRICS_PORT: '0',
    ...overrides,
  };
  const cfg = loadConfig(env);
  const pool = createPool(databaseUrl, 4);
  await migrate(pool);
  const redis = new Redis(REDIS_URL);
  return {
    cfg,
    env,
    pool,
    redis,
    async cleanup() {
      await pool.end();
      await deletePrefix(redis, cfg.redisKeyPrefix);
      redis.disconnect();
      const conn = await amqp.connect(cfg.amqpUrl);
      const ch = await conn.createChannel();
      await ch.deleteQueue(cfg.orderQueue);
      await ch.deleteQueue(cfg.deadLetterQueue);
      await ch.deleteExchange(cfg.deadLetterExchange);
      await conn.close();
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * Marks the inventory under `keys` as verified in the Redis process `redis` talks to (what a recovery's lift
 * does), for tests that drive the purchase script without a recovery. Returns an InventoryGuard that trusts it.
 */
export async function verifiedGuard(redis: Redis, keys: Keys, epoch = 1): Promise<InventoryGuard> {
  const info = await redis.info('server');
  const runId = /run_id:(\w+)/.exec(info)![1]!;
  await redis.hset(keys.guard(), { state: 'ok', epoch, runId, reason: '', recovery: '' });
  const guard = new InventoryGuard(redis, keys, async () => undefined);
  await guard.check();
  return guard;
}

export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await redis.del(...keys);
  } while (cursor !== '0');
  return n;
}

export const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });

export interface Reply {
  status: number;
  body: any;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const r = await request(base + path, {
    method: method as 'GET',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: r.statusCode, body: parsed };
}

export async function createSale(
  base: string,
  stock: number,
  window: { startsAt?: Date; endsAt?: Date } = {},
): Promise<string> {
  const r = await call(
    base,
    'POST',
    '/api/sales',
    {
      productId: 'sku-1',
      name: 'test sale',
      stock,
      startsAt: (window.startsAt ?? new Date(Date.now() - 60_000)).toISOString(),
      endsAt: (window.endsAt ?? new Date(Date.now() + 3_600_000)).toISOString(),
    },
    { authorization: `Bearer ${ADMIN_TOKEN}` },
  );
  if (r.status !== 201) throw new Error(`create sale: ${r.status} ${JSON.stringify(r.body)}`);
  return String(r.body.id);
}

export async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function orderCount(pool: pg.Pool, saleId: string): Promise<number> {
  const r = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE sale_id = $1', [
    saleId,
  ]);
  return r.rows[0]!.n;
}

export async function queueDepth(cfg: ServiceConfig, queue = cfg.orderQueue): Promise<number> {
  const conn = await amqp.connect(cfg.amqpUrl);
  try {
    const ch = await conn.createChannel();
    const q = await ch.checkQueue(queue);
    return q.messageCount;
  } finally {
    await conn.close();
  }
}
