/**
 * The SafeToStart condition of a sale, judged from what the operator already knows about its stack: the
 * stack's status (Ready, the health probes' results, the last good backup), its resolved spec (the inventory
 * Redis policy) and the live replicas against the planned floor. Pure. Each failing check is named in the
 * message with its number, so on-call reads "SafeToStart=False: 2. redis unhealthy (...)".
 */
import type { ComponentHealth, ComponentName, FlashSaleStack, ResolvedFlashSaleStack } from '../api/types.js';
import type { ConditionInput } from '../controller/conditions.js';
import type { CapacityFloor } from './capacity.js';

/** A "recent" backup: a daily schedule plus an hour of slack. */
export const RECENT_BACKUP_MS = 25 * 3_600_000;

export const SAFETY_CHECKS = [
  'stack ready',
  'components healthy',
  'inventory Redis safe',
  'recent good backup',
  'planned replicas ready',
  'queue backlog low',
] as const;

export interface WorkloadReplicas {
  desired: number;
  ready: number;
}

export interface SafetyInput {
  stack: FlashSaleStack | undefined;
  /** The stack with defaults applied; undefined when the stack is missing or its spec is invalid. */
  resolved: ResolvedFlashSaleStack | undefined;
  /** Live Deployments of the scaled components (undefined: not found). */
  workloads: { api?: WorkloadReplicas; consumer?: WorkloadReplicas; nginx?: WorkloadReplicas };
  /** The floor of every sale holding capacity on the stack. */
  floor: CapacityFloor;
  now: Date;
}

export interface SafetyVerdict {
  safe: boolean;
  /** "1. stack ready: ...; 4. recent good backup: ..." — empty when safe. */
  failures: string[];
  condition: ConditionInput;
}

export function judgeSafety(input: SafetyInput): SafetyVerdict {
  const failures: string[] = [];
  const fail = (n: number, why: string) => failures.push(`${n}. ${SAFETY_CHECKS[n - 1]}: ${why}`);
  const { stack, resolved } = input;
  if (!stack || !resolved) {
    fail(
      1,
      stack
        ? `FlashSaleStack ${stack.metadata.name} has an invalid spec`
        : 'the FlashSaleStack does not exist',
    );
    return verdict(failures);
  }
  const status = stack.status ?? {};
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True')
    fail(1, `Ready is ${ready?.status ?? 'Unknown'}${ready?.message ? ` (${ready.message})` : ''}`);

  const health = status.health ?? {};
  const measured = Object.entries(health) as [ComponentName, ComponentHealth][];
  if (measured.length === 0) {
    fail(2, 'health is not measured (probes disabled or not run yet)');
  } else {
    const bad = measured.filter(([, h]) => !h.healthy);
    if (bad.length > 0)
      fail(
        2,
        bad
          .map(([c, h]) => `${c} unhealthy (${h.reason ?? 'Unhealthy'}${h.message ? `: ${h.message}` : ''})`)
          .join(', '),
      );
  }

  const redis = resolved.spec.redis;
  const policy = (health.redis?.maxmemoryPolicy as string | undefined) ?? redis.maxmemoryPolicy;
  const aof = (health.redis?.aofEnabled as boolean | undefined) ?? redis.appendonly;
  const redisProblems: string[] = [];
  if (policy !== 'noeviction' && !policy.startsWith('volatile-'))
    redisProblems.push(`maxmemory-policy ${policy} may evict stock (use noeviction)`);
  if (!aof) redisProblems.push('persistence (appendonly) is off');
  if (redisProblems.length > 0) fail(3, redisProblems.join(', '));

  const backup = status.lastSuccessfulBackup?.completedAt;
  if (!resolved.spec.backup.enabled) fail(4, 'backups are disabled (spec.backup.enabled)');
  else if (!backup) fail(4, 'no successful backup yet');
  else if (input.now.getTime() - Date.parse(backup) > RECENT_BACKUP_MS)
    fail(4, `the last successful backup finished at ${backup}, more than 25h ago`);

  const short: string[] = [];
  const plan: [string, WorkloadReplicas | undefined, number][] = [
    ['api', input.workloads.api, input.floor.apiReplicas],
    ['consumer', input.workloads.consumer, input.floor.consumerReplicas],
    ['nginx', input.workloads.nginx, input.floor.nginxReplicas],
  ];
  for (const [name, w, planned] of plan) {
    if (!w) short.push(`${name}: no Deployment`);
    else if (w.ready < planned) short.push(`${name}: ${w.ready}/${planned} planned replicas ready`);
  }
  const autoscaling = resolved.spec.api.autoscaling;
  if (autoscaling.enabled && input.floor.apiReplicas > autoscaling.maxReplicas)
    short.push(
      `api: ${input.floor.apiReplicas} planned but spec.api.autoscaling.maxReplicas is ${autoscaling.maxReplicas}`,
    );
  if (short.length > 0) fail(5, short.join(', '));

  const queues = health.rabbitmq?.queues as { name: string; depth?: number }[] | undefined;
  const max = resolved.spec.monitoring.thresholds.queueDepthMax;
  if (!queues) fail(6, 'queue depths are not measured');
  else {
    const deep = queues.filter((q) => (q.depth ?? 0) > max);
    if (deep.length > 0)
      fail(6, deep.map((q) => `${q.name} has ${q.depth} messages (threshold ${max})`).join(', '));
  }
  return verdict(failures);
}

function verdict(failures: string[]): SafetyVerdict {
  const safe = failures.length === 0;
  return {
    safe,
    failures,
    condition: {
      type: 'SafeToStart',
      status: safe ? 'True' : 'False',
      reason: safe ? 'AllChecksPassed' : 'ChecksFailed',
      message: safe ? `all ${SAFETY_CHECKS.length} checks passed` : failures.join('; '),
    },
  };
}
