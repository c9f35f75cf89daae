/**
 * Redis: StatefulSet (PVC), Service, ConfigMap `redis.conf`, Secret (password + `auth.conf`), redis_exporter
 * sidecar, probes.
 *
 * The password never enters the ConfigMap: redis.conf ends with `include /etc/redis-secret/auth.conf`, a file
 * (`requirepass …`) projected from the Secret. `maxmemory` is the user's value or 75% of the memory limit (see
 * budgets.ts), the policy defaults to `noeviction` and `allkeys-*` is refused for an inventory Redis (DESIGN §5.6).
 */
import { DEFAULT_IMAGES, PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { BudgetError, redisErrors, redisMaxmemoryBytes } from './budgets.js';
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
  EXPORTER_RESOURCES,
  METRICS_LABEL,
  containerResources,
  dataVolumeClaimTemplate,
  pvcRetention,
  scrapeAnnotations,
  secretEnv,
} from './resources.js';
import { serviceAccountName } from './serviceaccounts.js';

/** uid/gid of the `redis` user in the official redis image. */
export const REDIS_UID = 999;
/** uid of the redis_exporter image's user. */
export const REDIS_EXPORTER_UID = 59000;
export const REDIS_CONFIG_PATH = '/etc/redis/redis.conf';
export const REDIS_AUTH_PATH = '/etc/redis-secret/auth.conf';
export const REDIS_DATA_DIR = '/data';

export function redisSecretName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'redis', 'credentials');
}

/** The rendered redis.conf (no secrets in it). */
export function redisConf(stack: ResolvedFlashSaleStack): string {
  const redis = stack.spec.redis;
  const lines = [
    '# Rendered by flash-sale-operator; edit the FlashSaleStack, not this file.',
    'bind * -::*',
    'protected-mode yes',
    `port ${PORTS.redis}`,
    'tcp-backlog 511',
    'tcp-keepalive 60',
    'timeout 0',
    'daemonize no',
    'loglevel notice',
    'logfile ""',
    `dir ${REDIS_DATA_DIR}`,
    '',
    '# Persistence: AOF for stock counters and purchase markers, plus RDB snapshots. appendfsync everysec: a write',
    '# reaches the kernel before its reply (unless a slow fsync makes Redis postpone it), so a Redis crash loses',
    "# next to nothing and a node crash about a second or two; the API's inventory fence detects either (new run",
    '# id) and recovers from PostgreSQL, so a loss costs a short 503 window, never an oversell.',
    '# "always" would fsync per write at a measured cost (docs/operations.md, "Inventory Redis persistence").',
    `appendonly ${redis.appendonly ? 'yes' : 'no'}`,
    'appendfilename "appendonly.aof"',
    'appendfsync everysec',
    'no-appendfsync-on-rewrite no',
    'auto-aof-rewrite-percentage 100',
    'auto-aof-rewrite-min-size 64mb',
    'aof-use-rdb-preamble yes',
    'save 3600 1 300 100 60 10000',
    'stop-writes-on-bgsave-error yes',
    'dbfilename dump.rdb',
    '',
    '# Memory: derived from the container limit; inventory never evicts (DESIGN §5.6).',
    `maxmemory ${redisMaxmemoryBytes(stack)}`,
    `maxmemory-policy ${redis.maxmemoryPolicy}`,
    '',
    'slowlog-log-slower-than 10000',
    'slowlog-max-len 128',
    'latency-monitor-threshold 100',
    '',
    '# requirepass lives in a Secret-projected file.',
    `include ${REDIS_AUTH_PATH}`,
    '',
  ];
  return lines.join('\n');
}

function redisAuthConf(password: string): string {
  // redis.conf string quoting: double quotes with backslash escapes.
  const quoted = `"${password.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return `requirepass ${quoted}\n`;
}

export function renderRedis(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const errors = redisErrors(stack);
  if (errors.length > 0) throw new BudgetError(errors);
  const redis = stack.spec.redis;
  const name = childName(stack, 'redis');
  const secretName = redisSecretName(stack);
  const monitoring = stack.spec.monitoring.enabled;

  const configData = { 'redis.conf': redisConf(stack) };
  const secretData = {
    password: inputs.secrets.redisPassword,
    'auth.conf': redisAuthConf(inputs.secrets.redisPassword),
  };

  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(stack, 'redis', name),
    data: configData,
  };
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(stack, 'redis', secretName),
    type: 'Opaque',
    stringData: secretData,
  };

  const servicePorts: Record<string, unknown>[] = [
    { name: 'redis', port: PORTS.redis, targetPort: 'redis', protocol: 'TCP' },
  ];
  if (monitoring) {
    servicePorts.push({ name: 'metrics', port: PORTS.redisExporter, targetPort: 'metrics', protocol: 'TCP' });
  }
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...objectMeta(stack, 'redis', name),
      labels: { ...labels(stack, 'redis'), ...(monitoring ? { [METRICS_LABEL]: 'true' } : {}) },
    },
    spec: { type: 'ClusterIP', selector: selectorLabels(stack, 'redis'), ports: servicePorts },
  };

  const redisContainer = {
    name: 'redis',
    image: redis.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['redis-server', REDIS_CONFIG_PATH],
    ports: [{ name: 'redis', containerPort: PORTS.redis, protocol: 'TCP' }],
    env: [secretEnv('REDISCLI_AUTH', secretName, 'password')],
    resources: containerResources(redis.resources),
    securityContext: restrictedContainerSecurityContext(true),
    // Ready only when Redis answers PONG (not while loading the AOF); alive as long as it accepts TCP, so a
    // long AOF load is not killed.
    readinessProbe: {
      exec: { command: ['sh', '-c', 'test "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG'] },
      initialDelaySeconds: 5,
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 3,
    },
    livenessProbe: {
      tcpSocket: { port: 'redis' },
      initialDelaySeconds: 30,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 6,
    },
    volumeMounts: [
      { name: 'data', mountPath: REDIS_DATA_DIR },
      { name: 'config', mountPath: '/etc/redis', readOnly: true },
      { name: 'auth', mountPath: '/etc/redis-secret', readOnly: true },
    ],
  };

  const containers: Record<string, unknown>[] = [redisContainer];
  if (monitoring) {
    containers.push({
      name: 'redis-exporter',
      image: DEFAULT_IMAGES.redisExporter,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'metrics', containerPort: PORTS.redisExporter, protocol: 'TCP' }],
      env: [
        { name: 'REDIS_ADDR', value: `redis://127.0.0.1:${PORTS.redis}` },
        secretEnv('REDIS_PASSWORD', secretName, 'password'),
      ],
      resources: containerResources(EXPORTER_RESOURCES),
      securityContext: {
        ...restrictedContainerSecurityContext(true),
        runAsUser: REDIS_EXPORTER_UID,
        runAsGroup: REDIS_EXPORTER_UID,
      },
      readinessProbe: { httpGet: { path: '/health', port: 'metrics' }, periodSeconds: 10, timeoutSeconds: 3 },
      livenessProbe: { httpGet: { path: '/health', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 5 },
    });
  }

  const podLabels = labels(stack, 'redis');
  const statefulSet: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(stack, 'redis', name),
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: selectorLabels(stack, 'redis') },
      persistentVolumeClaimRetentionPolicy: pvcRetention(stack.spec.pvcRetentionPolicy),
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(configData, secretData),
            ...(monitoring ? scrapeAnnotations(PORTS.redisExporter) : {}),
          },
        },
        spec: {
          serviceAccountName: serviceAccountName(stack, 'redis'),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(REDIS_UID),
          terminationGracePeriodSeconds: 30,
          containers,
          volumes: [
            { name: 'config', configMap: { name, items: [{ key: 'redis.conf', path: 'redis.conf' }] } },
            { name: 'auth', secret: { secretName, items: [{ key: 'auth.conf', path: 'auth.conf' }] } },
          ],
        },
      },
      volumeClaimTemplates: [dataVolumeClaimTemplate(redis.storage, podLabels)],
    },
  };

  return [configMap, secret, service, statefulSet];
}
