/**
 * The stack's `.status`, judged from what the reconcile saw: one small module per concern (components, apply
 * and rollout progress, health, readiness, what runs), composed here. Pure: no IO, the clock comes in.
 */
import type { Problem } from '../../api/problems.js';
import type { FlashSaleStack, FlashSaleStackStatus, ResolvedFlashSaleStack } from '../../api/types.js';
import type { ApplyFailure } from '../apply.js';
import type { ConditionInput } from '../conditions.js';
import { mergeConditions } from '../conditions.js';
import type { BackupStatusResult } from '../reconciler.js';
import {
  componentConditions,
  componentStatuses,
  notReadyComponents,
  type LiveWorkloads,
} from './components.js';
import { configInvalidCondition, configValidCondition } from './config-valid.js';
import { degradedConditions, type HealthView } from './degraded.js';
import { progressingCondition, type Activity } from './progressing.js';
import { phaseOf, readyCondition } from './ready.js';
import { apiReplicas, runningVersions } from './running.js';

export type { Activity } from './progressing.js';
export type { HealthView } from './degraded.js';
export type { LiveWorkloads } from './components.js';

export interface StackStatusInput {
  stack: FlashSaleStack;
  resolved: ResolvedFlashSaleStack;
  live: LiveWorkloads;
  warnings: readonly Problem[];
  notices: readonly Problem[];
  failed: readonly ApplyFailure[];
  heldBack: readonly { object: string; waitsFor: string }[];
  /** False while part of the spec is still to be applied (a StatefulSet being replaced): keeps observedGeneration. */
  fullyApplied: boolean;
  activity?: Activity;
  backup?: BackupStatusResult;
  health: HealthView;
  now: Date;
}

/**
 * `status.observedGeneration` names the generation whose spec is fully applied: it does not advance past a
 * spec the API server refused (or that is still being applied), so GitOps tools see the change is not done.
 */
function observedGeneration(stack: FlashSaleStack, fullyApplied: boolean): number | undefined {
  return fullyApplied ? stack.metadata.generation : stack.status?.observedGeneration;
}

function merged(stack: FlashSaleStack, conds: ConditionInput[], now: Date, keepOthers: boolean) {
  const previous = keepOthers
    ? stack.status?.conditions
    : stack.status?.conditions?.filter((c) => conds.some((n) => n.type === c.type));
  return mergeConditions(previous, conds, stack.metadata.generation, now.toISOString());
}

export function stackStatus(input: StackStatusInput): FlashSaleStackStatus {
  const { stack, resolved } = input;
  const components = componentStatuses(resolved, input.live);
  const names = Object.keys(components) as (keyof typeof components)[];
  const notReady = notReadyComponents(components);
  const health = degradedConditions({
    health: input.health,
    allReady: notReady.length === 0,
    backup: input.backup?.condition,
  });
  const verdict = { components: names, notReady, failed: input.failed, degraded: health.degraded };
  const conds: ConditionInput[] = [
    readyCondition(verdict),
    configValidCondition(input.warnings, input.notices),
    ...componentConditions(components),
    progressingCondition({
      notReady,
      failed: input.failed,
      heldBack: input.heldBack,
      activity: input.activity,
    }),
    ...(input.backup ? [input.backup.condition] : []),
    ...health.conditions,
  ];
  const nginx = components.nginx;
  const versions = runningVersions(input.live);
  const replicas = apiReplicas(input.live);
  const fullyApplied = input.fullyApplied && input.failed.length === 0 && input.heldBack.length === 0;
  const generation = observedGeneration(stack, fullyApplied);
  return {
    phase: phaseOf(verdict),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: merged(stack, conds, input.now, false),
    components,
    ...(input.health.state === 'measured' ? { health: input.health.snapshot.health } : {}),
    ...(input.backup?.lastBackup ? { lastBackup: input.backup.lastBackup } : {}),
    ...(input.backup?.lastSuccessfulBackup
      ? { lastSuccessfulBackup: input.backup.lastSuccessfulBackup }
      : {}),
    ...(input.backup?.lastBaseBackup ? { lastBaseBackup: input.backup.lastBaseBackup } : {}),
    ...(input.backup?.lastSuccessfulBaseBackup
      ? { lastSuccessfulBaseBackup: input.backup.lastSuccessfulBaseBackup }
      : {}),
    ...(nginx?.endpoint
      ? {
          endpoints: {
            http: `http://${nginx.endpoint}`,
            ...(resolved.spec.nginx.tls ? { https: `https://${nginx.endpoint}` } : {}),
          },
        }
      : {}),
    readyComponents: `${names.length - notReady.length}/${names.length}`,
    healthSummary: health.summary,
    ...(Object.keys(versions).length > 0 ? { versions } : {}),
    ...(replicas ? { apiReplicas: replicas } : {}),
  };
}

export function pausedStatus(stack: FlashSaleStack, now: Date): FlashSaleStackStatus {
  return {
    ...stack.status,
    phase: 'Paused',
    observedGeneration: stack.metadata.generation,
    conditions: merged(
      stack,
      [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'Paused',
          message: 'spec.paused is true: the operator changes nothing until it is set to false.',
        },
      ],
      now,
      true,
    ),
  };
}

/**
 * The spec, or a change of it, is refused before anything is applied (ConfigValid=False, phase Failed);
 * observedGeneration stays at the last spec that was applied.
 */
export function refusedStatus(
  stack: FlashSaleStack,
  reason: string,
  problems: readonly Problem[],
  now: Date,
): FlashSaleStackStatus {
  const generation = observedGeneration(stack, false);
  return {
    ...stack.status,
    phase: 'Failed',
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: merged(
      stack,
      [
        configInvalidCondition(reason, problems),
        {
          type: 'Ready',
          status: 'False',
          reason,
          message: 'The spec cannot be applied; nothing was changed. See ConfigValid.',
        },
      ],
      now,
      true,
    ),
  };
}

/** Waiting for something the user must provide (e.g. a credentials Secret): Progressing=False with why. */
export function waitingStatus(
  stack: FlashSaleStack,
  reason: string,
  message: string,
  now: Date,
): FlashSaleStackStatus {
  return {
    ...stack.status,
    phase: 'Progressing',
    observedGeneration: stack.metadata.generation,
    conditions: merged(stack, [{ type: 'Progressing', status: 'False', reason, message }], now, true),
  };
}
