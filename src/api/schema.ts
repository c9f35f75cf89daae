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
/** A PostgreSQL WAL location, e.g. 0/3000060. */
export const LSN_PATTERN = '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$';
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

/**
 * CEL (as of Kubernetes 1.28, so no quantity library): the bytes of a size written as a plain decimal number
 * with a binary or decimal SI suffix. Other spellings (exponents, milli) are left to the operator's check.
 */
const CEL_SIMPLE_SIZE = '^[0-9]+([.][0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$';
const CEL_SIZE_UNITS: [string, string][] = [
  ['Ki', '1024.0'],
  ['Mi', '1048576.0'],
  ['Gi', '1073741824.0'],
  ['Ti', '1099511627776.0'],
  ['Pi', '1125899906842624.0'],
  ['Ei', '1152921504606846976.0'],
  ['k', '1000.0'],
  ['M', '1000000.0'],
  ['G', '1000000000.0'],
  ['T', '1000000000000.0'],
  ['P', '1000000000000000.0'],
  ['E', '1000000000000000000.0'],
];
function celSizeBytes(v: string): string {
  const unit = CEL_SIZE_UNITS.reduceRight(
    (rest, [suffix, n]) => `(${v}.endsWith('${suffix}') ? ${n} : ${rest})`,
    '1.0',
  );
  return `double(${v}.find('^[0-9]+([.][0-9]+)?')) * ${unit}`;
}

/**
 * Immutable storage fields, refused at admission (transition rules, evaluated on update only): a volume's
 * storage class cannot change and it cannot shrink. The operator checks the same against the live objects
 * (src/api/storage-transition.ts) and grows volumes that may grow.
 */
function storageTransitionRules(path: string): CelRule[] {
  return [
    {
      rule:
        'has(self.storageClassName) == has(oldSelf.storageClassName) && ' +
        '(!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
      message: `${path}.storageClassName cannot be set, changed or removed once the stack exists (a PersistentVolumeClaim's storage class is immutable): keep the old value, or create a new stack and restore a backup into it`,
    },
    {
      rule:
        `!has(self.size) || !has(oldSelf.size) || !self.size.matches('${CEL_SIMPLE_SIZE}') || ` +
        `!oldSelf.size.matches('${CEL_SIMPLE_SIZE}') || ${celSizeBytes('self.size')} >= ${celSizeBytes('oldSelf.size')}`,
      message: `${path}.size cannot shrink (a volume can only grow): keep at least the old size`,
    },
  ];
}

const storage = (path: string, what: string, size: string): SchemaNode =>
  obj(
    `Persistent volume for ${what}. The size may only grow (when the StorageClass allows volume expansion); the storage class cannot change.`,
    {
      size: quantity('Requested volume size, a Kubernetes quantity such as 20Gi.', { default: size }),
      storageClassName: str('StorageClass of the volume claim; the cluster default when absent.', {
        maxLength: 253,
      }),
    },
    {
      $tsName: 'StorageSpec',
      $tsDoc: 'A persistent volume claim the operator creates.',
      'x-kubernetes-validations': storageTransitionRules(path),
    },
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
      'spec.postgres.storage',
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
      fromBackup: obj(
        'Restore before first start: a pg_dump file (file), or a point in time (targetTime or targetLSN) from a point-in-time-recovery volume (spec.backup.pitr of the stack that wrote it: base backups and archived WAL).',
        {
          claimName: req(
            str('PersistentVolumeClaim holding the dump, or the base backups and WAL archive.', {
              pattern: DNS_SUBDOMAIN_PATTERN,
              maxLength: 253,
            }),
          ),
          file: str('Path of the dump file inside the claim (pg_dump -Fc format).', {
            minLength: 1,
            maxLength: 1024,
          }),
          targetTime: str(
            'Recover to this instant (RFC 3339, e.g. 2025-11-11T00:00:05Z): every transaction committed up to it, none after. Uses the newest base backup that ended before it.',
            { format: 'date-time', maxLength: 64 },
          ),
          targetLSN: str(
            'Recover to this WAL location (e.g. 0/3000060) instead of a time. Uses the newest base backup that ended before it.',
            { pattern: LSN_PATTERN, maxLength: 17 },
          ),
        },
        {
          'x-kubernetes-validations': [
            {
              rule: '(has(self.file) ? 1 : 0) + (has(self.targetTime) ? 1 : 0) + (has(self.targetLSN) ? 1 : 0) == 1',
              message:
                'set exactly one of file (restore a pg_dump), targetTime or targetLSN (point-in-time recovery)',
            },
          ],
        },
      ),
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
    storage: storage('spec.redis.storage', 'the Redis append-only file', '5Gi'),
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
    storage: storage('spec.rabbitmq.storage', 'the RabbitMQ message store', '5Gi'),
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
    ordersPerSecondPerReplica: int(
      'Orders per second one API replica takes at a safe latency: the capacity model of FlashSales (docs/sales.md) plans replicas from it; measure yours with npm run bench:api.',
      { default: 2500, minimum: 1, maximum: 1_000_000 },
    ),
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
    storage: storage(
      'spec.backup.storage',
      'backups (a PVC the operator creates); mutually exclusive with existingClaim',
      '20Gi',
    ),
    existingClaim: str('Existing PersistentVolumeClaim to write backups to, instead of storage.', {
      pattern: DNS_SUBDOMAIN_PATTERN,
      maxLength: 253,
    }),
    onDelete: bool('Take a final backup when the FlashSaleStack is deleted (finalizer).', { default: false }),
    verify: bool('Verify each dump with pg_restore --list.', { default: true }),
    pitr: obj(
      'Point-in-time recovery to a volume: continuous WAL archiving (archive_mode) plus scheduled base backups (pg_basebackup) on one volume, so the database can be restored to any second of the retention window (spec.postgres.bootstrap.fromBackup.targetTime).',
      {
        enabled: bool('Archive WAL and take base backups.', { default: false }),
        storage: storage(
          'spec.backup.pitr.storage',
          'the WAL archive and base backups (a PVC the operator creates); mutually exclusive with existingClaim',
          '50Gi',
        ),
        existingClaim: str('Existing PersistentVolumeClaim for the WAL archive and base backups.', {
          pattern: DNS_SUBDOMAIN_PATTERN,
          maxLength: 253,
        }),
        baseBackupSchedule: str('Cron schedule (5 fields, UTC) of the base backups.', {
          default: '30 1 * * *',
          maxLength: 128,
        }),
        retentionDays: int(
          'Restorable window in days: base backups that ended within it are kept, plus the newest older one (so its first second is covered), and every WAL segment the oldest kept base backup needs.',
          { default: 7, minimum: 1, maximum: 3650 },
        ),
        minBaseBackups: int('Newest base backups always kept, however old.', {
          default: 2,
          minimum: 1,
          maximum: 100,
        }),
        archiveTimeout: duration(
          'archive_timeout: the longest a committed transaction waits before its WAL segment is archived (the recovery point objective when the server is lost).',
          '60s',
        ),
      },
      {
        $tsName: 'PitrSpec',
        'x-kubernetes-validations': [
          {
            rule: '!(has(self.storage) && has(self.existingClaim))',
            message: 'set either storage (a PVC the operator creates) or existingClaim, not both',
          },
        ],
      },
    ),
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
    namespace: str(
      'Namespace Prometheus scrapes from. The NetworkPolicies admit only pods of this namespace to the metrics ports (the exporters 9187, 9121, 9127, RabbitMQ 15692, the consumer 9464, the API 9465); every other namespace is refused there, and the serving port of the API admits only Nginx and the namespace of the operator.',
      { default: 'monitoring', pattern: DNS_LABEL_PATTERN, minLength: 1, maxLength: 63 },
    ),
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
/** Components whose running version status.versions reports (the consumer runs the API image). */
const RUNNING_COMPONENTS = ['postgres', 'pgbouncer', 'redis', 'rabbitmq', 'api', 'nginx'] as const;

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

const baseBackupRecord = obj(
  'One base backup (pg_basebackup into the point-in-time-recovery volume).',
  {
    job: str('Name of the Job that ran it.'),
    startedAt: str('When it started.', { format: 'date-time' }),
    completedAt: str('When it finished; recovery to a time needs a base backup that ended before it.', {
      format: 'date-time',
    }),
    file: str('Directory of the base backup on the volume (base/<stack>-<UTC>).'),
    bytes: int('Size of the base backup.', { minimum: 0 }),
    succeeded: bool('pg_basebackup, verification and retention succeeded.'),
    restorableFrom: str(
      'End of the oldest base backup retention kept: the first second the volume can restore to (the start of the recovery window).',
      { format: 'date-time' },
    ),
  },
  { $tsName: 'BaseBackupRecord', $tsDoc: 'One base backup run.' },
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
    lastBaseBackup: {
      ...baseBackupRecord,
      description: 'The most recent base backup run of spec.backup.pitr, successful or not.',
    },
    lastSuccessfulBaseBackup: {
      ...baseBackupRecord,
      description:
        'The most recent successful base backup of spec.backup.pitr; restorableFrom is where the recovery window starts.',
    },
    endpoints: obj('Where buyers reach the system.', {
      http: str('HTTP URL of the Nginx Service.'),
      https: str('HTTPS URL when TLS is configured.'),
    }),
    readyComponents: str('Ready components over all components, e.g. "6/7" (printer column).'),
    healthSummary: str(
      'Healthy, Degraded, or Unknown when health is not measured (probes disabled or not run yet); the Degraded condition says why (printer column).',
      { enum: ['Healthy', 'Degraded', 'Unknown'], $tsName: 'HealthSummary' },
    ),
    versions: obj(
      "Image tag each component's live workload runs, read from the cluster (not from the spec); printer columns of -o wide.",
      Object.fromEntries(
        RUNNING_COMPONENTS.map((c) => [c, str(`Image tag of the ${c} workload in the cluster.`)]),
      ),
    ),
    apiReplicas: str(
      'Ready over desired replicas of the API Deployment in the cluster (what the HPA scaled it to), e.g. "8/10" (printer column of -o wide).',
    ),
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
    name: 'Health',
    type: 'string',
    jsonPath: '.status.healthSummary',
    description: 'Healthy, Degraded, or Unknown when not measured.',
  },
  {
    name: 'Last Backup',
    type: 'date',
    jsonPath: '.status.lastSuccessfulBackup.completedAt',
    description: 'When the last successful backup finished.',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  {
    name: 'Postgres',
    type: 'string',
    jsonPath: '.status.versions.postgres',
    description: 'PostgreSQL image tag running in the cluster.',
    priority: 1,
  },
  {
    name: 'Redis',
    type: 'string',
    jsonPath: '.status.versions.redis',
    description: 'Redis image tag running in the cluster.',
    priority: 1,
  },
  {
    name: 'RabbitMQ',
    type: 'string',
    jsonPath: '.status.versions.rabbitmq',
    description: 'RabbitMQ image tag running in the cluster.',
    priority: 1,
  },
  {
    name: 'API',
    type: 'string',
    jsonPath: '.status.versions.api',
    description: 'API image tag running in the cluster.',
    priority: 1,
  },
  {
    name: 'API Replicas',
    type: 'string',
    jsonPath: '.status.apiReplicas',
    description: 'Ready/desired API replicas in the cluster (as the HPA scaled them).',
    priority: 1,
  },
];

// ---------------------------------------------------------------- FlashSale (one sale on one stack)

/** Phases of a FlashSale, in order; docs/sales.md tells what each one does. */
export const SALE_PHASES = [
  'Scheduled',
  'Prewarming',
  'Live',
  'Draining',
  'Reconciling',
  'Completed',
] as const;

export const saleSpecSchema: SchemaNode = obj(
  'One sale on one FlashSaleStack of the same namespace. stock and startsAt are fixed once the sale is Live; endsAt may only be extended.',
  {
    stackName: req(
      str('Name of the FlashSaleStack (same namespace) that runs the sale.', {
        pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$',
        maxLength: 40,
      }),
    ),
    productId: req(
      str('Product sold, as the API service knows it (letters, digits, ".", "_", "-").', {
        pattern: '^[A-Za-z0-9._-]+$',
        minLength: 1,
        maxLength: 128,
      }),
    ),
    name: str('Human-readable name of the sale.', { maxLength: 200 }),
    stock: req(int('Units for sale; loaded into Redis at Prewarming.', { minimum: 1, maximum: 100_000_000 })),
    startsAt: req(str('When the gate opens (RFC 3339, e.g. 2026-12-24T20:00:00Z).', { format: 'date-time' })),
    endsAt: req(str('When the gate closes; must be after startsAt.', { format: 'date-time' })),
    expectedPeakOrdersPerSecond: req(
      int('Expected peak order rate; the capacity floor is planned from it.', {
        minimum: 1,
        maximum: 10_000_000,
      }),
    ),
    leadTime: duration('How long before startsAt the stack is scaled up and the stock loaded.', '10m'),
    coolDown: duration('How long after endsAt the capacity is kept (it is released once reconciled).', '10m'),
    startPolicy: str(
      'At startsAt with SafeToStart=False: WaitUntilSafe keeps the gate closed until it is safe; StartAnyway opens it with a Warning.',
      { enum: ['WaitUntilSafe', 'StartAnyway'], default: 'WaitUntilSafe', $tsName: 'SaleStartPolicy' },
    ),
    suspend: bool(
      'Close the gate now (orders answer sale_suspended and take nothing); false opens it again.',
      {
        default: false,
      },
    ),
  },
  {
    $tsName: 'FlashSaleSpec',
    'x-kubernetes-validations': [
      // Real servers compare format date-time strings as timestamps; the TS validation does the same.
      { rule: 'self.endsAt > self.startsAt', message: 'endsAt must be after startsAt', fieldPath: '.endsAt' },
    ],
  },
);

const saleResult = obj(
  'The after-the-sale reconciliation of Redis against PostgreSQL.',
  {
    checkedAt: str('When it was taken.', { format: 'date-time' }),
    stock: int('Stock of the sale.', { minimum: 0 }),
    soldInRedis: int('Units taken in Redis (stock - remaining); absent when Redis holds no inventory.', {
      minimum: 0,
    }),
    ordersInDatabase: int('Confirmed order rows in PostgreSQL.', { minimum: 0 }),
    duplicateBuyers: int('Buyers with more than one order (0 when the unique constraint holds).', {
      minimum: 0,
    }),
    consistent: bool('soldInRedis = ordersInDatabase, ordersInDatabase <= stock, no duplicate buyer.'),
  },
  { $tsName: 'SaleResult', $tsDoc: 'The after-the-sale reconciliation of Redis against PostgreSQL.' },
);

export const saleStatusSchema: SchemaNode = obj(
  'Observed state of the sale, written by the operator. Never contains secrets.',
  {
    phase: str('Where the sale is (printer column).', { enum: [...SALE_PHASES], $tsName: 'SalePhase' }),
    observedGeneration: int('metadata.generation the status reflects.', { minimum: 0 }),
    conditions: arr('Conditions: SafeToStart, Reconciled, SpecValid.', condition, {
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
    safeToStart: str('Status of the SafeToStart condition (printer column).', {
      enum: ['True', 'False', 'Unknown'],
    }),
    phaseSince: str('When the current phase began.', { format: 'date-time' }),
    saleId: str('Id of the sale in the API service.'),
    externalId: str('<namespace>/<name>/<uid>: the idempotency key the sale was created with.'),
    gate: str('Gate of the sale in the API service as last seen.', { enum: ['open', 'suspended', 'closed'] }),
    startedAnyway: bool('The gate was opened while SafeToStart was False (startPolicy StartAnyway).'),
    stock: int('Stock of the sale.', { minimum: 0 }),
    sold: int('Orders accepted (202) so far.', { minimum: 0 }),
    remaining: int('Units left in Redis.', { minimum: 0 }),
    persisted: int('Accepted orders written to PostgreSQL.', { minimum: 0 }),
    rejected: int('Accepted orders that ended rejected (with a reason) instead of as a row.', { minimum: 0 }),
    pending: int('Accepted orders still in the queue.', { minimum: 0 }),
    orderRate: num('Orders accepted per second over the last refresh interval.', { minimum: 0 }),
    capacity: obj(
      'The capacity floor this sale holds on its stack while Prewarming..Reconciling.',
      {
        apiReplicas: int('API replicas.', { minimum: 0 }),
        consumerReplicas: int('Consumer replicas.', { minimum: 0 }),
        nginxReplicas: int('Nginx replicas.', { minimum: 0 }),
      },
      { $tsName: 'SaleCapacity', $tsDoc: 'A capacity floor: replicas per scaled component.' },
    ),
    result: saleResult,
  },
  { $tsName: 'FlashSaleStatus' },
);

const SALE_FIXED_ONCE_LIVE =
  "!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase == 'Scheduled' || oldSelf.status.phase == 'Prewarming'";

export const saleRootSchema: SchemaNode = obj(
  'FlashSale: one sale (product, stock, window, expected peak) run on a FlashSaleStack.',
  {
    apiVersion: str('APIVersion of this representation: flashsale.dev/v1alpha1.'),
    kind: str('Kind of this representation: FlashSale.'),
    metadata: { type: 'object', description: 'Standard object metadata.' },
    spec: req(saleSpecSchema),
    status: saleStatusSchema,
  },
  {
    'x-kubernetes-validations': [
      {
        rule: `${SALE_FIXED_ONCE_LIVE} || self.spec.stock == oldSelf.spec.stock`,
        message: 'spec.stock cannot change once the sale is Live; create another FlashSale instead',
      },
      {
        rule: `${SALE_FIXED_ONCE_LIVE} || self.spec.startsAt == oldSelf.spec.startsAt`,
        message: 'spec.startsAt cannot change once the sale is Live',
      },
      {
        rule: `${SALE_FIXED_ONCE_LIVE} || self.spec.endsAt >= oldSelf.spec.endsAt`,
        message: 'spec.endsAt may only be extended once the sale is Live',
      },
    ],
  },
);

export const salePrinterColumns = [
  { name: 'Stack', type: 'string', jsonPath: '.spec.stackName', description: 'The FlashSaleStack.' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Where the sale is.' },
  { name: 'Safe', type: 'string', jsonPath: '.status.safeToStart', description: 'SafeToStart condition.' },
  { name: 'Stock', type: 'integer', jsonPath: '.spec.stock', description: 'Units for sale.' },
  { name: 'Sold', type: 'integer', jsonPath: '.status.sold', description: 'Orders accepted.' },
  // string, not date: kubectl prints a date column as an age, and "<invalid>" for a time in the future.
  { name: 'Start', type: 'string', jsonPath: '.spec.startsAt', description: 'When the gate opens.' },
  { name: 'End', type: 'string', jsonPath: '.spec.endsAt', description: 'When the gate closes.' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];
