/**
 * rebuild-stock: recompute Redis inventory and purchase markers from PostgreSQL, for a Redis that lost
 * data. Run it with the order queue drained (stop `serve`, let `consume` finish): orders still in the queue
 * are not rows yet, so their units would be offered again (PostgreSQL's CHECK (stock >= 0) and the unique
 * (sale_id, user_id) still refuse any oversell or double purchase; such messages end in the dead-letter queue).
 */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { SaleRow } from './db.js';
import { loadInventory } from './handlers.js';
import type { Keys } from './keys.js';

export interface RebuildResult {
  sales: number;
  markers: number;
}

export async function rebuildStock(pool: pg.Pool, redis: Redis, keys: Keys): Promise<RebuildResult> {
  const sales = await pool.query<SaleRow>(
    `SELECT s.id::text, s.product_id, s.name, s.initial_stock,
            (s.initial_stock - (SELECT count(*) FROM orders o WHERE o.sale_id = s.id))::int AS stock,
            s.starts_at, s.ends_at
       FROM flash_sales s ORDER BY s.id`,
  );
  let markers = 0;
  for (const sale of sales.rows) {
    const tmp = `${keys.buyers(sale.id)}:rebuild`;
    await redis.del(tmp);
    const orders = await pool.query<{ id: string; user_id: string }>(
      'SELECT id::text, user_id FROM orders WHERE sale_id = $1',
      [sale.id],
    );
    for (let i = 0; i < orders.rows.length; i += 1000) {
      const chunk = orders.rows.slice(i, i + 1000);
      await redis.hset(tmp, Object.fromEntries(chunk.map((o) => [o.user_id, o.id])));
    }
    markers += orders.rows.length;
    const m = redis.multi().del(keys.buyers(sale.id));
    if (orders.rows.length > 0) m.rename(tmp, keys.buyers(sale.id));
    await m.del(keys.saleInfo(sale.id)).exec();
    await loadInventory(redis, keys, sale, Math.max(0, sale.stock));
  }
  return { sales: sales.rows.length, markers };
}
