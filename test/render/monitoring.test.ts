import { describe, expect, it } from 'vitest';
import { alertRules, backupMaxAgeSeconds, cronMaxIntervalSeconds } from '../../src/render/alerts.js';
import { grafanaDashboard } from '../../src/render/dashboard.js';
import { dashboardUid, renderMonitoring } from '../../src/render/monitoring.js';
import { find, inputs, stackOf } from '../golden/fixtures.js';

describe('cron period (backup age threshold)', () => {
  it.each([
    ['0 2 * * *', 86400],
    ['@daily', 86400],
    ['@hourly', 3600],
    ['*/15 * * * *', 900],
    ['0 */6 * * *', 6 * 3600],
    ['0 2,14 * * *', 12 * 3600],
    ['0 1,2 * * *', 23 * 3600],
    ['30 3 * * 0', 7 * 86400],
    ['0 0 1 * *', 31 * 86400],
    ['0 0 * * 1-5', 3 * 86400],
  ])('%s → %i s', (expr, seconds) => {
    expect(cronMaxIntervalSeconds(expr)).toBe(seconds);
  });
  it('does not parse nonsense, and falls back to a day', () => {
    expect(cronMaxIntervalSeconds('not a cron')).toBeUndefined();
    expect(cronMaxIntervalSeconds('0 25 * * *')).toBeUndefined();
    expect(backupMaxAgeSeconds('nope')).toBe(2 * 86400);
    expect(backupMaxAgeSeconds('0 */6 * * *')).toBe(12 * 3600);
  });
});

describe('alertRules', () => {
  it('covers every required alert with real exporter metric names', () => {
    const rules = alertRules().groups.flatMap((g) => g.rules);
    const by = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
    expect(by.FlashSaleQueueBacklogGrowing).toMatch(/rabbitmq_queue_messages_ready/);
    expect(by.FlashSaleOrderLatencyHigh).toMatch(
      /histogram_quantile\(0\.95, .*order_create_duration_ms_bucket/,
    );
    expect(by.FlashSaleStockDecrementsStalled).toMatch(/stock_decrement_total/);
    expect(by.FlashSaleCacheHitRatioLow).toMatch(/redis_hits_total.*redis_requests_total/);
    expect(by.FlashSaleRedisEvictingKeys).toMatch(/redis_evicted_keys_total/);
    expect(by.FlashSalePostgresLockContention).toMatch(/pg_locks_count/);
    expect(by.FlashSalePgBouncerClientsWaiting).toMatch(/pgbouncer_pools_client_waiting_connections/);
    expect(by.FlashSaleBackupFailed).toMatch(/flashsale_backup_last_failure_timestamp_seconds/);
    expect(by.FlashSaleBackupTooOld).toMatch(
      /time\(\) - .*flashsale_backup_last_success_timestamp_seconds.* > 172800/,
    );
  });
  it('binds to a namespace and thresholds, and drops backup alerts when backups are off', () => {
    const th = { ...stackOf().spec.monitoring.thresholds, queueDepthMax: 77 };
    const rules = alertRules({ namespace: 'prod', stack: 'shop', thresholds: th, backup: false }).groups[0]!
      .rules;
    expect(rules.find((r) => r.alert === 'FlashSaleQueueBacklogGrowing')!.expr).toMatch(
      /\{namespace="prod"\}\) > 77/,
    );
    expect(rules.some((r) => r.alert.startsWith('FlashSaleBackup'))).toBe(false);
  });
});

describe('renderMonitoring', () => {
  it('renders ServiceMonitors only when forced or the Prometheus Operator is there', () => {
    const kinds = (spec: Parameters<typeof stackOf>[0], available: boolean) =>
      renderMonitoring(stackOf(spec), inputs({ prometheusOperatorAvailable: available })).map((o) => o.kind);
    expect(kinds({}, true)).toEqual(['ServiceMonitor', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap']);
    expect(kinds({}, false)).toEqual(['ConfigMap']);
    expect(kinds({ monitoring: { serviceMonitor: 'true' } }, false)).toContain('ServiceMonitor');
    expect(kinds({ monitoring: { serviceMonitor: 'false' } }, true)).not.toContain('ServiceMonitor');
    expect(kinds({ monitoring: { enabled: false } }, true)).toEqual([]);
  });
  it('selects the stack metrics Services on port metrics; RabbitMQ on its per-object endpoint', () => {
    const objs = renderMonitoring(stackOf(), inputs());
    const sm = find(objs, 'ServiceMonitor', 'shop-monitoring');
    expect(sm.spec).toMatchObject({
      selector: { matchLabels: { 'flashsale.dev/stack': 'shop', 'flashsale.dev/metrics': 'true' } },
      namespaceSelector: { matchNames: ['prod'] },
      endpoints: [{ port: 'metrics', path: '/metrics' }],
    });
    const mq = find(objs, 'ServiceMonitor', 'shop-monitoring-rabbitmq');
    expect(mq.spec).toMatchObject({ endpoints: [{ port: 'metrics', path: '/metrics/per-object' }] });
  });
  it('ships the Grafana dashboard with the seed panels and the extra ones', () => {
    const cm = find(renderMonitoring(stackOf(), inputs()), 'ConfigMap', 'shop-monitoring-dashboard');
    expect(cm.metadata.labels!.grafana_dashboard).toBe('1');
    const json = Object.values(cm.data as Record<string, string>)[0]!;
    const dash = JSON.parse(json) as { uid: string; panels: { title: string }[] };
    expect(dash.uid).toBe('fss-prod-shop');
    expect(dash.panels.map((p) => p.title)).toEqual([
      'QPS (requests per second)',
      'Order-create latency p95',
      'Stock decrements per second',
      'Cache hit ratio',
      'Queue backlog',
      'PostgreSQL locks and long transactions',
      'PgBouncer pool waits',
      'Redis evictions',
      'Order fates and the inventory fence',
      'WAL archiving',
      'Backup age',
      'Sales: sold and backlog',
      'Sales: order rate and phase',
    ]);
    expect(json).toMatch(/namespace=\\"prod\\"/);
    expect(JSON.stringify(grafanaDashboard())).toMatch(/namespace=~\\"\$namespace\\"/);
  });
  it('keeps dashboard uids within Grafana’s 40 characters', () => {
    const uid = dashboardUid(stackOf({}, 'a-very-long-stack-name-for-testing', 'a-very-long-namespace-name'));
    expect(uid.length).toBeLessThanOrEqual(40);
  });
});
