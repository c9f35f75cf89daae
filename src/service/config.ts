/**
 * Configuration of the flash-sale API service, read from the environment (see docs/api-service.md).
 * Bad values fail fast with a message naming the variable and what it must look like.
 */
import { availableParallelism } from 'node:os';
import { checkConnectionUrl, URL_RULES, UrlError, type UrlRule } from './urls.js';

export interface ServiceConfig {
  databaseUrl: string;
  redisUrl: string;
  amqpUrl: string;
  /** HTTP port; 0 picks a free port (tests). */
  port: number;
  /** Port of the API's GET /metrics (METRICS_PORT), apart from `port` so scrapers need no access to the API; 0 picks a free port (tests). */
  metricsPort: number;
  host: string;
  /** Bearer token for admin endpoints (POST /api/sales). Empty: admin endpoints always answer 401. */
  adminToken: string;
  /** node:cluster workers for `serve` (1 = no cluster). */
  workers: number;
  /** Prefix for every Redis key this service writes, so several stacks/tests can share one Redis. */
  redisKeyPrefix: string;
  orderQueue: string;
  deadLetterExchange: string;
  deadLetterQueue: string;
  /** Consumer: unacknowledged messages the broker may push at once. */
  consumerPrefetch: number;
  /** Consumer: maximum orders per PostgreSQL transaction. */
  consumerBatchSize: number;
  /** Consumer: how long a partial batch waits for more messages before it is written. */
  consumerBatchWaitMs: number;
  /** Consumer: port of its /metrics + /healthz endpoint (0 = off). */
  consumerMetricsPort: number;
  /** Time a client has to send the whole header block (HTTP_HEADERS_TIMEOUT_MS); then 408 and closed. */
  httpHeadersTimeoutMs: number;
  /** Time a client has to send the whole request, body included (HTTP_REQUEST_TIMEOUT_MS); then 408. */
  httpRequestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (HTTP_KEEP_ALIVE_TIMEOUT_MS). */
  httpKeepAliveTimeoutMs: number;
  /** Open connections per process beyond which new ones are dropped at once (HTTP_MAX_CONNECTIONS). */
  httpMaxConnections: number;
  /** Maximum request body in bytes. */
  bodyLimitBytes: number;
  /** How long a publish may wait for the broker's confirm before the order is rolled back (503). */
  publishTimeoutMs: number;
  pgPoolMax: number;
  /** TTLs (seconds) of cache keys; inventory and purchase markers have none. */
  saleCacheTtlSec: number;
  orderCacheTtlSec: number;
  pendingOrderTtlSec: number;
  idempotencyTtlSec: number;
  /**
   * Arguments to declare the order queue with when it does not exist yet (ORDER_QUEUE_ARGUMENTS, JSON object).
   * The operator sets them to its rendered definitions' arguments, so a queue the service (re)creates is
   * identical to the one RabbitMQ loads from definitions.json. Unset: the service's own topology (own DLX/DLQ).
   */
  orderQueueArguments: Record<string, string | number> | undefined;
  /** Publisher confirm channels per process, used round robin (PUBLISH_CHANNELS). */
  publishChannels: number;
  /**
   * Most orders carried by one broker message (PUBLISH_BATCH_MAX). Orders accepted in the same event-loop turn
   * share one persistent message and one confirm; 1 = one message per order.
   */
  publishBatchMax: number;
  /**
   * Most purchases of one sale sent to Redis in one script call (PURCHASE_BATCH_MAX). Purchases arriving in the
   * same event-loop turn share one EVALSHA; 1 = one call per order.
   */
  purchaseBatchMax: number;
  /** How often each API process compares the inventory guard with the live Redis (GUARD_CHECK_INTERVAL_MS). */
  guardCheckIntervalMs: number;
  /** `migrate` waits for the bootstrap-from-backup restore marker before touching the schema. */
  migrateWaitForRestore: boolean;
  /** How long `migrate` waits for that marker before it gives up (exit 1). */
  migrateRestoreTimeoutSec: number;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function str(env: Env, name: string, def: string): string {
  const v = env[name];
  return v === undefined || v === '' ? def : v;
}

function url(env: Env, rule: UrlRule, def: string): string {
  const v = str(env, rule.variable, def);
  try {
    checkConnectionUrl(v, rule);
  } catch (e) {
    if (e instanceof UrlError) throw new ConfigError(e.message);
    throw e;
  }
  return v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is not a whole number; set it to an integer in [${min}, ${max}]`,
    );
  }
  const n = Number(raw.trim());
  if (n < min || n > max)
    throw new ConfigError(`${name}=${n} is out of range; set it to an integer in [${min}, ${max}]`);
  return n;
}

function name(env: Env, key: string, def: string): string {
  const v = str(env, key, def);
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(v)) {
    throw new ConfigError(
      `${key}=${JSON.stringify(v)} is invalid; use 1-200 characters from A-Z a-z 0-9 _ . : -`,
    );
  }
  return v;
}

function queueArguments(env: Env, key: string): Record<string, string | number> | undefined {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return undefined;
  const fix = `set ${key} to a JSON object of string or number values, e.g. {"x-queue-type":"quorum"}`;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${key} is not valid JSON; ${fix}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(`${key} is not an object; ${fix}`);
  const out: Record<string, string | number> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' && typeof val !== 'number') {
      throw new ConfigError(`${key}: argument ${JSON.stringify(k)} is neither a string nor a number; ${fix}`);
    }
    out[k] = val;
  }
  return out;
}

function bool(env: Env, key: string, def: boolean): boolean {
  const raw = env[key];
  if (raw === undefined || raw === '') return def;
  if (/^(1|true|yes)$/i.test(raw)) return true;
  if (/^(0|false|no)$/i.test(raw)) return false;
  throw new ConfigError(`${key}=${JSON.stringify(raw)} is not a boolean; set it to 1 or 0`);
}

export function loadConfig(env: Env = process.env): ServiceConfig {
  const orderQueue = name(env, 'ORDER_QUEUE', 'order_queue');
  const prefix = str(env, 'REDIS_KEY_PREFIX', 'fs:');
  if (!/^[A-Za-z0-9_.:-]{0,100}$/.test(prefix)) {
    throw new ConfigError(
      `REDIS_KEY_PREFIX=${JSON.stringify(prefix)} is invalid; use up to 100 characters from A-Z a-z 0-9 _ . : -`,
    );
  }
  const httpHeadersTimeoutMs = int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 300_000);
  const httpRequestTimeoutMs = int(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000);
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    throw new ConfigError(
      `HTTP_HEADERS_TIMEOUT_MS=${httpHeadersTimeoutMs} is longer than HTTP_REQUEST_TIMEOUT_MS=${httpRequestTimeoutMs}; the headers are part of the request, so set it to at most the request timeout`,
    );
  }
  return {
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    httpKeepAliveTimeoutMs: int(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 65_000, 100, 600_000),
    httpMaxConnections: int(env, 'HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    databaseUrl: url(env, URL_RULES.databaseUrl, 'postgres://postgres@127.0.0.1:5432/flash_sale'),
    redisUrl: url(env, URL_RULES.redisUrl, 'redis://127.0.0.1:6379'),
    amqpUrl: url(env, URL_RULES.amqpUrl, 'amqp://guest:guest@127.0.0.1:5672'),
    port: int(env, 'PORT', 8001, 0, 65535),
    metricsPort: int(env, 'METRICS_PORT', 9465, 0, 65535),
    host: str(env, 'HOST', '0.0.0.0'),
    adminToken: str(env, 'ADMIN_TOKEN', ''),
    workers: int(env, 'WORKERS', Math.max(1, availableParallelism()), 1, 256),
    redisKeyPrefix: prefix,
    orderQueue,
    deadLetterExchange: name(env, 'DEAD_LETTER_EXCHANGE', `${orderQueue}.dlx`),
    deadLetterQueue: name(env, 'DEAD_LETTER_QUEUE', `${orderQueue}.dead`),
    consumerPrefetch: int(env, 'CONSUMER_PREFETCH', 500, 1, 65535),
    consumerBatchSize: int(env, 'CONSUMER_BATCH_SIZE', 200, 1, 10000),
    consumerBatchWaitMs: int(env, 'CONSUMER_BATCH_WAIT_MS', 20, 0, 10000),
    consumerMetricsPort: int(env, 'CONSUMER_METRICS_PORT', 9464, 0, 65535),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 16 * 1024, 256, 1024 * 1024),
    publishTimeoutMs: int(env, 'PUBLISH_TIMEOUT_MS', 5000, 50, 120000),
    pgPoolMax: int(env, 'PG_POOL_MAX', 10, 1, 1000),
    saleCacheTtlSec: int(env, 'SALE_CACHE_TTL_SECONDS', 3600, 1, 86400 * 30),
    orderCacheTtlSec: int(env, 'ORDER_CACHE_TTL_SECONDS', 1800, 1, 86400 * 30),
    pendingOrderTtlSec: int(env, 'PENDING_ORDER_TTL_SECONDS', 86400, 60, 86400 * 30),
    idempotencyTtlSec: int(env, 'IDEMPOTENCY_TTL_SECONDS', 86400, 1, 86400 * 30),
    orderQueueArguments: queueArguments(env, 'ORDER_QUEUE_ARGUMENTS'),
    publishChannels: int(env, 'PUBLISH_CHANNELS', 1, 1, 64),
    publishBatchMax: int(env, 'PUBLISH_BATCH_MAX', 100, 1, 1000),
    purchaseBatchMax: int(env, 'PURCHASE_BATCH_MAX', 100, 1, 1000),
    guardCheckIntervalMs: int(env, 'GUARD_CHECK_INTERVAL_MS', 1000, 50, 60000),
    migrateWaitForRestore: bool(env, 'MIGRATE_WAIT_FOR_RESTORE', false),
    migrateRestoreTimeoutSec: int(env, 'MIGRATE_RESTORE_TIMEOUT_SECONDS', 3600, 1, 86400 * 7),
  };
}
