/** Per-sale series on the operator's /metrics: phase, sold, order rate, backlog, reconciliation mismatch. */
import { Gauge, type Registry } from 'prom-client';
import type { FlashSaleStatus } from '../api/types.js';
import { SALE_PHASES } from '../api/schema.js';

// stack_namespace as the backup series: the scrape's own `namespace` is the operator's.
const LABELS = ['stack_namespace', 'stack', 'sale'] as const;

export class SaleMetrics {
  readonly phase: Gauge<(typeof LABELS)[number] | 'phase'>;
  readonly sold: Gauge<(typeof LABELS)[number]>;
  readonly orderRate: Gauge<(typeof LABELS)[number]>;
  readonly pending: Gauge<(typeof LABELS)[number]>;
  readonly mismatch: Gauge<(typeof LABELS)[number]>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.phase = new Gauge({
      name: 'flashsale_sale_phase',
      help: 'FlashSale phase: 1 for the current phase, 0 for the others.',
      labelNames: [...LABELS, 'phase'],
      registers,
    });
    this.sold = new Gauge({
      name: 'flashsale_sale_sold',
      help: 'Orders accepted (202) by the sale.',
      labelNames: LABELS,
      registers,
    });
    this.orderRate = new Gauge({
      name: 'flashsale_sale_order_rate',
      help: 'Orders accepted per second over the last refresh.',
      labelNames: LABELS,
      registers,
    });
    this.pending = new Gauge({
      name: 'flashsale_sale_pending_orders',
      help: 'Accepted orders of the sale still in the queue (its backlog).',
      labelNames: LABELS,
      registers,
    });
    this.mismatch = new Gauge({
      name: 'flashsale_sale_reconcile_mismatch',
      help: '1 when the reconciliation found Redis and PostgreSQL disagreeing for the sale.',
      labelNames: LABELS,
      registers,
    });
  }

  record(namespace: string, sale: string, stack: string, status: FlashSaleStatus): void {
    const l = { stack_namespace: namespace, stack, sale };
    for (const p of SALE_PHASES) this.phase.set({ ...l, phase: p }, status.phase === p ? 1 : 0);
    if (status.sold !== undefined) this.sold.set(l, status.sold);
    if (status.orderRate !== undefined) this.orderRate.set(l, status.orderRate);
    if (status.pending !== undefined) this.pending.set(l, status.pending);
    if (status.result) this.mismatch.set(l, status.result.consistent ? 0 : 1);
  }

  forget(namespace: string, sale: string, stack: string): void {
    const l = { stack_namespace: namespace, stack, sale };
    for (const p of SALE_PHASES) this.phase.remove({ ...l, phase: p });
    for (const g of [this.sold, this.orderRate, this.pending, this.mismatch]) g.remove(l);
  }
}
