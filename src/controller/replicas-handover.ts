/**
 * Handing `spec.replicas` of a workload over to its HorizontalPodAutoscaler without a reset.
 *
 * With autoscaling on, render leaves `replicas` out of the Deployment so the operator does not fight the HPA.
 * But server-side apply resets a field nobody owns any more to its default (1): dropping `replicas` from our
 * apply while we still own it would scale a busy API down to one pod until the HPA reacts. So, following the
 * Kubernetes "transferring ownership" recipe, the current value is first applied under a separate field
 * manager; our apply then drops `replicas`, the hand-over manager still owns it, and nothing changes until the
 * HPA writes it (and takes it over). A workload created with autoscaling on starts at the HPA's minimum.
 */
import { FIELD_MANAGER } from '../api/types.js';
import type { KubeObject } from '../render/common.js';
import type { ApplyDecision } from './apply.js';
import { objectRef, referencesOf } from './dependencies.js';
import type { ApiObject, KubeClient } from './kube-client.js';
import { isConflict } from './kube-client.js';
import { resourceTypeFor } from './resources.js';

export const HANDOVER_FIELD_MANAGER = 'flash-sale-operator-handover';

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: { 'f:spec'?: Record<string, unknown> };
}

/** The autoscaler among `desired` whose scale target is `workload`. */
export function autoscalerOf(desired: readonly KubeObject[], workload: KubeObject): KubeObject | undefined {
  const ref = objectRef(workload);
  return desired.find((o) => o.kind === 'HorizontalPodAutoscaler' && referencesOf(o).includes(ref));
}

/** Whether our own apply entry in `managedFields` owns spec.replicas. */
export function weOwnReplicas(live: ApiObject): boolean {
  const entries = (live.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  return entries.some(
    (e) =>
      e.manager === FIELD_MANAGER &&
      e.operation === 'Apply' &&
      !e.subresource &&
      e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined,
  );
}

/**
 * What to apply for a workload that an autoscaler in `desired` scales: the first apply carries the HPA's
 * minimum as the starting replica count; a later one first hands `replicas` over when we still own it.
 */
export async function prepareAutoscaledWorkload(
  client: KubeClient,
  desired: readonly KubeObject[],
  obj: KubeObject,
  cached: ApiObject | undefined,
): Promise<ApplyDecision> {
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const hpa = autoscalerOf(desired, obj);
  if (spec.replicas !== undefined || !hpa) return { action: 'apply', object: obj };
  const type = resourceTypeFor(obj.apiVersion, obj.kind);
  const live = cached ? await client.getOrNull(type, obj.metadata.namespace, obj.metadata.name) : null;
  if (!live) {
    const minReplicas = (hpa.spec as { minReplicas?: number } | undefined)?.minReplicas ?? 1;
    return { action: 'apply', object: { ...obj, spec: { ...spec, replicas: minReplicas } } };
  }
  if (!weOwnReplicas(live)) return { action: 'apply', object: obj };
  const replicas = (live.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  try {
    await client.apply(
      {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
        spec: { replicas },
      },
      false,
      HANDOVER_FIELD_MANAGER,
    );
  } catch (err) {
    // A conflict means another manager (the HPA) owns replicas with another value: it is already handed over.
    if (!isConflict(err)) throw err;
    return { action: 'apply', object: obj };
  }
  return { action: 'apply', object: obj, writes: 1 };
}
