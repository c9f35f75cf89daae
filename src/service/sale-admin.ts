/**
 * The admin endpoints the operator's FlashSale drives (src/sales/sale-api.ts): the gate (suspend, resume,
 * close), extending the end, and the after-the-sale reconciliation.
 *
 * PostgreSQL holds the gate and the end; the sale's inventory hash in Redis holds the copy purchases check.
 * Both are written while the sale's row is locked (FOR UPDATE), and the recovery's rebuild reads them under a
 * share lock (rebuild.ts), so two changes, or a change and a rebuild, never leave Redis with the older value.
 * Redis failing rolls the change back: the answer is 503 and nothing changed. (Only a commit failing after Redis
 * took the change leaves Redis ahead of PostgreSQL; the 503 says so and the caller's retry settles it.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { duplicateBuyers, type Gate, inTransaction, lockSale, type SaleRow, updateSale } from './db.js';
import { checkAdmin, type Deps, orderCounters, saleJson } from './handlers.js';
import { HttpError, readJson, sendJson } from './http.js';
import { runScript, setIfLoadedScript } from './lua.js';
import { parseSalePatch } from './validate.js';

type Decide = (row: SaleRow) => { gate?: Gate; endsAt?: Date };

class RedisDown extends Error {}

async function changeSale(d: Deps, saleId: string, decide: Decide): Promise<{ row: SaleRow; left: number }> {
  let written = false;
  try {
    return await inTransaction(d.pool, async (c) => {
      const row = await lockSale(c, saleId);
      if (!row) throw new HttpError(404, 'sale_not_found', `sale ${saleId} does not exist`);
      const updated = await updateSale(c, saleId, decide(row));
      const fields = ['gate', updated.gate, 'endsAt', updated.ends_at.getTime()];
      try {
        const inv = d.keys.inventory(saleId);
        written = (await runScript(d.redis, setIfLoadedScript, [inv], fields)) === 1;
        await d.redis.del(d.keys.saleInfo(saleId));
        const left = await d.redis.hget(inv, 'stock');
        return { row: updated, left: left !== null ? Number(left) : updated.stock };
      } catch {
        throw new RedisDown();
      }
    });
  } catch (e) {
    if (e instanceof HttpError) throw e;
    if (e instanceof RedisDown) {
      throw new HttpError(503, 'unavailable', `Redis is unavailable; sale ${saleId} is unchanged, retry`);
    }
    // The commit failed after Redis took the change: purchases may already follow it; a retry settles both
    // (and the next rebuild writes what PostgreSQL holds).
    throw new HttpError(
      503,
      'unavailable',
      written
        ? `the database did not confirm the change of sale ${saleId} (it may already be in force); retry`
        : `the database is unavailable; sale ${saleId} is unchanged, retry`,
    );
  }
}

function gateTo(saleId: string, want: Gate): Decide {
  return (row) => {
    if (row.gate === 'closed' && want !== 'closed') {
      // Suspending a closed sale asks for what already holds (nothing is sold); resuming it cannot be done.
      if (want === 'suspended') return {};
      throw new HttpError(409, 'sale_closed', `sale ${saleId} is closed for good; it cannot be resumed`);
    }
    return { gate: want };
  };
}

/** POST /api/sales/{id}/suspend | resume | close (admin): 200 with the sale and its gate. Idempotent. */
export async function setGate(
  d: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  saleId: string,
  action: 'suspend' | 'resume' | 'close',
): Promise<string> {
  checkAdmin(d, req);
  const want: Gate = action === 'suspend' ? 'suspended' : action === 'resume' ? 'open' : 'closed';
  const { row, left } = await changeSale(d, saleId, gateTo(saleId, want));
  sendJson(res, 200, saleJson(row, left));
  return '200';
}

/** PATCH /api/sales/{id} (admin), body {"endsAt"}: extends the sale; the same end again changes nothing. */
export async function patchSale(
  d: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  saleId: string,
): Promise<string> {
  checkAdmin(d, req);
  const { endsAt } = parseSalePatch(await readJson(req, d.cfg.bodyLimitBytes));
  const { row, left } = await changeSale(d, saleId, (current) => {
    if (endsAt.getTime() < current.ends_at.getTime()) {
      throw new HttpError(
        400,
        'invalid_request',
        `endsAt must not be earlier than the sale's current end ${current.ends_at.toISOString()}; a sale can only be extended (close it to stop it early)`,
      );
    }
    return { endsAt };
  });
  sendJson(res, 200, saleJson(row, left));
  return '200';
}

/** GET /api/sales/{id}/reconciliation (admin): sold in Redis against confirmed orders in PostgreSQL. */
export async function readReconciliation(
  d: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  saleId: string,
): Promise<string> {
  checkAdmin(d, req);
  let sales;
  let duplicates: number;
  try {
    [sales, duplicates] = await Promise.all([orderCounters(d, saleId), duplicateBuyers(d.pool, saleId)]);
  } catch {
    throw new HttpError(503, 'unavailable', 'the database or Redis is unavailable');
  }
  const c = sales[0];
  if (!c) throw new HttpError(404, 'sale_not_found', `sale ${saleId} does not exist`);
  const { stock, accepted: soldInRedis, persisted: ordersInDatabase } = c;
  sendJson(res, 200, {
    saleId,
    stock,
    soldInRedis,
    ordersInDatabase,
    duplicateBuyers: duplicates,
    pending: c.pending,
    consistent: soldInRedis === ordersInDatabase && ordersInDatabase <= stock && duplicates === 0,
  });
  return '200';
}
