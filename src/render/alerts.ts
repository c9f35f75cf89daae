/**
 * Prometheus alert rules for a flash-sale stack, usable with or without a stack: render wraps them in a
 * PrometheusRule, packaging writes the same groups as a plain rule file under manifests/monitoring/.
 *
 * Metric names are the ones the real exporters and our own processes emit:
 * - flash-sale API (src/service/metrics.ts): http_requests_total{method,route,status},
 *   order_create_duration_ms_bucket{result,le}, stock_decrement_total{sale_id}, redis_hits_total,
 *   redis_requests_total, inventory_fenced; its consumer: orders_rejected_total{reason};
 * - RabbitMQ's built-in Prometheus plugin, per-object metrics (scraped from /metrics/per-object):
 *   rabbitmq_queue_messages_ready{vhost,queue};
 * - redis_exporter: redis_evicted_keys_total, redis_keyspace_hits_total, redis_keyspace_misses_total;
 * - postgres_exporter: pg_locks_count{datname,mode} (mode lower-case), pg_stat_activity_max_tx_duration,
 *   pg_stat_archiver_failed_count (collector stat_archiver, on by default);
 * - pgbouncer_exporter: pgbouncer_pools_client_waiting_connections, pgbouncer_pools_client_maxwait_seconds;
 * - the operator: flashsale_backup_last_success_timestamp_seconds{stack_namespace,stack} and
 *   flashsale_backup_last_failure_timestamp_seconds{stack_namespace,stack}, the same two of PITR base
 *   backups, flashsale_basebackup_last_{success,failure}_timestamp_seconds, and
 *   flashsale_sale_reconcile_mismatch{stack_namespace,stack,sale} (src/sales/metrics.ts) — exported from the
 *   operator's pod, hence `stack_namespace` rather than `namespace`, which the scrape sets to the operator's
 *   namespace.
 * Pure.
 */
import {
  DEFAULT_BACKUP_SCHEDULE,
  DEFAULT_BASE_BACKUP_SCHEDULE,
  DEFAULT_THRESHOLDS,
} from '../api/defaults.js';
import { CronError, maxIntervalSeconds } from '../backup/cron.js';
import type { HealthThresholds } from '../api/types.js';

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

export interface AlertRuleOptions {
  /** Restrict to one namespace (a stack's); all namespaces when absent. */
  namespace?: string;
  /** Stack name, for the operator's per-stack backup metrics. */
  stack?: string;
  thresholds?: Required<HealthThresholds>;
  /** Order-create p95 above which the sale is too slow, in milliseconds. */
  orderP95Ms?: number;
  /** Backup schedule (cron); the backup-age alert fires when the last success is older than 2 × its period. */
  backupSchedule?: string;
  /** Whether backups are enabled (no backup alerts otherwise). */
  backup?: boolean;
  /** Whether PITR base backups run (spec.backup.pitr.enabled); their alerts are quiet without them anyway. */
  pitr?: boolean;
  /** spec.backup.pitr.baseBackupSchedule; the base-backup-age alert fires past 2 × its period. */
  baseBackupSchedule?: string;
}

export const DEFAULT_ORDER_P95_MS = 250;
export const ORDER_ROUTE = '/api/sales/{id}/orders';

/** `{a="b",c="d"}` or '' — PromQL label matchers; values are escaped. */
export function matchers(...pairs: (string | undefined)[]): string {
  const present = pairs.filter((p): p is string => p !== undefined && p !== '');
  return present.length > 0 ? `{${present.join(',')}}` : '';
}

export function eq(label: string, value: string): string {
  return `${label}=${JSON.stringify(value)}`;
}

/** Human duration for annotations, e.g. 172800 → "48h". */
export function promDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400 * 7) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** Longest interval between consecutive runs in seconds, or undefined when the schedule does not parse. */
export function cronMaxIntervalSeconds(schedule: string): number | undefined {
  try {
    return maxIntervalSeconds(schedule);
  } catch (err) {
    if (err instanceof CronError) return undefined;
    throw err;
  }
}

/** Seconds after which the last successful backup counts as too old: 2 × the schedule's longest gap. */
export function backupMaxAgeSeconds(schedule: string): number {
  return 2 * (cronMaxIntervalSeconds(schedule) ?? 86_400);
}

export function alertRules(options: AlertRuleOptions = {}): { groups: RuleGroup[] } {
  const th = options.thresholds ?? DEFAULT_THRESHOLDS;
  const ns = options.namespace !== undefined ? eq('namespace', options.namespace) : undefined;
  const p95 = options.orderP95Ms ?? DEFAULT_ORDER_P95_MS;
  const by = 'namespace';
  const soldOut = matchers(ns, eq('method', 'POST'), eq('route', ORDER_ROUTE), eq('status', '410'));
  // Orders the service failed to take: its own 5xx answers. Client-side outcomes (4xx, and status="aborted"
  // when the client left mid-request) are not a stall, and anyone on the internet can produce them at will.
  const ordersFailed = matchers(ns, eq('method', 'POST'), eq('route', ORDER_ROUTE), 'status=~"5.."');
  const where = '{{ $labels.namespace }}';
  const rules: AlertRule[] = [
    {
      alert: 'FlashSaleQueueBacklogGrowing',
      expr:
        `sum by (${by}, queue) (rabbitmq_queue_messages_ready${matchers(ns)}) > ${th.queueDepthMax}` +
        ` and sum by (${by}, queue) (delta(rabbitmq_queue_messages_ready${matchers(ns)}[10m])) > 0`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `Queue {{ $labels.queue }} in ${where} has {{ $value }}+ ready messages and keeps growing`,
        description:
          'Orders are accepted faster than the consumers persist them. Scale spec.api.consumer.replicas, check consumer errors and PostgreSQL/PgBouncer waits.',
      },
    },
    {
      alert: 'FlashSaleOrderLatencyHigh',
      expr: `histogram_quantile(0.95, sum by (${by}, le) (rate(order_create_duration_ms_bucket${matchers(ns)}[5m]))) > ${p95}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `Order-create p95 in ${where} is {{ $value | humanize }}ms (> ${p95}ms)`,
        description:
          'The hot path (Redis script + publish) is slow: check Redis latency, RabbitMQ confirms, API CPU.',
      },
    },
    {
      alert: 'FlashSaleStockDecrementsStalled',
      expr:
        `sum by (${by}) (rate(http_requests_total${ordersFailed}[5m])) > 0` +
        ` unless sum by (${by}) (rate(stock_decrement_total${matchers(ns)}[5m])) > 0` +
        ` unless sum by (${by}) (rate(http_requests_total${soldOut}[5m])) > 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `Orders in ${where} fail with 5xx and no stock is being taken`,
        description:
          'Order requests are answered 5xx, the sale is not sold out (no 410), and stock_decrement_total does not move: Redis, the Lua script or the broker is failing (see order_publish_failures_total and the 503s). Client errors (4xx) and aborted requests (status="aborted") do not count.',
      },
    },
    {
      alert: 'FlashSaleCacheHitRatioLow',
      expr:
        `sum by (${by}) (rate(redis_hits_total${matchers(ns)}[5m])) / sum by (${by}) (rate(redis_requests_total${matchers(ns)}[5m])) < ${th.redisHitRatioMin}` +
        ` and sum by (${by}) (rate(redis_requests_total${matchers(ns)}[5m])) > 1`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `Cache hit ratio in ${where} is {{ $value | humanizePercentage }} (< ${th.redisHitRatioMin * 100}%)`,
        description:
          'Reads fall through to PostgreSQL: warm the sale cache before the sale, check TTLs and Redis memory.',
      },
    },
    {
      alert: 'FlashSaleRedisEvictingKeys',
      expr: `sum by (${by}) (increase(redis_evicted_keys_total${matchers(ns)}[5m])) > 0`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `Redis in ${where} evicted {{ $value }} keys in 5 minutes`,
        description:
          'An evicted stock counter or purchase marker means oversell or double purchase. Raise spec.redis.resources.limits.memory; inventory Redis must use noeviction.',
      },
    },
    {
      alert: 'FlashSalePostgresLockContention',
      expr: `sum by (${by}, datname) (pg_locks_count${matchers(ns, 'mode=~"accessexclusivelock|exclusivelock|sharerowexclusivelock|sharelock"')}) > ${th.lockWaitsMax}`,
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `{{ $value }} conflicting locks held in database {{ $labels.datname }} (${where})`,
        description:
          "Writers queue behind heavy locks (seed §8.4: SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'). Look for DDL or long transactions.",
      },
    },
    {
      alert: 'FlashSalePostgresLongTransaction',
      expr: `max by (${by}, datname) (pg_stat_activity_max_tx_duration${matchers(ns)}) > ${th.oldestTransactionSecondsMax}`,
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `A transaction in {{ $labels.datname }} (${where}) has run for {{ $value | humanizeDuration }}`,
        description: 'Long transactions hold locks and block vacuum; find it in pg_stat_activity.',
      },
    },
    {
      alert: 'FlashSalePgBouncerClientsWaiting',
      expr: `sum by (${by}) (pgbouncer_pools_client_waiting_connections${matchers(ns)}) > ${th.pgbouncerClientsWaitingMax}`,
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `{{ $value }} clients wait for a PgBouncer server connection in ${where}`,
        description:
          'The pool is exhausted: raise spec.pgbouncer.defaultPoolSize (within max_connections) or find slow queries.',
      },
    },
    {
      alert: 'FlashSalePgBouncerMaxWaitHigh',
      expr: `max by (${by}) (pgbouncer_pools_client_maxwait_seconds${matchers(ns)}) > ${th.pgbouncerMaxWaitSeconds}`,
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `The oldest PgBouncer client in ${where} has waited {{ $value }}s`,
        description:
          'Clients wait for a server connection longer than spec.monitoring.thresholds.pgbouncerMaxWaitSeconds.',
      },
    },
    {
      alert: 'FlashSaleOrdersRejected',
      expr: `sum by (${by}, reason) (increase(orders_rejected_total${matchers(ns)}[10m])) > 0`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `{{ $value }} accepted orders were rejected by the database in ${where} (reason {{ $labels.reason }})`,
        description:
          'Buyers got a 202 for orders PostgreSQL refused: Redis accepted more than the database holds. The fence went up and the stock was recomputed; find out how Redis lost inventory (docs/operations.md, "Inventory fence"). GET /api/orders/{id} shows each one as rejected.',
      },
    },
    {
      alert: 'FlashSaleInventoryFenceStuck',
      expr: `max by (${by}) (inventory_fenced${matchers(ns)}) == 1`,
      for: '2m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `Orders in ${where} have answered 503 inventory_recovering for over 2 minutes`,
        description:
          'The inventory fence is up and its recovery has not finished: it waits for every queued order to reach PostgreSQL. Check the consumers, PostgreSQL and the API logs (GET /readyz names the reason).',
      },
    },
    {
      // Quiet without WAL archiving (spec.backup.pitr): the failure counter then never moves.
      alert: 'FlashSalePostgresWalArchiveFailing',
      expr: `sum by (${by}) (increase(pg_stat_archiver_failed_count${matchers(ns)}[5m])) > 0`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `PostgreSQL in ${where} failed to archive WAL {{ $value }} times in 5 minutes`,
        description:
          'Point-in-time recovery stops at the first segment that is not archived, and pg_wal grows until the disk is full. status.health.postgres.archiver names the segment; the server log says why (a full volume, or a segment already archived with other content).',
      },
    },
  ];
  if (options.backup ?? true) {
    const schedule = options.backupSchedule ?? DEFAULT_BACKUP_SCHEDULE;
    const maxAge = backupMaxAgeSeconds(schedule);
    const sel = matchers(
      options.namespace !== undefined ? eq('stack_namespace', options.namespace) : undefined,
      options.stack !== undefined ? eq('stack', options.stack) : undefined,
    );
    const key = 'stack_namespace, stack';
    const ok = `max by (${key}) (flashsale_backup_last_success_timestamp_seconds${sel})`;
    const failed = `max by (${key}) (flashsale_backup_last_failure_timestamp_seconds${sel})`;
    rules.push(
      {
        alert: 'FlashSaleBackupFailed',
        expr: `${failed} > ${ok} or (${failed} unless ${ok})`,
        labels: { severity: 'critical' },
        annotations: {
          summary: 'The last backup of {{ $labels.stack_namespace }}/{{ $labels.stack }} failed',
          description: 'See the backup Job logs and the BackupHealthy condition (kubectl describe fss).',
        },
      },
      {
        alert: 'FlashSaleBackupTooOld',
        expr: `time() - ${ok} > ${maxAge}`,
        labels: { severity: 'critical' },
        annotations: {
          summary: `No successful backup of {{ $labels.stack_namespace }}/{{ $labels.stack }} for over ${promDuration(maxAge)}`,
          description: `Backups run on "${schedule}"; the last success is older than twice that period.`,
        },
      },
    );
  }
  if (options.pitr ?? true) rules.push(...baseBackupRules(options));
  const saleSel = matchers(
    options.namespace !== undefined ? eq('stack_namespace', options.namespace) : undefined,
    options.stack !== undefined ? eq('stack', options.stack) : undefined,
  );
  rules.push({
    alert: 'FlashSaleReconcileMismatch',
    expr: `max by (stack_namespace, stack, sale) (flashsale_sale_reconcile_mismatch${saleSel}) == 1`,
    labels: { severity: 'critical' },
    annotations: {
      summary: 'Redis and PostgreSQL disagree for the sale {{ $labels.stack_namespace }}/{{ $labels.sale }}',
      description:
        'The Reconciled condition of the FlashSale has the numbers (kubectl describe fsale); docs/sales.md says what to check.',
    },
  });
  return { groups: [{ name: 'flash-sale-stack', interval: '30s', rules }] };
}

/** Base backups of spec.backup.pitr: without a fresh one the recovery window stops moving. */
function baseBackupRules(options: AlertRuleOptions): AlertRule[] {
  const schedule = options.baseBackupSchedule ?? DEFAULT_BASE_BACKUP_SCHEDULE;
  const maxAge = backupMaxAgeSeconds(schedule);
  const sel = matchers(
    options.namespace !== undefined ? eq('stack_namespace', options.namespace) : undefined,
    options.stack !== undefined ? eq('stack', options.stack) : undefined,
  );
  const key = 'stack_namespace, stack';
  const ok = `max by (${key}) (flashsale_basebackup_last_success_timestamp_seconds${sel})`;
  const failed = `max by (${key}) (flashsale_basebackup_last_failure_timestamp_seconds${sel})`;
  return [
    {
      alert: 'FlashSaleBaseBackupFailed',
      expr: `${failed} > ${ok} or (${failed} unless ${ok})`,
      labels: { severity: 'critical' },
      annotations: {
        summary: 'The last PITR base backup of {{ $labels.stack_namespace }}/{{ $labels.stack }} failed',
        description:
          'Point-in-time recovery keeps relying on an ever older base backup. The BackupHealthy condition (reason BaseBackupFailed) carries the error; see the <stack>-basebackup Job logs.',
      },
    },
    {
      alert: 'FlashSaleBaseBackupTooOld',
      expr: `time() - ${ok} > ${maxAge}`,
      labels: { severity: 'critical' },
      annotations: {
        summary: `No successful PITR base backup of {{ $labels.stack_namespace }}/{{ $labels.stack }} for over ${promDuration(maxAge)}`,
        description: `Base backups run on "${schedule}"; the last success is older than twice that period, so a restore replays ever more WAL and retention keeps ever more of it.`,
      },
    },
  ];
}
