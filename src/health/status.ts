import type { ComponentHealth, ComponentName, Condition } from '../api/types.js';
import type { HealthComponent, HealthReport, ProbeResultBase } from './types.js';
import { HEALTH_COMPONENTS } from './types.js';

/** Condition type per probed component. */
export const HEALTH_CONDITION_TYPES: Record<HealthComponent, string> = {
  postgres: 'PostgresHealthy',
  pgbouncer: 'PgBouncerHealthy',
  redis: 'RedisHealthy',
  rabbitmq: 'RabbitMQHealthy',
  api: 'ApiHealthy',
  nginx: 'NginxHealthy',
};

const DISPLAY: Record<HealthComponent, string> = {
  postgres: 'PostgreSQL',
  pgbouncer: 'PgBouncer',
  redis: 'Redis',
  rabbitmq: 'RabbitMQ',
  api: 'API',
  nginx: 'Nginx',
};

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  generation: number | undefined,
  previous: Condition[] | undefined,
  now: Date,
): Condition {
  const prev = previous?.find((c) => c.type === type);
  const c: Condition = {
    type,
    status,
    reason,
    message,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now.toISOString(),
  };
  if (generation !== undefined) c.observedGeneration = generation;
  return c;
}

/**
 * The health-owned conditions for a report: one `<Component>Healthy` per probed component, plus `Degraded`
 * (True when any probed component is unhealthy). `lastTransitionTime` is kept from `previousConditions` unless
 * the status changed. The controller replaces conditions of these types and keeps all others; if it has other
 * reasons to be degraded, it ORs them into `Degraded` itself.
 */
export function healthConditions(
  report: HealthReport,
  generation: number | undefined,
  previousConditions: Condition[] | undefined,
  now: Date,
): Condition[] {
  const out: Condition[] = [];
  const unhealthy: string[] = [];
  for (const name of HEALTH_COMPONENTS) {
    const r = report.components[name];
    if (!r) continue;
    out.push(
      condition(
        HEALTH_CONDITION_TYPES[name],
        r.healthy ? 'True' : 'False',
        r.reason,
        r.message,
        generation,
        previousConditions,
        now,
      ),
    );
    if (!r.healthy) unhealthy.push(`${DISPLAY[name]}: ${r.reason}`);
  }
  out.push(
    unhealthy.length
      ? condition(
          'Degraded',
          'True',
          'ComponentsUnhealthy',
          `${unhealthy.length} component(s) unhealthy: ${unhealthy.join('; ')}`,
          generation,
          previousConditions,
          now,
        )
      : condition(
          'Degraded',
          'False',
          'AllHealthy',
          `all ${out.length} probed components are healthy`,
          generation,
          previousConditions,
          now,
        ),
  );
  return out;
}

const CREDENTIAL_KEY = /pass(word)?|secret|token|credential/i;

function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (value && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || CREDENTIAL_KEY.test(k)) continue;
      o[k] = clean(v);
    }
    return o;
  }
  return value;
}

/**
 * `status.health` for a report: per component `healthy`, `reason`, `message`, `latencyMs`, `checkedAt`,
 * `endpoint` and the measured values (plain JSON, no undefined, nothing credential-like).
 */
export function healthStatus(report: HealthReport): Partial<Record<ComponentName, ComponentHealth>> {
  const out: Partial<Record<ComponentName, ComponentHealth>> = {};
  for (const name of HEALTH_COMPONENTS) {
    const r: ProbeResultBase | undefined = report.components[name];
    if (r) out[name] = clean(r) as ComponentHealth;
  }
  return out;
}
