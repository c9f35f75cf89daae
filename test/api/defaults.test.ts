import { describe, expect, it } from 'vitest';
import { applyDefaults, resolveResources, DEFAULT_RESOURCES } from '../../src/api/defaults.js';
import { POSTGRES_IMAGES, DEFAULT_IMAGES } from '../../src/api/images.js';
import type { FlashSaleStack } from '../../src/api/types.js';

function stack(spec: FlashSaleStack['spec'] = {}, namespace?: string): FlashSaleStack {
  return {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: namespace ? { name: 'shop', namespace } : { name: 'shop' },
    spec,
  };
}

describe('applyDefaults', () => {
  it('fills every default on an empty spec', () => {
    const r = applyDefaults(stack());
    expect(r.metadata).toEqual({ name: 'shop', namespace: 'default' });
    const s = r.spec;
    expect(s.paused).toBe(false);
    expect(s.pvcRetentionPolicy).toBe('Retain');
    expect(s.postgres.version).toBe(18);
    expect(s.postgres.image).toBe(POSTGRES_IMAGES[18]);
    expect(s.postgres.database).toBe('flash_sale_db');
    expect(s.postgres.parameters).toEqual({});
    expect(s.postgres.storage).toEqual({ size: '20Gi' });
    expect(s.pgbouncer).toMatchObject({
      enabled: true,
      replicas: 2,
      poolMode: 'transaction',
      maxClientConn: 2000,
      defaultPoolSize: 25,
      reservePoolSize: 5,
      image: DEFAULT_IMAGES.pgbouncer,
    });
    expect(s.redis).toMatchObject({ maxmemoryPolicy: 'noeviction', appendonly: true, role: 'inventory' });
    expect(s.redis.maxmemory).toBeUndefined();
    expect(s.rabbitmq).toMatchObject({ replicas: 1, queues: ['order_queue', 'payment_queue'] });
    expect(s.api).toMatchObject({
      replicas: 2,
      port: 8001,
      dbPoolSize: 10,
      env: [],
      autoscaling: { enabled: false, minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70 },
      consumer: { replicas: 2, prefetch: 100 },
    });
    expect(s.nginx).toMatchObject({
      replicas: 2,
      rateLimit: { requestsPerSecond: 100, burst: 200, nodelay: true },
      serviceType: 'LoadBalancer',
      timeouts: { connect: '5s', send: '10s', read: '10s' },
      upstream: { maxFails: 3, failTimeout: '30s' },
      trustedProxies: [],
    });
    expect(s.nginx.tls).toBeUndefined();
    expect(s.backup).toMatchObject({
      enabled: true,
      schedule: '0 2 * * *',
      retentionDays: 30,
      minKeep: 3,
      storage: { size: '20Gi' },
      verify: true,
      onDelete: false,
    });
    expect(s.monitoring).toMatchObject({
      enabled: true,
      serviceMonitor: 'auto',
      prometheusRule: true,
      grafanaDashboard: true,
      probeInterval: '30s',
      probeTimeout: '5s',
    });
    expect(s.monitoring.thresholds.redisHitRatioMin).toBeGreaterThan(0);
    for (const c of [s.postgres, s.pgbouncer, s.redis, s.rabbitmq, s.api, s.api.consumer, s.nginx]) {
      expect(c.resources.requests.cpu).not.toBe('');
      expect(c.resources.limits.memory).not.toBe('');
    }
  });

  it('picks the Postgres image by version and keeps user values', () => {
    const r = applyDefaults(
      stack(
        { postgres: { version: 16, parameters: { work_mem: '8MB' } }, redis: { maxmemory: '3gb' } },
        'sale',
      ),
    );
    expect(r.metadata.namespace).toBe('sale');
    expect(r.spec.postgres.image).toBe(POSTGRES_IMAGES[16]);
    expect(r.spec.postgres.parameters).toEqual({ work_mem: '8MB' });
    expect(r.spec.redis.maxmemory).toBe('3gb');
  });

  it('does not mutate its input and shares no objects with it', () => {
    const input = stack({ postgres: { parameters: { a: '1' } }, rabbitmq: { queues: ['q'] } });
    const before = structuredClone(input);
    const r = applyDefaults(input);
    expect(input).toEqual(before);
    r.spec.postgres.parameters.b = '2';
    r.spec.rabbitmq.queues.push('x');
    expect(input).toEqual(before);
    expect(applyDefaults(input)).toEqual(applyDefaults(before));
  });

  it('keeps requests <= limits when only one side is given', () => {
    const low = resolveResources({ limits: { memory: '128Mi' } }, DEFAULT_RESOURCES.postgres);
    expect(low.limits.memory).toBe('128Mi');
    expect(low.requests.memory).toBe('128Mi');
    const high = resolveResources({ requests: { cpu: '8' } }, DEFAULT_RESOURCES.postgres);
    expect(high.limits.cpu).toBe('8');
  });
});
