/**
 * Plugs the health probe loop (src/health) into the operator: each reconciled stack is (re)registered with
 * targets built from its Services and generated Secrets; a material change in a probe result enqueues the
 * stack, and the next reconcile writes it to status. Probes never run inside a reconcile.
 */
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { PORTS } from '../api/images.js';
import { HealthProbeLoop } from '../health/loop.js';
import { healthConditions, healthStatus } from '../health/status.js';
import type { HealthReport, ProbeTargets } from '../health/types.js';
import type { StackSecrets } from '../render/common.js';
import { PGBOUNCER_ADMIN_USER } from '../render/pgbouncer.js';
import { POSTGRES_USERNAME } from '../render/postgres.js';
import { RABBITMQ_USERNAME } from '../render/rabbitmq.js';
import type { HealthIntegration } from './operator.js';
import type { HealthSnapshot } from './reconciler.js';

/** Maps an in-cluster Service address to the address the operator should dial (tests, out-of-cluster runs). */
export type EndpointMapper = (
  service: string,
  namespace: string,
  port: number,
) => { host: string; port: number };

export const inClusterEndpoints: EndpointMapper = (service, namespace, port) => ({
  host: `${service}.${namespace}.svc`,
  port,
});

export interface ProbeIntegrationOptions {
  defaultIntervalMs: number;
  endpoints?: EndpointMapper;
  /** Replace the target builder entirely (tests point probes at local services this way). */
  targets?: (stack: ResolvedFlashSaleStack, secrets: StackSecrets) => ProbeTargets;
  concurrency?: number;
}

/**
 * Where the operator reaches a stack's API (probe and the FlashSale controller's admin calls): its Service's
 * `http` port, which is always PORTS.api whatever container port `spec.api.port` names.
 */
export function apiServiceEndpoint(
  stack: ResolvedFlashSaleStack,
  endpoints: EndpointMapper = inClusterEndpoints,
): { host: string; port: number } {
  return endpoints(`${stack.metadata.name}-api`, stack.metadata.namespace, PORTS.api);
}

/** Probe targets for a stack, from its Service names and the credentials render put into its Secrets. */
export function stackProbeTargets(
  stack: ResolvedFlashSaleStack,
  secrets: StackSecrets,
  endpoints: EndpointMapper = inClusterEndpoints,
): ProbeTargets {
  const name = stack.metadata.name;
  const ns = stack.metadata.namespace;
  const at = (component: string, port: number) => endpoints(`${name}-${component}`, ns, port);
  const pg = at('postgres', PORTS.postgres);
  const redis = at('redis', PORTS.redis);
  const mq = at('rabbitmq', PORTS.amqp);
  const api = apiServiceEndpoint(stack, endpoints);
  const apiMetrics = at('api', PORTS.apiMetrics);
  const nginx = at('nginx', PORTS.nginx);
  const targets: ProbeTargets = {
    postgres: {
      ...pg,
      user: POSTGRES_USERNAME,
      password: secrets.postgresPassword,
      database: stack.spec.postgres.database,
    },
    redis: { ...redis, password: secrets.redisPassword },
    rabbitmq: { ...mq, username: RABBITMQ_USERNAME, password: secrets.rabbitmqPassword, vhost: '/' },
    queues: stack.spec.rabbitmq.queues,
    apiUrl: `http://${api.host}:${api.port}`,
    apiMetricsUrl: `http://${apiMetrics.host}:${apiMetrics.port}`,
    apiToken: secrets.apiAdminToken,
    nginxUrl: `http://${nginx.host}:${nginx.port}`,
  };
  if (stack.spec.pgbouncer.enabled) {
    const b = at('pgbouncer', PORTS.pgbouncer);
    targets.pgbouncer = {
      ...b,
      user: PGBOUNCER_ADMIN_USER,
      password: secrets.pgbouncerAdminPassword,
      database: 'pgbouncer',
    };
  }
  return targets;
}

export function createHealthIntegration(opts: ProbeIntegrationOptions): HealthIntegration {
  const snapshots = new Map<string, HealthSnapshot>();
  let loop: HealthProbeLoop | undefined;
  return {
    start(onMaterialChange, registry) {
      loop = new HealthProbeLoop({
        defaultIntervalMs: opts.defaultIntervalMs,
        concurrency: opts.concurrency ?? 4,
        registry,
        onReport: (key, report, changed) => {
          if (!changed && snapshots.has(key)) return;
          snapshots.set(key, snapshotOf(report));
          onMaterialChange(key);
        },
      });
    },
    snapshot: (key) => snapshots.get(key),
    track(stack, secrets) {
      const key = `${stack.metadata.namespace}/${stack.metadata.name}`;
      const build = opts.targets ?? ((s, sec) => stackProbeTargets(s, sec, opts.endpoints));
      const monitoring = stack.spec.monitoring;
      loop?.upsert(
        key,
        () => build(stack, secrets),
        monitoring.probeInterval,
        monitoring.thresholds,
        monitoring.probeTimeout,
      );
    },
    untrack(key) {
      snapshots.delete(key);
      void loop?.remove(key);
    },
    stop: async () => {
      await loop?.stop();
    },
  };
}

function snapshotOf(report: HealthReport): HealthSnapshot {
  // Conditions are computed without history here; the reconciler merges them into status, which keeps
  // lastTransitionTime across rounds when a condition's status does not change.
  const conditions = healthConditions(report, undefined, undefined, new Date(report.checkedAt)).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
  }));
  return { health: healthStatus(report), conditions };
}
