/**
 * render(stack, inputs) → every object the operator owns for a FlashSaleStack, plus budget warnings.
 *
 * Pure and deterministic: no network, no clock, no randomness (generated secrets are inputs); the same input
 * gives the same objects in the same order (kind order below, then name), so `render` output and the
 * operator's server-side applies are stable. A stack whose budgets cannot work throws BudgetError and renders
 * nothing.
 */
import type { Problem } from '../api/problems.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { renderApi } from './api.js';
import { renderBackup } from './backup.js';
import { BudgetError, checkBudgets } from './budgets.js';
import type { KubeObject, RenderInputs } from './common.js';
import { prometheusRuleEnabled, renderMonitoring } from './monitoring.js';
import { renderNetworkPolicies } from './network.js';
import { renderNginx } from './nginx.js';
import { renderPgBouncer } from './pgbouncer.js';
import { renderPostgres } from './postgres.js';
import { renderRabbitMQ } from './rabbitmq.js';
import { renderRedis } from './redis.js';
import { renderServiceAccounts } from './serviceaccounts.js';

export { BudgetError } from './budgets.js';
export type { KubeObject, RenderInputs, StackSecrets } from './common.js';

/** Apply order: what others reference comes first (accounts, secrets, configs, storage, services, workloads). */
export const KIND_ORDER: readonly string[] = [
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Service',
  'Deployment',
  'StatefulSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'ServiceMonitor',
  'PrometheusRule',
];

function kindRank(kind: string): number {
  const i = KIND_ORDER.indexOf(kind);
  return i >= 0 ? i : KIND_ORDER.length;
}

function compare(a: KubeObject, b: KubeObject): number {
  const ra = kindRank(a.kind);
  const rb = kindRank(b.kind);
  if (ra !== rb) return ra - rb;
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  const na = a.metadata.name;
  const nb = b.metadata.name;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

/** Objects sorted by KIND_ORDER, then kind, then name (stable). */
export function sortObjects(objects: KubeObject[]): KubeObject[] {
  return [...objects].sort(compare);
}

export interface RenderResult {
  objects: KubeObject[];
  /** Budget warnings: the spec works but risks trouble (the user should change it). */
  warnings: Problem[];
  /** Facts about the target cluster that change what is rendered (nothing is wrong with the spec). */
  notices: Problem[];
}

/** The notice when the alert rules cannot be a PrometheusRule; callers add how to change it in their context. */
export const NO_PROMETHEUS_OPERATOR_NOTICE =
  'the cluster does not serve monitoring.coreos.com/v1 (Prometheus Operator), so no PrometheusRule was created; load manifests/monitoring/alert-rules.yaml into your Prometheus, or set spec.monitoring.prometheusRule: false';

export function render(stack: ResolvedFlashSaleStack, inputs: RenderInputs): RenderResult {
  const budgets = checkBudgets(stack);
  if (budgets.errors.length > 0) throw new BudgetError(budgets.errors);
  const warnings: Problem[] = [...budgets.warnings];
  const s = stack.spec;

  const objects: KubeObject[] = [
    ...renderServiceAccounts(stack, inputs),
    ...renderPostgres(stack, inputs),
    ...(s.pgbouncer.enabled ? renderPgBouncer(stack, inputs) : []),
    ...renderRedis(stack, inputs),
    ...renderRabbitMQ(stack, inputs),
    ...renderApi(stack, inputs),
    ...renderNginx(stack, inputs),
    ...renderBackup(stack, inputs),
    ...(s.monitoring.enabled ? renderMonitoring(stack, inputs) : []),
    ...renderNetworkPolicies(stack, inputs),
  ];

  const notices: Problem[] = [];
  if (s.monitoring.enabled && s.monitoring.prometheusRule && !prometheusRuleEnabled(stack, inputs)) {
    notices.push({ path: 'spec.monitoring.prometheusRule', message: NO_PROMETHEUS_OPERATOR_NOTICE });
  }

  const seen = new Set<string>();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(key)) throw new Error(`render produced ${key} twice (a bug in the render layer)`);
    seen.add(key);
  }
  return { objects: sortObjects(objects), warnings, notices };
}
