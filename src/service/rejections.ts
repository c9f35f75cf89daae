/**
 * Why the database refused an order, as the short code stored in `orders.reason`, counted in
 * `orders_rejected_total{reason}` and shown by `GET /api/orders/{id}` with its explanation.
 */
export const REJECTION_REASONS = {
  out_of_stock:
    'the database had no stock left for this sale: Redis accepted more orders than the stock (its inventory was behind); the sale was fenced and its stock recomputed',
  duplicate_order: 'the database already holds another order of this user for this sale',
  invalid_order: 'the database refused the order as invalid',
  publish_unconfirmed:
    'the order queue did not confirm the order in time; it was cancelled and nothing was taken (the buyer got 503 and may buy again)',
} as const;

export type RejectionReason = keyof typeof REJECTION_REASONS;

/** The reason code for a PostgreSQL error of class 22/23 raised while writing an order. */
export function rejectionReason(e: unknown): RejectionReason {
  const err = e as { code?: string; constraint?: string } | null;
  if (err?.code === '23514' && err.constraint === 'flash_sales_stock_nonnegative') return 'out_of_stock';
  if (err?.code === '23505') return 'duplicate_order';
  return 'invalid_order';
}
