/**
 * Defaulting: FlashSaleStack as written by a user → ResolvedFlashSaleStack, every defaulted field present.
 *
 * Pure and deterministic: no IO, no clock; the input is never mutated (the result shares no objects with it).
 * Static defaults here are the same values the CRD schema carries (a test keeps them equal).
 */
import { DEFAULT_IMAGES, POSTGRES_IMAGES } from './images.js';
import { parseQuantity } from './quantity.js';
import type {
  FlashSaleStack,
  HealthThresholds,
  PostgresMajorVersion,
  ResolvedFlashSaleStack,
  ResolvedResources,
  ResolvedSpec,
  ResolvedStorage,
  ResourceRequirements,
  StorageSpec,
} from './types.js';

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_POSTGRES_VERSION: PostgresMajorVersion = 18;
export const DEFAULT_DATABASE = 'flash_sale_db';
export const DEFAULT_QUEUES: readonly string[] = ['order_queue', 'payment_queue'];
export const DEFAULT_BACKUP_SCHEDULE = '0 2 * * *';
export const DEFAULT_BASE_BACKUP_SCHEDULE = '30 1 * * *';

/** Default requests/limits per workload; sized for a small but real sale, overridable per field. */
export const DEFAULT_RESOURCES = {
  postgres: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } },
  pgbouncer: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  redis: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  rabbitmq: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
  api: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
  consumer: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
  nginx: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } },
} as const satisfies Record<string, ResolvedResources>;

export const DEFAULT_STORAGE_SIZE = {
  postgres: '20Gi',
  redis: '5Gi',
  rabbitmq: '5Gi',
  backup: '20Gi',
  pitr: '50Gi',
} as const;

export const DEFAULT_THRESHOLDS: Required<HealthThresholds> = {
  lockWaitsMax: 10,
  connectionsUsedPercentMax: 80,
  oldestTransactionSecondsMax: 300,
  slowStatementMeanMs: 100,
  pgbouncerClientsWaitingMax: 10,
  pgbouncerMaxWaitSeconds: 1,
  redisMemoryUsedPercentMax: 85,
  redisHitRatioMin: 0.9,
  queueDepthMax: 10000,
};

function pick<T>(value: T | undefined, fallback: T): T {
  return value === undefined || value === null ? fallback : value;
}

/** Smaller of two quantities (as written), by value; falls back to `a` when either does not parse. */
function minQuantity(a: string, b: string): string {
  const qa = parseQuantity(a);
  const qb = parseQuantity(b);
  if (qa === undefined || qb === undefined) return a;
  return qb < qa ? b : a;
}

function maxQuantity(a: string, b: string): string {
  const qa = parseQuantity(a);
  const qb = parseQuantity(b);
  if (qa === undefined || qb === undefined) return a;
  return qb > qa ? b : a;
}

/**
 * Fills requests/limits per key. A user limit below the default request lowers the request to the limit;
 * a user request above the default limit raises the limit to the request (requests never exceed limits).
 */
export function resolveResources(
  user: ResourceRequirements | undefined,
  defaults: ResolvedResources,
): ResolvedResources {
  const out: ResolvedResources = { requests: { cpu: '', memory: '' }, limits: { cpu: '', memory: '' } };
  for (const key of ['cpu', 'memory'] as const) {
    const req = user?.requests?.[key];
    const lim = user?.limits?.[key];
    if (req !== undefined && lim !== undefined) {
      out.requests[key] = req;
      out.limits[key] = lim;
    } else if (req !== undefined) {
      out.requests[key] = req;
      out.limits[key] = maxQuantity(defaults.limits[key], req);
    } else if (lim !== undefined) {
      out.limits[key] = lim;
      out.requests[key] = minQuantity(defaults.requests[key], lim);
    } else {
      out.requests[key] = defaults.requests[key];
      out.limits[key] = defaults.limits[key];
    }
  }
  return out;
}

function resolveStorage(user: StorageSpec | undefined, size: string): ResolvedStorage {
  const out: ResolvedStorage = { size: pick(user?.size, size) };
  if (user?.storageClassName !== undefined) out.storageClassName = user.storageClassName;
  return out;
}

export function applyDefaults(stack: FlashSaleStack): ResolvedFlashSaleStack {
  const spec = stack.spec ?? {};
  const pg = spec.postgres ?? {};
  const pgb = spec.pgbouncer ?? {};
  const redis = spec.redis ?? {};
  const mq = spec.rabbitmq ?? {};
  const api = spec.api ?? {};
  const nginx = spec.nginx ?? {};
  const backup = spec.backup ?? {};
  const pitr = backup.pitr ?? {};
  const mon = spec.monitoring ?? {};

  const version = pick(pg.version, DEFAULT_POSTGRES_VERSION);
  const autoscaling = api.autoscaling ?? {};
  const consumer = api.consumer ?? {};
  const rateLimit = nginx.rateLimit ?? {};
  const timeouts = nginx.timeouts ?? {};
  const upstream = nginx.upstream ?? {};

  const postgres: ResolvedSpec['postgres'] = {
    version,
    image: pick(pg.image, POSTGRES_IMAGES[version] ?? POSTGRES_IMAGES[DEFAULT_POSTGRES_VERSION]),
    storage: resolveStorage(pg.storage, DEFAULT_STORAGE_SIZE.postgres),
    resources: resolveResources(pg.resources, DEFAULT_RESOURCES.postgres),
    parameters: { ...(pg.parameters ?? {}) },
    database: pick(pg.database, DEFAULT_DATABASE),
  };
  if (pg.credentialsSecret !== undefined) postgres.credentialsSecret = pg.credentialsSecret;
  if (pg.bootstrap !== undefined) {
    postgres.bootstrap = pg.bootstrap.fromBackup ? { fromBackup: { ...pg.bootstrap.fromBackup } } : {};
  }
  if (pg.maintenance !== undefined) {
    postgres.maintenance = pg.maintenance.schedule !== undefined ? { schedule: pg.maintenance.schedule } : {};
  }

  const resolvedRedis: ResolvedSpec['redis'] = {
    image: pick(redis.image, DEFAULT_IMAGES.redis),
    storage: resolveStorage(redis.storage, DEFAULT_STORAGE_SIZE.redis),
    resources: resolveResources(redis.resources, DEFAULT_RESOURCES.redis),
    maxmemoryPolicy: pick(redis.maxmemoryPolicy, 'noeviction'),
    appendonly: pick(redis.appendonly, true),
    role: pick(redis.role, 'inventory'),
  };
  if (redis.maxmemory !== undefined) resolvedRedis.maxmemory = redis.maxmemory;

  const resolvedNginx: ResolvedSpec['nginx'] = {
    image: pick(nginx.image, DEFAULT_IMAGES.nginx),
    replicas: pick(nginx.replicas, 2),
    resources: resolveResources(nginx.resources, DEFAULT_RESOURCES.nginx),
    rateLimit: {
      requestsPerSecond: pick(rateLimit.requestsPerSecond, 100),
      burst: pick(rateLimit.burst, 200),
      nodelay: pick(rateLimit.nodelay, true),
    },
    trustedProxies: [...(nginx.trustedProxies ?? [])],
    serviceType: pick(nginx.serviceType, 'LoadBalancer'),
    timeouts: {
      connect: pick(timeouts.connect, '5s'),
      send: pick(timeouts.send, '10s'),
      read: pick(timeouts.read, '10s'),
    },
    upstream: {
      maxFails: pick(upstream.maxFails, 3),
      failTimeout: pick(upstream.failTimeout, '30s'),
    },
  };
  if (nginx.tls !== undefined) resolvedNginx.tls = { secretName: nginx.tls.secretName };

  const resolvedBackup: ResolvedSpec['backup'] = {
    enabled: pick(backup.enabled, true),
    schedule: pick(backup.schedule, DEFAULT_BACKUP_SCHEDULE),
    retentionDays: pick(backup.retentionDays, 30),
    minKeep: pick(backup.minKeep, 3),
    storage: resolveStorage(backup.storage, DEFAULT_STORAGE_SIZE.backup),
    onDelete: pick(backup.onDelete, false),
    verify: pick(backup.verify, true),
    pitr: {
      enabled: pick(pitr.enabled, false),
      storage: resolveStorage(pitr.storage, DEFAULT_STORAGE_SIZE.pitr),
      baseBackupSchedule: pick(pitr.baseBackupSchedule, DEFAULT_BASE_BACKUP_SCHEDULE),
      retentionDays: pick(pitr.retentionDays, 7),
      minBaseBackups: pick(pitr.minBaseBackups, 2),
      archiveTimeout: pick(pitr.archiveTimeout, '60s'),
    },
  };
  if (backup.existingClaim !== undefined) resolvedBackup.existingClaim = backup.existingClaim;
  if (pitr.existingClaim !== undefined) resolvedBackup.pitr.existingClaim = pitr.existingClaim;

  const thresholds = mon.thresholds ?? {};
  const resolvedThresholds = { ...DEFAULT_THRESHOLDS };
  for (const key of Object.keys(DEFAULT_THRESHOLDS) as (keyof HealthThresholds)[]) {
    const v = thresholds[key];
    if (v !== undefined) resolvedThresholds[key] = v;
  }

  const resolved: ResolvedSpec = {
    paused: pick(spec.paused, false),
    pvcRetentionPolicy: pick(spec.pvcRetentionPolicy, 'Retain'),
    postgres,
    pgbouncer: {
      enabled: pick(pgb.enabled, true),
      replicas: pick(pgb.replicas, 2),
      poolMode: pick(pgb.poolMode, 'transaction'),
      maxClientConn: pick(pgb.maxClientConn, 2000),
      defaultPoolSize: pick(pgb.defaultPoolSize, 25),
      reservePoolSize: pick(pgb.reservePoolSize, 5),
      image: pick(pgb.image, DEFAULT_IMAGES.pgbouncer),
      resources: resolveResources(pgb.resources, DEFAULT_RESOURCES.pgbouncer),
    },
    redis: resolvedRedis,
    rabbitmq: {
      image: pick(mq.image, DEFAULT_IMAGES.rabbitmq),
      replicas: pick(mq.replicas, 1),
      storage: resolveStorage(mq.storage, DEFAULT_STORAGE_SIZE.rabbitmq),
      resources: resolveResources(mq.resources, DEFAULT_RESOURCES.rabbitmq),
      queues: [...(mq.queues ?? DEFAULT_QUEUES)],
    },
    api: {
      image: pick(api.image, DEFAULT_IMAGES.api),
      replicas: pick(api.replicas, 2),
      autoscaling: {
        enabled: pick(autoscaling.enabled, false),
        minReplicas: pick(autoscaling.minReplicas, 2),
        maxReplicas: pick(autoscaling.maxReplicas, 10),
        targetCPUUtilizationPercentage: pick(autoscaling.targetCPUUtilizationPercentage, 70),
      },
      resources: resolveResources(api.resources, DEFAULT_RESOURCES.api),
      env: (api.env ?? []).map((e) => ({ name: e.name, value: e.value })),
      port: pick(api.port, 8001),
      ordersPerSecondPerReplica: pick(api.ordersPerSecondPerReplica, 2500),
      dbPoolSize: pick(api.dbPoolSize, 10),
      consumer: {
        replicas: pick(consumer.replicas, 2),
        prefetch: pick(consumer.prefetch, 100),
        resources: resolveResources(consumer.resources, DEFAULT_RESOURCES.consumer),
      },
    },
    nginx: resolvedNginx,
    backup: resolvedBackup,
    monitoring: {
      enabled: pick(mon.enabled, true),
      serviceMonitor: pick(mon.serviceMonitor, 'auto'),
      prometheusRule: pick(mon.prometheusRule, true),
      grafanaDashboard: pick(mon.grafanaDashboard, true),
      namespace: pick(mon.namespace, 'monitoring'),
      probeInterval: pick(mon.probeInterval, '30s'),
      probeTimeout: pick(mon.probeTimeout, '5s'),
      thresholds: resolvedThresholds,
    },
  };

  const meta = stack.metadata ?? {};
  const metadata: ResolvedFlashSaleStack['metadata'] = {
    ...structuredClone(meta),
    name: meta.name ?? '',
    namespace: meta.namespace ?? DEFAULT_NAMESPACE,
  };
  const out: ResolvedFlashSaleStack = {
    apiVersion: stack.apiVersion,
    kind: stack.kind,
    metadata,
    spec: resolved,
  };
  if (stack.status !== undefined) out.status = structuredClone(stack.status);
  return out;
}
