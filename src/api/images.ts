/**
 * Default container images, pinned (never `:latest`). One place, so defaults, render and docs agree.
 * Bump them deliberately, with the CHANGELOG.
 */
import type { PostgresMajorVersion } from './types.js';

export const POSTGRES_IMAGES: Record<PostgresMajorVersion, string> = {
  15: 'postgres:15.14-bookworm',
  16: 'postgres:16.10-bookworm',
  17: 'postgres:17.6-bookworm',
  18: 'postgres:18.1-bookworm',
};

export const DEFAULT_IMAGES = {
  pgbouncer: 'ghcr.io/cloudnative-pg/pgbouncer:1.24.1',
  redis: 'redis:7.4.2-bookworm',
  rabbitmq: 'rabbitmq:4.1.0-management',
  nginx: 'nginxinc/nginx-unprivileged:1.28.0-alpine',
  api: 'ghcr.io/flash-sale-operator/flash-sale-api:0.1.0',
  operator: 'ghcr.io/flash-sale-operator/flash-sale-operator:0.1.0',
  postgresExporter: 'quay.io/prometheuscommunity/postgres-exporter:v0.17.1',
  redisExporter: 'oliver006/redis_exporter:v1.67.0',
  pgbouncerExporter: 'prometheuscommunity/pgbouncer-exporter:v0.10.2',
} as const;

/** Well-known ports, shared by render (Services, NetworkPolicies) and the health probes. */
export const PORTS = {
  postgres: 5432,
  pgbouncer: 6432,
  redis: 6379,
  amqp: 5672,
  rabbitmqManagement: 15672,
  rabbitmqPrometheus: 15692,
  rabbitmqEpmd: 4369,
  rabbitmqDist: 25672,
  api: 8001,
  /** The API's GET /metrics (METRICS_PORT), apart from its serving port. */
  apiMetrics: 9465,
  nginx: 8080,
  nginxTls: 8443,
  postgresExporter: 9187,
  redisExporter: 9121,
  pgbouncerExporter: 9127,
} as const;
