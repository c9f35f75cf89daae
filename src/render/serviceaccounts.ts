/**
 * One ServiceAccount per workload, so RBAC and audit logs can tell the stack's pods apart, and none of them
 * borrows the namespace's `default` account. No workload of the stack talks to the Kubernetes API, so every
 * account has `automountServiceAccountToken: false` (pods set it too). Pure.
 */
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { childName, objectMeta, type Component, type KubeObject, type RenderInputs } from './common.js';

/** Workloads that run pods and get their own ServiceAccount: every component but the pod-less ones. */
export type Workload = Exclude<Component, 'monitoring' | 'network'>;

/** Name of a workload's ServiceAccount (`<stack>-<workload>`); pod templates set `serviceAccountName` to it. */
export function serviceAccountName(stack: ResolvedFlashSaleStack, workload: Workload): string {
  return childName(stack, workload);
}

/** The workloads a stack runs, given what is enabled. */
export function stackWorkloads(stack: ResolvedFlashSaleStack): Workload[] {
  const s = stack.spec;
  const out: Workload[] = ['postgres'];
  if (s.pgbouncer.enabled) out.push('pgbouncer');
  out.push('redis');
  // A clustered RabbitMQ's account (with the Role its k8s peer discovery needs) is rendered by rabbitmq.ts.
  if (s.rabbitmq.replicas < 3) out.push('rabbitmq');
  out.push('api', 'consumer', 'nginx');
  if (s.backup.enabled) out.push('backup');
  if (s.backup.pitr.enabled) out.push('basebackup');
  if (s.postgres.maintenance?.schedule) out.push('maintenance');
  if (s.postgres.bootstrap?.fromBackup?.file !== undefined) out.push('bootstrap');
  return out;
}

export function renderServiceAccounts(stack: ResolvedFlashSaleStack, _inputs?: RenderInputs): KubeObject[] {
  return stackWorkloads(stack).map((w) => ({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: objectMeta(stack, w, serviceAccountName(stack, w)),
    automountServiceAccountToken: false,
  }));
}
