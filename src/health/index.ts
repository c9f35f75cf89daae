export * from './types.js';
export { withTimeout, ProbeTimeoutError } from './util.js';
export { probePostgres, createPgPool } from './postgres.js';
export { probePgBouncer } from './pgbouncer.js';
export { probeRedis, createRedisClient, parseRedisInfo } from './redis.js';
export { probeRabbitMQ, openAmqp, type AmqpHandle } from './rabbitmq.js';
export { probeApi, probeNginx, sumCounter } from './http.js';
export { StackProbeSession, ProbeConnections, probeOnce, DEFAULT_PROBE_TIMEOUT_MS } from './session.js';
export {
  HealthProbeLoop,
  DEFAULT_PROBE_INTERVAL_MS,
  type HealthProbeLoopOptions,
  type OnHealthReport,
} from './loop.js';
export { materiallyChanged, materialView } from './material.js';
export { healthConditions, healthStatus, HEALTH_CONDITION_TYPES } from './status.js';
export { HealthMetrics } from './metrics.js';
export {
  reloadPostgresParameters,
  settingMatches,
  type ReloadResult,
  type ParameterCheck,
} from './postgres-reload.js';
export { parseDurationMs } from './duration.js';
export {
  pgTargetFromUrl,
  redisTargetFromUrl,
  amqpTargetFromUrl,
  httpBaseFromUrl,
  TargetUrlError,
} from './targets.js';
