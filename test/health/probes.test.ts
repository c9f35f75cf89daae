import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackProbeSession } from '../../src/health/session.js';
import { healthConditions } from '../../src/health/status.js';
import { DEFAULT_THRESHOLDS, resolveThresholds } from '../../src/health/types.js';
import { freePort, startBlackhole, startPgBouncer, type Daemon } from './daemons.js';
import { AMQP, PG, REDIS, localTargets } from './helpers.js';

describe('probes against the local services', () => {
  const session = new StackProbeSession(5000);
  afterAll(() => session.close());

  it('reports a healthy baseline with plausible numbers', async () => {
    const report = await session.probe(localTargets(), DEFAULT_THRESHOLDS);
    const pgr = report.components.postgres!;
    expect(pgr.reason).toBe('Healthy');
    expect(pgr.healthy).toBe(true);
    expect(pgr.serverVersion).toMatch(/^\d+/);
    expect(pgr.databaseSizeBytes).toBeGreaterThan(1_000_000);
    expect(pgr.connectionsUsed).toBeGreaterThanOrEqual(1);
    expect(pgr.maxConnections).toBeGreaterThan(pgr.connectionsUsed!);
    expect(pgr.lockWaits).toBe(0);
    expect(pgr.latencyMs).toBeGreaterThan(0);
    expect(pgr.message).toMatch(/connections/);
    const redis = report.components.redis!;
    expect(redis.reason).toBe('Healthy');
    expect(redis.usedMemoryBytes).toBeGreaterThan(100_000);
    expect(redis.evictedKeys).toBe(0);
    expect(redis.connectedClients).toBeGreaterThanOrEqual(1);
    expect(redis.rdbLastBgsaveStatus).toBe('ok');
    const mq = report.components.rabbitmq!;
    expect(mq.reason).toBe('Healthy');
    expect(mq.queues).toEqual([]);
    expect(JSON.stringify(report)).not.toContain('guest');
  });

  it('reuses its connections across rounds', async () => {
    const a = await session.probe(localTargets(), DEFAULT_THRESHOLDS);
    const b = await session.probe(localTargets(), DEFAULT_THRESHOLDS);
    expect(a.components.postgres!.healthy && b.components.postgres!.healthy).toBe(true);
    const c = new pg.Client({ ...PG });
    await c.connect();
    try {
      const n = await c.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'flash-sale-operator-probe' AND datname = 'postgres'",
      );
      // One session object keeps a pool of at most two connections, however many rounds ran.
      expect(Number(n.rows[0]!.n)).toBeLessThanOrEqual(2 + 2 /* other sessions in this file */);
    } finally {
      await c.end();
    }
  });
});

describe('lock waits', () => {
  const db = `health_locks_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ ...PG });
  const session = new StackProbeSession(5000);
  const thresholds = resolveThresholds({ lockWaitsMax: 0 });

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db}`);
    const c = new pg.Client({ ...PG, database: db });
    await c.connect();
    await c.query('CREATE TABLE stock (id int PRIMARY KEY, qty int); INSERT INTO stock VALUES (1, 100)');
    await c.end();
  });
  afterAll(async () => {
    await session.close();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  });

  it('counts a session blocked on a row lock, flips the condition, and recovers after release', async () => {
    const targets = { postgres: { ...PG, database: db } };
    const holder = new pg.Client({ ...PG, database: db });
    const waiter = new pg.Client({ ...PG, database: db });
    await holder.connect();
    await waiter.connect();
    try {
      const before = await session.probe(targets, thresholds);
      expect(before.components.postgres!.reason).toBe('Healthy');
      const t0 = new Date('2026-01-01T00:00:00Z');
      const c0 = healthConditions(before, 3, [], t0);

      await holder.query('BEGIN');
      await holder.query('UPDATE stock SET qty = qty - 1 WHERE id = 1');
      const blocked = waiter.query('UPDATE stock SET qty = qty - 1 WHERE id = 1');
      let during = await session.probe(targets, thresholds);
      for (let i = 0; i < 50 && (during.components.postgres!.lockWaits ?? 0) < 1; i++) {
        await new Promise((r) => setTimeout(r, 100));
        during = await session.probe(targets, thresholds);
      }
      const p = during.components.postgres!;
      expect(p.lockWaits).toBeGreaterThanOrEqual(1);
      expect(p.healthy).toBe(false);
      expect(p.reason).toBe('LockWaitsHigh');
      expect(p.message).toMatch(/1 sessions waiting on locks \(threshold 0\)/);
      const t1 = new Date('2026-01-01T00:01:00Z');
      const c1 = healthConditions(during, 3, c0, t1);
      const pgCond = c1.find((c) => c.type === 'PostgresHealthy')!;
      expect(pgCond).toMatchObject({
        status: 'False',
        reason: 'LockWaitsHigh',
        lastTransitionTime: t1.toISOString(),
      });
      expect(c1.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True' });

      await holder.query('ROLLBACK');
      await blocked;
      const after = await session.probe(targets, thresholds);
      expect(after.components.postgres!.lockWaits).toBe(0);
      expect(after.components.postgres!.reason).toBe('Healthy');
      const c2 = healthConditions(after, 3, c1, new Date('2026-01-01T00:02:00Z'));
      expect(c2.find((c) => c.type === 'PostgresHealthy')).toMatchObject({
        status: 'True',
        reason: 'Healthy',
      });
    } finally {
      await holder.end();
      await waiter.end();
    }
  });

  it('reports a long-running transaction with its age', async () => {
    const holder = new pg.Client({ ...PG, database: db });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1');
      await new Promise((r) => setTimeout(r, 1100));
      const r = await session.probe(
        { postgres: { ...PG, database: db } },
        resolveThresholds({ oldestTransactionSecondsMax: 0.5 }),
      );
      expect(r.components.postgres!.reason).toBe('LongRunningTransaction');
      expect(r.components.postgres!.oldestTransactionSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });
});

describe('unreachable endpoints', () => {
  it('a closed port is Unreachable for every component, without secrets in the message', async () => {
    const port = await freePort();
    const session = new StackProbeSession(2000);
    try {
      const r = await session.probe(
        {
          postgres: { ...PG, port, password: 'sekr1t-pg' },
          pgbouncer: { ...PG, port, database: 'pgbouncer' },
          redis: { ...REDIS, port, password: 'sekr1t-redis' },
          rabbitmq: { ...AMQP, port, password: 'sekr1t-amqp' },
          apiUrl: `http://127.0.0.1:${port}`,
          nginxUrl: `http://127.0.0.1:${port}`,
        },
        DEFAULT_THRESHOLDS,
      );
      for (const name of ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'nginx'] as const) {
        const c = r.components[name]!;
        expect(c.healthy, name).toBe(false);
        expect(c.reason, name).toBe('Unreachable');
        expect(c.message, name).toMatch(new RegExp(`${port}`));
      }
      expect(JSON.stringify(r)).not.toMatch(/sekr1t/);
    } finally {
      await session.close();
    }
  });

  it('a socket that accepts and never answers times out for every protocol', async () => {
    const hole = await startBlackhole();
    const session = new StackProbeSession(700);
    try {
      const port = hole.port;
      const r = await session.probe(
        {
          postgres: { ...PG, port },
          pgbouncer: { ...PG, port, database: 'pgbouncer' },
          redis: { ...REDIS, port },
          rabbitmq: { ...AMQP, port },
          apiUrl: `http://127.0.0.1:${port}`,
          nginxUrl: `http://127.0.0.1:${port}`,
        },
        DEFAULT_THRESHOLDS,
      );
      for (const name of ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'nginx'] as const) {
        const c = r.components[name]!;
        expect(c.reason, name).toBe('Unreachable');
        expect(c.message, `${name}: ${c.message}`).toMatch(/time|700 ms/i);
      }
    } finally {
      await session.close();
      await hole.close();
    }
  });
});

describe('PgBouncer', () => {
  let bouncer: Daemon;
  beforeAll(async () => {
    bouncer = await startPgBouncer();
  });
  afterAll(async () => {
    await bouncer?.kill();
  });

  it('reads SHOW POOLS / SHOW STATS through the admin console, then reports Unreachable once killed', async () => {
    const session = new StackProbeSession(1500);
    const targets = { pgbouncer: { ...PG, port: bouncer.port, database: 'pgbouncer' } };
    try {
      // Some traffic through the bouncer so a pool exists.
      const c = new pg.Client({ ...PG, port: bouncer.port });
      await c.connect();
      await c.query('SELECT 1');
      const r1 = await session.probe(targets, DEFAULT_THRESHOLDS);
      await c.end();
      const b = r1.components.pgbouncer!;
      expect(b.reason, b.message).toBe('Healthy');
      expect(b.clientsWaiting).toBe(0);
      expect(b.pools!.some((p) => p.database === 'postgres')).toBe(true);
      expect(b.totalQueryCount).toBeGreaterThanOrEqual(0);
      // Saturation is judged on the thresholds.
      const strict = await session.probe(targets, resolveThresholds({ pgbouncerClientsWaitingMax: -1 }));
      expect(strict.components.pgbouncer!.reason).toBe('PoolSaturated');

      await bouncer.kill();
      const r2 = await session.probe(targets, DEFAULT_THRESHOLDS);
      expect(r2.components.pgbouncer!.reason).toBe('Unreachable');
    } finally {
      await session.close();
    }
  });
});
