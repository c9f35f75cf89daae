/**
 * The flash-sale API: the HTTP server Deployment (with an idempotent `migrate` initContainer), the order
 * consumer Deployment, their Services, the HPA, PodDisruptionBudgets and the `<stack>-api` Secret that holds
 * every connection URL (URLs carry passwords, so they live only in that Secret).
 *
 * The reference image reads its configuration from the environment (src/service/config.ts): DATABASE_URL,
 * REDIS_URL, AMQP_URL, ADMIN_TOKEN, PORT, METRICS_PORT, WORKERS, PG_POOL_MAX, CONSUMER_PREFETCH, CONSUMER_METRICS_PORT,
 * ORDER_QUEUE_ARGUMENTS (the rendered queue arguments) and, for bootstrap from backup, MIGRATE_WAIT_FOR_RESTORE.
 * Pure: no IO, no clock, no randomness.
 */
import { PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack, ResolvedResources } from '../api/types.js';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  childName,
  configChecksum,
  labels,
  objectMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  type KubeObject,
  type RenderInputs,
} from './common.js';
import {
  METRICS_LABEL,
  POSTGRES_USERNAME,
  containerResources,
  cpuLimitCores,
  scrapeAnnotations,
  secretEnv,
} from './resources.js';
import { RABBITMQ_USERNAME, rabbitmqQueueArguments } from './rabbitmq.js';
import { dumpBootstrap } from './pitr.js';
import { serviceAccountName } from './serviceaccounts.js';
import { withFloor } from '../sales/capacity.js';

/** uid/gid the API image runs as (the `node` user of the official Node.js base image). */
export const API_UID = 1000;
/** Port of the order consumer's own /metrics and /healthz endpoint (CONSUMER_METRICS_PORT). */
export const CONSUMER_METRICS_PORT = 9464;
/**
 * Port of the API's GET /metrics (METRICS_PORT): container port and Service port `metrics`. Apart from the
 * serving port so the NetworkPolicies can admit Prometheus to metrics without admitting it to the API.
 */
export const API_METRICS_PORT = PORTS.apiMetrics;
/** Keys of the `<stack>-api` Secret. */
export const API_SECRET_KEYS = ['ADMIN_TOKEN', 'AMQP_URL', 'DATABASE_URL', 'REDIS_URL'] as const;

export function apiSecretName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'api');
}

/** Cluster-internal DNS name of one of the stack's Services, e.g. `shop-api.prod.svc.cluster.local`. */
export function serviceFqdn(stack: ResolvedFlashSaleStack, serviceName: string): string {
  return `${serviceName}.${stack.metadata.namespace}.svc.cluster.local`;
}

/** Host and port the applications reach PostgreSQL through: PgBouncer when enabled, else PostgreSQL itself. */
export function databaseEndpoint(stack: ResolvedFlashSaleStack): { host: string; port: number } {
  return stack.spec.pgbouncer.enabled
    ? { host: serviceFqdn(stack, childName(stack, 'pgbouncer')), port: PORTS.pgbouncer }
    : { host: serviceFqdn(stack, childName(stack, 'postgres')), port: PORTS.postgres };
}

const enc = encodeURIComponent;

/** The connection URLs and token the API and consumer read; values contain passwords (Secret only). */
export function apiSecretValues(
  stack: ResolvedFlashSaleStack,
  inputs: RenderInputs,
): Record<(typeof API_SECRET_KEYS)[number], string> {
  const s = inputs.secrets;
  const db = databaseEndpoint(stack);
  const redisHost = serviceFqdn(stack, childName(stack, 'redis'));
  const mqHost = serviceFqdn(stack, childName(stack, 'rabbitmq'));
  return {
    ADMIN_TOKEN: s.apiAdminToken,
    DATABASE_URL: `postgres://${enc(POSTGRES_USERNAME)}:${enc(s.postgresPassword)}@${db.host}:${db.port}/${enc(stack.spec.postgres.database)}`,
    REDIS_URL: `redis://:${enc(s.redisPassword)}@${redisHost}:${PORTS.redis}/0`,
    AMQP_URL: `amqp://${enc(RABBITMQ_USERNAME)}:${enc(s.rabbitmqPassword)}@${mqHost}:${PORTS.amqp}/%2F`,
  };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Worker processes per API pod: one per whole core of the CPU limit (at least one). */
export function apiWorkers(resources: ResolvedResources): number {
  return Math.max(1, Math.floor(cpuLimitCores(resources, 'spec.api')));
}

function secretEnvs(stack: ResolvedFlashSaleStack): Record<string, unknown>[] {
  const secret = apiSecretName(stack);
  return ['DATABASE_URL', 'REDIS_URL', 'AMQP_URL'].map((k) => secretEnv(k, secret, k));
}

/**
 * spec.api.env, minus names the operator sets itself (those would be silently shadowed otherwise). An empty
 * value is left out, as the API server stores it (EnvVar.value is omitempty): the variable is still set, to "".
 */
function userEnv(stack: ResolvedFlashSaleStack, reserved: Set<string>): Record<string, unknown>[] {
  return stack.spec.api.env
    .filter((e) => !reserved.has(e.name))
    .map((e) => (e.value === '' ? { name: e.name } : { name: e.name, value: e.value }));
}

function tmpVolume(): Record<string, unknown> {
  return { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } };
}

const tmpMount = { name: 'tmp', mountPath: '/tmp' };

function spread(sel: Record<string, string>): Record<string, unknown>[] {
  return [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: sel },
    },
  ];
}

function pdb(stack: ResolvedFlashSaleStack, component: 'api' | 'consumer'): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(stack, component, childName(stack, component)),
    // maxUnavailable (not minAvailable) so a single-replica workload never blocks a node drain.
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(stack, component) } },
  };
}

export function renderApi(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const floor = inputs.capacityFloor;
  const api = stack.spec.api;
  const name = childName(stack, 'api');
  const consumerName = childName(stack, 'consumer');
  const secretValues = apiSecretValues(stack, inputs);
  // Pods read only the Secret: its content drives the rollout checksum.
  const checksum = configChecksum(secretValues);
  const workers = apiWorkers(api.resources);
  // If the service ever has to (re)create order_queue, it declares it exactly as definitions.json does.
  const queueArgsEnv = {
    name: 'ORDER_QUEUE_ARGUMENTS',
    value: JSON.stringify(rabbitmqQueueArguments(stack)),
  };

  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(stack, 'api', apiSecretName(stack)),
    type: 'Opaque',
    data: Object.fromEntries(API_SECRET_KEYS.map((k) => [k, base64(secretValues[k])])),
  };

  const serverReserved = new Set([
    'DATABASE_URL',
    'REDIS_URL',
    'AMQP_URL',
    'ADMIN_TOKEN',
    'PORT',
    'METRICS_PORT',
    'HOST',
    'WORKERS',
    'PG_POOL_MAX',
    'ORDER_QUEUE_ARGUMENTS',
  ]);
  const serverEnv = [
    ...secretEnvs(stack),
    secretEnv('ADMIN_TOKEN', apiSecretName(stack), 'ADMIN_TOKEN'),
    { name: 'PORT', value: String(api.port) },
    { name: 'METRICS_PORT', value: String(API_METRICS_PORT) },
    { name: 'HOST', value: '0.0.0.0' },
    { name: 'WORKERS', value: String(workers) },
    // dbPoolSize is per pod; every worker process has its own pool.
    { name: 'PG_POOL_MAX', value: String(Math.max(1, Math.floor(api.dbPoolSize / workers))) },
    queueArgsEnv,
    ...userEnv(stack, serverReserved),
  ];

  const apiSelector = selectorLabels(stack, 'api');
  const apiDeployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(stack, 'api', name),
    spec: {
      // With autoscaling the HPA owns spec.replicas; setting it here would make every server-side apply
      // fight the HPA.
      ...(api.autoscaling.enabled ? {} : { replicas: withFloor(api.replicas, floor?.apiReplicas) }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: apiSelector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          labels: labels(stack, 'api'),
          annotations: { [CONFIG_CHECKSUM_ANNOTATION]: checksum, ...scrapeAnnotations(API_METRICS_PORT) },
        },
        spec: {
          serviceAccountName: serviceAccountName(stack, 'api'),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(API_UID),
          terminationGracePeriodSeconds: 30,
          topologySpreadConstraints: spread(apiSelector),
          initContainers: [
            {
              // Idempotent (CREATE … IF NOT EXISTS under an advisory transaction lock), so every new pod
              // may run it; works through PgBouncer in transaction mode (one transaction).
              name: 'migrate',
              image: api.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['flash-sale-api'],
              args: ['migrate'],
              env: [
                secretEnv('DATABASE_URL', apiSecretName(stack), 'DATABASE_URL'),
                // Bootstrap from backup: wait for restore.sh's marker so migrate never creates tables first.
                ...(dumpBootstrap(stack) ? [{ name: 'MIGRATE_WAIT_FOR_RESTORE', value: '1' }] : []),
              ],
              resources: containerResources(api.resources),
              securityContext: restrictedContainerSecurityContext(),
              volumeMounts: [tmpMount],
            },
          ],
          containers: [
            {
              name: 'api',
              image: api.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['flash-sale-api'],
              args: ['serve'],
              ports: [
                { name: 'http', containerPort: api.port, protocol: 'TCP' },
                { name: 'metrics', containerPort: API_METRICS_PORT, protocol: 'TCP' },
              ],
              env: serverEnv,
              resources: containerResources(api.resources),
              securityContext: restrictedContainerSecurityContext(),
              startupProbe: {
                httpGet: { path: '/healthz', port: 'http' },
                periodSeconds: 2,
                failureThreshold: 30,
              },
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'http' },
                periodSeconds: 10,
                timeoutSeconds: 2,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'http' },
                periodSeconds: 5,
                timeoutSeconds: 2,
                failureThreshold: 2,
              },
              volumeMounts: [tmpMount],
            },
          ],
          volumes: [tmpVolume()],
        },
      },
    },
  };

  const consumer = api.consumer;
  const consumerSelector = selectorLabels(stack, 'consumer');
  const consumerReserved = new Set([
    'DATABASE_URL',
    'REDIS_URL',
    'AMQP_URL',
    'CONSUMER_PREFETCH',
    'CONSUMER_METRICS_PORT',
    'PG_POOL_MAX',
    'ORDER_QUEUE_ARGUMENTS',
  ]);
  const consumerDeployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(stack, 'consumer', consumerName),
    spec: {
      replicas: withFloor(consumer.replicas, floor?.consumerReplicas),
      revisionHistoryLimit: 5,
      selector: { matchLabels: consumerSelector },
      template: {
        metadata: {
          labels: labels(stack, 'consumer'),
          annotations: {
            [CONFIG_CHECKSUM_ANNOTATION]: checksum,
            ...scrapeAnnotations(CONSUMER_METRICS_PORT),
          },
        },
        spec: {
          serviceAccountName: serviceAccountName(stack, 'consumer'),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(API_UID),
          // Unacked messages are redelivered after a kill; give in-flight batches time to commit and ack.
          terminationGracePeriodSeconds: 60,
          topologySpreadConstraints: spread(consumerSelector),
          containers: [
            {
              name: 'consumer',
              image: api.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['flash-sale-api'],
              args: ['consume'],
              ports: [{ name: 'metrics', containerPort: CONSUMER_METRICS_PORT, protocol: 'TCP' }],
              env: [
                ...secretEnvs(stack),
                // Consumers are idempotent (unique (sale_id, user_id)), so a large prefetch is safe and keeps
                // the pipe full (the seed's prefetch_count=1 caps throughput at one message per round trip).
                { name: 'CONSUMER_PREFETCH', value: String(consumer.prefetch) },
                { name: 'CONSUMER_METRICS_PORT', value: String(CONSUMER_METRICS_PORT) },
                { name: 'PG_POOL_MAX', value: String(api.dbPoolSize) },
                queueArgsEnv,
                ...userEnv(stack, consumerReserved),
              ],
              resources: containerResources(consumer.resources),
              securityContext: restrictedContainerSecurityContext(),
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'metrics' },
                initialDelaySeconds: 5,
                periodSeconds: 10,
                timeoutSeconds: 2,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: '/healthz', port: 'metrics' },
                periodSeconds: 10,
                timeoutSeconds: 2,
              },
              volumeMounts: [tmpMount],
            },
          ],
          volumes: [tmpVolume()],
        },
      },
    },
  };

  const metricsLabels = { ...labels(stack, 'api'), [METRICS_LABEL]: 'true' };
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...objectMeta(stack, 'api', name), labels: metricsLabels },
    spec: {
      type: 'ClusterIP',
      selector: apiSelector,
      ports: [
        { name: 'http', port: PORTS.api, targetPort: 'http', protocol: 'TCP' },
        // ServiceMonitors select the name `metrics`.
        { name: 'metrics', port: API_METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  };
  // The consumer has no clients; its Service exists so a ServiceMonitor can scrape its metrics.
  const consumerService: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...objectMeta(stack, 'consumer', consumerName),
      labels: { ...labels(stack, 'consumer'), [METRICS_LABEL]: 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: 'None',
      selector: consumerSelector,
      ports: [{ name: 'metrics', port: CONSUMER_METRICS_PORT, targetPort: 'metrics', protocol: 'TCP' }],
    },
  };

  const objects: KubeObject[] = [
    secret,
    service,
    consumerService,
    apiDeployment,
    consumerDeployment,
    pdb(stack, 'api'),
    pdb(stack, 'consumer'),
  ];
  if (api.autoscaling.enabled) {
    objects.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: objectMeta(stack, 'api', name),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        // A sale raises the autoscaler's floor, never its ceiling (SafeToStart says when the ceiling is short).
        minReplicas: Math.min(
          withFloor(api.autoscaling.minReplicas, floor?.apiReplicas),
          api.autoscaling.maxReplicas,
        ),
        maxReplicas: api.autoscaling.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: {
                type: 'Utilization',
                averageUtilization: api.autoscaling.targetCPUUtilizationPercentage,
              },
            },
          },
        ],
        behavior: {
          // A sale opens with a spike: scale up at once, scale down slowly.
          scaleUp: {
            stabilizationWindowSeconds: 0,
            policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
          },
          scaleDown: { stabilizationWindowSeconds: 300 },
        },
      },
    });
  }
  return objects;
}
