/**
 * What the operator's FlashSale controller needs from a stack's API service, over its admin endpoints
 * (bearer ADMIN_TOKEN). The HTTP implementation lives in `http-sale-api.ts`; the endpoints are documented in
 * docs/api-service.md. Every call is idempotent, so a retried or restarted operator repeats it safely.
 */

/** The sale as the API service stores it. */
export interface ApiSale {
  id: string;
  externalId: string | null;
  productId: string;
  name: string | null;
  stock: number;
  remaining: number;
  startsAt: string;
  endsAt: string;
  /** open: orders are taken inside the window; suspended: refused until resumed; closed: refused for good. */
  gate: 'open' | 'suspended' | 'closed';
}

export interface NewApiSale {
  /** Unique per sale, e.g. `<namespace>/<name>/<uid>` of the FlashSale; a second create returns the first. */
  externalId: string;
  productId: string;
  name?: string;
  stock: number;
  startsAt: string;
  endsAt: string;
}

/** Per-sale counters; `null` where Redis holds no inventory for the sale (not loaded, or lost). */
export interface ApiSaleCounters {
  saleId: string;
  stock: number;
  remaining: number | null;
  /** Units taken in Redis (stock - remaining): every 202. */
  accepted: number | null;
  persisted: number;
  rejected: number;
  cancelled: number;
  /** Accepted but not yet written to PostgreSQL (accepted - persisted). */
  pending: number | null;
}

/** The after-the-sale check: Redis against PostgreSQL. */
export interface ApiSaleReconciliation {
  saleId: string;
  stock: number;
  /** stock - remaining in Redis; null when Redis holds no inventory for the sale. */
  soldInRedis: number | null;
  /** Confirmed order rows in PostgreSQL for the sale. */
  ordersInDatabase: number;
  /** Users with more than one confirmed order for the sale (0 when the unique constraint holds). */
  duplicateBuyers: number;
  /** Orders still in the queue (accepted, neither persisted nor rejected/cancelled). */
  pending: number | null;
  /** soldInRedis === ordersInDatabase && ordersInDatabase <= stock && duplicateBuyers === 0 */
  consistent: boolean;
}

export class SaleApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface SaleApi {
  /** Create, or return the existing sale with this externalId (409 `external_id_conflict` if it differs). */
  createSale(sale: NewApiSale): Promise<{ sale: ApiSale; created: boolean }>;
  getSale(id: string): Promise<ApiSale>;
  /** Only later than the current end; an earlier one is 400. */
  extendSale(id: string, endsAt: string): Promise<ApiSale>;
  suspendSale(id: string): Promise<ApiSale>;
  resumeSale(id: string): Promise<ApiSale>;
  /** Closes the gate for good (an aborted sale); orders then answer 403 `sale_closed`. */
  closeSale(id: string): Promise<ApiSale>;
  counters(id: string): Promise<ApiSaleCounters>;
  reconciliation(id: string): Promise<ApiSaleReconciliation>;
}
