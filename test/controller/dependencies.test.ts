import { describe, expect, it } from 'vitest';
import { dependenciesOf, objectRef } from '../../src/controller/dependencies.js';
import { applyDefaults } from '../../src/api/defaults.js';
import { render } from '../../src/render/index.js';
import { inputs } from '../golden/fixtures.js';

describe('which rendered objects wait for which', () => {
  const stack = applyDefaults({
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name: 'shop', namespace: 'default', uid: 'u' },
    spec: { api: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 } } },
  });
  const { objects } = render(stack, inputs());
  const names = new Set(objects.map(objectRef));
  const deps = (ref: string) =>
    dependenciesOf(
      objects.find((o) => objectRef(o) === ref)!,
      names,
    ).sort();

  it('a workload waits for the ConfigMaps, Secrets and ServiceAccount its pods use', () => {
    const redis = deps('StatefulSet/shop-redis');
    expect(redis).toContain('ConfigMap/shop-redis');
    expect(redis).toContain('Secret/shop-redis-credentials');
    expect(redis.some((d) => d.startsWith('ServiceAccount/'))).toBe(true);
    expect(redis.every((d) => names.has(d))).toBe(true);
    expect(deps('Deployment/shop-api')).toContain('Secret/shop-api');
  });

  it('an autoscaler waits for its target; Services and NetworkPolicies wait for nothing', () => {
    expect(deps('HorizontalPodAutoscaler/shop-api')).toEqual(['Deployment/shop-api']);
    expect(deps('Service/shop-redis')).toEqual([]);
    for (const o of objects.filter((x) => x.kind === 'NetworkPolicy'))
      expect(dependenciesOf(o, names)).toEqual([]);
  });

  it('every dependency comes earlier in render order, so it is applied first', () => {
    const position = new Map(objects.map((o, i) => [objectRef(o), i]));
    for (const o of objects) {
      for (const d of dependenciesOf(o, names))
        expect(position.get(d)!).toBeLessThan(position.get(objectRef(o))!);
    }
  });
});
