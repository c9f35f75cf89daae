/**
 * The environment src/render/api.ts gives the API, consumer and migrate containers is what the service reads:
 * every name the render layer sets is loaded by src/service/config.ts with the rendered value.
 */
import { describe, expect, it } from 'vitest';
import { renderApi } from '../../src/render/api.js';
import { rabbitmqQueueArguments } from '../../src/render/rabbitmq.js';
import { loadConfig } from '../../src/service/config.js';
import { containers, find, inputs, stackOf } from '../golden/fixtures.js';

type EnvVar = { name: string; value?: string; valueFrom?: unknown };

function plainEnv(c: { env?: EnvVar[] }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) out[e.name] = e.value;
  return out;
}

describe('rendered env ↔ service config', () => {
  const stack = stackOf({ rabbitmq: { replicas: 3 } });
  const objs = renderApi(stack, inputs());
  const named = (deployment: string, name: string): { env?: EnvVar[] } =>
    (containers(find(objs, 'Deployment', deployment)) as { name: string; env?: EnvVar[] }[]).find(
      (c) => c.name === name,
    )!;
  const api = named('shop-api', 'api');
  const consumer = named('shop-consumer', 'consumer');

  it('server: WORKERS, PG_POOL_MAX, PORT, HOST and the queue arguments are honoured', () => {
    const env = plainEnv(api);
    const cfg = loadConfig(env);
    expect(cfg.workers).toBe(Number(env.WORKERS));
    expect(cfg.pgPoolMax).toBe(Number(env.PG_POOL_MAX));
    expect(cfg.port).toBe(Number(env.PORT));
    expect(cfg.host).toBe(env.HOST);
    expect(cfg.orderQueueArguments).toEqual(rabbitmqQueueArguments(stack));
  });

  it('consumer: CONSUMER_PREFETCH, CONSUMER_METRICS_PORT, PG_POOL_MAX and the queue arguments are honoured', () => {
    const env = plainEnv(consumer);
    const cfg = loadConfig(env);
    expect(cfg.consumerPrefetch).toBe(Number(env.CONSUMER_PREFETCH));
    expect(cfg.consumerMetricsPort).toBe(Number(env.CONSUMER_METRICS_PORT));
    expect(cfg.pgPoolMax).toBe(Number(env.PG_POOL_MAX));
    expect(cfg.orderQueueArguments).toEqual({
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'flashsale.dlx',
      'x-delivery-limit': 10,
      'x-quorum-initial-group-size': 3,
    });
  });

  it('migrate waits for the restore only when bootstrapping from a backup', () => {
    const migrateEnv = (s: ReturnType<typeof stackOf>): Record<string, string> => {
      const d = find(renderApi(s, inputs()), 'Deployment', 'shop-api') as unknown as {
        spec: { template: { spec: { initContainers: { name: string; env?: EnvVar[] }[] } } };
      };
      return plainEnv(d.spec.template.spec.initContainers.find((c) => c.name === 'migrate')!);
    };
    expect(loadConfig(migrateEnv(stack)).migrateWaitForRestore).toBe(false);
    const restoring = stackOf({
      postgres: { bootstrap: { fromBackup: { claimName: 'old-backups', file: 'shop-x.dump' } } },
    });
    expect(loadConfig(migrateEnv(restoring)).migrateWaitForRestore).toBe(true);
  });
});
