import { afterAll, describe, expect, it } from 'vitest';
import { StackProbeSession } from '../../src/health/session.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/types.js';
import { localTargets } from './helpers.js';

describe('probes against the local services', () => {
  const session = new StackProbeSession(5000);
  afterAll(() => session.close());

  it('reports a healthy baseline with plausible numbers', async () => {
    const report = await session.probe(localTargets(), DEFAULT_THRESHOLDS);
    const pg = report.components.postgres!;
    expect(pg.reason).toBe('Healthy');
    expect(pg.healthy).toBe(true);
    expect(pg.serverVersion).toMatch(/^\d+/);
    expect(pg.databaseSizeBytes).toBeGreaterThan(1_000_000);
    expect(pg.connectionsUsed).toBeGreaterThanOrEqual(1);
    expect(pg.maxConnections).toBeGreaterThan(pg.connectionsUsed!);
    expect(pg.lockWaits).toBe(0);
    expect(pg.latencyMs).toBeGreaterThan(0);
    const redis = report.components.redis!;
    expect(redis.reason).toBe('Healthy');
    expect(redis.usedMemoryBytes).toBeGreaterThan(100_000);
    expect(redis.evictedKeys).toBe(0);
    expect(redis.connectedClients).toBeGreaterThanOrEqual(1);
    expect(redis.rdbLastBgsaveStatus).toBe('ok');
    const mq = report.components.rabbitmq!;
    expect(mq.reason).toBe('Healthy');
    expect(mq.queues).toEqual([]);
    expect(JSON.stringify(report)).not.toContain('guest:guest');
  });
});
