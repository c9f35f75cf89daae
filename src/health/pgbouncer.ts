import type pg from 'pg';
import { pgEndpoint, withPgClient } from './postgres.js';
import type { PgBouncerHealth, PgBouncerPoolHealth, PgTarget, ProbeOptions } from './types.js';
import { elapsedMs, unreachable } from './util.js';

type Row = Record<string, string | number | null>;

const num = (v: string | number | null | undefined): number => (v == null ? 0 : Number(v));

/**
 * PgBouncer probe through its admin console (the virtual `pgbouncer` database). Only the simple query protocol
 * is used: a query without parameters (the admin console rejects the extended protocol).
 * Answers seed §9 (pgBouncer in front of the database): are clients queueing for a server connection?
 */
export async function probePgBouncer(
  pool: pg.Pool,
  target: PgTarget,
  opts: ProbeOptions,
): Promise<PgBouncerHealth> {
  const checkedAt = (opts.now?.() ?? new Date()).toISOString();
  const endpoint = pgEndpoint(target);
  const th = opts.thresholds;
  try {
    return await withPgClient(pool, opts.timeoutMs, `PgBouncer at ${endpoint}`, async (client) => {
      const t0 = process.hrtime.bigint();
      const poolsRes = await client.query<Row>('SHOW POOLS');
      const latencyMs = elapsedMs(t0);
      const statsRes = await client.query<Row>('SHOW STATS');
      const pools: PgBouncerPoolHealth[] = poolsRes.rows
        .filter((r) => r.database !== 'pgbouncer')
        .map((r) => ({
          database: String(r.database),
          user: String(r.user),
          clientsActive: num(r.cl_active),
          clientsWaiting: num(r.cl_waiting),
          serversActive: num(r.sv_active),
          serversIdle: num(r.sv_idle),
          maxWaitSeconds: num(r.maxwait) + num(r.maxwait_us) / 1e6,
        }));
      const stats = statsRes.rows.filter((r) => r.database !== 'pgbouncer');
      const result: PgBouncerHealth = {
        healthy: true,
        reason: 'Healthy',
        message: '',
        latencyMs,
        checkedAt,
        endpoint,
        clientsActive: pools.reduce((a, p) => a + p.clientsActive, 0),
        clientsWaiting: pools.reduce((a, p) => a + p.clientsWaiting, 0),
        maxWaitSeconds: Math.round(pools.reduce((a, p) => Math.max(a, p.maxWaitSeconds), 0) * 1000) / 1000,
        pools,
        totalQueryCount: stats.reduce((a, r) => a + num(r.total_query_count), 0),
        totalTransactionCount: stats.reduce((a, r) => a + num(r.total_xact_count), 0),
        avgQueryTimeUs: stats.reduce((a, r) => Math.max(a, num(r.avg_query_time)), 0),
        avgWaitTimeUs: stats.reduce((a, r) => Math.max(a, num(r.avg_wait_time)), 0),
      };
      const summary =
        `PgBouncer: ${result.clientsWaiting} clients waiting, ${result.clientsActive} active, ` +
        `max wait ${result.maxWaitSeconds}s over ${pools.length} pools, RTT ${latencyMs} ms`;
      const waiting = result.clientsWaiting ?? 0;
      const maxWait = result.maxWaitSeconds ?? 0;
      if (waiting > th.pgbouncerClientsWaitingMax || maxWait > th.pgbouncerMaxWaitSeconds) {
        return {
          ...result,
          healthy: false,
          reason: 'PoolSaturated',
          message:
            `${waiting} clients waiting (threshold ${th.pgbouncerClientsWaitingMax}), oldest waiting ` +
            `${maxWait}s (threshold ${th.pgbouncerMaxWaitSeconds}s): raise the pool size or PostgreSQL capacity. ` +
            summary,
        };
      }
      return { ...result, message: summary };
    });
  } catch (err) {
    return unreachable<PgBouncerHealth>(endpoint, checkedAt, 'PgBouncer', err, [target.password]);
  }
}
