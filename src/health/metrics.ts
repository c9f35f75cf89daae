import { Gauge, type Registry } from 'prom-client';
import type { HealthReport } from './types.js';
import { HEALTH_COMPONENTS } from './types.js';

/** Prometheus gauges for probe results, on the registry given (the operator's /metrics registry). */
export class HealthMetrics {
  readonly healthy: Gauge<string>;
  readonly latency: Gauge<string>;
  readonly value: Gauge<string>;
  readonly queueDepth: Gauge<string>;
  readonly queueConsumers: Gauge<string>;
  /** Every label set written per stack, so `forget` removes exactly those series. */
  private readonly series = new Map<
    string,
    Map<string, { gauge: Gauge<string>; labels: Record<string, string> }>
  >();

  constructor(registry: Registry, prefix = 'flashsale_probe_') {
    const registers = [registry];
    this.healthy = new Gauge({
      name: `${prefix}healthy`,
      help: '1 when the last health probe of the component passed, 0 when it failed',
      labelNames: ['stack', 'component'],
      registers,
    });
    this.latency = new Gauge({
      name: `${prefix}latency_seconds`,
      help: 'Round-trip time of the last health probe request',
      labelNames: ['stack', 'component'],
      registers,
    });
    this.value = new Gauge({
      name: `${prefix}value`,
      help: 'Measured values of the last health probe (measure: lock_waits, connections_used_percent, ...)',
      labelNames: ['stack', 'component', 'measure'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: `${prefix}queue_depth`,
      help: 'Messages ready in a stack queue at the last probe',
      labelNames: ['stack', 'queue'],
      registers,
    });
    this.queueConsumers = new Gauge({
      name: `${prefix}queue_consumers`,
      help: 'Consumers of a stack queue at the last probe',
      labelNames: ['stack', 'queue'],
      registers,
    });
  }

  private readonly gaugeIds = new Map<Gauge<string>, number>();

  private seriesKey(gauge: Gauge<string>, labels: Record<string, string>): string {
    let id = this.gaugeIds.get(gauge);
    if (id === undefined) this.gaugeIds.set(gauge, (id = this.gaugeIds.size));
    return `${id}|${JSON.stringify(labels)}`;
  }

  private put(stack: string, gauge: Gauge<string>, labels: Record<string, string>, v: number): void {
    gauge.set(labels, v);
    let m = this.series.get(stack);
    if (!m) this.series.set(stack, (m = new Map()));
    m.set(this.seriesKey(gauge, labels), { gauge, labels });
  }

  private drop(stack: string, gauge: Gauge<string>, labels: Record<string, string>): void {
    gauge.remove(labels);
    this.series.get(stack)?.delete(this.seriesKey(gauge, labels));
  }

  record(stack: string, report: HealthReport): void {
    const c = report.components;
    for (const component of HEALTH_COMPONENTS) {
      const r = c[component];
      if (!r) continue;
      this.put(stack, this.healthy, { stack, component }, r.healthy ? 1 : 0);
      if (r.latencyMs !== undefined) this.put(stack, this.latency, { stack, component }, r.latencyMs / 1000);
      else this.drop(stack, this.latency, { stack, component });
    }
    const set = (component: string, measure: string, v: number | undefined) => {
      if (v !== undefined && Number.isFinite(v))
        this.put(stack, this.value, { stack, component, measure }, v);
    };
    set('postgres', 'lock_waits', c.postgres?.lockWaits);
    set('postgres', 'connections_used_percent', c.postgres?.connectionsUsedPercent);
    set('postgres', 'oldest_transaction_seconds', c.postgres?.oldestTransactionSeconds);
    set('postgres', 'database_size_bytes', c.postgres?.databaseSizeBytes);
    set('postgres', 'slow_statements', c.postgres?.slowStatements);
    set('pgbouncer', 'clients_waiting', c.pgbouncer?.clientsWaiting);
    set('pgbouncer', 'max_wait_seconds', c.pgbouncer?.maxWaitSeconds);
    set('redis', 'memory_used_percent', c.redis?.memoryUsedPercent);
    set('redis', 'evicted_keys', c.redis?.evictedKeys);
    set('redis', 'hit_ratio', c.redis?.hitRatio);
    set('redis', 'connected_clients', c.redis?.connectedClients);
    set('api', 'request_rate', c.api?.requestRate);
    for (const q of c.rabbitmq?.queues ?? []) {
      if (q.exists) {
        this.put(stack, this.queueDepth, { stack, queue: q.name }, q.depth ?? 0);
        this.put(stack, this.queueConsumers, { stack, queue: q.name }, q.consumers ?? 0);
      } else {
        this.drop(stack, this.queueDepth, { stack, queue: q.name });
        this.drop(stack, this.queueConsumers, { stack, queue: q.name });
      }
    }
  }

  /** Drops every series of a stack (when it is deleted). */
  forget(stack: string): void {
    for (const { gauge, labels } of this.series.get(stack)?.values() ?? []) gauge.remove(labels);
    this.series.delete(stack);
  }
}
