/**
 * Redis key layout. `{sale:<id>}` is a hash tag so every key one Lua call touches lives in one cluster slot.
 *   inventory  <p>{sale:<id>}:inv      hash stock/startsAt/endsAt (ms)   NO TTL (inventory)
 *   markers    <p>{sale:<id>}:buyers   hash userId -> orderId            NO TTL (purchase markers)
 *   pending    <p>{sale:<id>}:order:<orderId>  "saleId\nuserId"          TTL PENDING_ORDER_TTL_SECONDS
 *   sale cache <p>{sale:<id>}:info     JSON                              TTL SALE_CACHE_TTL_SECONDS
 *   order idx  <p>order:<orderId>      saleId                            TTL PENDING_ORDER_TTL_SECONDS
 *   order cache<p>order:<orderId>:confirmed JSON                         TTL ORDER_CACHE_TTL_SECONDS
 *   idempotency<p>idem:<saleId>:<sha256(key)>  JSON answer              TTL IDEMPOTENCY_TTL_SECONDS
 *   guard      <p>inventory-guard       hash state/epoch/runId/reason/since/recovery   NO TTL (the fence)
 *   lock       <p>inventory-guard:lock  token of the process running the recovery    TTL (renewed)
 */
import { createHash } from 'node:crypto';

export class Keys {
  constructor(readonly prefix: string) {}
  private sale(id: string): string {
    return `${this.prefix}{sale:${id}}`;
  }
  inventory(saleId: string): string {
    return `${this.sale(saleId)}:inv`;
  }
  buyers(saleId: string): string {
    return `${this.sale(saleId)}:buyers`;
  }
  saleInfo(saleId: string): string {
    return `${this.sale(saleId)}:info`;
  }
  orderIndex(orderId: string): string {
    return `${this.prefix}order:${orderId}`;
  }
  orderConfirmed(orderId: string): string {
    return `${this.prefix}order:${orderId}:confirmed`;
  }
  guard(): string {
    return `${this.prefix}inventory-guard`;
  }
  guardLock(): string {
    return `${this.prefix}inventory-guard:lock`;
  }
  idempotency(saleId: string, key: string): string {
    return `${this.prefix}idem:${saleId}:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
  }
}

/** Order ids are deterministic per (sale, user): redelivery, retries and rebuild-stock all agree on them. */
export function orderIdFor(saleId: string, userId: string): string {
  const h = createHash('sha256').update(`flash-sale-order\0${saleId}\0${userId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5-style layout (name-based, SHA)
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
