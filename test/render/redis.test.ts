import { describe, expect, it } from 'vitest';
import { BudgetError } from '../../src/render/budgets.js';
import { renderRedis } from '../../src/render/redis.js';
import {
  ALL_SECRETS,
  checksum,
  configData,
  find,
  inputs,
  podSpec,
  restrictedProblems,
  secretData,
  stack,
} from './daemons/helpers.js';

describe('renderRedis', () => {
  const objs = renderRedis(stack(), inputs());

  it('renders ConfigMap, Secret, Service and StatefulSet with owner refs and labels', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-redis',
      'Secret/shop-redis-credentials',
      'Service/shop-redis',
      'StatefulSet/shop-redis',
    ]);
    for (const o of objs) {
      expect(o.metadata.namespace).toBe('sales');
      expect(o.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'FlashSaleStack',
        name: 'shop',
        uid: '1111-2222',
      });
      expect(o.metadata.labels?.['app.kubernetes.io/component']).toBe('redis');
    }
  });

  it('redis.conf: AOF on, noeviction, maxmemory = 75% of the limit, password only via include', () => {
    const conf = configData(objs)['redis.conf']!;
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync everysec$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(new RegExp(`^maxmemory ${Math.floor(2 ** 30 * 0.75)}$`, 'm'));
    expect(conf).toMatch(/^include \/etc\/redis-secret\/auth\.conf$/m);
    expect(conf).not.toMatch(/^\s*requirepass/m);
    for (const s of ALL_SECRETS) expect(JSON.stringify(find(objs, 'ConfigMap'))).not.toContain(s);
    expect(secretData(objs)['auth.conf']).toBe('requirepass "redisPassw0rd-Secret"\n');
    expect(secretData(objs).password).toBe('redisPassw0rd-Secret');
  });

  it('user maxmemory in Redis notation or quantity wins', () => {
    expect(configData(renderRedis(stack({ redis: { maxmemory: '512mb' } }), inputs()))['redis.conf']).toMatch(
      /^maxmemory 536870912$/m,
    );
    expect(configData(renderRedis(stack({ redis: { maxmemory: '256Mi' } }), inputs()))['redis.conf']).toMatch(
      /^maxmemory 268435456$/m,
    );
  });

  it('refuses allkeys-* for inventory and maxmemory above the limit; allows allkeys for a cache', () => {
    expect(() => renderRedis(stack({ redis: { maxmemoryPolicy: 'allkeys-lru' } }), inputs())).toThrow(
      BudgetError,
    );
    expect(() => renderRedis(stack({ redis: { maxmemory: '16gb' } }), inputs())).toThrow(
      /spec.redis.maxmemory/,
    );
    const cache = renderRedis(stack({ redis: { maxmemoryPolicy: 'allkeys-lru', role: 'cache' } }), inputs());
    expect(configData(cache)['redis.conf']).toMatch(/^maxmemory-policy allkeys-lru$/m);
  });

  it('pod: restricted, pinned images, probes, exporter on port metrics, PVC', () => {
    const sts = find(objs, 'StatefulSet') as any;
    const spec = podSpec(sts);
    expect(restrictedProblems(spec)).toEqual([]);
    expect(spec.securityContext.runAsUser).toBe(999);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['redis', 'redis-exporter']);
    expect(spec.containers[1].ports[0]).toMatchObject({ name: 'metrics', containerPort: 9121 });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('5Gi');
    const svc = find(objs, 'Service') as any;
    expect(svc.metadata.labels['flashsale.dev/metrics']).toBe('true');
    expect(svc.spec.ports.map((p: any) => p.name)).toEqual(['redis', 'metrics']);
    expect(sts.spec.template.metadata.annotations['prometheus.io/port']).toBe('9121');
  });

  it('checksum changes with redis config or password, not with unrelated specs', () => {
    const base = checksum(find(objs, 'StatefulSet'));
    expect(
      checksum(find(renderRedis(stack({ redis: { appendonly: false } }), inputs()), 'StatefulSet')),
    ).not.toBe(base);
    expect(checksum(find(renderRedis(stack(), inputs({ redisPassword: 'other' })), 'StatefulSet'))).not.toBe(
      base,
    );
    expect(checksum(find(renderRedis(stack({ pgbouncer: { replicas: 5 } }), inputs()), 'StatefulSet'))).toBe(
      base,
    );
    expect(renderRedis(stack(), inputs())).toEqual(objs);
  });
});
