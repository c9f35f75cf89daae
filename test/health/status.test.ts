import { describe, expect, it } from 'vitest';
import { healthConditions, healthStatus } from '../../src/health/status.js';
import type { HealthReport } from '../../src/health/types.js';

const at = '2026-01-01T00:00:00.000Z';
const report = (pgHealthy: boolean): HealthReport => ({
  checkedAt: at,
  components: {
    postgres: pgHealthy
      ? {
          healthy: true,
          reason: 'Healthy',
          message: 'fine',
          checkedAt: at,
          endpoint: 'db:5432/shop',
          lockWaits: 0,
        }
      : {
          healthy: false,
          reason: 'LockWaitsHigh',
          message: '9 sessions waiting on locks (threshold 5).',
          checkedAt: at,
          endpoint: 'db:5432/shop',
          lockWaits: 9,
        },
    redis: {
      healthy: true,
      reason: 'Healthy',
      message: 'ok',
      checkedAt: at,
      endpoint: 'r:6379',
      evictedKeys: 0,
    },
  },
});

describe('healthConditions', () => {
  it('one <Component>Healthy per probed component plus Degraded, transition time only on status change', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T00:05:00Z');
    const t3 = new Date('2026-01-01T00:10:00Z');
    const c1 = healthConditions(report(true), 7, undefined, t1);
    expect(c1.map((c) => c.type)).toEqual(['PostgresHealthy', 'RedisHealthy', 'Degraded']);
    expect(c1[0]).toEqual({
      type: 'PostgresHealthy',
      status: 'True',
      reason: 'Healthy',
      message: 'fine',
      lastTransitionTime: t1.toISOString(),
      observedGeneration: 7,
    });
    expect(c1[2]).toMatchObject({ status: 'False', reason: 'AllHealthy' });

    const c2 = healthConditions(report(false), 8, c1, t2);
    expect(c2[0]).toMatchObject({
      status: 'False',
      reason: 'LockWaitsHigh',
      lastTransitionTime: t2.toISOString(),
    });
    expect(c2[1]).toMatchObject({
      status: 'True',
      lastTransitionTime: t1.toISOString(),
      observedGeneration: 8,
    });
    expect(c2[2]).toMatchObject({
      type: 'Degraded',
      status: 'True',
      reason: 'ComponentsUnhealthy',
      message: expect.stringContaining('PostgreSQL: LockWaitsHigh'),
      lastTransitionTime: t2.toISOString(),
    });

    // Same status, new numbers: message changes, transition time does not.
    const c3 = healthConditions(report(false), 8, c2, t3);
    expect(c3[0]!.lastTransitionTime).toBe(t2.toISOString());
    expect(c3[2]!.lastTransitionTime).toBe(t2.toISOString());
  });
});

describe('healthStatus', () => {
  it('is plain JSON per component with no credential-like fields', () => {
    const r = report(false);
    (r.components.redis as Record<string, unknown>).password = 'hunter2';
    const s = healthStatus(r);
    expect(Object.keys(s)).toEqual(['postgres', 'redis']);
    expect(s.postgres).toMatchObject({
      healthy: false,
      reason: 'LockWaitsHigh',
      lockWaits: 9,
      checkedAt: at,
    });
    expect(JSON.stringify(s)).not.toContain('hunter2');
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
