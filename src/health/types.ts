import { DEFAULT_THRESHOLDS as API_DEFAULT_THRESHOLDS } from '../api/defaults.js';
import type { ComponentHealth, HealthThresholds } from '../api/types.js';

/** The components the health probes look at (the consumer has no probe of its own: queue consumers say it). */
export type HealthComponent = 'postgres' | 'pgbouncer' | 'redis' | 'rabbitmq' | 'api' | 'nginx';

export const HEALTH_COMPONENTS: readonly HealthComponent[] = [
  'postgres',
  'pgbouncer',
  'redis',
  'rabbitmq',
  'api',
  'nginx',
];

/** Machine-readable reasons a probe result carries (condition reasons). See docs/health.md. */
export type HealthReason =
  | 'Healthy'
  | 'Unreachable'
  | 'ProbeError'
  | 'ConnectionsSaturated'
  | 'LockWaitsHigh'
  | 'LongRunningTransaction'
  | 'SlowStatements'
  | 'WalArchiveFailing'
  | 'PoolSaturated'
  | 'RedisEvictingKeys'
  | 'RedisMemoryHigh'
  | 'PersistenceFailing'
  | 'HitRatioLow'
  | 'QueueMissing'
  | 'OrderBacklogGrowing'
  | 'QueueDepthHigh'
  | 'NoConsumers'
  | 'NotReady'
  | 'InventoryRecovering'
  | 'OrdersRejected';

/** What every probe returns. Never contains a password or a URL with credentials. */
export interface ProbeResultBase extends ComponentHealth {
  healthy: boolean;
  reason: HealthReason;
  message: string;
  /** Round-trip time of the cheapest request (SELECT 1, PING, connection open, HTTP GET). */
  latencyMs?: number;
  checkedAt: string;
  /** Where the probe went, without credentials (host:port or URL without user info). */
  endpoint: string;
}

export interface PostgresHealth extends ProbeResultBase {
  serverVersion?: string;
  databaseSizeBytes?: number;
  connectionsUsed?: number;
  maxConnections?: number;
  connectionsUsedPercent?: number;
  /** Sessions in this database waiting on a heavyweight lock (`wait_event_type = 'Lock'`). */
  lockWaits?: number;
  /** Age of the oldest open transaction in this database (our own probe session excluded). */
  oldestTransactionSeconds?: number;
  /** Whether pg_stat_statements could be queried (extension created and preloaded). */
  slowStatementsAvailable?: boolean;
  /** Statements whose mean execution time is above `slowStatementMeanMs`. */
  slowStatements?: number;
  slowestStatementMeanMs?: number;
  /** WAL archiving (pg_stat_archiver), when archive_mode is on (spec.backup.pitr). */
  archiver?: ArchiverHealth;
}

export interface ArchiverHealth {
  archivedCount: number;
  failedCount: number;
  lastArchivedWal?: string;
  lastArchivedAt?: string;
  lastFailedWal?: string;
  lastFailedAt?: string;
  /** The last attempt failed (last_failed_time is after last_archived_time): WAL is piling up unarchived. */
  failing: boolean;
}

export interface PgBouncerPoolHealth {
  database: string;
  user: string;
  clientsActive: number;
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
  maxWaitSeconds: number;
}

export interface PgBouncerHealth extends ProbeResultBase {
  clientsActive?: number;
  clientsWaiting?: number;
  maxWaitSeconds?: number;
  pools?: PgBouncerPoolHealth[];
  /** From SHOW STATS, summed over databases. */
  totalQueryCount?: number;
  totalTransactionCount?: number;
  /** From SHOW STATS: the largest per-database average query time, microseconds. */
  avgQueryTimeUs?: number;
  avgWaitTimeUs?: number;
}

export interface RedisHealth extends ProbeResultBase {
  usedMemoryBytes?: number;
  /** 0 means no maxmemory limit. */
  maxMemoryBytes?: number;
  memoryUsedPercent?: number;
  maxmemoryPolicy?: string;
  keyspaceHits?: number;
  keyspaceMisses?: number;
  /** hits / (hits + misses); absent when there were no lookups yet. */
  hitRatio?: number;
  /** Lookups and hit ratio since the previous round (absent on the first round or after a counter reset). */
  windowLookups?: number;
  windowHitRatio?: number;
  evictedKeys?: number;
  rdbLastBgsaveStatus?: string;
  aofEnabled?: boolean;
  aofLastWriteStatus?: string;
  connectedClients?: number;
}

export interface QueueHealth {
  name: string;
  exists: boolean;
  depth?: number;
  consumers?: number;
  /** Depth minus depth in the previous round; absent on the first round. */
  depthDelta?: number;
}

export interface RabbitMQHealth extends ProbeResultBase {
  queues?: QueueHealth[];
}

export interface HttpHealth extends ProbeResultBase {
  statusCode?: number;
}

export interface ApiHealth extends HttpHealth {
  /** Sum of `http_requests_total` over all label sets at this round. */
  requestsTotal?: number;
  /** Requests per second between the previous round and this one. */
  requestRate?: number;
  /** Order fates over every sale (GET /api/admin/counters; needs the stack's admin token). */
  orders?: OrderCounters;
  /** The inventory fence as the API reports it: `ok` or `recovering` (with why). */
  inventory?: { state: string; reason?: string; since?: string };
}

/** Accepted (units Redis gave out) vs persisted (rows) vs rejected/cancelled, and still pending in the queue. */
export interface OrderCounters {
  accepted: number;
  persisted: number;
  rejected: number;
  cancelled: number;
  pending: number;
}

export type NginxHealth = HttpHealth;

export interface HealthResults {
  postgres: PostgresHealth;
  pgbouncer: PgBouncerHealth;
  redis: RedisHealth;
  rabbitmq: RabbitMQHealth;
  api: ApiHealth;
  nginx: NginxHealth;
}

/** One probe round over a stack: a result for every component that had a target. */
export interface HealthReport {
  checkedAt: string;
  components: Partial<HealthResults>;
}

/** Where a PostgreSQL-protocol server is (PostgreSQL itself, or PgBouncer's admin console). */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  /** For PgBouncer this is the admin console database, `pgbouncer`. */
  database: string;
}

export interface RedisTarget {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
}

export interface AmqpTarget {
  host: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
}

/**
 * Endpoints and credentials for one stack, supplied by a resolver (the controller reads the stack's Secrets and
 * Services; tests and the `check` command build it from URLs). A component without a target is not probed.
 */
export interface ProbeTargets {
  postgres?: PgTarget;
  pgbouncer?: PgTarget;
  redis?: RedisTarget;
  rabbitmq?: AmqpTarget;
  /** Queues whose depth and consumers are checked (a missing one is `QueueMissing`). */
  queues?: string[];
  /** Base URL of the API (`/readyz`, `/api/admin/counters` are appended; `/metrics` too without apiMetricsUrl). */
  apiUrl?: string;
  /** Base URL of the API's metrics port (METRICS_PORT), where `/metrics` is read; apiUrl when unset. */
  apiMetricsUrl?: string;
  /** The API's admin token, for its order counters; without it they are not read. */
  apiToken?: string;
  /** Base URL of Nginx (`/health` is appended). */
  nginxUrl?: string;
}

export type ProbeTargetsResolver = () => ProbeTargets | Promise<ProbeTargets>;

export type ResolvedThresholds = Required<HealthThresholds>;

/**
 * Defaults for `spec.monitoring.thresholds` (docs/health.md explains each). The single source is
 * `DEFAULT_THRESHOLDS` in src/api/defaults.ts, which `applyDefaults` also uses; this is a frozen copy.
 */
export const DEFAULT_THRESHOLDS: ResolvedThresholds = Object.freeze({ ...API_DEFAULT_THRESHOLDS });

/** The hit ratio is judged only after this many lookups (a cold cache is not unhealthy). */
export const HIT_RATIO_MIN_LOOKUPS = 1000;

export function resolveThresholds(t: HealthThresholds | undefined): ResolvedThresholds {
  const out: ResolvedThresholds = { ...DEFAULT_THRESHOLDS };
  if (t) {
    for (const key of Object.keys(DEFAULT_THRESHOLDS) as (keyof ResolvedThresholds)[]) {
      const v = t[key];
      if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    }
  }
  return out;
}

/** Options every probe takes. */
export interface ProbeOptions {
  timeoutMs: number;
  thresholds: ResolvedThresholds;
  now?: () => Date;
}
