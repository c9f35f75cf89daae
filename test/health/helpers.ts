import type { ProbeTargets } from '../../src/health/types.js';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' };
export const REDIS = { host: '127.0.0.1', port: 6379 };
export const AMQP = { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', vhost: '/' };

export function localTargets(extra: Partial<ProbeTargets> = {}): ProbeTargets {
  return { postgres: { ...PG }, redis: { ...REDIS }, rabbitmq: { ...AMQP }, ...extra };
}
