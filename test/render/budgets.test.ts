import { describe, expect, it } from 'vitest';
import {
  POSTGRES_CONNECTION_RESERVE,
  checkBudgets,
  postgresMaxConnections,
  rabbitmqWatermarkBytes,
  redisMaxmemoryBytes,
} from '../../src/render/budgets.js';
import { stack } from './daemons/helpers.js';

describe('budgets', () => {
  it('max_connections = pgbouncer replicas × (default + reserve) + reserve', () => {
    expect(postgresMaxConnections(stack())).toBe(2 * (25 + 5) + POSTGRES_CONNECTION_RESERVE);
    expect(
      postgresMaxConnections(stack({ pgbouncer: { replicas: 3, defaultPoolSize: 50, reservePoolSize: 10 } })),
    ).toBe(180 + POSTGRES_CONNECTION_RESERVE);
  });

  it('without pgbouncer: (API max replicas + consumers) × dbPoolSize + reserve', () => {
    const s = stack({
      pgbouncer: { enabled: false },
      api: { autoscaling: { enabled: true, maxReplicas: 8 }, dbPoolSize: 5, consumer: { replicas: 3 } },
    });
    expect(postgresMaxConnections(s)).toBe((8 + 3) * 5 + POSTGRES_CONNECTION_RESERVE);
  });

  it('defaults are within budget', () => {
    expect(checkBudgets(stack())).toEqual({ errors: [], warnings: [] });
    expect(redisMaxmemoryBytes(stack())).toBe(Math.floor(2 ** 30 * 0.75));
    expect(rabbitmqWatermarkBytes(stack())).toBe(Math.floor(2 ** 30 * 0.6));
  });

  it('warns when max_connections override is below the pool budget', () => {
    const { errors, warnings } = checkBudgets(stack({ postgres: { parameters: { max_connections: '40' } } }));
    expect(errors).toEqual([]);
    expect(warnings.map((w) => w.path)).toEqual(['spec.postgres.parameters.max_connections']);
    expect(warnings[0]!.message).toMatch(/too many clients/);
    expect(checkBudgets(stack({ postgres: { parameters: { max_connections: '500' } } })).warnings).toEqual(
      [],
    );
  });

  it('warns when API clients exceed PgBouncer client capacity', () => {
    const { warnings } = checkBudgets(
      stack({ api: { replicas: 20, dbPoolSize: 50 }, pgbouncer: { maxClientConn: 100, replicas: 2 } }),
    );
    expect(warnings.map((w) => w.path)).toContain('spec.pgbouncer.maxClientConn');
  });

  it('redis: maxmemory above the limit is an error, above 75% a warning; allkeys for inventory an error', () => {
    expect(checkBudgets(stack({ redis: { maxmemory: '2gb' } })).errors.map((e) => e.path)).toEqual([
      'spec.redis.maxmemory',
    ]);
    const warn = checkBudgets(stack({ redis: { maxmemory: '900mb' } }));
    expect(warn.errors).toEqual([]);
    expect(warn.warnings.map((w) => w.path)).toEqual(['spec.redis.maxmemory']);
    expect(checkBudgets(stack({ redis: { maxmemoryPolicy: 'allkeys-lfu' } })).errors[0]!.message).toMatch(
      /oversell/,
    );
    expect(checkBudgets(stack({ redis: { maxmemoryPolicy: 'allkeys-lfu', role: 'cache' } })).errors).toEqual(
      [],
    );
  });

  it('rabbitmq: tiny memory limit warns', () => {
    const { warnings } = checkBudgets(stack({ rabbitmq: { resources: { limits: { memory: '128Mi' } } } }));
    expect(warnings.map((w) => w.path)).toEqual(['spec.rabbitmq.resources.limits.memory']);
  });
});

describe('budgets include the PostgreSQL memory budget', () => {
  it('work_mem × max_connections beyond the memory limit warns', () => {
    const { warnings } = checkBudgets(stack({ postgres: { parameters: { work_mem: '512MB' } } }));
    expect(warnings.map((w) => w.path)).toContain('spec.postgres.parameters.work_mem');
  });
});
