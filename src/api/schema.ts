/**
 * FlashSaleStack v1alpha1 schema: the ONE source of truth for the CRD's openAPIV3Schema, the TypeScript types
 * (src/api/types.generated.ts) and docs/api.md. `npm run generate` writes all three; a test fails on drift.
 *
 * A node is a plain JSON-schema (Kubernetes structural subset) object plus a few `$`-prefixed keys that only
 * the generators read: `$required` (property is required in its parent), `$tsName` (emit a named TS type),
 * `$defaultDoc` (documented default that is computed, not static). They are stripped from the CRD.
 */
import { QUANTITY_PATTERN } from './quantity.js';

export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

export interface SchemaNode {
  type: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array';
  description: string;
  default?: unknown;
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  $required?: boolean;
  $tsName?: string;
  $defaultDoc?: string;
  /** Doc comment of a named TS type when its schema description is specific to one use. */
  $tsDoc?: string;
}

type Extra = Partial<SchemaNode>;

const str = (description: string, extra: Extra = {}): SchemaNode => ({
  type: 'string',
  description,
  ...extra,
});
const int = (description: string, extra: Extra = {}): SchemaNode => ({
  type: 'integer',
  description,
  ...extra,
});
const num = (description: string, extra: Extra = {}): SchemaNode => ({
  type: 'number',
  description,
  ...extra,
});
const bool = (description: string, extra: Extra = {}): SchemaNode => ({
  type: 'boolean',
  description,
  ...extra,
});
const arr = (description: string, items: SchemaNode, extra: Extra = {}): SchemaNode => ({
  type: 'array',
  description,
  items,
  ...extra,
});
const map = (description: string, values: SchemaNode, extra: Extra = {}): SchemaNode => ({
  type: 'object',
  description,
  additionalProperties: values,
  ...extra,
});
function obj(description: string, properties: Record<string, SchemaNode>, extra: Extra = {}): SchemaNode {
  const required = Object.keys(properties).filter((k) => properties[k]?.$required);
  return {
    type: 'object',
    description,
    properties,
    ...(required.length > 0 ? { required } : {}),
    ...extra,
  };
}
const req = (node: SchemaNode): SchemaNode => ({ ...node, $required: true });

/** spec.redis.maxmemory: Redis notation (16gb, 3000mb, bytes) or a Kubernetes quantity. */
export const MAXMEMORY_PATTERN = '^([0-9]+([bB]|[kKmMgG][bB]?)?|[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T))$';
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS_SUBDOMAIN_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

const quantity = (description: string, extra: Extra = {}): SchemaNode =>
  str(description, { pattern: QUANTITY_PATTERN, maxLength: 32, ...extra });
const duration = (description: string, def: string): SchemaNode =>
  str(`${description} A duration such as 5s, 500ms, 1m or 1h30m.`, {
    pattern: DURATION_PATTERN,
    maxLength: 32,
    default: def,
  });
const image = (description: string, defaultDoc: string): SchemaNode =>
  str(`${description} A pinned image reference (registry/name:tag or @sha256:digest); :latest is refused.`, {
    minLength: 1,
    maxLength: 512,
    $defaultDoc: defaultDoc,
  });

const resourceList = (description: string): SchemaNode =>
  obj(
    description,
    {
      cpu: quantity('CPU as a Kubernetes quantity, e.g. 500m or "2" (quote plain numbers in YAML).'),
      memory: quantity('Memory as a Kubernetes quantity, e.g. 512Mi or 4Gi.'),
    },
    { $tsName: 'ResourceList', $tsDoc: 'CPU and memory quantities.' },
  );

const resources = (what: string): SchemaNode =>
  obj(
    `Compute resources of ${what}. Keys left out get the operator's per-component defaults (docs/api.md); a request is never above its limit.`,
    {
      requests: resourceList('Guaranteed resources (scheduling).'),
      limits: resourceList(
        'Maximum resources; tuning (shared_buffers, maxmemory...) derives from the memory limit.',
      ),
    },
    {
      $tsName: 'ResourceRequirements',
      $tsDoc: 'Compute resources of a container; keys left out get per-component defaults.',
      $defaultDoc: 'per component, see "Default resources"',
    },
  );

const storage = (what: string, size: string): SchemaNode =>
  obj(
    `Persistent volume for ${what}.`,
    {
      size: quantity('Requested volume size, a Kubernetes quantity such as 20Gi.', { default: size }),
      storageClassName: str('StorageClass of the volume claim; the cluster default when absent.', {
        maxLength: 253,
      }),
    },
    { $tsName: 'StorageSpec', $tsDoc: 'A persistent volume claim the operator creates.' },
  );

const replicas = (what: string, def: number, min = 0, max = 100): SchemaNode =>
  int(`Number of ${what} pods.`, { default: def, minimum: min, maximum: max });

const postgres = obj(
  'PostgreSQL: a StatefulSet with a tuned postgresql.conf, an exporter sidecar, a Service and a headless Service.',
  {
    version: int(
      'PostgreSQL major version (15, 16, 17 or 18). Parameters are validated against this version.',
      {
        enum: [15, 16, 17, 18],
        default: 18,
        $tsName: 'PostgresMajorVersion',
      },
    ),
    image: image('PostgreSQL container image.', 'the pinned image of `version` (src/api/images.ts)'),
    storage: storage(
      'the PostgreSQL data directory and its WAL (max_wal_size is kept to a quarter of it, at most 8GB)',
      '20Gi',
    ),
    resources: resources('the PostgreSQL container'),
    parameters: map(
      'Extra postgresql.conf parameters (name → value as a string), merged over the values the operator tunes from resources. Validated per major version; pooling settings belong in spec.pgbouncer and operator-owned settings (listen_addresses, port, data_directory, hba_file...) are refused.',
      str('Parameter value, as written in postgresql.conf (quote numbers in YAML).', { maxLength: 4096 }),
      {
        default: {},
        'x-kubernetes-validations': [
          {
            rule: "!('pool_mode' in self) && !('pool_size' in self) && !('pool_max_wait' in self)",
            message:
              'pool_mode, pool_size and pool_max_wait are not PostgreSQL parameters; connection pooling is configured in spec.pgbouncer',
          },
          {
            rule: "!('listen_addresses' in self) && !('port' in self) && !('data_directory' in self) && !('hba_file' in self) && !('ident_file' in self) && !('unix_socket_directories' in self)",
            message:
              'listen_addresses, port, data_directory, hba_file, ident_file and unix_socket_directories are set by the operator; remove them',
          },
        ],
      },
    ),
    database: str('Name of the application database created at bootstrap.', {
      default: 'flash_sale_db',
      pattern: '^[a-z_][a-z0-9_]*$',
      maxLength: 63,
    }),
    credentialsSecret: str(
      'Existing Secret with keys `username` and `password` for the application user; the operator generates <stack>-postgres-credentials when absent.',
      { pattern: DNS_SUBDOMAIN_PATTERN, maxLength: 253 },
    ),
    bootstrap: obj('How a new, empty cluster is initialised.', {
      fromBackup: obj('Restore the database from a pg_dump file on a volume before first start.', {
        claimName: req(
          str('PersistentVolumeClaim holding the dump.', { pattern: DNS_SUBDOMAIN_PATTERN, maxLength: 253 }),
        ),
        file: req(
          str('Path of the dump file inside the claim (pg_dump -Fc format).', {
            minLength: 1,
            maxLength: 1024,
          }),
        ),
      }),
    }),
    maintenance: obj('Routine maintenance.', {
      schedule: str(
        'Cron schedule (5 fields, UTC) of a job that refreshes planner statistics (vacuumdb --analyze-only, the nightly ANALYZE of the seed document); no maintenance job when absent.',
        {
          maxLength: 128,
        },
      ),
    }),
  },
  { $tsName: 'PostgresSpec' },
);

const pgbouncer = obj(
  'PgBouncer connection pooler between the API and PostgreSQL. max_connections of PostgreSQL follows its pool budget.',
  {
    enabled: bool('Run PgBouncer; when false the API connects to PostgreSQL directly.', { default: true }),
    replicas: replicas('PgBouncer', 2),
    poolMode: str('When a server connection is returned to the pool.', {
      enum: ['session', 'transaction', 'statement'],
      default: 'transaction',
      $tsName: 'PoolMode',
    }),
    maxClientConn: int('Maximum client connections per PgBouncer pod (max_client_conn).', {
      default: 2000,
      minimum: 1,
      maximum: 100000,
    }),
    defaultPoolSize: int('Server connections per user/database pair per pod (default_pool_size).', {
      default: 25,
      minimum: 1,
      maximum: 10000,
    }),
    reservePoolSize: int('Extra server connections allowed under load (reserve_pool_size).', {
      default: 5,
      minimum: 0,
      maximum: 10000,
    }),
    image: image('PgBouncer container image.', 'DEFAULT_IMAGES.pgbouncer'),
    resources: resources('each PgBouncer pod'),
  },
  {
    $tsName: 'PgBouncerSpec',
    'x-kubernetes-validations': [
      {
        rule: '!has(self.defaultPoolSize) || !has(self.maxClientConn) || self.defaultPoolSize <= self.maxClientConn',
        message: 'defaultPoolSize must not exceed maxClientConn',
      },
    ],
  },
);

const redis = obj(
  'Redis holding stock counters and purchase markers (role inventory) or disposable cache data (role cache).',
  {
    image: image('Redis container image.', 'DEFAULT_IMAGES.redis'),
    storage: storage('the Redis append-only file', '5Gi'),
    resources: resources('the Redis container'),
    maxmemory: str(
      "Redis maxmemory. A Kubernetes quantity (3Gi) or Redis' own notation (3gb, 3000mb, bytes) — the latter is accepted for this field only. Derived from the memory limit when absent.",
      { pattern: MAXMEMORY_PATTERN, maxLength: 32 },
    ),
    maxmemoryPolicy: str(
      'Eviction policy when maxmemory is reached. allkeys-* may evict stock counters (oversell) and is only allowed with role cache.',
      {
        enum: [
          'noeviction',
          'volatile-lru',
          'volatile-lfu',
          'volatile-random',
          'volatile-ttl',
          'allkeys-lru',
          'allkeys-lfu',
          'allkeys-random',
        ],
        default: 'noeviction',
        $tsName: 'RedisEvictionPolicy',
      },
    ),
    appendonly: bool('Append-only file persistence (appendonly yes).', { default: true }),
    role: str('inventory: data must never be evicted; cache: data may be evicted.', {
      enum: ['inventory', 'cache'],
      default: 'inventory',
      $tsName: 'RedisRole',
    }),
  },
  {
    $tsName: 'RedisSpec',
    'x-kubernetes-validations': [
      {
        rule: "!has(self.maxmemoryPolicy) || !self.maxmemoryPolicy.startsWith('allkeys-') || (has(self.role) && self.role == 'cache')",
        message:
          'allkeys-* eviction can evict stock counters and purchase markers (oversell); use noeviction or volatile-*, or set role: cache',
        fieldPath: '.maxmemoryPolicy',
      },
    ],
  },
);

const rabbitmq = obj(
  'RabbitMQ carrying orders from the API to the consumer; durable queues with a dead-letter exchange, Prometheus plugin on 15692.',
  {
    image: image('RabbitMQ container image.', 'DEFAULT_IMAGES.rabbitmq'),
    replicas: int('Number of RabbitMQ nodes: 1, or 3 for a quorum cluster.', { enum: [1, 3], default: 1 }),
    storage: storage('the RabbitMQ message store', '5Gi'),
    resources: resources('each RabbitMQ node'),
    queues: arr(
      'Durable queues declared at startup.',
      str('Queue name.', { pattern: '^[A-Za-z0-9_.:-]+$', maxLength: 255 }),
      {
        default: ['order_queue', 'payment_queue'],
        minItems: 1,
        maxItems: 64,
        'x-kubernetes-list-type': 'set',
      },
    ),
  },
  {
    $tsName: 'RabbitMQSpec',
    'x-kubernetes-validations': [
      {
        rule: '!has(self.replicas) || self.replicas == 1 || self.replicas == 3',
        message: 'replicas must be 1 or 3 (an even number of nodes cannot keep a quorum)',
        fieldPath: '.replicas',
      },
    ],
  },
);

const api = obj(
  'The flash-sale API (Deployment + HPA) and its order consumer.',
  {
    image: image('API and consumer container image.', 'DEFAULT_IMAGES.api'),
    replicas: replicas('API', 2),
    autoscaling: obj(
      'HorizontalPodAutoscaler on CPU; replaces replicas when enabled.',
      {
        enabled: bool('Create a HorizontalPodAutoscaler.', { default: false }),
        minReplicas: int('Lower bound of the autoscaler.', { default: 2, minimum: 1, maximum: 1000 }),
        maxReplicas: int('Upper bound of the autoscaler.', { default: 10, minimum: 1, maximum: 1000 }),
        targetCPUUtilizationPercentage: int('Target average CPU utilisation (percent of requests).', {
          default: 70,
          minimum: 1,
          maximum: 100,
        }),
      },
      {
        'x-kubernetes-validations': [
          {
            rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
            message: 'minReplicas must be less than or equal to maxReplicas',
          },
        ],
      },
    ),
    resources: resources('each API pod'),
    env: arr(
      'Extra environment variables for the API and consumer (never secrets: those come from <stack>-api).',
      obj(
        'One environment variable.',
        {
          name: req(str('Variable name.', { pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 256 })),
          value: req(str('Variable value.', { maxLength: 8192 })),
        },
        { $tsName: 'EnvVar' },
      ),
      { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], maxItems: 128, default: [] },
    ),
    port: int('Container port of the API.', { default: 8001, minimum: 1, maximum: 65535 }),
    dbPoolSize: int('Database connections each API pod opens (through PgBouncer).', {
      default: 10,
      minimum: 1,
      maximum: 1000,
    }),
    consumer: obj('The order consumer (same image): writes orders to PostgreSQL idempotently.', {
      replicas: replicas('consumer', 2),
      prefetch: int(
        'AMQP prefetch (basic.qos) per consumer; consumers are idempotent, so more than 1 is safe and faster.',
        { default: 100, minimum: 1, maximum: 65535 },
      ),
      resources: resources('each consumer pod'),
    }),
  },
  { $tsName: 'ApiSpec' },
);

const nginx = obj(
  'Nginx in front of the API: least_conn upstream, per-client rate limit, timeouts, optional TLS.',
  {
    image: image('Nginx container image (unprivileged).', 'DEFAULT_IMAGES.nginx'),
    replicas: replicas('Nginx', 2),
    resources: resources('each Nginx pod'),
    rateLimit: obj('Per-client request rate limit (limit_req).', {
      requestsPerSecond: int('Sustained requests per second per client address.', {
        default: 100,
        minimum: 1,
        maximum: 1000000,
      }),
      burst: int('Requests allowed above the rate before refusing.', {
        default: 200,
        minimum: 0,
        maximum: 1000000,
      }),
      nodelay: bool('Serve burst requests immediately instead of pacing them.', { default: true }),
    }),
    trustedProxies: arr(
      'CIDRs of load balancers/proxies whose X-Forwarded-For is trusted (set_real_ip_from), so the rate limit applies per buyer, not per balancer.',
      str('An IPv4 or IPv6 CIDR, e.g. 10.0.0.0/8.', { maxLength: 64 }),
      { default: [], maxItems: 64, 'x-kubernetes-list-type': 'set' },
    ),
    tls: obj('Serve HTTPS on 8443 with a certificate from a Secret.', {
      secretName: req(
        str('Secret of type kubernetes.io/tls (tls.crt, tls.key).', {
          pattern: DNS_SUBDOMAIN_PATTERN,
          maxLength: 253,
        }),
      ),
    }),
    serviceType: str('Type of the Nginx Service.', {
      enum: ['ClusterIP', 'NodePort', 'LoadBalancer'],
      default: 'LoadBalancer',
      $tsName: 'ServiceType',
    }),
    timeouts: obj('Proxy timeouts towards the API (nginx durations).', {
      connect: duration('proxy_connect_timeout.', '5s'),
      send: duration('proxy_send_timeout.', '10s'),
      read: duration('proxy_read_timeout.', '10s'),
    }),
    upstream: obj('Passive health checks of API upstreams.', {
      maxFails: int('max_fails per upstream server.', { default: 3, minimum: 0, maximum: 100 }),
      failTimeout: duration('fail_timeout per upstream server.', '30s'),
    }),
  },
  { $tsName: 'NginxSpec' },
);

const backup = obj(
  'Scheduled pg_dump backups (CronJob) with verification and retention.',
  {
    enabled: bool('Run scheduled backups.', { default: true }),
    schedule: str('Cron schedule (5 fields, UTC, or @daily/@hourly/...).', {
      default: '0 2 * * *',
      maxLength: 128,
    }),
    retentionDays: int('Delete dumps older than this many days.', { default: 30, minimum: 1, maximum: 3650 }),
    minKeep: int('Newest verified dumps always kept, however old.', {
      default: 3,
      minimum: 1,
      maximum: 1000,
    }),
    storage: storage('backups (a PVC the operator creates); mutually exclusive with existingClaim', '20Gi'),
    existingClaim: str('Existing PersistentVolumeClaim to write backups to, instead of storage.', {
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: 253,
    }),
    onDelete: bool('Take a final backup when the FlashSaleStack is deleted (finalizer).', { default: false }),
    verify: bool('Verify each dump with pg_restore --list.', { default: true }),
  },
  {
    $tsName: 'BackupSpec',
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.storage) && has(self.existingClaim))',
        message: 'set either storage (a PVC the operator creates) or existingClaim, not both',
      },
    ],
  },
);

const thresholds = obj(
  'Limits the health probes compare measurements with; crossing one marks the component unhealthy.',
  {
    lockWaitsMax: int('Sessions waiting on locks.', { default: 10, minimum: 0 }),
    connectionsUsedPercentMax: int('PostgreSQL connections in use, percent of max_connections.', {
      default: 80,
      minimum: 1,
      maximum: 100,
    }),
    oldestTransactionSecondsMax: int('Age of the oldest open transaction, seconds.', {
      default: 300,
      minimum: 1,
    }),
    slowStatementMeanMs: int('Mean statement time (pg_stat_statements) considered slow, milliseconds.', {
      default: 100,
      minimum: 1,
    }),
    pgbouncerClientsWaitingMax: int('Clients waiting for a server connection in PgBouncer.', {
      default: 10,
      minimum: 0,
    }),
    pgbouncerMaxWaitSeconds: num('Longest client wait in PgBouncer, seconds.', { default: 1, minimum: 0 }),
    redisMemoryUsedPercentMax: int('Redis used memory, percent of maxmemory.', {
      default: 85,
      minimum: 1,
      maximum: 100,
    }),
    redisHitRatioMin: num('Lowest acceptable Redis keyspace hit ratio (0..1).', {
      default: 0.9,
      minimum: 0,
      maximum: 1,
    }),
    queueDepthMax: int('Ready messages per queue.', { default: 10000, minimum: 0 }),
  },
  { $tsName: 'HealthThresholds' },
);

const monitoring = obj(
  'Metrics, alerts, dashboards and health probes.',
  {
    enabled: bool('Expose metrics (exporters, scrape annotations) and run health probes.', { default: true }),
    serviceMonitor: str(
      'Create ServiceMonitors: "auto" when the Prometheus Operator CRDs exist, "true" always, "false" never (quote them in YAML).',
      { enum: ['auto', 'true', 'false'], default: 'auto', $tsName: 'ServiceMonitorMode' },
    ),
    prometheusRule: bool('Create a PrometheusRule with the alert rules.', { default: true }),
    grafanaDashboard: bool('Create a ConfigMap with the Grafana dashboard.', { default: true }),
    probeInterval: duration('How often the operator probes each component.', '30s'),
    probeTimeout: duration('Timeout of one probe.', '5s'),
    thresholds,
  },
  {
    $tsName: 'MonitoringSpec',
    'x-kubernetes-validations': [
      {
        rule: '!has(self.probeInterval) || !has(self.probeTimeout) || duration(self.probeTimeout) <= duration(self.probeInterval)',
        message: 'probeTimeout must not be longer than probeInterval',
      },
    ],
  },
);

export const specSchema: SchemaNode = obj(
  'Desired state of a flash-sale system. Every field is optional; docs/api.md lists the defaults.',
  {
    paused: bool('Stop reconciling (objects are left as they are); health probes keep running.', {
      default: false,
    }),
    postgres: { ...postgres, default: {} },
    pgbouncer: { ...pgbouncer, default: {} },
    redis: { ...redis, default: {} },
    rabbitmq: { ...rabbitmq, default: {} },
    api: { ...api, default: {} },
    nginx: { ...nginx, default: {} },
    backup: { ...backup, default: {} },
    monitoring: { ...monitoring, default: {} },
    pvcRetentionPolicy: str('What happens to data PVCs when the stack is deleted.', {
      enum: ['Retain', 'Delete'],
      default: 'Retain',
      $tsName: 'PvcRetentionPolicy',
    }),
  },
  { $tsName: 'FlashSaleStackSpec' },
);

const condition = obj(
  'A condition following the Kubernetes API conventions.',
  {
    type: req(str('Ready, ConfigValid, BackupHealthy, Degraded or <Component>Ready.', { maxLength: 316 })),
    status: req(
      str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'], $tsName: 'ConditionStatus' }),
    ),
    reason: req(str('CamelCase reason for the last transition.', { maxLength: 1024 })),
    message: req(str('Human-readable details.', { maxLength: 32768 })),
    lastTransitionTime: req(str('When status last changed.', { format: 'date-time' })),
    observedGeneration: int('metadata.generation this condition was computed from.', { minimum: 0 }),
  },
  { $tsName: 'Condition' },
);

const componentStatus = obj(
  'Rollout state of one component.',
  {
    ready: req(bool('All desired replicas are ready.')),
    replicas: int('Desired replicas.', { minimum: 0 }),
    readyReplicas: int('Ready replicas.', { minimum: 0 }),
    endpoint: str('In-cluster address (host:port) of the component.'),
    message: str('Why the component is not ready.'),
  },
  { $tsName: 'ComponentStatus', $tsDoc: 'Rollout state of one component.' },
);

const componentHealth = obj(
  'What the health probe measured; probes add their own measured fields (e.g. lockWaits, hitRatio, queues).',
  {
    healthy: req(bool('The probe succeeded and no threshold was crossed.')),
    checkedAt: req(str('When the probe ran.', { format: 'date-time' })),
    reason: str('CamelCase reason when unhealthy.'),
    message: str('Human-readable details.'),
    latencyMs: num('Round-trip time of the probe, milliseconds.', { minimum: 0 }),
  },
  {
    $tsName: 'ComponentHealth',
    $tsDoc: 'Common fields of every health result; each probe adds its own measured values.',
    'x-kubernetes-preserve-unknown-fields': true,
  },
);

const COMPONENTS = ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'consumer', 'nginx'] as const;

const backupRecord = obj(
  'One backup run.',
  {
    job: str('Name of the Job that ran it.'),
    startedAt: str('When it started.', { format: 'date-time' }),
    completedAt: str('When it finished.', { format: 'date-time' }),
    file: str('Dump file on the backup volume.'),
    bytes: int('Size of the dump.', { minimum: 0 }),
    succeeded: bool('Dump and verification succeeded.'),
  },
  { $tsName: 'BackupRecord', $tsDoc: 'One backup run.' },
);

export const statusSchema: SchemaNode = obj(
  'Observed state, written by the operator. Never contains secrets.',
  {
    phase: str('Summary for kubectl get.', {
      enum: ['Pending', 'Progressing', 'Ready', 'Degraded', 'Failed', 'Paused', 'Deleting'],
      $tsName: 'Phase',
    }),
    observedGeneration: int('metadata.generation the status reflects.', { minimum: 0 }),
    conditions: arr('Conditions: Ready, <Component>Ready, ConfigValid, BackupHealthy, Degraded.', condition, {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
    components: obj(
      'Rollout state per component.',
      Object.fromEntries(
        COMPONENTS.map((c) => [c, { ...componentStatus, description: `Rollout state of ${c}.` }]),
      ),
    ),
    health: obj(
      'Health probe results per component.',
      Object.fromEntries(
        COMPONENTS.map((c) => [
          c,
          { ...componentHealth, description: `Health of ${c}; ${componentHealth.description}` },
        ]),
      ),
    ),
    lastBackup: { ...backupRecord, description: 'The most recent backup run, successful or not.' },
    lastSuccessfulBackup: { ...backupRecord, description: 'The most recent successful backup run.' },
    endpoints: obj('Where buyers reach the system.', {
      http: str('HTTP URL of the Nginx Service.'),
      https: str('HTTPS URL when TLS is configured.'),
    }),
    readyComponents: str('Ready components over all components, e.g. "6/7" (printer column).'),
  },
  { $tsName: 'FlashSaleStackStatus' },
);

/** Root schema of the custom resource (openAPIV3Schema). */
export const rootSchema: SchemaNode = obj(
  'FlashSaleStack: one tuned, monitored, backed-up flash-sale system (PostgreSQL, PgBouncer, Redis, RabbitMQ, API, Nginx).',
  {
    apiVersion: str('APIVersion of this representation: flashsale.dev/v1alpha1.'),
    kind: str('Kind of this representation: FlashSaleStack.'),
    // Documented here for docs/api.md only: the CRD carries just `type: object` (see crdSchema in generate.ts).
    metadata: { type: 'object', description: 'Standard object metadata.' },
    spec: { ...specSchema, default: {} },
    status: statusSchema,
  },
  {
    'x-kubernetes-validations': [
      {
        rule: "self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
        message:
          'metadata.name must be at most 40 characters, lowercase letters, digits and "-", starting with a letter (it prefixes child Service names)',
      },
    ],
  },
);

export const printerColumns = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the stack state.' },
  { name: 'Ready', type: 'string', jsonPath: '.status.readyComponents', description: 'Ready components.' },
  {
    name: 'Postgres',
    type: 'integer',
    jsonPath: '.spec.postgres.version',
    description: 'PostgreSQL major version.',
  },
  { name: 'API', type: 'integer', jsonPath: '.spec.api.replicas', description: 'API replicas.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
