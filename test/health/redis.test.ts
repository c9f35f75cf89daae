import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthProbeLoop } from '../../src/health/loop.js';
import { StackProbeSession } from '../../src/health/session.js';
import type { HealthReport } from '../../src/health/types.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/types.js';
import { startRedis, type Daemon } from './daemons.js';

describe('Redis evictions', () => {
  let redis: Daemon;
  beforeAll(async () => {
    redis = await startRedis(['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru']);
  });
  afterAll(async () => {
    await redis?.kill();
  });

  it('reports RedisEvictingKeys once a tiny maxmemory is filled past its limit', async () => {
    const session = new StackProbeSession(3000);
    const client = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    try {
      const before = await session.probe(
        { redis: { host: '127.0.0.1', port: redis.port } },
        DEFAULT_THRESHOLDS,
      );
      expect(before.components.redis!.reason).toBe('Healthy');
      expect(before.components.redis!.maxMemoryBytes).toBe(2 * 1024 * 1024);
      expect(before.components.redis!.maxmemoryPolicy).toBe('allkeys-lru');

      await client.connect();
      const value = 'x'.repeat(10_000);
      for (let batch = 0; batch < 10; batch++) {
        const p = client.pipeline();
        for (let i = 0; i < 100; i++) p.set(`stock:${batch}:${i}`, value);
        await p.exec();
      }
      const after = await session.probe(
        { redis: { host: '127.0.0.1', port: redis.port } },
        DEFAULT_THRESHOLDS,
      );
      const r = after.components.redis!;
      expect(r.evictedKeys).toBeGreaterThan(0);
      expect(r.healthy).toBe(false);
      expect(r.reason).toBe('RedisEvictingKeys');
      expect(r.message).toMatch(/\d+ keys were evicted \(policy allkeys-lru\)/);
    } finally {
      client.disconnect();
      await session.close();
    }
  });
});

describe('Redis down', () => {
  it('goes Unreachable within the timeout when its redis-server is killed, and the loop keeps running', async () => {
    const redis = await startRedis();
    const reports: HealthReport[] = [];
    const loop = new HealthProbeLoop({
      onReport: (_k, r) => void reports.push(r),
      timeoutMs: 1000,
      jitter: 0,
    });
    try {
      loop.upsert('ns/down', () => ({ redis: { host: '127.0.0.1', port: redis.port } }), 150);
      const waitFor = async (pred: (r: HealthReport) => boolean) => {
        for (let i = 0; i < 200; i++) {
          const last = reports.at(-1);
          if (last && pred(last)) return last;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`no matching report; last: ${JSON.stringify(reports.at(-1))}`);
      };
      await waitFor((r) => r.components.redis?.reason === 'Healthy');
      await redis.kill();
      const down = await waitFor((r) => r.components.redis?.reason === 'Unreachable');
      expect(down.components.redis!.healthy).toBe(false);
      const n = reports.length;
      // Still probing after the failure (more rounds arrive).
      await waitFor(() => reports.length >= n + 2);
      expect(loop.has('ns/down')).toBe(true);
    } finally {
      await loop.stop();
      await redis.kill();
    }
  });
});

describe('Redis comes back', () => {
  it('the session reconnects after the server restarts on the same port', async () => {
    const first = await startRedis();
    const port = first.port;
    const session = new StackProbeSession(1000);
    const targets = { redis: { host: '127.0.0.1', port } };
    let second: Daemon | undefined;
    try {
      expect((await session.probe(targets, DEFAULT_THRESHOLDS)).components.redis!.reason).toBe('Healthy');
      await first.kill();
      expect((await session.probe(targets, DEFAULT_THRESHOLDS)).components.redis!.reason).toBe('Unreachable');
      second = await startRedis([], port);
      expect((await session.probe(targets, DEFAULT_THRESHOLDS)).components.redis!.reason).toBe('Healthy');
    } finally {
      await session.close();
      await first.kill();
      await second?.kill();
    }
  });
});

describe('Redis hit ratio', () => {
  it('judges the ratio since the previous round, so a miss storm shows although the lifetime ratio is fine', async () => {
    const redis = await startRedis();
    const client = new Redis({ host: '127.0.0.1', port: redis.port });
    const session = new StackProbeSession(3000);
    const targets = { redis: { host: '127.0.0.1', port: redis.port } };
    const lookups = async (key: string, n: number) => {
      const p = client.pipeline();
      for (let i = 0; i < n; i++) p.get(key);
      await p.exec();
    };
    try {
      await client.set('stock:1', '100');
      await lookups('stock:1', 20_000);
      const r1 = await session.probe(targets, DEFAULT_THRESHOLDS);
      expect(r1.components.redis).toMatchObject({ reason: 'Healthy', hitRatio: 1, keyspaceHits: 20_000 });
      await lookups('stock:missing', 1_200);
      const r2 = await session.probe(targets, DEFAULT_THRESHOLDS, r1);
      const r = r2.components.redis!;
      expect(r.hitRatio).toBeGreaterThan(0.9);
      expect(r).toMatchObject({
        windowLookups: 1_200,
        windowHitRatio: 0,
        reason: 'HitRatioLow',
        healthy: false,
      });
      expect(r.message).toContain('over 1200 lookups since the last round');
    } finally {
      client.disconnect();
      await session.close();
      await redis.kill();
    }
  });
});
