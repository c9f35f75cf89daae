import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HealthProbeLoop } from '../../src/health/loop.js';
import { materiallyChanged, materialView } from '../../src/health/material.js';
import type { HealthReport, RedisHealth } from '../../src/health/types.js';
import { startRedis } from './daemons.js';
import { AMQP } from './helpers.js';

type Seen = { key: string; report: HealthReport; changed: boolean };

async function until<T>(fn: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('HealthProbeLoop', () => {
  it('several unchanged rounds: only the first is a material change; metrics are exported', async () => {
    // Private redis-server and a uniquely named queue: nothing else changes them while the rounds run.
    // (PostgreSQL is left out: its connection count is server-wide and other tests move it.)
    const redis = await startRedis();
    const queue = `health_loop_${randomBytes(4).toString('hex')}`;
    const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
    const ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false });
    const seen: Seen[] = [];
    const registry = new Registry();
    const loop = new HealthProbeLoop({
      onReport: (key, report, changed) => void seen.push({ key, report, changed }),
      registry,
      jitter: 0,
    });
    try {
      loop.upsert(
        'shop/sale',
        () => ({ redis: { host: '127.0.0.1', port: redis.port }, rabbitmq: { ...AMQP }, queues: [queue] }),
        100,
      );
      await until(() => (seen.length >= 4 ? true : undefined), '4 rounds');
      expect(seen[0]!.changed).toBe(true);
      expect(
        seen.slice(1, 4).map((s) => s.changed),
        seen.map((s) => materialView(s.report) + (s.report.components.rabbitmq?.message ?? '')).join('\n'),
      ).toEqual([false, false, false]);
      expect(seen.every((s) => s.key === 'shop/sale')).toBe(true);
      const text = await registry.metrics();
      expect(text).toMatch(/flashsale_probe_healthy\{stack="shop\/sale",component="redis"\} 1/);
      expect(text).toMatch(/flashsale_probe_latency_seconds\{stack="shop\/sale",component="rabbitmq"\} \d/);
      expect(text).toMatch(
        /flashsale_probe_value\{stack="shop\/sale",component="redis",measure="evicted_keys"\} 0/,
      );
      expect(text).toContain(`flashsale_probe_queue_depth{stack="shop/sale",queue="${queue}"} 0`);
      await loop.remove('shop/sale');
      expect(loop.has('shop/sale')).toBe(false);
      expect(await registry.metrics()).not.toContain('shop/sale');
      const n = seen.length;
      await new Promise((r) => setTimeout(r, 300));
      expect(seen.length).toBe(n);
    } finally {
      await loop.stop();
      await redis.kill();
      await ch.deleteQueue(queue);
      await conn.close();
    }
  });

  it('a throwing resolver and a throwing onReport never stop the loop', async () => {
    const seen: Seen[] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const loop = new HealthProbeLoop({
      onReport: (key, report, changed) => {
        seen.push({ key, report, changed });
        if (seen.length === 2) throw new Error('status patch failed');
      },
      onError: (_k, e) => void errors.push(e),
      jitter: 0,
    });
    try {
      loop.upsert(
        'shop/broken',
        () => {
          calls++;
          if (calls === 2) throw new Error('secret shop/broken-postgres-credentials not found');
          return { redis: { host: '127.0.0.1', port: 6379 } };
        },
        80,
      );
      await until(() => (seen.length >= 4 ? true : undefined), '4 rounds');
      expect(seen[0]!.report.components.redis!.reason).toBe('Healthy');
      expect(seen[1]!.report.components.redis).toMatchObject({
        healthy: false,
        reason: 'ProbeError',
        message: expect.stringContaining('credentials not found'),
      });
      expect(seen[1]!.changed).toBe(true);
      expect(seen[2]!.report.components.redis!.reason).toBe('Healthy');
      expect(seen[2]!.changed).toBe(true);
      expect(errors).toHaveLength(1);
    } finally {
      await loop.stop();
    }
  });

  it('probes at most `concurrency` stacks at once', async () => {
    let running = 0;
    let peak = 0;
    const loop = new HealthProbeLoop({ onReport: () => undefined, concurrency: 2, jitter: 0 });
    try {
      for (let i = 0; i < 5; i++) {
        loop.upsert(
          `ns/s${i}`,
          async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 60));
            running--;
            return {};
          },
          50,
        );
      }
      await new Promise((r) => setTimeout(r, 600));
      expect(peak).toBe(2);
    } finally {
      await loop.stop();
    }
  });

  it('probeNow runs a round at once; invalidate makes the next report material again', async () => {
    const redis = await startRedis();
    const seen: Seen[] = [];
    const loop = new HealthProbeLoop({
      onReport: (key, report, changed) => void seen.push({ key, report, changed }),
    });
    try {
      loop.upsert('ns/now', () => ({ redis: { host: '127.0.0.1', port: redis.port } }), '1h');
      const a = await loop.probeNow('ns/now');
      expect(a?.components.redis?.healthy).toBe(true);
      await loop.probeNow('ns/now');
      loop.invalidate('ns/now');
      await loop.probeNow('ns/now');
      expect(seen.map((s) => s.changed)).toEqual([true, false, true]);
    } finally {
      await loop.stop();
      await redis.kill();
    }
  });
});

describe('materiallyChanged', () => {
  const base = (over: Partial<RedisHealth> = {}): HealthReport => ({
    checkedAt: '2026-01-01T00:00:00Z',
    components: {
      redis: {
        healthy: true,
        reason: 'Healthy',
        message: 'm',
        checkedAt: '2026-01-01T00:00:00Z',
        endpoint: 'r:6379',
        latencyMs: 0.4,
        evictedKeys: 0,
        memoryUsedPercent: 41,
        hitRatio: 0.97,
        keyspaceHits: 1000,
        ...over,
      },
    },
  });
  it('ignores latency, counters and small moves; catches flips and bucket crossings', () => {
    expect(materiallyChanged(undefined, base())).toBe(true);
    expect(materiallyChanged(base(), base({ latencyMs: 3.9, keyspaceHits: 5000, message: 'other' }))).toBe(
      false,
    );
    expect(materiallyChanged(base(), base({ memoryUsedPercent: 48 }))).toBe(false);
    expect(materiallyChanged(base(), base({ memoryUsedPercent: 52 }))).toBe(true);
    expect(materiallyChanged(base(), base({ evictedKeys: 1 }))).toBe(true);
    expect(materiallyChanged(base(), base({ healthy: false, reason: 'RedisEvictingKeys' }))).toBe(true);
    expect(materiallyChanged(base(), { ...base(), components: {} })).toBe(true);
  });
  it('sub-second transaction ages (short transactions of other sessions) do not count', () => {
    const pgReport = (age: number): HealthReport => ({
      checkedAt: '2026-01-01T00:00:00Z',
      components: {
        postgres: {
          healthy: true,
          reason: 'Healthy',
          message: 'm',
          checkedAt: '2026-01-01T00:00:00Z',
          endpoint: 'db:5432/shop',
          oldestTransactionSeconds: age,
        },
      },
    });
    expect(materiallyChanged(pgReport(0), pgReport(0.1))).toBe(false);
    expect(materiallyChanged(pgReport(0.9), pgReport(0.2))).toBe(false);
    expect(materiallyChanged(pgReport(0.2), pgReport(45))).toBe(true);
  });
});

describe('HealthProbeLoop re-entrancy', () => {
  it('onReport may remove its own stack (awaited) without deadlock', async () => {
    const redis = await startRedis();
    let removed = false;
    const loop: HealthProbeLoop = new HealthProbeLoop({
      onReport: async (key) => {
        await loop.remove(key);
        removed = true;
      },
      jitter: 0,
    });
    try {
      loop.upsert('ns/self', () => ({ redis: { host: '127.0.0.1', port: redis.port } }), 50);
      await until(() => (removed ? true : undefined), 'self-removal');
      expect(loop.has('ns/self')).toBe(false);
    } finally {
      await loop.stop();
      await redis.kill();
    }
  });
});
