import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import type { FlashSaleStack } from '../../src/api/types.js';
import type { KubeObject } from '../../src/render/common.js';
import { render } from '../../src/render/index.js';
import { inputs } from '../golden/fixtures.js';

function stack(api: Record<string, unknown> = {}): FlashSaleStack {
  return {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name: 'shop', namespace: 'default' },
    spec: { api },
  };
}
const find = (objs: KubeObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name) as unknown as {
    spec: Record<string, unknown>;
  };
const floor = { apiReplicas: 6, consumerReplicas: 6, nginxReplicas: 2 };

describe('render with a sale capacity floor', () => {
  it('raises API, consumer and Nginx replicas to the floor and leaves PgBouncer and the rest alone', () => {
    const plain = render(applyDefaults(stack()), inputs()).objects;
    const raised = render(applyDefaults(stack()), inputs({ capacityFloor: floor })).objects;
    expect(find(raised, 'Deployment', 'shop-api').spec.replicas).toBe(6);
    expect(find(raised, 'Deployment', 'shop-consumer').spec.replicas).toBe(6);
    expect(find(raised, 'Deployment', 'shop-nginx').spec.replicas).toBe(2);
    const others = (objs: KubeObject[]) =>
      objs.filter(
        (o) =>
          !['shop-api', 'shop-consumer', 'shop-nginx'].includes(o.metadata.name) || o.kind !== 'Deployment',
      );
    expect(others(raised)).toEqual(others(plain));
  });

  it('never lowers replicas the spec asks for', () => {
    const raised = render(applyDefaults(stack({ replicas: 9 })), inputs({ capacityFloor: floor })).objects;
    expect(find(raised, 'Deployment', 'shop-api').spec.replicas).toBe(9);
  });

  it('with autoscaling raises the HPA minimum (capped at its maximum) and leaves Deployment replicas to the HPA', () => {
    const auto = { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8 } };
    const objs = render(applyDefaults(stack(auto)), inputs({ capacityFloor: floor })).objects;
    expect(find(objs, 'HorizontalPodAutoscaler', 'shop-api').spec).toMatchObject({
      minReplicas: 6,
      maxReplicas: 8,
    });
    expect(find(objs, 'Deployment', 'shop-api').spec.replicas).toBeUndefined();
    const big = render(
      applyDefaults(stack(auto)),
      inputs({ capacityFloor: { ...floor, apiReplicas: 20 } }),
    ).objects;
    expect(find(big, 'HorizontalPodAutoscaler', 'shop-api').spec).toMatchObject({
      minReplicas: 8,
      maxReplicas: 8,
    });
  });
});
