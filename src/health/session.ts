import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { probeApi, probeNginx } from './http.js';
import { probePgBouncer } from './pgbouncer.js';
import { createPgPool, probePostgres } from './postgres.js';
import { openAmqp, probeRabbitMQ, type AmqpHandle } from './rabbitmq.js';
import { createRedisClient, probeRedis } from './redis.js';
import type { HealthReport, HealthResults, ProbeOptions, ProbeTargets, ResolvedThresholds } from './types.js';
import { DEFAULT_THRESHOLDS } from './types.js';

export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

interface Held<T> {
  key: string;
  value: T;
}

/**
 * The connections one stack's probes reuse across rounds: a pg Pool for PostgreSQL, one for PgBouncer's admin
 * console, an ioredis client and an AMQP connection. A connection is replaced when its target (host, port,
 * credentials) changes or when it died. `close()` closes everything; a closed session can be used again
 * (it reconnects).
 */
export class StackProbeSession {
  private pgPool?: Held<pg.Pool>;
  private bouncerPool?: Held<pg.Pool>;
  private redis?: Held<Redis>;
  private amqp?: Held<Promise<AmqpHandle>>;

  constructor(private readonly timeoutMs: number = DEFAULT_PROBE_TIMEOUT_MS) {}

  /**
   * Runs every probe that has a target, in parallel, each bounded by the timeout. Never throws.
   * `previous` (the last report for this stack) lets the queue and API probes compute deltas.
   */
  async probe(
    targets: ProbeTargets,
    thresholds: ResolvedThresholds = DEFAULT_THRESHOLDS,
    previous?: HealthReport,
    now: () => Date = () => new Date(),
  ): Promise<HealthReport> {
    const opts: ProbeOptions = { timeoutMs: this.timeoutMs, thresholds, now };
    const checkedAt = now().toISOString();
    const out: Partial<HealthResults> = {};
    const jobs: Promise<void>[] = [];
    if (targets.postgres) {
      const t = targets.postgres;
      const pool = await this.pool('pgPool', t, false);
      jobs.push(probePostgres(pool, t, opts).then((r) => void (out.postgres = r)));
    }
    if (targets.pgbouncer) {
      const t = targets.pgbouncer;
      const pool = await this.pool('bouncerPool', t, true);
      jobs.push(probePgBouncer(pool, t, opts).then((r) => void (out.pgbouncer = r)));
    }
    if (targets.redis) {
      const t = targets.redis;
      const key = fingerprint(t);
      if (!this.redis || this.redis.key !== key || ['end', 'close'].includes(this.redis.value.status)) {
        this.redis?.value.disconnect();
        this.redis = { key, value: createRedisClient(t, this.timeoutMs) };
      }
      const client = this.redis.value;
      jobs.push(probeRedis(client, t, opts, previous?.components.redis).then((r) => void (out.redis = r)));
    } else if (this.redis) {
      this.redis.value.disconnect();
      this.redis = undefined;
    }
    if (targets.rabbitmq) {
      const t = targets.rabbitmq;
      const key = fingerprint(t);
      const getHandle = async (): Promise<AmqpHandle> => {
        if (this.amqp && this.amqp.key === key) {
          const h = await this.amqp.value.catch(() => undefined);
          if (h?.alive) return h;
        }
        const old = this.amqp;
        if (old)
          void old.value.then(
            (h) => h.close(),
            () => undefined,
          );
        const opening = openAmqp(t, this.timeoutMs);
        opening.catch(() => undefined);
        this.amqp = { key, value: opening };
        const h = await opening.catch((err: unknown) => {
          if (this.amqp?.value === opening) this.amqp = undefined;
          throw err;
        });
        return h;
      };
      jobs.push(
        probeRabbitMQ(getHandle, t, targets.queues ?? [], opts, previous?.components.rabbitmq).then(
          (r) => void (out.rabbitmq = r),
        ),
      );
    }
    // Components that lost their target (e.g. PgBouncer disabled): close what they held.
    if (!targets.postgres && this.pgPool) {
      void this.pgPool.value.end().catch(() => undefined);
      this.pgPool = undefined;
    }
    if (!targets.pgbouncer && this.bouncerPool) {
      void this.bouncerPool.value.end().catch(() => undefined);
      this.bouncerPool = undefined;
    }
    if (!targets.rabbitmq && this.amqp) {
      void this.amqp.value.then(
        (h) => h.close(),
        () => undefined,
      );
      this.amqp = undefined;
    }
    if (targets.apiUrl) {
      jobs.push(
        probeApi(
          targets.apiUrl,
          opts,
          previous?.components.api,
          targets.apiToken,
          targets.apiMetricsUrl,
        ).then((r) => void (out.api = r)),
      );
    }
    if (targets.nginxUrl) {
      jobs.push(probeNginx(targets.nginxUrl, opts).then((r) => void (out.nginx = r)));
    }
    await Promise.all(jobs);
    // Keep a stable component order in the report.
    const components: Partial<HealthResults> = {};
    for (const k of ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'nginx'] as const) {
      if (out[k]) (components as Record<string, unknown>)[k] = out[k];
    }
    return { checkedAt, components };
  }

  private async pool(
    which: 'pgPool' | 'bouncerPool',
    t: NonNullable<ProbeTargets['postgres']>,
    simple: boolean,
  ) {
    const key = fingerprint(t);
    const held = this[which];
    if (held && held.key === key) return held.value;
    if (held) void held.value.end().catch(() => undefined);
    const pool = createPgPool(t, this.timeoutMs, simple);
    this[which] = { key, value: pool };
    return pool;
  }

  /** Closes every connection (bounded: never waits longer than the probe timeout). */
  async close(): Promise<void> {
    const tasks: Promise<unknown>[] = [];
    const bounded = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((r) => setTimeout(r, this.timeoutMs).unref())]).catch(() => undefined);
    if (this.pgPool) tasks.push(bounded(this.pgPool.value.end()));
    if (this.bouncerPool) tasks.push(bounded(this.bouncerPool.value.end()));
    if (this.redis) this.redis.value.disconnect();
    if (this.amqp) tasks.push(bounded(this.amqp.value.then((h) => h.close())));
    this.pgPool = this.bouncerPool = this.redis = this.amqp = undefined;
    await Promise.all(tasks);
  }
}

/** Alias under the name the controller design uses. */
export { StackProbeSession as ProbeConnections };

/** One round with fresh connections, closed afterwards (what `check` does). */
export async function probeOnce(
  targets: ProbeTargets,
  opts: { timeoutMs?: number; thresholds?: ResolvedThresholds } = {},
): Promise<HealthReport> {
  const session = new StackProbeSession(opts.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
  try {
    return await session.probe(targets, opts.thresholds ?? DEFAULT_THRESHOLDS);
  } finally {
    await session.close();
  }
}
