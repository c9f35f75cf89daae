/**
 * Immutable storage fields, judged against volumes that already exist: a volume's storage class cannot change
 * and a volume cannot shrink; it may grow only when its StorageClass allows volume expansion. The CRD refuses
 * the same at admission (transition rules in src/api/schema.ts); this check also covers what admission cannot
 * see (an older CRD, sizes in other notations, volumes made by an earlier spec, the StorageClass itself).
 */
import type { Problem } from './problems.js';
import { parseQuantity } from './quantity.js';

/** What a volume was made with: a StatefulSet's claim template or the PersistentVolumeClaim itself. */
export interface ExistingVolume {
  /** Spec path of the settings that made it, e.g. `spec.postgres.storage`. */
  path: string;
  storageClassName: string | undefined;
  /** The largest size requested so far (template or claims). */
  size: string;
}

export interface WantedVolume {
  size: string;
  storageClassName?: string;
}

/**
 * Problems of turning `existing` into `wanted`. `unsetClassKeepsLive`: an unset class leaves the live claim's
 * class alone (a PVC applied without the field), as opposed to a StatefulSet template, where unset is a value.
 */
export function storageTransitionProblems(
  existing: ExistingVolume,
  wanted: WantedVolume,
  unsetClassKeepsLive = false,
): Problem[] {
  const problems: Problem[] = [];
  const from = existing.storageClassName;
  const to = wanted.storageClassName;
  if (from !== to && !(to === undefined && unsetClassKeepsLive)) {
    const was = from === undefined ? 'the cluster default class (no storageClassName)' : `"${from}"`;
    const fix = from === undefined ? 'remove storageClassName' : `set it back to "${from}"`;
    problems.push({
      path: `${existing.path}.storageClassName`,
      message: `${to === undefined ? 'is unset' : `is "${to}"`} but the existing volumes use ${was}; a PersistentVolumeClaim's storage class is immutable: ${fix}, or create a new stack and restore a backup into it`,
    });
  }
  const have = parseQuantity(existing.size);
  const want = parseQuantity(wanted.size);
  if (have !== undefined && want !== undefined && want < have) {
    problems.push({
      path: `${existing.path}.size`,
      message: `is ${wanted.size} but the existing volumes have ${existing.size}; a volume can only grow: set at least ${existing.size}`,
    });
  }
  return problems;
}

/** True when `wanted` asks for more than `existing` has. */
export function grows(existing: { size: string }, wanted: { size: string }): boolean {
  const have = parseQuantity(existing.size);
  const want = parseQuantity(wanted.size);
  return have !== undefined && want !== undefined && want > have;
}

/** The refusal when growing needs an expansion the StorageClass does not allow (or that cannot be checked). */
export function expansionRefused(path: string, size: string, why: string): Problem {
  return {
    path: `${path}.size`,
    message: `cannot grow the volumes to ${size}: ${why}; nothing was changed: keep the old size, or allow expansion on the StorageClass (allowVolumeExpansion: true) first`,
  };
}
