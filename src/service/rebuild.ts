/**
 * Recomputes Redis inventory and purchase markers from PostgreSQL: per sale, stock = initial − confirmed
 * orders, one marker per confirmed order, and the purchase sequence above every attempt PostgreSQL knows (so
 * a new purchase always supersedes a cancelled one), with the gate and the end PostgreSQL holds. Only the
 * recovery (src/service/recovery.ts) calls it, with the fence up and every accepted order persisted, so the
 * result is exact.
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { inTransaction, type SaleRow } from './db.js';
import type { Keys } from './keys.js';

export interface RebuildResult {
  sales: number;
  markers: number;
}

type RebuildRow = SaleRow & { next_attempt: string };

export async function rebuildInventory(pool: pg.Pool, redis: Redis, keys: Keys): Promise<RebuildResult> {
  const sales = await pool.query<RebuildRow>(
    `SELECT s.id::text, s.external_id, s.product_id, s.name, s.initial_stock,
            (s.initial_stock - (SELECT count(*) FROM orders o WHERE o.sale_id = s.id AND o.status = 'confirmed'))::int AS stock,
            s.starts_at, s.ends_at, s.gate,
            (coalesce((SELECT max(attempt) FROM orders o WHERE o.sale_id = s.id), 0) + 1)::text AS next_attempt
       FROM flash_sales s ORDER BY s.id`,
  );
  let markers = 0;
  for (const sale of sales.rows) {
    const tmp = `${keys.buyers(sale.id)}:rebuild`;
    await redis.del(tmp);
    const orders = await pool.query<{ id: string; user_id: string }>(
      "SELECT id::text, user_id FROM orders WHERE sale_id = $1 AND status = 'confirmed'",
      [sale.id],
    );
    for (let i = 0; i < orders.rows.length; i += 1000) {
      const chunk = orders.rows.slice(i, i + 1000);
      await redis.hset(tmp, Object.fromEntries(chunk.map((o) => [o.user_id, o.id])));
    }
    markers += orders.rows.length;
    // The gate and the end are read again under a share lock held until Redis has them: a suspend or an
    // extension (which write Redis under the row's update lock, sale-admin.ts) lands before or after, never
    // between the read and the write.
    await inTransaction(pool, async (client) => {
      const live = await client.query<Pick<SaleRow, 'gate' | 'ends_at'>>(
        'SELECT gate, ends_at FROM flash_sales WHERE id = $1 FOR SHARE',
        [sale.id],
      );
      const now = { ...sale, ...live.rows[0] };
      const m = redis.multi().del(keys.buyers(sale.id));
      if (orders.rows.length > 0) m.rename(tmp, keys.buyers(sale.id));
      m.del(keys.saleInfo(sale.id));
      m.hset(keys.inventory(sale.id), {
        ...inventoryFields(now, Math.max(0, sale.stock)),
        seq: sale.next_attempt,
      });
      await m.exec();
    });
  }
  return { sales: sales.rows.length, markers };
}

/** The inventory hash of a sale (no TTL): remaining stock, the window in ms and the gate. */
export function inventoryFields(
  row: Pick<SaleRow, 'starts_at' | 'ends_at' | 'gate'>,
  remaining: number,
): Record<string, number | string> {
  return {
    stock: remaining,
    startsAt: row.starts_at.getTime(),
    endsAt: row.ends_at.getTime(),
    gate: row.gate,
  };
}
