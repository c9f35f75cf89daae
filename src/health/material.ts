import type { HealthReport, QueueHealth } from './types.js';
import { HEALTH_COMPONENTS } from './types.js';

/** 0 below 1, else 1 + floor(log2(v)): [0,1), [1,2), [2,4), [4,8), ... share a bucket. */
export function logBucket(v: number | undefined): number | undefined {
  if (v === undefined || !Number.isFinite(v)) return undefined;
  if (v < 1) return 0;
  return 1 + Math.floor(Math.log2(v));
}

function linear(v: number | undefined, step: number): number | undefined {
  return v === undefined ? undefined : Math.floor(v / step);
}

function queueKey(qs: QueueHealth[] | undefined): string {
  return JSON.stringify(
    (qs ?? []).map((q) => [
      q.name,
      q.exists,
      logBucket(q.depth),
      logBucket(q.consumers),
      Math.sign(q.depthDelta ?? 0),
    ]),
  );
}

/** What of a report is worth a status write: verdicts, plus measured values reduced to coarse buckets. */
export function materialView(report: HealthReport | undefined): string {
  if (!report) return '';
  const c = report.components;
  const verdicts: Record<string, unknown> = {};
  for (const name of HEALTH_COMPONENTS) {
    const r = c[name];
    verdicts[name] = r ? [r.healthy, r.reason, r.endpoint] : null;
  }
  const v: Record<string, unknown> = { verdicts };
  if (c.postgres) {
    const p = c.postgres;
    v.pg = [
      p.serverVersion,
      logBucket(p.lockWaits),
      linear(p.connectionsUsedPercent, 10),
      logBucket(p.oldestTransactionSeconds),
      logBucket(p.slowStatements),
      logBucket(p.databaseSizeBytes),
      p.archiver?.failing,
      logBucket(p.archiver?.failedCount),
    ];
  }
  if (c.pgbouncer) {
    const b = c.pgbouncer;
    v.bouncer = [logBucket(b.clientsWaiting), logBucket(b.maxWaitSeconds)];
  }
  if (c.redis) {
    const r = c.redis;
    v.redis = [
      logBucket(r.evictedKeys),
      linear(r.memoryUsedPercent, 10),
      linear(r.hitRatio, 0.05),
      r.rdbLastBgsaveStatus,
      r.aofLastWriteStatus,
      r.maxMemoryBytes,
    ];
  }
  if (c.rabbitmq) v.mq = queueKey(c.rabbitmq.queues);
  if (c.api) {
    const o = c.api.orders;
    v.api = [
      c.api.statusCode,
      logBucket(c.api.requestRate),
      c.api.inventory?.state,
      logBucket(o?.accepted),
      logBucket(o?.persisted),
      o?.rejected,
      logBucket(o?.pending),
    ];
  }
  if (c.nginx) v.nginx = c.nginx.statusCode;
  return JSON.stringify(v);
}

/**
 * Whether `next` differs from `prev` enough to patch status: a component appearing or disappearing, a
 * healthy/reason flip, or a measured value moving to another bucket (log2 buckets for counts and ages, 10%
 * steps for percentages, 0.05 steps for the hit ratio). Latency and cumulative counters never count.
 */
export function materiallyChanged(prev: HealthReport | undefined, next: HealthReport): boolean {
  return materialView(prev) !== materialView(next);
}
