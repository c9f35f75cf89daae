/**
 * Status tells the truth: health not measured is Unknown (not "AllHealthy"), notices are not budget warnings,
 * a refusal is one Event however often it is retried, and the wide columns show what actually runs.
 */
import { describe, expect, it } from 'vitest';
import type { Condition, FlashSaleStackStatus } from '../../src/api/types.js';
import { configValidCondition } from '../../src/controller/status/config-valid.js';
import { degradedConditions, HEALTH_PROBES_DISABLED } from '../../src/controller/status/degraded.js';
import { statusEvents } from '../../src/controller/status/events.js';
import { failureLine, progressingCondition } from '../../src/controller/status/progressing.js';
import { imageTag } from '../../src/controller/status/running.js';
import { condition, loadExample, useOperatorTestEnv, waitReady } from './harness.js';

const at = '2026-01-01T00:00:00Z';
const cond = (c: Omit<Condition, 'lastTransitionTime'>): Condition => ({ ...c, lastTransitionTime: at });

describe('status judgement', () => {
  it('health that is not measured is Unknown with a reason that says why', () => {
    const off = degradedConditions({ health: { state: 'disabled' }, allReady: true });
    expect(off.summary).toBe('Unknown');
    expect(off.conditions).toEqual([
      {
        type: 'Degraded',
        status: 'Unknown',
        reason: 'HealthProbesDisabled',
        message: HEALTH_PROBES_DISABLED,
      },
    ]);
    expect(HEALTH_PROBES_DISABLED).toMatch(/--no-health/);
    const pending = degradedConditions({ health: { state: 'pending' }, allReady: true });
    expect(pending.conditions[0]).toMatchObject({ status: 'Unknown', reason: 'AwaitingFirstProbe' });
    // A failing backup is known without probes: Degraded is True then.
    const backupBad = degradedConditions({
      health: { state: 'disabled' },
      allReady: true,
      backup: { type: 'BackupHealthy', status: 'False', reason: 'BackupFailed', message: 'x' },
    });
    expect(backupBad).toMatchObject({ degraded: true, summary: 'Degraded' });
  });

  it('a notice is not a budget warning and has its own reason', () => {
    const notice = { path: 'spec.monitoring.prometheusRule', message: 'no Prometheus Operator' };
    const warning = { path: 'spec.postgres.parameters.work_mem', message: 'too much' };
    expect(configValidCondition([], [notice])).toEqual({
      type: 'ConfigValid',
      status: 'True',
      reason: 'ValidWithNotices',
      message: 'Spec is valid. Notices: spec.monitoring.prometheusRule: no Prometheus Operator.',
    });
    expect(configValidCondition([warning], [notice]).message).toBe(
      'Spec is valid. Budget warnings: spec.postgres.parameters.work_mem: too much. Notices: spec.monitoring.prometheusRule: no Prometheus Operator.',
    );
    expect(configValidCondition([], []).reason).toBe('Valid');
  });

  it('records one ApplyFailed Event per distinct refusal, none for a retry that fails the same way', () => {
    const a = { object: 'StatefulSet/shop-redis', code: 422, reason: 'Invalid', message: 'spec: Forbidden' };
    const b = { object: 'ConfigMap/shop-nginx', code: 403, reason: 'Forbidden', message: 'no patch' };
    const statusWith = (...failed: (typeof a)[]): FlashSaleStackStatus => ({
      conditions: [cond({ ...progressingCondition({ notReady: [], failed, heldBack: [] }) })],
    });
    const first = statusEvents(undefined, statusWith(a));
    expect(first).toEqual([{ type: 'Warning', reason: 'ApplyFailed', message: failureLine(a) }]);
    expect(statusEvents(statusWith(a), statusWith(a))).toEqual([]);
    expect(statusEvents(statusWith(a), statusWith(a, b))).toEqual([
      { type: 'Warning', reason: 'ApplyFailed', message: failureLine(b) },
    ]);
  });

  it('reads image tags the way registries write references', () => {
    expect(imageTag('postgres:18.1-bookworm')).toBe('18.1-bookworm');
    expect(imageTag('registry.local:5000/team/redis:7.4.2')).toBe('7.4.2');
    expect(imageTag('registry.local:5000/team/redis')).toBe('latest');
    expect(imageTag(`nginx@sha256:${'ab'.repeat(32)}`)).toBe('sha256:abababababab');
  });
});

describe('status of a running stack with probes off (--no-health)', () => {
  const env = useOperatorTestEnv();

  it('says health is Unknown and why, and reports the versions and API replicas that run', async () => {
    await env.c.create(loadExample('minimal.yaml'));
    const stack = await waitReady(env.c);
    const status = stack.status as FlashSaleStackStatus;
    expect(condition(stack, 'Degraded')).toMatchObject({ status: 'Unknown', reason: 'HealthProbesDisabled' });
    expect(status.healthSummary).toBe('Unknown');
    expect(status.phase).toBe('Ready');
    expect(status.versions?.postgres).toMatch(/^18\./);
    expect(status.versions?.api).toBe('0.1.0');
    expect(status.apiReplicas).toBe('2/2');
    // The stand-in serves no Prometheus Operator: a notice, not a budget warning.
    expect(condition(stack, 'ConfigValid')).toMatchObject({ status: 'True', reason: 'ValidWithNotices' });
    expect(condition(stack, 'ConfigValid')!.message).not.toMatch(/budget/i);
  });
});
