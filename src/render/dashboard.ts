/**
 * Grafana dashboard for a flash-sale stack: the seed's five panels (QPS, order-create p95, stock decrement
 * rate, cache hit ratio, queue backlog) plus lock waits, PgBouncer pool waits, Redis evictions and backup
 * age. Usable without a stack (a `$namespace` variable) for packaging, or bound to one stack's namespace.
 * Metric names: see alerts.ts. Pure.
 */
import { eq, matchers } from './alerts.js';

export interface DashboardOptions {
  /** Bind every query to this namespace; otherwise a `$namespace` template variable is used. */
  namespace?: string;
  stack?: string;
  title?: string;
  uid?: string;
}

export interface DashboardPanel {
  id: number;
  type: 'timeseries';
  title: string;
  description: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource: { type: 'prometheus'; uid: string };
  fieldConfig: { defaults: { unit: string; min?: number; max?: number }; overrides: [] };
  targets: { refId: string; expr: string; legendFormat: string }[];
}

interface PanelDef {
  title: string;
  description: string;
  unit: string;
  min?: number;
  max?: number;
  targets: [string, string][];
}

export function grafanaDashboard(options: DashboardOptions = {}): Record<string, unknown> {
  const bound = options.namespace !== undefined;
  const ns = bound ? eq('namespace', options.namespace ?? '') : 'namespace=~"$namespace"';
  const stackSel = bound
    ? matchers(
        eq('stack_namespace', options.namespace ?? ''),
        options.stack ? eq('stack', options.stack) : undefined,
      )
    : '{stack_namespace=~"$namespace"}';
  const m = (...extra: string[]): string => matchers(ns, ...extra);
  const defs: PanelDef[] = [
    {
      title: 'QPS (requests per second)',
      description: 'API requests per second by status (seed panel 1).',
      unit: 'reqps',
      targets: [[`sum by (status) (rate(http_requests_total${m()}[5m]))`, '{{status}}']],
    },
    {
      title: 'Order-create latency p95',
      description: 'p95 of POST /api/sales/{id}/orders in milliseconds (seed panel 2).',
      unit: 'ms',
      targets: [
        [`histogram_quantile(0.95, sum by (le) (rate(order_create_duration_ms_bucket${m()}[5m])))`, 'p95'],
        [`histogram_quantile(0.99, sum by (le) (rate(order_create_duration_ms_bucket${m()}[5m])))`, 'p99'],
      ],
    },
    {
      title: 'Stock decrements per second',
      description: 'Units of stock taken per second, by sale (seed panel 3).',
      unit: 'ops',
      targets: [[`sum by (sale_id) (rate(stock_decrement_total${m()}[5m]))`, 'sale {{sale_id}}']],
    },
    {
      title: 'Cache hit ratio',
      description: "API cache hits / lookups (seed panel 4) and Redis' own keyspace hit ratio.",
      unit: 'percentunit',
      min: 0,
      max: 1,
      targets: [
        [`sum(rate(redis_hits_total${m()}[5m])) / sum(rate(redis_requests_total${m()}[5m]))`, 'API cache'],
        [
          `sum(rate(redis_keyspace_hits_total${m()}[5m])) / (sum(rate(redis_keyspace_hits_total${m()}[5m])) + sum(rate(redis_keyspace_misses_total${m()}[5m])))`,
          'Redis keyspace',
        ],
      ],
    },
    {
      title: 'Queue backlog',
      description: 'Messages ready and unacknowledged per queue (seed panel 5).',
      unit: 'short',
      targets: [
        [`sum by (queue) (rabbitmq_queue_messages_ready${m()})`, '{{queue}} ready'],
        [`sum by (queue) (rabbitmq_queue_messages_unacked${m()})`, '{{queue}} unacked'],
      ],
    },
    {
      title: 'PostgreSQL locks and long transactions',
      description: 'Locks held by mode and the longest running transaction.',
      unit: 'short',
      targets: [
        [`sum by (mode) (pg_locks_count${m()})`, '{{mode}}'],
        [`max(pg_stat_activity_max_tx_duration${m()})`, 'longest transaction (s)'],
      ],
    },
    {
      title: 'PgBouncer pool waits',
      description: 'Clients waiting for a server connection, and the longest wait.',
      unit: 'short',
      targets: [
        [`sum(pgbouncer_pools_client_waiting_connections${m()})`, 'waiting clients'],
        [`max(pgbouncer_pools_client_maxwait_seconds${m()})`, 'max wait (s)'],
      ],
    },
    {
      title: 'Redis evictions',
      description: 'Keys evicted per second; must stay 0 for inventory Redis.',
      unit: 'ops',
      targets: [[`sum(rate(redis_evicted_keys_total${m()}[5m]))`, 'evicted keys/s']],
    },
    {
      title: 'Order fates and the inventory fence',
      description:
        'Orders the database rejected and publishes settled as cancelled (per second), and whether the inventory fence is up (orders answer 503 inventory_recovering).',
      unit: 'short',
      targets: [
        [`sum by (reason) (rate(orders_rejected_total${m()}[5m]))`, 'rejected ({{reason}})'],
        [`sum(rate(orders_cancelled_total${m()}[5m]))`, 'cancelled'],
        [`max(inventory_fenced${m()})`, 'fence up'],
      ],
    },
    {
      title: 'WAL archiving',
      description:
        'Failed archive_command runs per second and the age of the last archived segment (spec.backup.pitr).',
      unit: 'short',
      targets: [
        [`sum(rate(pg_stat_archiver_failed_count${m()}[5m]))`, 'failures/s'],
        [`max(pg_stat_archiver_last_archive_age${m()})`, 'last archive age (s)'],
      ],
    },
    {
      title: 'Backup age',
      description: 'Time since the last successful backup.',
      unit: 's',
      targets: [
        [`time() - max by (stack) (flashsale_backup_last_success_timestamp_seconds${stackSel})`, '{{stack}}'],
      ],
    },
    // Per-sale series from the operator's FlashSale controller (src/sales/metrics.ts).
    {
      title: 'Sales: sold and backlog',
      description: 'Orders accepted per FlashSale, and those still in the queue (pending).',
      unit: 'short',
      min: 0,
      targets: [
        [`max by (sale) (flashsale_sale_sold${stackSel})`, '{{sale}} sold'],
        [`max by (sale) (flashsale_sale_pending_orders${stackSel})`, '{{sale}} pending'],
      ],
    },
    {
      title: 'Sales: order rate and phase',
      description: 'Orders accepted per second per FlashSale; the phase series is 1 for the current phase.',
      unit: 'short',
      min: 0,
      targets: [
        [`max by (sale) (flashsale_sale_order_rate${stackSel})`, '{{sale}} orders/s'],
        [`max by (sale, phase) (flashsale_sale_phase${stackSel}) == 1`, '{{sale}} {{phase}}'],
      ],
    },
  ];
  const panels: DashboardPanel[] = defs.map((d, i) => ({
    id: i + 1,
    type: 'timeseries',
    title: d.title,
    description: d.description,
    gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
    datasource: { type: 'prometheus', uid: '${datasource}' },
    fieldConfig: {
      defaults: {
        unit: d.unit,
        ...(d.min !== undefined ? { min: d.min } : {}),
        ...(d.max !== undefined ? { max: d.max } : {}),
      },
      overrides: [],
    },
    targets: d.targets.map(([expr, legendFormat], j) => ({
      refId: String.fromCharCode(65 + j),
      expr,
      legendFormat,
    })),
  }));
  const templating: Record<string, unknown>[] = [
    { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' },
  ];
  if (!bound) {
    templating.push({
      name: 'namespace',
      type: 'query',
      label: 'Namespace',
      datasource: { type: 'prometheus', uid: '${datasource}' },
      query: 'label_values(http_requests_total, namespace)',
      refresh: 2,
      includeAll: true,
      multi: true,
    });
  }
  return {
    uid: options.uid ?? 'flash-sale-stack',
    title: options.title ?? 'Flash sale',
    tags: ['flash-sale'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    templating: { list: templating },
    panels,
  };
}

/** Every PromQL expression of a dashboard (tests parse them with promtool). */
export function dashboardExpressions(dashboard: Record<string, unknown>): string[] {
  const panels = dashboard.panels as DashboardPanel[];
  return panels.flatMap((p) => p.targets.map((t) => t.expr));
}
