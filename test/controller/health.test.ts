/**
 * Health in status, end to end: the operator's probe loop measures the real PostgreSQL, Redis and RabbitMQ on
 * this machine (the stack's Service addresses are mapped to them), writes status.health and the
 * <Component>Healthy conditions, stays silent while nothing changes, and flips Degraded (with an Event) when
 * a component becomes unreachable.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { createHealthIntegration } from '../../src/controller/health-integration.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import type { ProbeTargets } from '../../src/health/types.js';
import { kubectlBinary } from '../support/tools.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  condition,
  eventually,
  getStack,
  loadExample,
  testParts,
  useOperatorTestEnv,
  writes,
} from './harness.js';

const execFileAsync = promisify(execFile);
const QUEUE = `fss-health-${process.pid}-${Date.now()}`;

describe('health probes in the stack status', () => {
  let redisPort = 6379;

  beforeAll(async () => {
    const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
    const ch = await conn.createChannel();
    await ch.assertQueue(QUEUE, { durable: false, autoDelete: false });
    await conn.close();
  });

  afterAll(async () => {
    const conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672');
    const ch = await conn.createChannel();
    await ch.deleteQueue(QUEUE);
    await conn.close();
  });

  beforeEach(() => {
    redisPort = 6379;
  });
  const targets = (): ProbeTargets => ({
    postgres: { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' },
    redis: { host: '127.0.0.1', port: redisPort },
    rabbitmq: { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', vhost: '/' },
    queues: [QUEUE],
  });
  const env = useOperatorTestEnv({
    parts: () => testParts({ health: createHealthIntegration({ defaultIntervalMs: 500, targets }) }),
  });
  beforeEach(async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { monitoring: { probeInterval: '1s', probeTimeout: '1s' } };
    await env.c.create(stack);
  });

  const healthyStack = () =>
    eventually(
      async () => {
        const s = await getStack(env.c, 'shop');
        const st = s.status as any;
        return condition(s, 'Ready')?.status === 'True' &&
          condition(s, 'PostgresHealthy')?.status === 'True' &&
          condition(s, 'RedisHealthy')?.status === 'True' &&
          condition(s, 'RabbitMQHealthy')?.status === 'True' &&
          st?.health?.postgres
          ? s
          : undefined;
      },
      'a Ready stack with healthy probes',
      30_000,
    );

  it('reports measured health, then writes nothing while nothing changes', async () => {
    const s = await healthyStack();
    const st = s.status as any;
    expect(st.phase).toBe('Ready');
    expect(condition(s, 'Degraded')?.status).toBe('False');
    expect(st.health.postgres.healthy).toBe(true);
    expect(st.health.postgres.serverVersion ?? st.health.postgres.version).toBeTruthy();
    expect(st.health.redis.healthy).toBe(true);
    expect(st.health.rabbitmq.healthy).toBe(true);
    expect(JSON.stringify(st)).not.toMatch(/guest:guest|password/i);

    await env.op.waitIdle();
    await new Promise((r) => setTimeout(r, 500));
    env.srv.resetRequests();
    await new Promise((r) => setTimeout(r, 4_500)); // four or more probe rounds
    await env.op.waitIdle();
    expect(writes(env.srv)).toEqual([]);

    // kubectl describe shows the health conditions with their reasons.
    // Asynchronously: the API server runs in this process and must keep serving while kubectl waits.
    const d = await execFileAsync(
      kubectlBinary(),
      ['--kubeconfig', env.srv.kubeconfigPath, 'describe', 'fss', 'shop'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    if (process.env.SHOW_DESCRIBE) console.log(d.stdout);
    expect(d.stdout).toMatch(/Type:\s+PostgresHealthy/);
    expect(d.stdout).toMatch(/Health:/);
  }, 60_000);

  it('an unreachable Redis flips RedisHealthy and Degraded, with an Event, and recovers', async () => {
    await healthyStack();
    redisPort = 1; // nothing listens there
    const degraded = await eventually(
      async () => {
        const s = await getStack(env.c, 'shop');
        return condition(s, 'RedisHealthy')?.status === 'False' ? s : undefined;
      },
      'RedisHealthy=False',
      20_000,
    );
    expect(condition(degraded, 'RedisHealthy')?.reason).toBe('Unreachable');
    expect(condition(degraded, 'Degraded')?.status).toBe('True');
    expect((degraded.status as any).phase).toBe('Degraded');
    await eventually(
      async () =>
        (await env.c.list(resourceTypeByKind('Event'), 'default', {})).items.some(
          (e: any) => e.reason === 'Degraded',
        ),
      'a Degraded Event',
    );
    redisPort = 6379;
    await eventually(
      async () => {
        const s = await getStack(env.c, 'shop');
        return condition(s, 'Degraded')?.status === 'False' && (s.status as any).phase === 'Ready';
      },
      'recovery',
      20_000,
    );
  }, 60_000);
});
