/**
 * One reconcile of one FlashSale: gather facts (the stack from the cache, the sale and its counters from the
 * API service), run the side effects the current phase needs (capacity floor in status, create the sale in
 * the API suspended, open/suspend/close its gate, extend its end, read counters, reconcile), step the pure
 * phase machine (src/sales/phases.ts) one transition at a time, write `.status` once when it changed, then
 * one Event per transition.
 *
 * Everything the API service holds is keyed by the sale's externalId `<namespace>/<name>/<uid>` and every
 * call is idempotent, so a restart in any phase repeats at most a call, never a sale. The capacity floor is
 * recorded in status (status.capacity) and read from there by the stack reconcile, so it is raised once.
 */
import type { Problem } from '../api/problems.js';
import type {
  Condition,
  FlashSale,
  FlashSaleStack,
  FlashSaleStatus,
  ResolvedFlashSaleStack,
  SalePhase,
} from '../api/types.js';
import { mergeConditions, type ConditionInput } from '../controller/conditions.js';
import type { EventRecorder, EventType } from '../controller/events.js';
import type { ApiObject, KubeClient } from '../controller/kube-client.js';
import type { Logger } from '../controller/logger.js';
import { resourceTypeByKind } from '../controller/resources.js';
import { decodeSecretData, generatedSecretName, stackSecretsFrom } from '../controller/secrets.js';
import { mergePatchBetween } from '../controller/status/patch.js';
import type { StackSecrets } from '../render/common.js';
import { addFloors, holdsCapacity, NO_FLOOR, saleFloor, stackFloor, type CapacityFloor } from './capacity.js';
import type { SaleMetrics } from './metrics.js';
import { desiredGate, msUntilNextBoundary, nextTransition, type PhaseFacts } from './phases.js';
import { judgeSafety, type SafetyVerdict, type WorkloadReplicas } from './safety.js';
import { SaleApiError, type ApiSale, type ApiSaleCounters, type SaleApi } from './sale-api.js';
import { checkLiveChange, validateSale } from './validate.js';

/** The controller's time; tests drive it (no sleeping for hours). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface SaleCache {
  stack(namespace: string, name: string): FlashSaleStack | undefined;
  /** An owned object of a stack (Deployment, the generated Secret) from the informer cache. */
  object(kind: string, namespace: string, name: string): ApiObject | undefined;
  sales(): FlashSale[];
}

export interface SaleControllerDeps {
  client: KubeClient;
  cache: SaleCache;
  events: EventRecorder;
  log: Logger;
  clock: Clock;
  validateStack(doc: unknown): Problem[];
  applyDefaults(stack: FlashSaleStack): ResolvedFlashSaleStack;
  /** The API service of a stack, reached as the health probe reaches it (EndpointMapper), with its token. */
  saleApi(stack: ResolvedFlashSaleStack, secrets: StackSecrets): SaleApi;
  /** How often a Live or Draining sale's counters (and a Prewarming sale's safety) are refreshed. */
  refreshMs: number;
  /** Draining gives up waiting when the pending count has not moved for this long (default 60 s). */
  drainStallMs?: number;
  metrics?: SaleMetrics;
}

export interface SaleReconcileResult {
  writes: number;
  requeueAfterMs?: number;
}

const SALES = resourceTypeByKind('FlashSale');
export const DEFAULT_DRAIN_STALL_MS = 60_000;

/** More than the number of phases: one reconcile can catch up a sale the operator did not see for a while. */
const MAX_STEPS = 8;

interface Pending {
  type: EventType;
  reason: string;
  message: string;
}

export function externalIdOf(sale: FlashSale): string {
  return `${sale.metadata.namespace}/${sale.metadata.name}/${sale.metadata.uid ?? ''}`;
}

export class SaleController {
  /** Last counter sample per sale, for the order rate. */
  private readonly samples = new Map<string, { accepted: number; at: number }>();
  /** The pending count of a draining sale and since when (clock time) it has been that. */
  private readonly drains = new Map<string, { pending: number; since: number }>();
  /**
   * The sale as our last status write returned it, with the resourceVersion it replaced: a reconcile that
   * runs before the informer caught up uses it instead of the stale copy (no transition or Event twice).
   */
  private readonly written = new Map<string, { staleVersion: string | undefined; sale: FlashSale }>();

  constructor(private readonly deps: SaleControllerDeps) {}

  async reconcile(cached: FlashSale): Promise<SaleReconcileResult> {
    const key = `${cached.metadata.namespace}/${cached.metadata.name}`;
    const mine = this.written.get(key);
    const sale = mine && mine.staleVersion === cached.metadata.resourceVersion ? mine.sale : cached;
    if (sale === cached) this.written.delete(key);
    const before: FlashSaleStatus = sale.status ?? {};
    const status: FlashSaleStatus = structuredClone(before);
    const events: Pending[] = [];
    const conditions: ConditionInput[] = [];
    const now = this.deps.clock.now();
    let requeueAfterMs: number | undefined;

    const problems = validateSale(sale);
    if (problems.length > 0) {
      const message = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
      conditions.push({ type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message });
      if (conditionOf(before, 'SpecValid')?.status !== 'False')
        events.push({ type: 'Warning', reason: 'InvalidSpec', message });
      return this.settle(sale, before, status, conditions, events, now, undefined);
    }
    conditions.push({ type: 'SpecValid', status: 'True', reason: 'Valid', message: '' });

    const stack = this.deps.cache.stack(sale.metadata.namespace, sale.spec.stackName);
    const resolved =
      stack && this.deps.validateStack(stack).length === 0 ? this.deps.applyDefaults(stack) : undefined;
    let api: SaleApi | undefined;
    const apiOf = (): SaleApi => {
      if (api) return api;
      if (!resolved)
        throw new SaleStop(
          `FlashSaleStack ${sale.spec.stackName} ${stack ? 'has an invalid spec' : 'does not exist'} in ${sale.metadata.namespace}`,
        );
      const secrets = this.secrets(resolved);
      if (!secrets) throw new SaleStop(`the generated Secret of ${resolved.metadata.name} is not there yet`);
      api = this.deps.saleApi(resolved, secrets);
      return api;
    };

    let safety: SafetyVerdict | undefined;
    try {
      for (let step = 0; step < MAX_STEPS; step++) {
        const phase = status.phase;
        if (holdsCapacity(phase) && !status.capacity) {
          status.capacity = saleFloor(
            sale.spec.expectedPeakOrdersPerSecond,
            resolved?.spec.api.ordersPerSecondPerReplica ?? 2500,
          );
        }
        if (phase === 'Prewarming' || phase === 'Live') {
          await this.ensureCreated(sale, status, apiOf());
          safety = this.judge(sale, status, stack, resolved, now);
        }
        if (status.saleId && phase !== undefined && phase !== 'Scheduled') {
          await this.sideEffects(sale, status, phase, apiOf(), now, events);
        }
        const facts: PhaseFacts = {
          created: status.saleId !== undefined,
          safe: safety?.safe ?? false,
          unsafeBecause: safety?.failures.join('; ') ?? '',
          pending: status.pending ?? null,
          drainStalled: this.drainStalled(key, phase, status.pending, now),
          reconciled: status.result !== undefined,
        };
        const t = nextTransition(phase, sale.spec, now, facts);
        if (!t) break;
        status.phase = t.to;
        status.phaseSince = now.toISOString();
        if (t.startedAnyway) status.startedAnyway = true;
        events.push({ type: t.type, reason: t.reason, message: t.message });
      }
      conditions.push({ type: 'Synced', status: 'True', reason: 'Synced', message: '' });
    } catch (err) {
      if (!(err instanceof SaleStop) && !(err instanceof SaleApiError)) throw err;
      const reason = err instanceof SaleApiError ? 'SaleApiFailed' : 'Waiting';
      conditions.push({ type: 'Synced', status: 'False', reason, message: err.message });
      if (conditionOf(before, 'Synced')?.message !== err.message)
        events.push({ type: 'Warning', reason, message: err.message });
      requeueAfterMs = this.deps.refreshMs;
    }

    if (status.phase === 'Scheduled' || status.phase === undefined) {
      conditions.push({
        type: 'SafeToStart',
        status: 'Unknown',
        reason: 'NotYetEvaluated',
        message: 'evaluated from startsAt − leadTime',
      });
    } else if (safety && (status.phase === 'Prewarming' || status.phase === 'Live')) {
      conditions.push(safety.condition);
    }
    const safeStatus = safety?.condition.status ?? conditionOf(before, 'SafeToStart')?.status;
    status.safeToStart =
      status.phase === 'Scheduled' || status.phase === undefined ? 'Unknown' : (safeStatus ?? 'Unknown');
    if (status.result) conditions.push(reconciledCondition(status));

    const next = msUntilNextBoundary(status.phase, sale.spec, now);
    const polling =
      status.phase === 'Prewarming' ||
      status.phase === 'Live' ||
      status.phase === 'Draining' ||
      status.phase === 'Reconciling'
        ? this.deps.refreshMs
        : undefined;
    requeueAfterMs = minDefined(requeueAfterMs, next, polling);
    this.deps.log.debug('sale reconciled', { sale: key, phase: status.phase });
    return this.settle(sale, before, status, conditions, events, now, requeueAfterMs);
  }

  private drainStalled(
    key: string,
    phase: SalePhase | undefined,
    pending: number | undefined,
    now: Date,
  ): boolean {
    if (phase !== 'Draining' || pending === undefined) {
      this.drains.delete(key);
      return false;
    }
    const seen = this.drains.get(key);
    if (!seen || seen.pending !== pending) {
      this.drains.set(key, { pending, since: now.getTime() });
      return false;
    }
    return now.getTime() - seen.since >= (this.deps.drainStallMs ?? DEFAULT_DRAIN_STALL_MS);
  }

  /** Forgets what the controller keeps for a deleted sale (orders are never deleted). */
  forget(namespace: string, name: string, stack: string | undefined): void {
    this.samples.delete(`${namespace}/${name}`);
    this.written.delete(`${namespace}/${name}`);
    this.drains.delete(`${namespace}/${name}`);
    if (stack) this.deps.metrics?.forget(namespace, name, stack);
  }

  private async ensureCreated(sale: FlashSale, status: FlashSaleStatus, api: SaleApi): Promise<void> {
    if (status.saleId) return;
    const externalId = externalIdOf(sale);
    const { sale: created } = await api.createSale({
      externalId,
      productId: sale.spec.productId,
      ...(sale.spec.name ? { name: sale.spec.name } : {}),
      stock: sale.spec.stock,
      startsAt: new Date(sale.spec.startsAt).toISOString(),
      endsAt: new Date(sale.spec.endsAt).toISOString(),
    });
    status.saleId = created.id;
    status.externalId = externalId;
    status.stock = created.stock;
    status.gate = created.gate;
  }

  private async sideEffects(
    sale: FlashSale,
    status: FlashSaleStatus,
    phase: SalePhase,
    api: SaleApi,
    now: Date,
    events: Pending[],
  ): Promise<void> {
    const id = status.saleId as string;
    const gate = desiredGate(phase, sale.spec);
    if (phase === 'Live') {
      const current = await api.getSale(id);
      const refused = checkLiveChange(sale, current);
      if (refused.length === 0 && Date.parse(sale.spec.endsAt) > Date.parse(current.endsAt)) {
        const extended = await api.extendSale(id, new Date(sale.spec.endsAt).toISOString());
        events.push({
          type: 'Normal',
          reason: 'Extended',
          message: `the sale now ends at ${extended.endsAt}`,
        });
      }
      status.gate = current.gate;
    }
    if (gate && status.gate !== gate) {
      const moved = await this.moveGate(api, id, gate);
      if (phase === 'Live' && gate === 'suspended')
        events.push({
          type: 'Normal',
          reason: 'Suspended',
          message: 'spec.suspend: the gate is closed; orders answer sale_suspended',
        });
      else if (phase === 'Live' && gate === 'open' && sale.status?.phase === 'Live')
        events.push({ type: 'Normal', reason: 'Resumed', message: 'the gate is open again' });
      status.gate = moved.gate;
    }
    if (phase === 'Live' || phase === 'Draining' || (phase === 'Reconciling' && !status.result)) {
      this.applyCounters(sale, status, await api.counters(id), now);
    }
    if (phase === 'Reconciling' && !status.result) {
      const r = await api.reconciliation(id);
      status.result = {
        checkedAt: now.toISOString(),
        stock: r.stock,
        ...(r.soldInRedis !== null ? { soldInRedis: r.soldInRedis } : {}),
        ordersInDatabase: r.ordersInDatabase,
        duplicateBuyers: r.duplicateBuyers,
        consistent: r.consistent,
      };
      const c = reconciledCondition(status);
      events.push({ type: r.consistent ? 'Normal' : 'Warning', reason: c.reason, message: c.message });
    }
  }

  private moveGate(api: SaleApi, id: string, gate: 'open' | 'suspended' | 'closed'): Promise<ApiSale> {
    if (gate === 'open') return api.resumeSale(id);
    if (gate === 'suspended') return api.suspendSale(id);
    return api.closeSale(id);
  }

  private applyCounters(sale: FlashSale, status: FlashSaleStatus, c: ApiSaleCounters, now: Date): void {
    const key = `${sale.metadata.namespace}/${sale.metadata.name}`;
    status.stock = c.stock;
    if (c.accepted !== null) status.sold = c.accepted;
    if (c.remaining !== null) status.remaining = c.remaining;
    status.persisted = c.persisted;
    status.rejected = c.rejected;
    if (c.pending !== null) status.pending = c.pending;
    else delete status.pending;
    const accepted = c.accepted ?? 0;
    const prev = this.samples.get(key);
    this.samples.set(key, { accepted, at: now.getTime() });
    if (prev && now.getTime() > prev.at) {
      status.orderRate =
        Math.round(((accepted - prev.accepted) * 1000 * 10) / (now.getTime() - prev.at)) / 10;
    } else if (status.orderRate === undefined) {
      status.orderRate = 0;
    }
  }

  private judge(
    sale: FlashSale,
    status: FlashSaleStatus,
    stack: FlashSaleStack | undefined,
    resolved: ResolvedFlashSaleStack | undefined,
    now: Date,
  ): SafetyVerdict {
    const ns = sale.metadata.namespace;
    const others = this.deps.cache
      .sales()
      .filter((s) => !(s.metadata.namespace === ns && s.metadata.name === sale.metadata.name));
    let floor: CapacityFloor = stackFloor(others, ns, sale.spec.stackName) ?? NO_FLOOR;
    if (status.capacity) floor = addFloors(floor, { ...NO_FLOOR, ...status.capacity });
    const replicas = (component: string): WorkloadReplicas | undefined => {
      const d = this.deps.cache.object('Deployment', ns, `${sale.spec.stackName}-${component}`);
      if (!d) return undefined;
      const st = (d.status ?? {}) as { replicas?: number; readyReplicas?: number };
      return { desired: st.replicas ?? 0, ready: st.readyReplicas ?? 0 };
    };
    return judgeSafety({
      stack,
      resolved,
      workloads: { api: replicas('api'), consumer: replicas('consumer'), nginx: replicas('nginx') },
      floor,
      now,
    });
  }

  private secrets(stack: ResolvedFlashSaleStack): StackSecrets | undefined {
    const secret = this.deps.cache.object(
      'Secret',
      stack.metadata.namespace,
      generatedSecretName(stack.metadata.name),
    );
    return secret ? stackSecretsFrom(decodeSecretData(secret.data)) : undefined;
  }

  private async settle(
    sale: FlashSale,
    before: FlashSaleStatus,
    status: FlashSaleStatus,
    conditions: ConditionInput[],
    events: Pending[],
    now: Date,
    requeueAfterMs: number | undefined,
  ): Promise<SaleReconcileResult> {
    status.conditions = mergeConditions(
      before.conditions,
      conditions,
      sale.metadata.generation,
      now.toISOString(),
    );
    status.observedGeneration = sale.metadata.generation;
    let writes = 0;
    if (!sameStatus(before, status)) {
      const patch = { status: mergePatchBetween(before, status) };
      const after = await this.deps.client.mergePatch(
        SALES,
        sale.metadata.namespace,
        sale.metadata.name,
        patch,
        'status',
      );
      this.written.set(`${sale.metadata.namespace}/${sale.metadata.name}`, {
        staleVersion: sale.metadata.resourceVersion,
        sale: after as unknown as FlashSale,
      });
      writes++;
    }
    // After the status write: a write that failed is retried with the same transitions, and Events once.
    const obj = sale as unknown as ApiObject;
    for (const e of events) await this.deps.events.record(obj, e.type, e.reason, e.message);
    this.deps.metrics?.record(sale.metadata.namespace, sale.metadata.name, sale.spec.stackName, status);
    return { writes, ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}) };
  }
}

/** A fact the sale waits for (no stack yet, no Secret yet): visible in the Synced condition, retried. */
class SaleStop extends Error {}

function conditionOf(status: FlashSaleStatus, type: string): Condition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

function reconciledCondition(status: FlashSaleStatus): ConditionInput {
  const r = status.result!;
  const numbers = `sold in Redis ${r.soldInRedis ?? 'unknown (no inventory in Redis)'}, orders in PostgreSQL ${r.ordersInDatabase}, stock ${r.stock}, duplicate buyers ${r.duplicateBuyers}`;
  return r.consistent
    ? { type: 'Reconciled', status: 'True', reason: 'Consistent', message: numbers }
    : {
        type: 'Reconciled',
        status: 'False',
        reason: 'Mismatch',
        message: `Redis and PostgreSQL disagree: ${numbers}`,
      };
}

/** Equal but for lastTransitionTime of unchanged conditions (mergeConditions keeps those anyway). */
function sameStatus(a: FlashSaleStatus, b: FlashSaleStatus): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function minDefined(...values: (number | undefined)[]): number | undefined {
  const d = values.filter((v): v is number => v !== undefined);
  return d.length ? Math.min(...d) : undefined;
}
