import { describe, expect, it } from 'vitest';
import type { FlashSaleSpec, SalePhase } from '../../src/api/types.js';
import { desiredGate, msUntilNextBoundary, nextTransition, type PhaseFacts } from '../../src/sales/phases.js';

const spec: FlashSaleSpec = {
  stackName: 'shop',
  productId: 'sku-42',
  stock: 100,
  startsAt: '2026-12-24T20:00:00Z',
  endsAt: '2026-12-24T20:15:00Z',
  expectedPeakOrdersPerSecond: 1000,
  leadTime: '10m',
  coolDown: '5m',
  startPolicy: 'WaitUntilSafe',
};
const facts: PhaseFacts = { created: true, safe: true, unsafeBecause: '', pending: 0, reconciled: true };
const at = (hhmm: string) => new Date(`2026-12-24T${hhmm}:00Z`);
const step = (phase: SalePhase | undefined, now: string, f: Partial<PhaseFacts> = {}, s = spec) =>
  nextTransition(phase, s, at(now), { ...facts, ...f })?.to;

describe('FlashSale phase machine', () => {
  it('walks Scheduled → Prewarming at startsAt − leadTime → Live at startsAt → Draining at endsAt', () => {
    expect(step(undefined, '10:00')).toBe('Scheduled');
    expect(step('Scheduled', '19:49')).toBeUndefined();
    expect(step('Scheduled', '19:50')).toBe('Prewarming');
    expect(step('Prewarming', '19:59')).toBeUndefined();
    expect(step('Prewarming', '20:00')).toBe('Live');
    expect(step('Live', '20:14')).toBeUndefined();
    expect(step('Live', '20:15')).toBe('Draining');
  });

  it('drains until nothing is pending, then reconciles, and completes after the cool-down once reconciled', () => {
    expect(step('Draining', '20:16', { pending: 3 })).toBeUndefined();
    expect(step('Draining', '20:16', { pending: null })).toBeUndefined();
    expect(step('Draining', '20:16', { pending: 0 })).toBe('Reconciling');
    expect(step('Reconciling', '20:19')).toBeUndefined();
    expect(step('Reconciling', '20:20', { reconciled: false })).toBeUndefined();
    expect(step('Reconciling', '20:20')).toBe('Completed');
    expect(step('Completed', '23:00')).toBeUndefined();
  });

  it('does not open before the sale exists in the API', () => {
    expect(step('Prewarming', '20:01', { created: false })).toBeUndefined();
  });

  it('WaitUntilSafe keeps an unsafe sale closed; StartAnyway opens it with a Warning naming the checks', () => {
    const unsafe = { safe: false, unsafeBecause: '2. components healthy: redis unhealthy' };
    expect(step('Prewarming', '20:01', unsafe)).toBeUndefined();
    expect(step('Prewarming', '20:02', { ...unsafe, safe: true })).toBe('Live');
    const t = nextTransition('Prewarming', { ...spec, startPolicy: 'StartAnyway' }, at('20:00'), {
      ...facts,
      ...unsafe,
    });
    expect(t).toMatchObject({ to: 'Live', type: 'Warning', reason: 'StartedUnsafe', startedAnyway: true });
    expect(t?.message).toContain('2. components healthy: redis unhealthy');
  });

  it('a sale never safe during its window drains with a Warning instead of opening late', () => {
    const t = nextTransition('Prewarming', spec, at('20:15'), { ...facts, safe: false, unsafeBecause: 'x' });
    expect(t).toMatchObject({ to: 'Draining', type: 'Warning', reason: 'NeverOpened' });
  });

  it('keeps the gate suspended while prewarming, follows spec.suspend while live, closes it after', () => {
    expect(desiredGate('Scheduled', spec)).toBeUndefined();
    expect(desiredGate('Prewarming', spec)).toBe('suspended');
    expect(desiredGate('Live', spec)).toBe('open');
    expect(desiredGate('Live', { ...spec, suspend: true })).toBe('suspended');
    expect(desiredGate('Draining', spec)).toBe('closed');
    expect(desiredGate('Completed', spec)).toBe('closed');
  });

  it('says when the next time boundary of a phase comes', () => {
    expect(msUntilNextBoundary('Scheduled', spec, at('19:40'))).toBe(10 * 60_000);
    expect(msUntilNextBoundary('Live', spec, at('20:10'))).toBe(5 * 60_000);
    expect(msUntilNextBoundary('Reconciling', spec, at('20:16'))).toBe(4 * 60_000);
    expect(msUntilNextBoundary('Draining', spec, at('20:16'))).toBeUndefined();
    // Past its boundary without a transition (unsafe, waiting past startsAt): no immediate requeue loop.
    expect(msUntilNextBoundary('Prewarming', spec, at('20:01'))).toBeUndefined();
  });
});

describe('a drain that stalls', () => {
  it('moves on to Reconciling with a Warning when pending orders stop moving (lost, not queued)', () => {
    expect(step('Draining', '20:16', { pending: 1, drainStalled: false })).toBeUndefined();
    const t = nextTransition('Draining', spec, at('20:17'), { ...facts, pending: 1, drainStalled: true });
    expect(t).toMatchObject({ to: 'Reconciling', type: 'Warning', reason: 'DrainStalled' });
    expect(t?.message).toMatch(/^1 accepted orders are neither persisted nor rejected/);
  });
});
