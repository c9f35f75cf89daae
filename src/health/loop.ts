import type { Registry } from 'prom-client';
import type { HealthThresholds } from '../api/types.js';
import { parseDurationMs } from './duration.js';
import { materiallyChanged } from './material.js';
import { HealthMetrics } from './metrics.js';
import { DEFAULT_PROBE_TIMEOUT_MS, StackProbeSession } from './session.js';
import type {
  HealthComponent,
  HealthReport,
  HealthResults,
  ProbeTargetsResolver,
  ResolvedThresholds,
} from './types.js';
import { resolveThresholds } from './types.js';
import { errorMessage } from './util.js';

export const DEFAULT_PROBE_INTERVAL_MS = 30_000;

export type OnHealthReport = (stackKey: string, report: HealthReport, changedMaterially: boolean) => unknown;

export interface HealthProbeLoopOptions {
  onReport: OnHealthReport;
  /** Stacks probed at the same time (default 4). */
  concurrency?: number;
  defaultIntervalMs?: number;
  /** Default per-probe timeout (default 5 s); `upsert` may override per stack. */
  timeoutMs?: number;
  /** Interval jitter as a fraction: each wait is interval × (1 ± jitter). Default 0.1. */
  jitter?: number;
  /** Export probe gauges on this registry (or pass ready-made `metrics`). */
  registry?: Registry;
  metrics?: HealthMetrics;
  /** Called when onReport itself throws (the loop carries on). */
  onError?: (stackKey: string, err: unknown) => void;
  random?: () => number;
  now?: () => Date;
}

interface StackEntry {
  key: string;
  resolver: ProbeTargetsResolver;
  intervalMs: number;
  timeoutMs: number;
  thresholds: ResolvedThresholds;
  session: StackProbeSession;
  timer?: NodeJS.Timeout;
  queued: boolean;
  running?: Promise<HealthReport>;
  /** The last report (deltas are computed against it). */
  last?: HealthReport;
  /** The last report that was announced as a material change (what status shows). */
  lastMaterial?: HealthReport;
  removed: boolean;
}

const FALLBACK_COMPONENTS: HealthComponent[] = ['postgres', 'redis', 'rabbitmq'];

/**
 * Probes every registered stack on its own interval (with jitter), at most `concurrency` stacks at once,
 * independently of reconciles. Nothing thrown by a resolver, a probe or `onReport` escapes: a failing resolver
 * becomes a `ProbeError` result. Timers are unref'd: the loop never keeps a process alive by itself.
 */
export class HealthProbeLoop {
  private readonly stacks = new Map<string, StackEntry>();
  private readonly waiting: StackEntry[] = [];
  private active = 0;
  private stopped = false;
  readonly metrics?: HealthMetrics;
  private readonly concurrency: number;
  private readonly defaultIntervalMs: number;
  private readonly defaultTimeoutMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private readonly now: () => Date;

  constructor(private readonly options: HealthProbeLoopOptions) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.defaultIntervalMs = options.defaultIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.defaultTimeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
    this.jitter = Math.min(0.5, Math.max(0, options.jitter ?? 0.1));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => new Date());
    this.metrics = options.metrics ?? (options.registry ? new HealthMetrics(options.registry) : undefined);
  }

  /**
   * Adds a stack or updates its settings. `interval`/`timeout` are milliseconds or Go-style durations ("30s");
   * invalid or absent values fall back to the loop defaults. The first round of a new stack starts within
   * jitter × interval.
   */
  upsert(
    stackKey: string,
    resolver: ProbeTargetsResolver,
    interval?: number | string,
    thresholds?: HealthThresholds,
    timeout?: number | string,
  ): void {
    if (this.stopped) return;
    const intervalMs = parseDurationMs(interval) ?? this.defaultIntervalMs;
    // Rounds never overlap (the next is scheduled when one ends), so the timeout need not fit the interval.
    const timeoutMs = parseDurationMs(timeout) ?? this.defaultTimeoutMs;
    const existing = this.stacks.get(stackKey);
    if (existing) {
      existing.resolver = resolver;
      existing.thresholds = resolveThresholds(thresholds);
      if (existing.timeoutMs !== timeoutMs) {
        void existing.session.close();
        existing.session = new StackProbeSession(timeoutMs);
        existing.timeoutMs = timeoutMs;
      }
      if (existing.intervalMs !== intervalMs) {
        existing.intervalMs = intervalMs;
        if (existing.timer) this.schedule(existing, this.nextDelay(existing));
      }
      return;
    }
    const entry: StackEntry = {
      key: stackKey,
      resolver,
      intervalMs,
      timeoutMs,
      thresholds: resolveThresholds(thresholds),
      session: new StackProbeSession(timeoutMs),
      queued: false,
      removed: false,
    };
    this.stacks.set(stackKey, entry);
    this.schedule(entry, this.random() * this.jitter * intervalMs);
  }

  /** Stops probing a stack, closes its connections and drops its metrics. */
  async remove(stackKey: string): Promise<void> {
    const entry = this.stacks.get(stackKey);
    if (!entry) return;
    this.stacks.delete(stackKey);
    entry.removed = true;
    if (entry.timer) clearTimeout(entry.timer);
    const i = this.waiting.indexOf(entry);
    if (i >= 0) this.waiting.splice(i, 1);
    await entry.running?.catch(() => undefined);
    await entry.session.close();
    this.metrics?.forget(stackKey);
  }

  /** Stops every timer and closes every connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.stacks.keys()].map((k) => this.remove(k)));
  }

  has(stackKey: string): boolean {
    return this.stacks.has(stackKey);
  }

  /** The last report of a stack, if any. */
  lastReport(stackKey: string): HealthReport | undefined {
    return this.stacks.get(stackKey)?.last;
  }

  /**
   * Makes the next report of a stack count as a material change (call it when a status write failed, or when
   * the stack's status was reset).
   */
  invalidate(stackKey: string): void {
    const e = this.stacks.get(stackKey);
    if (e) e.lastMaterial = undefined;
  }

  /** Runs a round for a stack now (outside the concurrency limit) and returns its report. */
  async probeNow(stackKey: string): Promise<HealthReport | undefined> {
    const entry = this.stacks.get(stackKey);
    if (!entry) return undefined;
    return this.round(entry);
  }

  private nextDelay(entry: StackEntry): number {
    return Math.max(0, entry.intervalMs * (1 + this.jitter * (2 * this.random() - 1)));
  }

  private schedule(entry: StackEntry, delayMs: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (entry.removed || this.stopped) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.enqueue(entry);
    }, delayMs);
    entry.timer.unref();
  }

  private enqueue(entry: StackEntry): void {
    if (entry.queued || entry.removed) return;
    entry.queued = true;
    this.waiting.push(entry);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const entry = this.waiting.shift()!;
      entry.queued = false;
      this.active++;
      void this.round(entry).finally(() => {
        this.active--;
        this.schedule(entry, this.nextDelay(entry));
        this.pump();
      });
    }
  }

  private round(entry: StackEntry): Promise<HealthReport> {
    if (entry.running) return entry.running;
    const run = this.runRound(entry).finally(() => {
      entry.running = undefined;
    });
    entry.running = run;
    return run;
  }

  private async runRound(entry: StackEntry): Promise<HealthReport> {
    let report: HealthReport;
    try {
      const targets = await entry.resolver();
      report = await entry.session.probe(targets, entry.thresholds, entry.last, this.now);
    } catch (err) {
      report = this.errorReport(entry, err);
    }
    if (entry.removed) return report;
    const changed = materiallyChanged(entry.lastMaterial, report);
    entry.last = report;
    if (changed) entry.lastMaterial = report;
    try {
      this.metrics?.record(entry.key, report);
    } catch (err) {
      this.options.onError?.(entry.key, err);
    }
    // Not awaited: a slow status write must not hold a probe slot, and onReport may call remove()/stop()
    // on this loop without deadlocking on the round that is calling it.
    try {
      const ret = this.options.onReport(entry.key, report, changed);
      if (ret instanceof Promise) ret.catch((err: unknown) => this.options.onError?.(entry.key, err));
    } catch (err) {
      this.options.onError?.(entry.key, err);
    }
    return report;
  }

  private errorReport(entry: StackEntry, err: unknown): HealthReport {
    const checkedAt = this.now().toISOString();
    const names = entry.last
      ? (Object.keys(entry.last.components) as HealthComponent[])
      : FALLBACK_COMPONENTS;
    const components: Partial<HealthResults> = {};
    const message = `could not probe: ${errorMessage(err)}`;
    for (const name of names) {
      (components as Record<string, unknown>)[name] = {
        healthy: false,
        reason: 'ProbeError',
        message,
        checkedAt,
        endpoint: entry.last?.components[name]?.endpoint ?? 'unknown',
      };
    }
    return { checkedAt, components };
  }
}
