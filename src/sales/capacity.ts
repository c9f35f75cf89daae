/**
 * The capacity model of a sale (docs/sales.md): how many replicas a stack needs for a sale's expected peak,
 * and what the sales holding capacity on one stack add up to. Pure.
 *
 * Per API replica the default is 2,500 orders/s (`spec.api.ordersPerSecondPerReplica`): `npm run bench:api`
 * measured ~4,970 paced req/s per API process at p99 27 ms on the project's 2-core machine
 * (docs/benchmarks.md, run (c)); half of it leaves room for the co-located Redis, RabbitMQ and PostgreSQL and
 * for a peak above the expected one.
 */
import type { FlashSale, SaleCapacity, SalePhase } from '../api/types.js';

export type CapacityFloor = Required<SaleCapacity>;

/** The benchmark ran one consumer per API process and kept the queue flat: consumers follow the API 1:1. */
export const CONSUMERS_PER_API_REPLICA = 1;
/** Nginx only proxies (no Lua, no upstream work): one Nginx replica per four API replicas. */
export const API_REPLICAS_PER_NGINX = 4;

export const NO_FLOOR: CapacityFloor = { apiReplicas: 0, consumerReplicas: 0, nginxReplicas: 0 };

/** The floor one sale plans for its expected peak. */
export function saleFloor(peakOrdersPerSecond: number, ordersPerSecondPerReplica: number): CapacityFloor {
  const apiReplicas = Math.max(1, Math.ceil(peakOrdersPerSecond / ordersPerSecondPerReplica));
  return {
    apiReplicas,
    consumerReplicas: Math.ceil(apiReplicas * CONSUMERS_PER_API_REPLICA),
    nginxReplicas: Math.ceil(apiReplicas / API_REPLICAS_PER_NGINX),
  };
}

export function addFloors(a: CapacityFloor, b: CapacityFloor): CapacityFloor {
  return {
    apiReplicas: a.apiReplicas + b.apiReplicas,
    consumerReplicas: a.consumerReplicas + b.consumerReplicas,
    nginxReplicas: a.nginxReplicas + b.nginxReplicas,
  };
}

/** Phases in which a sale holds its capacity: from the scale-up at T−lead until it is Completed. */
export function holdsCapacity(phase: SalePhase | undefined): boolean {
  return phase === 'Prewarming' || phase === 'Live' || phase === 'Draining' || phase === 'Reconciling';
}

/**
 * The floor of one stack: the sum over its sales that hold capacity, each with the floor recorded in its
 * status when it took it (so a later change of the per-replica figure does not move a running sale).
 * `undefined` when no sale holds any.
 */
export function stackFloor(
  sales: readonly FlashSale[],
  namespace: string,
  stack: string,
): CapacityFloor | undefined {
  let floor: CapacityFloor | undefined;
  for (const s of sales) {
    if (s.metadata.namespace !== namespace || s.spec.stackName !== stack) continue;
    if (!holdsCapacity(s.status?.phase) || !s.status?.capacity) continue;
    floor = addFloors(floor ?? NO_FLOOR, { ...NO_FLOOR, ...s.status.capacity });
  }
  return floor;
}

/** Replicas with the floor: never fewer than the spec asks for. */
export function withFloor(replicas: number, floor: number | undefined): number {
  return floor === undefined ? replicas : Math.max(replicas, floor);
}
