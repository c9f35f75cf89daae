/**
 * Conditions per the Kubernetes API conventions: one entry per type; `lastTransitionTime` changes only when
 * `status` changes; `observedGeneration` records the generation the condition was computed from.
 */
import type { Condition, ConditionStatus } from '../api/types.js';

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Merges `next` into `previous`, keeping each type's lastTransitionTime unless its status flips. */
export function mergeConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number | undefined,
  now: string,
): Condition[] {
  const byType = new Map((previous ?? []).map((c) => [c.type, c]));
  const out: Condition[] = [];
  for (const c of next) {
    const old = byType.get(c.type);
    out.push({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    });
    byType.delete(c.type);
  }
  // Conditions this round did not compute (e.g. health, set by the probe loop) are kept as they were.
  for (const old of byType.values()) out.push(old);
  return out.sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type) || a.type.localeCompare(b.type));
}

const ORDER = ['Ready', 'ConfigValid', 'Progressing', 'Degraded', 'BackupHealthy'];

function conditionOrder(type: string): number {
  const i = ORDER.indexOf(type);
  if (i >= 0) return i;
  return type.endsWith('Ready') ? 10 : type.endsWith('Healthy') ? 20 : 30;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the two condition lists agree in everything but lastTransitionTime. */
export function conditionsEqual(
  a: readonly Condition[] | undefined,
  b: readonly Condition[] | undefined,
): boolean {
  const strip = (cs: readonly Condition[] | undefined) =>
    JSON.stringify((cs ?? []).map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration]));
  return strip(a) === strip(b);
}
