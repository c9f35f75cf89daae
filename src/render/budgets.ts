/**
 * Cross-component budgets: the numbers one component's config must agree on with another's.
 *
 * - PostgreSQL `max_connections` must hold every server connection PgBouncer may open, plus a reserve.
 * - The API's and consumer's client connections must fit PgBouncer's `max_client_conn`.
 * - Redis `maxmemory` must stay under the container's memory limit with headroom for the AOF-rewrite fork,
 *   client buffers and allocator fragmentation (~75%).
 * - RabbitMQ's memory high watermark is derived from its memory limit.
 *
 * A user override that breaks a budget is rendered but reported as a warning (the controller turns it into a
 * condition); one that cannot work at all (Redis would be OOM-killed, inventory keys could be evicted) is an
 * error and nothing is rendered. Pure: no IO.
 */
import type { Problem } from '../api/problems.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { tunePostgres, validatePostgresParameters, type TunePostgresInput } from '../tuning/index.js';
import { parseQuantity } from '../api/quantity.js';
import { cpuLimitCores, maxmemoryBytes, memoryLimitBytes } from './resources.js';

/** Refused render: the stack's settings cannot work. Carries every problem found. */
export class BudgetError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.name = 'BudgetError';
  }
}

/**
 * Connections PostgreSQL keeps beyond the application pools:
 * superuser_reserved_connections (3, PostgreSQL's default), postgres-exporter (2), backup pg_dump and its
 * verification (2), the operator's health probes (2), and 3 for humans / maintenance jobs (psql, VACUUM).
 */
export const POSTGRES_RESERVED_CONNECTIONS = {
  superuser: 3,
  exporter: 2,
  backup: 2,
  healthProbes: 2,
  maintenance: 3,
} as const;

export const POSTGRES_CONNECTION_RESERVE = Object.values(POSTGRES_RESERVED_CONNECTIONS).reduce(
  (a, b) => a + b,
  0,
);

/** Fraction of Redis' memory limit `maxmemory` defaults to (and should not exceed). */
export const REDIS_MAXMEMORY_FRACTION = 0.75;
/** Fraction of RabbitMQ's memory limit used as the absolute memory high watermark. */
export const RABBITMQ_WATERMARK_FRACTION = 0.6;

/** Most API pods that can run at once (HPA max when autoscaling). */
export function apiMaxReplicas(stack: ResolvedFlashSaleStack): number {
  const api = stack.spec.api;
  return api.autoscaling.enabled ? Math.max(api.autoscaling.maxReplicas, api.replicas) : api.replicas;
}

/** Database client connections the API servers and order consumers may open at most. */
export function appDatabaseClients(stack: ResolvedFlashSaleStack): number {
  const api = stack.spec.api;
  return (apiMaxReplicas(stack) + api.consumer.replicas) * api.dbPoolSize;
}

/**
 * Server connections the application side may open to PostgreSQL.
 * With PgBouncer: every PgBouncer replica may open default_pool_size + reserve_pool_size server connections
 * for the application (one database/user pair), so replicas × (default + reserve).
 * Without PgBouncer: every API and consumer pod opens its own pool of dbPoolSize connections.
 */
export function applicationServerConnections(stack: ResolvedFlashSaleStack): number {
  const pgb = stack.spec.pgbouncer;
  if (pgb.enabled) return pgb.replicas * (pgb.defaultPoolSize + pgb.reservePoolSize);
  return appDatabaseClients(stack);
}

/**
 * `max_connections` the operator sets: application server connections (above) + POSTGRES_CONNECTION_RESERVE
 * (superuser slots, exporter, backup, health probes, maintenance). Keeping it this tight (instead of the seed's
 * 1000) lets work_mem be sized from real memory.
 */
export function postgresMaxConnections(stack: ResolvedFlashSaleStack): number {
  return applicationServerConnections(stack) + POSTGRES_CONNECTION_RESERVE;
}

/**
 * What tunePostgres gets for this stack (render and budgets use the same). `volumeSize` is the size the data
 * volume actually has, when known (see RenderInputs.postgresVolumeSize); the spec's size otherwise.
 */
export function postgresTuneInput(stack: ResolvedFlashSaleStack, volumeSize?: string): TunePostgresInput {
  const pg = stack.spec.postgres;
  return {
    version: pg.version,
    memoryLimitBytes: memoryLimitBytes(pg.resources, 'spec.postgres'),
    cpuLimit: cpuLimitCores(pg.resources, 'spec.postgres'),
    maxConnections: postgresMaxConnections(stack),
    monitoring: stack.spec.monitoring.enabled,
    storageBytes: parseQuantity(volumeSize ?? pg.storage.size),
    userParameters: pg.parameters,
  };
}

/** Redis `maxmemory` in bytes: the user's value, or 75% of the memory limit. */
export function redisMaxmemoryBytes(stack: ResolvedFlashSaleStack): number {
  const redis = stack.spec.redis;
  if (redis.maxmemory !== undefined) return maxmemoryBytes(redis.maxmemory);
  return Math.floor(memoryLimitBytes(redis.resources, 'spec.redis') * REDIS_MAXMEMORY_FRACTION);
}

/** RabbitMQ `vm_memory_high_watermark.absolute` in bytes: 60% of the memory limit. */
export function rabbitmqWatermarkBytes(stack: ResolvedFlashSaleStack): number {
  return Math.floor(
    memoryLimitBytes(stack.spec.rabbitmq.resources, 'spec.rabbitmq') * RABBITMQ_WATERMARK_FRACTION,
  );
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}

/** Problems that make Redis' config unworkable (render refuses them). */
export function redisErrors(stack: ResolvedFlashSaleStack): Problem[] {
  const redis = stack.spec.redis;
  const errors: Problem[] = [];
  if (redis.role === 'inventory' && redis.maxmemoryPolicy.startsWith('allkeys-')) {
    errors.push({
      path: 'spec.redis.maxmemoryPolicy',
      message:
        `'${redis.maxmemoryPolicy}' lets Redis evict stock counters and purchase markers (oversell, double purchase); ` +
        `use 'noeviction' or a 'volatile-*' policy, or set spec.redis.role: cache for a cache-only Redis`,
    });
  }
  if (redis.maxmemory !== undefined) {
    const limit = memoryLimitBytes(redis.resources, 'spec.redis');
    const max = maxmemoryBytes(redis.maxmemory);
    if (max > limit) {
      errors.push({
        path: 'spec.redis.maxmemory',
        message:
          `${redis.maxmemory} exceeds the container memory limit ${redis.resources.limits.memory}: Redis would be ` +
          `OOM-killed before it ever applies its policy; lower maxmemory to at most ${mib(limit * REDIS_MAXMEMORY_FRACTION)} ` +
          `or raise spec.redis.resources.limits.memory`,
      });
    } else if (max === 0) {
      errors.push({
        path: 'spec.redis.maxmemory',
        message:
          '0 means "no limit" to Redis; remove the field to derive it from the memory limit, or set a size',
      });
    }
  }
  return errors;
}

export function checkBudgets(stack: ResolvedFlashSaleStack): { errors: Problem[]; warnings: Problem[] } {
  const errors: Problem[] = [...redisErrors(stack)];
  const warnings: Problem[] = [];
  const spec = stack.spec;
  const pgb = spec.pgbouncer;

  // PostgreSQL max_connections vs what the application side opens.
  const userMax = spec.postgres.parameters['max_connections'];
  const needed = applicationServerConnections(stack);
  if (userMax !== undefined && /^\s*\d+\s*$/.test(userMax)) {
    const value = Number(userMax);
    const recommended = postgresMaxConnections(stack);
    const who = pgb.enabled
      ? `spec.pgbouncer.replicas × (defaultPoolSize + reservePoolSize) = ${pgb.replicas} × (${pgb.defaultPoolSize} + ${pgb.reservePoolSize}) = ${needed}`
      : `(API replicas + consumer replicas) × spec.api.dbPoolSize = ${needed}`;
    if (value < needed + POSTGRES_RESERVED_CONNECTIONS.superuser) {
      warnings.push({
        path: 'spec.postgres.parameters.max_connections',
        message: `${value} is below the pool budget ${who} (+${POSTGRES_RESERVED_CONNECTIONS.superuser} superuser slots): clients will get "too many clients"; remove the override (the operator sets ${recommended}) or shrink the pools`,
      });
    } else if (value < recommended) {
      warnings.push({
        path: 'spec.postgres.parameters.max_connections',
        message: `${value} leaves less than the ${POSTGRES_CONNECTION_RESERVE} connections reserved for exporter, backups, health probes and maintenance on top of ${who}; the operator would set ${recommended}`,
      });
    }
  }

  // PostgreSQL memory budget of user overrides (work_mem × max_connections + shared_buffers vs the limit).
  // Invalid parameters are validateStack's to report; only valid ones can be tuned.
  if (validatePostgresParameters(spec.postgres.version, spec.postgres.parameters).length === 0) {
    warnings.push(...tunePostgres(postgresTuneInput(stack)).warnings);
  }

  // Application clients vs PgBouncer's client capacity.
  const clients = appDatabaseClients(stack);
  if (pgb.enabled) {
    const capacity = pgb.maxClientConn * pgb.replicas;
    if (clients > capacity) {
      warnings.push({
        path: 'spec.pgbouncer.maxClientConn',
        message: `API and consumer pods may open ${clients} connections ((${apiMaxReplicas(stack)} API + ${spec.api.consumer.replicas} consumer pods) × dbPoolSize ${spec.api.dbPoolSize}) but PgBouncer accepts ${capacity} (${pgb.replicas} replicas × maxClientConn ${pgb.maxClientConn}); raise maxClientConn or replicas, or lower spec.api.dbPoolSize`,
      });
    }
    if (pgb.poolMode === 'session' && clients > needed) {
      warnings.push({
        path: 'spec.pgbouncer.poolMode',
        message: `session pooling gives each of up to ${clients} clients its own server connection but only ${needed} exist; clients will queue. Use transaction pooling or larger pools`,
      });
    }
  }

  // Redis maxmemory headroom.
  const redis = spec.redis;
  if (redis.maxmemory !== undefined && !errors.some((e) => e.path === 'spec.redis.maxmemory')) {
    const limit = memoryLimitBytes(redis.resources, 'spec.redis');
    const max = maxmemoryBytes(redis.maxmemory);
    if (max > limit * REDIS_MAXMEMORY_FRACTION) {
      warnings.push({
        path: 'spec.redis.maxmemory',
        message: `${redis.maxmemory} is more than ${REDIS_MAXMEMORY_FRACTION * 100}% of the memory limit ${redis.resources.limits.memory}; the AOF-rewrite fork, client buffers and fragmentation need the rest. Use at most ${mib(limit * REDIS_MAXMEMORY_FRACTION)} or raise the limit`,
      });
    }
  }

  // RabbitMQ watermark: under ~128Mi the broker blocks publishers almost immediately.
  const watermark = rabbitmqWatermarkBytes(stack);
  if (watermark < 128 * 2 ** 20) {
    warnings.push({
      path: 'spec.rabbitmq.resources.limits.memory',
      message: `the memory high watermark would be ${mib(watermark)} (${RABBITMQ_WATERMARK_FRACTION * 100}% of the limit); RabbitMQ will block publishers under load. Give it at least 256Mi`,
    });
  }

  return { errors, warnings };
}
