/**
 * Monitoring objects of a stack (when spec.monitoring.enabled):
 * - ServiceMonitors (monitoring.coreos.com/v1) selecting the stack's Services labelled
 *   `flashsale.dev/metrics: "true"` on their `metrics` port — only when spec.monitoring.serviceMonitor is
 *   "true", or "auto" and the cluster serves the Prometheus Operator CRDs; otherwise Prometheus finds the
 *   pods through their `prometheus.io/*` annotations. RabbitMQ gets its own ServiceMonitor on
 *   `/metrics/per-object`, which carries per-queue series (rabbitmq_queue_messages_ready{queue}) whatever
 *   `prometheus.return_per_object_metrics` says.
 * - A PrometheusRule with alertRules() when spec.monitoring.prometheusRule and the CRDs exist.
 * - A Grafana dashboard ConfigMap (label grafana_dashboard: "1", picked up by Grafana's dashboard sidecar).
 * Pure.
 */
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { alertRules } from './alerts.js';
import { STACK_LABEL, childName, objectMeta, sha256, type KubeObject, type RenderInputs } from './common.js';
import { grafanaDashboard } from './dashboard.js';
import { METRICS_LABEL } from './resources.js';

export const SCRAPE_INTERVAL = '15s';

/** Whether ServiceMonitors are rendered for this stack. */
export function serviceMonitorsEnabled(stack: ResolvedFlashSaleStack, inputs: RenderInputs): boolean {
  const m = stack.spec.monitoring;
  if (!m.enabled) return false;
  return m.serviceMonitor === 'true' || (m.serviceMonitor === 'auto' && inputs.prometheusOperatorAvailable);
}

/** Whether the PrometheusRule is rendered (needs the CRD: an object of an unknown kind cannot be applied). */
export function prometheusRuleEnabled(stack: ResolvedFlashSaleStack, inputs: RenderInputs): boolean {
  const m = stack.spec.monitoring;
  return m.enabled && m.prometheusRule && (inputs.prometheusOperatorAvailable || m.serviceMonitor === 'true');
}

/** Grafana dashboard uid (≤ 40 characters, unique per stack). */
export function dashboardUid(stack: ResolvedFlashSaleStack): string {
  const uid = `fss-${stack.metadata.namespace}-${stack.metadata.name}`;
  return uid.length <= 40 ? uid : `fss-${sha256(uid).slice(0, 36)}`;
}

export function stackAlertRules(stack: ResolvedFlashSaleStack): ReturnType<typeof alertRules> {
  return alertRules({
    namespace: stack.metadata.namespace,
    stack: stack.metadata.name,
    thresholds: stack.spec.monitoring.thresholds,
    backup: stack.spec.backup.enabled,
    backupSchedule: stack.spec.backup.schedule,
    pitr: stack.spec.backup.pitr.enabled,
    baseBackupSchedule: stack.spec.backup.pitr.baseBackupSchedule,
  });
}

export function renderMonitoring(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const m = stack.spec.monitoring;
  if (!m.enabled) return [];
  const ns = stack.metadata.namespace;
  const out: KubeObject[] = [];
  if (serviceMonitorsEnabled(stack, inputs)) {
    const endpoint = (path: string): Record<string, unknown> => ({
      port: 'metrics',
      path,
      interval: SCRAPE_INTERVAL,
      scrapeTimeout: '10s',
    });
    out.push(
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: objectMeta(stack, 'monitoring', childName(stack, 'monitoring')),
        spec: {
          selector: {
            matchLabels: { [STACK_LABEL]: stack.metadata.name, [METRICS_LABEL]: 'true' },
            matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['rabbitmq'] }],
          },
          namespaceSelector: { matchNames: [ns] },
          endpoints: [endpoint('/metrics')],
        },
      },
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: objectMeta(stack, 'monitoring', childName(stack, 'monitoring', 'rabbitmq')),
        spec: {
          selector: {
            matchLabels: {
              [STACK_LABEL]: stack.metadata.name,
              [METRICS_LABEL]: 'true',
              'app.kubernetes.io/name': 'rabbitmq',
            },
          },
          namespaceSelector: { matchNames: [ns] },
          endpoints: [endpoint('/metrics/per-object')],
        },
      },
    );
  }
  if (prometheusRuleEnabled(stack, inputs)) {
    out.push({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: objectMeta(stack, 'monitoring', childName(stack, 'monitoring')),
      spec: stackAlertRules(stack),
    });
  }
  if (m.grafanaDashboard) {
    const dashboard = grafanaDashboard({
      namespace: ns,
      stack: stack.metadata.name,
      title: `Flash sale ${ns}/${stack.metadata.name}`,
      uid: dashboardUid(stack),
    });
    const meta = objectMeta(stack, 'monitoring', childName(stack, 'monitoring', 'dashboard'));
    out.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { ...meta, labels: { ...meta.labels, grafana_dashboard: '1' } },
      data: { [`flash-sale-${ns}-${stack.metadata.name}.json`]: `${JSON.stringify(dashboard, null, 2)}\n` },
    });
  }
  return out;
}
