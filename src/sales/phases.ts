/**
 * The phase machine of a FlashSale, pure: (spec, phase, now, facts) → the next transition, the gate the API
 * sale should have, and when to look again. The controller (src/sales/controller.ts) gathers the facts, runs
 * the side effects and applies one transition at a time, so a restart in any phase resumes where it was and
 * each transition gets its one Event.
 *
 *   Scheduled ─(startsAt − leadTime)→ Prewarming ─(startsAt, created, safe or StartAnyway)→ Live
 *     ─(endsAt)→ Draining ─(nothing pending)→ Reconciling ─(reconciled, endsAt + coolDown)→ Completed
 */
import { parseDuration } from '../api/formats.js';
import type { FlashSaleSpec, SalePhase } from '../api/types.js';
import type { EventType } from '../controller/events.js';

export const DEFAULT_LEAD_TIME = '10m';
export const DEFAULT_COOL_DOWN = '10m';

export interface SaleTimes {
  prewarmAt: number;
  startsAt: number;
  endsAt: number;
  /** endsAt + coolDown: the capacity is kept at least until then. */
  releaseAt: number;
}

export function saleTimes(spec: FlashSaleSpec): SaleTimes {
  const startsAt = Date.parse(spec.startsAt);
  const endsAt = Date.parse(spec.endsAt);
  const lead = parseDuration(spec.leadTime ?? DEFAULT_LEAD_TIME) ?? 0;
  const coolDown = parseDuration(spec.coolDown ?? DEFAULT_COOL_DOWN) ?? 0;
  return { prewarmAt: startsAt - lead, startsAt, endsAt, releaseAt: endsAt + coolDown };
}

/** What the controller knows when it asks for the next transition. */
export interface PhaseFacts {
  /** The sale exists in the API (status.saleId). */
  created: boolean;
  /** SafeToStart is True. */
  safe: boolean;
  /** The failing SafeToStart checks, for the messages. */
  unsafeBecause: string;
  /** Accepted orders not yet persisted or rejected; null when unknown. */
  pending: number | null;
  /** `pending` has not moved for the drain stall time: those orders are lost, not queued. */
  drainStalled?: boolean;
  /** status.result is filled in. */
  reconciled: boolean;
}

export interface Transition {
  to: SalePhase;
  type: EventType;
  reason: string;
  message: string;
  /** The gate was opened while SafeToStart was False. */
  startedAnyway?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The next transition from `phase` at `now`, or undefined when the sale stays where it is. */
export function nextTransition(
  phase: SalePhase | undefined,
  spec: FlashSaleSpec,
  now: Date,
  facts: PhaseFacts,
): Transition | undefined {
  const t = saleTimes(spec);
  const at = now.getTime();
  switch (phase) {
    case undefined:
      return {
        to: 'Scheduled',
        type: 'Normal',
        reason: 'Scheduled',
        message: `the stack is scaled up at ${iso(t.prewarmAt)}; the gate opens at ${iso(t.startsAt)} and closes at ${iso(t.endsAt)}`,
      };
    case 'Scheduled':
      if (at < t.prewarmAt) return undefined;
      return {
        to: 'Prewarming',
        type: 'Normal',
        reason: 'Prewarming',
        message: `scaling ${spec.stackName} up for ${spec.expectedPeakOrdersPerSecond} orders/s and loading ${spec.stock} units before ${iso(t.startsAt)}`,
      };
    case 'Prewarming':
      if (at >= t.endsAt && !facts.created) return undefined;
      if (at < t.startsAt || !facts.created) return undefined;
      if (at >= t.endsAt) {
        return {
          to: 'Draining',
          type: 'Warning',
          reason: 'NeverOpened',
          message: `the window ended at ${iso(t.endsAt)} without the gate opening: ${facts.unsafeBecause}`,
        };
      }
      if (facts.safe)
        return {
          to: 'Live',
          type: 'Normal',
          reason: 'Live',
          message: `the gate is open until ${iso(t.endsAt)}`,
        };
      if (spec.startPolicy === 'StartAnyway') {
        return {
          to: 'Live',
          type: 'Warning',
          reason: 'StartedUnsafe',
          message: `the gate is open although the sale is not safe to start (startPolicy StartAnyway): ${facts.unsafeBecause}`,
          startedAnyway: true,
        };
      }
      return undefined;
    case 'Live':
      if (at < t.endsAt) return undefined;
      return {
        to: 'Draining',
        type: 'Normal',
        reason: 'Draining',
        message: `the gate closed at ${iso(t.endsAt)}; waiting until every accepted order is persisted`,
      };
    case 'Draining':
      if (facts.pending !== 0 && facts.drainStalled && facts.pending !== null) {
        return {
          to: 'Reconciling',
          type: 'Warning',
          reason: 'DrainStalled',
          message: `${facts.pending} accepted orders are neither persisted nor rejected and the number has not moved; checking Redis against PostgreSQL as they are`,
        };
      }
      if (facts.pending !== 0) return undefined;
      return {
        to: 'Reconciling',
        type: 'Normal',
        reason: 'Reconciling',
        message: 'every accepted order is persisted or rejected; checking Redis against PostgreSQL',
      };
    case 'Reconciling':
      if (!facts.reconciled || at < t.releaseAt) return undefined;
      return {
        to: 'Completed',
        type: 'Normal',
        reason: 'Completed',
        message: `the cool-down ended at ${iso(t.releaseAt)}; the capacity floor of this sale is released`,
      };
    case 'Completed':
      return undefined;
  }
}

/** The gate the API sale should have in a phase; undefined before the sale exists. */
export function desiredGate(
  phase: SalePhase | undefined,
  spec: FlashSaleSpec,
): 'open' | 'suspended' | 'closed' | undefined {
  switch (phase) {
    case undefined:
    case 'Scheduled':
      return undefined;
    // Created suspended: the window in Redis opens at startsAt by itself, the gate only when the operator says so.
    case 'Prewarming':
      return 'suspended';
    case 'Live':
      return spec.suspend ? 'suspended' : 'open';
    default:
      return 'closed';
  }
}

/** Milliseconds until the next time boundary of the phase (undefined: none, only events move it on). */
export function msUntilNextBoundary(
  phase: SalePhase | undefined,
  spec: FlashSaleSpec,
  now: Date,
): number | undefined {
  const t = saleTimes(spec);
  const next: Partial<Record<SalePhase, number>> = {
    Scheduled: t.prewarmAt,
    Prewarming: t.startsAt,
    Live: t.endsAt,
    Reconciling: t.releaseAt,
  };
  const at = phase ? next[phase] : undefined;
  // A boundary already passed without a transition (an unsafe sale waiting past startsAt, a reconciliation
  // not read yet) is no reason to look again at once: the refresh interval polls those phases.
  return at === undefined || at <= now.getTime() ? undefined : at - now.getTime();
}
