import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import type { FlashSaleStack } from '../../src/api/types.js';
import { judgeSafety, type SafetyInput } from '../../src/sales/safety.js';

const now = new Date('2026-12-24T19:55:00Z');
const healthy = { healthy: true, checkedAt: now.toISOString() };

function safeInput(): SafetyInput {
  const stack: FlashSaleStack = {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name: 'shop', namespace: 'default' },
    spec: {},
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'AllReady',
          message: '',
          lastTransitionTime: now.toISOString(),
        },
      ],
      health: {
        postgres: healthy,
        redis: { ...healthy, maxmemoryPolicy: 'noeviction', aofEnabled: true },
        rabbitmq: { ...healthy, queues: [{ name: 'order_queue', exists: true, depth: 3 }] },
      },
      lastSuccessfulBackup: { completedAt: '2026-12-24T03:00:00Z', succeeded: true },
    },
  };
  return {
    stack,
    resolved: applyDefaults(stack),
    workloads: {
      api: { desired: 4, ready: 4 },
      consumer: { desired: 4, ready: 4 },
      nginx: { desired: 1, ready: 1 },
    },
    floor: { apiReplicas: 4, consumerReplicas: 4, nginxReplicas: 1 },
    now,
  };
}

describe('SafeToStart', () => {
  it('is True when all six checks pass', () => {
    const v = judgeSafety(safeInput());
    expect(v.failures).toEqual([]);
    expect(v.condition).toMatchObject({ type: 'SafeToStart', status: 'True', reason: 'AllChecksPassed' });
  });

  it('names an unhealthy component with its check number', () => {
    const input = safeInput();
    input.stack!.status!.health!.redis = {
      healthy: false,
      checkedAt: now.toISOString(),
      reason: 'Unreachable',
      message: 'connect ECONNREFUSED',
    };
    const v = judgeSafety(input);
    expect(v.safe).toBe(false);
    expect(v.condition.message).toBe(
      '2. components healthy: redis unhealthy (Unreachable: connect ECONNREFUSED)',
    );
  });

  it('refuses an evicting or non-persistent inventory Redis as measured by the probe', () => {
    const input = safeInput();
    input.stack!.status!.health!.redis = { ...healthy, maxmemoryPolicy: 'allkeys-lru', aofEnabled: false };
    expect(judgeSafety(input).failures).toEqual([
      '3. inventory Redis safe: maxmemory-policy allkeys-lru may evict stock (use noeviction), persistence (appendonly) is off',
    ]);
  });

  it('wants a successful backup from the last 25 hours', () => {
    const input = safeInput();
    input.stack!.status!.lastSuccessfulBackup = { completedAt: '2026-12-23T12:00:00Z', succeeded: true };
    expect(judgeSafety(input).failures[0]).toMatch(
      /^4\. recent good backup: the last successful backup finished at 2026-12-23T12:00:00Z/,
    );
    delete input.stack!.status!.lastSuccessfulBackup;
    expect(judgeSafety(input).failures).toEqual(['4. recent good backup: no successful backup yet']);
  });

  it('counts planned replicas that are not ready yet, and a floor above the autoscaler maximum', () => {
    const input = safeInput();
    input.workloads.api = { desired: 4, ready: 2 };
    input.floor = { ...input.floor, apiReplicas: 12 };
    input.resolved!.spec.api.autoscaling.enabled = true;
    expect(judgeSafety(input).failures).toEqual([
      '5. planned replicas ready: api: 2/12 planned replicas ready, api: 12 planned but spec.api.autoscaling.maxReplicas is 10',
    ]);
  });

  it('names a deep queue and a stack that is not Ready, each with its number', () => {
    const input = safeInput();
    input.stack!.status!.conditions![0] = {
      ...input.stack!.status!.conditions![0]!,
      status: 'False',
      message: 'api 1/2 ready',
    };
    input.stack!.status!.health!.rabbitmq = {
      ...healthy,
      queues: [{ name: 'order_queue', exists: true, depth: 20_000 }],
    };
    expect(judgeSafety(input).failures).toEqual([
      '1. stack ready: Ready is False (api 1/2 ready)',
      '6. queue backlog low: order_queue has 20000 messages (threshold 10000)',
    ]);
  });

  it('treats unmeasured health as not safe, and a missing stack as check 1', () => {
    const input = safeInput();
    input.stack!.status!.health = {};
    expect(judgeSafety(input).failures).toContain(
      '2. components healthy: health is not measured (probes disabled or not run yet)',
    );
    expect(judgeSafety({ ...input, stack: undefined, resolved: undefined }).condition.message).toBe(
      '1. stack ready: the FlashSaleStack does not exist',
    );
  });
});
