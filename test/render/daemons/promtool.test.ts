/**
 * `promtool check rules` (the real Prometheus tool) accepts the alert rules — generic and per stack — and every
 * Grafana panel expression parses (each wrapped in a recording rule and checked the same way).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { alertRules } from '../../../src/render/alerts.js';
import { dashboardExpressions, grafanaDashboard } from '../../../src/render/dashboard.js';
import { render } from '../../../src/render/index.js';
import { exampleNames, inputs, loadExample } from '../../golden/fixtures.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fss-promtool-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(name: string, doc: unknown): { status: number | null; output: string } {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(doc));
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('promtool check rules', () => {
  it('accepts the generic alert rules (packaging writes these to manifests/monitoring/)', () => {
    const rules = alertRules();
    const r = check('generic', rules);
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${rules.groups[0]!.rules.length} rules found`));
    expect(r.status).toBe(0);
  });

  it('accepts the committed manifests/monitoring/alert-rules.yaml as it is', () => {
    const file = fileURLToPath(new URL('../../../manifests/monitoring/alert-rules.yaml', import.meta.url));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it.each(exampleNames())('accepts the PrometheusRule of example %s', (name) => {
    const rule = render(loadExample(name), inputs()).objects.find((o) => o.kind === 'PrometheusRule');
    expect(rule).toBeDefined();
    const r = check(`stack-${name}`, rule!.spec);
    expect(r.output).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('rejects a broken expression (the check can fail)', () => {
    const r = check('broken', {
      groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum(rate(foo[5m])' }] }],
    });
    expect(r.status).not.toBe(0);
  });

  it('parses every dashboard panel expression, generic and bound to a stack', () => {
    for (const [label, dash] of [
      ['generic', grafanaDashboard()],
      ['bound', grafanaDashboard({ namespace: 'prod', stack: 'shop' })],
    ] as const) {
      const exprs = dashboardExpressions(dash);
      expect(exprs.length).toBeGreaterThanOrEqual(9);
      const doc = {
        groups: [
          { name: 'panels', rules: exprs.map((expr, i) => ({ record: `flashsale:panel_${i}`, expr })) },
        ],
      };
      const r = check(`panels-${label}`, doc);
      expect(r.output, label).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
      expect(r.status).toBe(0);
    }
  });
});

describe('promtool test rules: the alerts fire on the series the exporters emit, and stay quiet otherwise', () => {
  it('fires evictions, stalled stock, growing backlog and stale backups as expected', () => {
    // Annotations carry templated values; promtool compares them exactly, so test the rules without them.
    const rules = alertRules({ namespace: 'prod', stack: 'shop', backupSchedule: '0 2 * * *' });
    for (const g of rules.groups) for (const r of g.rules) r.annotations = {};
    writeFileSync(join(dir, 'rules-under-test.yaml'), stringify(rules));
    const orders = (status: string) =>
      `http_requests_total{namespace="prod",method="POST",route="/api/sales/{id}/orders",status="${status}"}`;
    const test = {
      rule_files: ['rules-under-test.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: 'redis_evicted_keys_total{namespace="prod",pod="r-0"}', values: '0x10 5+5x10' },
            { series: orders('503'), values: '0+100x30' },
            { series: 'stock_decrement_total{namespace="prod",sale_id="1"}', values: '50x30' },
            {
              series: 'rabbitmq_queue_messages_ready{namespace="prod",queue="order_queue",vhost="/"}',
              values: '0+1000x30',
            },
            {
              series: 'flashsale_backup_last_success_timestamp_seconds{stack_namespace="prod",stack="shop"}',
              values: '0x30',
            },
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'FlashSaleRedisEvictingKeys', exp_alerts: [] },
            {
              eval_time: '15m',
              alertname: 'FlashSaleRedisEvictingKeys',
              exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'prod' } }],
            },
            {
              eval_time: '20m',
              alertname: 'FlashSaleStockDecrementsStalled',
              exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'prod' } }],
            },
            {
              eval_time: '25m',
              alertname: 'FlashSaleQueueBacklogGrowing',
              exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'prod', queue: 'order_queue' } }],
            },
            // time() at 25m is 1500s: the last success at 0 is not older than 2 days yet.
            { eval_time: '25m', alertname: 'FlashSaleBackupTooOld', exp_alerts: [] },
          ],
        },
        {
          // A 202 the database refused, a fence that does not lift, and WAL that cannot be archived.
          interval: '1m',
          input_series: [
            { series: 'orders_rejected_total{namespace="prod",reason="out_of_stock"}', values: '0x10 1x20' },
            { series: 'inventory_fenced{namespace="prod",pod="api-1"}', values: '0x5 1x1 0x5 1x10' },
            { series: 'pg_stat_archiver_failed_count{namespace="prod",pod="pg-0"}', values: '0x10 1+1x10' },
          ],
          alert_rule_test: [
            { eval_time: '9m', alertname: 'FlashSaleOrdersRejected', exp_alerts: [] },
            {
              eval_time: '12m',
              alertname: 'FlashSaleOrdersRejected',
              exp_alerts: [
                { exp_labels: { severity: 'critical', namespace: 'prod', reason: 'out_of_stock' } },
              ],
            },
            // A fence that lifts within 2 minutes (a recovery) is quiet; one that stays up fires.
            { eval_time: '8m', alertname: 'FlashSaleInventoryFenceStuck', exp_alerts: [] },
            {
              eval_time: '18m',
              alertname: 'FlashSaleInventoryFenceStuck',
              exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'prod' } }],
            },
            { eval_time: '9m', alertname: 'FlashSalePostgresWalArchiveFailing', exp_alerts: [] },
            {
              eval_time: '14m',
              alertname: 'FlashSalePostgresWalArchiveFailing',
              exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'prod' } }],
            },
          ],
        },
        {
          // Anyone can send aborted uploads, refused bodies or orders before the start: not a stall.
          interval: '1m',
          input_series: [
            { series: orders('aborted'), values: '0+200x30' },
            { series: orders('400'), values: '0+100x30' },
            { series: orders('403'), values: '0+100x30' },
            { series: 'stock_decrement_total{namespace="prod",sale_id="1"}', values: '50x30' },
          ],
          alert_rule_test: [
            { eval_time: '20m', alertname: 'FlashSaleStockDecrementsStalled', exp_alerts: [] },
          ],
        },
        {
          // Sold out: requests answered 410 and no decrements is normal, not a stall.
          interval: '1m',
          input_series: [
            { series: orders('410'), values: '0+100x30' },
            { series: 'stock_decrement_total{namespace="prod",sale_id="1"}', values: '50x30' },
          ],
          alert_rule_test: [
            { eval_time: '20m', alertname: 'FlashSaleStockDecrementsStalled', exp_alerts: [] },
          ],
        },
        {
          interval: '1h',
          input_series: [
            {
              series: 'flashsale_backup_last_success_timestamp_seconds{stack_namespace="prod",stack="shop"}',
              values: '0x80',
            },
          ],
          alert_rule_test: [
            { eval_time: '47h', alertname: 'FlashSaleBackupTooOld', exp_alerts: [] },
            {
              eval_time: '49h',
              alertname: 'FlashSaleBackupTooOld',
              exp_alerts: [{ exp_labels: { severity: 'critical', stack_namespace: 'prod', stack: 'shop' } }],
            },
          ],
        },
      ],
    };
    const file = join(dir, 'alerts.test.yaml');
    writeFileSync(file, stringify(test));
    const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8', cwd: dir });
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('fires on a failed PITR base backup until a newer one succeeds, and on a base backup older than 2 × its schedule', () => {
    const rules = alertRules({
      namespace: 'prod',
      stack: 'shop',
      pitr: true,
      baseBackupSchedule: '30 1 * * *',
    });
    for (const g of rules.groups) for (const r of g.rules) r.annotations = {}; // templated: see above
    writeFileSync(join(dir, 'basebackup-rules.yaml'), stringify(rules));
    const labels = 'stack_namespace="prod",stack="shop"';
    const firing = [{ exp_labels: { severity: 'critical', stack_namespace: 'prod', stack: 'shop' } }];
    const test = {
      rule_files: ['basebackup-rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // A success at t=0; a failure recorded at t=10m; a newer success at t=20m.
          interval: '1m',
          input_series: [
            {
              series: `flashsale_basebackup_last_success_timestamp_seconds{${labels}}`,
              values: '0x19 1200x20',
            },
            {
              series: `flashsale_basebackup_last_failure_timestamp_seconds{${labels}}`,
              values: `${'_ '.repeat(10)}600x30`,
            },
          ],
          alert_rule_test: [
            { eval_time: '5m', alertname: 'FlashSaleBaseBackupFailed', exp_alerts: [] },
            { eval_time: '15m', alertname: 'FlashSaleBaseBackupFailed', exp_alerts: firing },
            { eval_time: '25m', alertname: 'FlashSaleBaseBackupFailed', exp_alerts: [] },
          ],
        },
        {
          // Failed before any success: nothing to compare with, still an alert.
          interval: '1m',
          input_series: [
            { series: `flashsale_basebackup_last_failure_timestamp_seconds{${labels}}`, values: '60x10' },
          ],
          alert_rule_test: [{ eval_time: '5m', alertname: 'FlashSaleBaseBackupFailed', exp_alerts: firing }],
        },
        {
          interval: '1h',
          input_series: [
            { series: `flashsale_basebackup_last_success_timestamp_seconds{${labels}}`, values: '0x80' },
          ],
          alert_rule_test: [
            { eval_time: '47h', alertname: 'FlashSaleBaseBackupTooOld', exp_alerts: [] },
            { eval_time: '49h', alertname: 'FlashSaleBaseBackupTooOld', exp_alerts: firing },
          ],
        },
      ],
    };
    const file = join(dir, 'basebackup.test.yaml');
    writeFileSync(file, stringify(test));
    const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8', cwd: dir });
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS/);
    expect(r.status).toBe(0);
  });

  it('has no base-backup rules for a stack without PITR', () => {
    const names = alertRules({ namespace: 'prod', stack: 'shop', pitr: false }).groups[0]!.rules.map(
      (r) => r.alert,
    );
    expect(names).not.toContain('FlashSaleBaseBackupFailed');
    expect(names).toContain('FlashSaleBackupFailed');
    expect(alertRules().groups[0]!.rules.map((r) => r.alert)).toContain('FlashSaleBaseBackupTooOld');
  });
});
