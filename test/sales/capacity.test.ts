import { describe, expect, it } from 'vitest';
import type { FlashSale, SalePhase } from '../../src/api/types.js';
import { holdsCapacity, saleFloor, stackFloor, withFloor } from '../../src/sales/capacity.js';

function sale(
  name: string,
  phase: SalePhase | undefined,
  apiReplicas: number,
  stackName = 'shop',
): FlashSale {
  return {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSale',
    metadata: { name, namespace: 'default' },
    spec: {
      stackName,
      productId: 'sku-42',
      stock: 100,
      startsAt: '2026-12-24T20:00:00Z',
      endsAt: '2026-12-24T20:15:00Z',
      expectedPeakOrdersPerSecond: 1000,
    },
    status: phase
      ? { phase, capacity: { apiReplicas, consumerReplicas: apiReplicas, nginxReplicas: 1 } }
      : undefined,
  };
}

describe('capacity model', () => {
  it('plans ceil(peak / per-replica) API replicas, consumers 1:1 and one Nginx per four API replicas', () => {
    expect(saleFloor(30_000, 2_500)).toEqual({ apiReplicas: 12, consumerReplicas: 12, nginxReplicas: 3 });
    expect(saleFloor(2_501, 2_500)).toEqual({ apiReplicas: 2, consumerReplicas: 2, nginxReplicas: 1 });
    expect(saleFloor(1, 2_500)).toEqual({ apiReplicas: 1, consumerReplicas: 1, nginxReplicas: 1 });
  });

  it('adds up the floors of overlapping sales on one stack, ignoring other stacks and released sales', () => {
    const sales = [
      sale('a', 'Live', 4),
      sale('b', 'Prewarming', 3),
      sale('c', 'Completed', 50),
      sale('d', 'Scheduled', 50),
      sale('e', 'Live', 50, 'other'),
    ];
    expect(stackFloor(sales, 'default', 'shop')).toEqual({
      apiReplicas: 7,
      consumerReplicas: 7,
      nginxReplicas: 2,
    });
    expect(stackFloor([sale('c', 'Completed', 5)], 'default', 'shop')).toBeUndefined();
  });

  it('holds capacity from Prewarming through Reconciling only', () => {
    const held = (
      ['Scheduled', 'Prewarming', 'Live', 'Draining', 'Reconciling', 'Completed'] as const
    ).filter(holdsCapacity);
    expect(held).toEqual(['Prewarming', 'Live', 'Draining', 'Reconciling']);
  });

  it('never lowers replicas below what the spec asks for', () => {
    expect(withFloor(5, 3)).toBe(5);
    expect(withFloor(2, 7)).toBe(7);
    expect(withFloor(2, undefined)).toBe(2);
  });
});
