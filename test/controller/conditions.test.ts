import { describe, expect, it } from 'vitest';
import { conditionsEqual, mergeConditions } from '../../src/controller/conditions.js';

describe('conditions follow the Kubernetes API conventions', () => {
  const t0 = '2026-01-01T00:00:00.000Z';
  const t1 = '2026-01-01T00:05:00.000Z';

  it('keeps lastTransitionTime when only reason or message change', () => {
    const first = mergeConditions([], [{ type: 'Ready', status: 'False', reason: 'A', message: 'a' }], 1, t0);
    const second = mergeConditions(
      first,
      [{ type: 'Ready', status: 'False', reason: 'B', message: 'b' }],
      2,
      t1,
    );
    expect(second[0]).toMatchObject({ reason: 'B', lastTransitionTime: t0, observedGeneration: 2 });
  });

  it('moves lastTransitionTime when the status flips', () => {
    const first = mergeConditions([], [{ type: 'Ready', status: 'False', reason: 'A', message: 'a' }], 1, t0);
    const second = mergeConditions(
      first,
      [{ type: 'Ready', status: 'True', reason: 'Ok', message: 'ok' }],
      1,
      t1,
    );
    expect(second[0]!.lastTransitionTime).toBe(t1);
  });

  it('orders Ready first and keeps conditions it did not compute', () => {
    const prev = mergeConditions(
      [],
      [{ type: 'RedisHealthy', status: 'True', reason: 'Healthy', message: '' }],
      1,
      t0,
    );
    const next = mergeConditions(
      prev,
      [
        { type: 'PostgresReady', status: 'True', reason: 'Available', message: '' },
        { type: 'Ready', status: 'True', reason: 'AllComponentsReady', message: '' },
      ],
      1,
      t1,
    );
    expect(next.map((c) => c.type)).toEqual(['Ready', 'PostgresReady', 'RedisHealthy']);
  });

  it('compares lists ignoring transition times', () => {
    const a = mergeConditions([], [{ type: 'Ready', status: 'True', reason: 'R', message: 'm' }], 1, t0);
    const b = mergeConditions([], [{ type: 'Ready', status: 'True', reason: 'R', message: 'm' }], 1, t1);
    expect(conditionsEqual(a, b)).toBe(true);
    const c = mergeConditions([], [{ type: 'Ready', status: 'True', reason: 'R', message: 'other' }], 1, t1);
    expect(conditionsEqual(a, c)).toBe(false);
  });
});
