/** Request handlers. The order hot path touches only Redis (one Lua call) and RabbitMQ (one confirmed publish). */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ServiceConfig } from './config.js';
import {
  getOrder,
  getSale,
  getSaleByExternalId,
  inTransaction,
  insertSale,
  isDatabaseOutage,
  saleOrderCounts,
  settleUnconfirmed,
  type OrderMessage,
  type SaleRow,
} from './db.js';
import { HttpError, readJson, sendJson } from './http.js';
import type { GuardView, InventoryGuard } from './inventory-guard.js';
import { Keys, orderIdFor } from './keys.js';
import { compensateScript, PurchaseCode, runScript } from './lua.js';
import type { ApiMetrics } from './metrics.js';
import type { PurchaseBatcher, PurchaseReply } from './purchase.js';
import { PublishError, type Publisher } from './queue.js';
import { inventoryFields } from './rebuild.js';
import { REJECTION_REASONS, type RejectionReason } from './rejections.js';
import { type NewSale, parseIdempotencyKey, parseOrderBody, parseSaleBody } from './validate.js';

export interface Deps {
  cfg: ServiceConfig;
  redis: Redis;
  pool: pg.Pool;
  publisher: Publisher;
  metrics: ApiMetrics;
  keys: Keys;
  purchases: PurchaseBatcher;
  guard: InventoryGuard;
}

interface Answer {
  status: number;
  body: unknown;
}

function err(status: number, code: string, message: string): Answer {
  return { status, body: { error: code, message } };
}

function unavailable(what: string): Answer {
  return err(503, 'unavailable', `${what} is unavailable; nothing was taken, retry later`);
}

function recovering(view: GuardView | undefined): Answer {
  return err(
    503,
    'inventory_recovering',
    `the inventory is being recomputed from the database (${view?.reason || 'guard not checked yet'}); nothing was taken, retry in a few seconds`,
  );
}

/** POST /api/sales/{id}/orders */
export async function createOrder(
  d: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  saleId: string,
): Promise<string> {
  const started = performance.now();
  let answer: Answer;
  try {
    answer = await orderAnswer(d, req, saleId);
  } catch (e) {
    if (!(e instanceof HttpError)) throw e;
    answer = err(e.status, e.code, e.message);
  }
  sendJson(res, answer.status, answer.body);
  const result =
    answer.status === 202 ? 'accepted' : ((answer.body as { error?: string }).error ?? String(answer.status));
  d.metrics.orderCreateDuration.observe({ result }, performance.now() - started);
  return String(answer.status);
}

interface StoredAnswer {
  state: 'pending' | 'done';
  userId: string;
  status?: number;
  body?: unknown;
}

async function orderAnswer(d: Deps, req: IncomingMessage, saleId: string): Promise<Answer> {
  const idemKey = parseIdempotencyKey(req.headers['idempotency-key']);
  const { userId } = parseOrderBody(await readJson(req, d.cfg.bodyLimitBytes));
  let idemRedisKey: string | undefined;
  if (idemKey !== undefined) {
    idemRedisKey = d.keys.idempotency(saleId, idemKey);
    const claim: StoredAnswer = { state: 'pending', userId };
    let claimed: string | null;
    try {
      claimed = await d.redis.set(idemRedisKey, JSON.stringify(claim), 'EX', d.cfg.idempotencyTtlSec, 'NX');
    } catch {
      return unavailable('Redis');
    }
    if (claimed === null) return replay(d, idemRedisKey, userId);
  }
  const answer = await purchase(d, saleId, userId);
  if (idemRedisKey !== undefined) {
    try {
      if (answer.status === 503) await d.redis.del(idemRedisKey);
      else {
        const done: StoredAnswer = { state: 'done', userId, status: answer.status, body: answer.body };
        await d.redis.set(idemRedisKey, JSON.stringify(done), 'EX', d.cfg.idempotencyTtlSec);
      }
    } catch {
      // The answer stands; a replay after this failure re-runs the purchase, which is idempotent per user.
    }
  }
  return answer;
}

async function replay(d: Deps, key: string, userId: string): Promise<Answer> {
  let raw: string | null;
  try {
    raw = await d.redis.get(key);
  } catch {
    return unavailable('Redis');
  }
  if (raw === null)
    return err(409, 'request_in_progress', 'a request with this Idempotency-Key is in progress; retry');
  const stored = JSON.parse(raw) as StoredAnswer;
  if (stored.userId !== userId) {
    return err(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
  }
  if (stored.state !== 'done' || stored.status === undefined) {
    return err(409, 'request_in_progress', 'a request with this Idempotency-Key is in progress; retry');
  }
  return { status: stored.status, body: stored.body };
}

async function purchase(d: Deps, saleId: string, userId: string): Promise<Answer> {
  const orderId = orderIdFor(saleId, userId);
  let reply: PurchaseReply;
  try {
    reply = await d.purchases.purchase(saleId, userId, orderId);
  } catch {
    return unavailable('Redis');
  }
  switch (reply.code) {
    case PurchaseCode.notFound:
      return saleMissing(d, saleId);
    case PurchaseCode.notStarted:
      return err(403, 'sale_not_active', `sale ${saleId} has not started yet`);
    case PurchaseCode.ended:
      return err(403, 'sale_not_active', `sale ${saleId} has ended`);
    case PurchaseCode.alreadyPurchased:
      return err(409, 'already_purchased', `user ${userId} already bought in sale ${saleId}`);
    case PurchaseCode.soldOut:
      return err(410, 'sold_out', `sale ${saleId} is sold out`);
    case PurchaseCode.suspended:
      return err(
        403,
        'sale_suspended',
        `sale ${saleId} is suspended; nothing was taken, retry once it resumes`,
      );
    case PurchaseCode.closed:
      return err(403, 'sale_closed', `sale ${saleId} is closed; nothing was taken`);
    case PurchaseCode.recovering:
    case PurchaseCode.staleEpoch:
      return recovering(d.guard.view);
  }
  const msg: OrderMessage = {
    orderId,
    saleId,
    userId,
    acceptedAt: new Date().toISOString(),
    attempt: reply.attempt,
  };
  try {
    await d.publisher.publishOrder(msg);
  } catch (e) {
    d.metrics.publishFailures.inc({
      reason: e instanceof Error && /timed out/.test(e.message) ? 'timeout' : 'error',
    });
    return publishFailed(d, msg, reply.epoch, e instanceof PublishError && e.sent);
  }
  d.metrics.stockDecrement.inc({ sale_id: saleId });
  return accepted(orderId);
}

function accepted(orderId: string): Answer {
  return { status: 202, body: { orderId, status: 'pending' } };
}

/**
 * A sale Redis does not know: 404 only if the database does not know it either. A sale that exists but whose
 * inventory Redis lacks (it lost it, or never got it) raises the fence, which loads it from the database.
 */
async function saleMissing(d: Deps, saleId: string): Promise<Answer> {
  let row: SaleRow | undefined;
  try {
    row = await getSale(d.pool, saleId);
  } catch {
    return unavailable('the database');
  }
  if (!row) return err(404, 'sale_not_found', `sale ${saleId} does not exist`);
  const view = await d.guard.check('sale_missing_in_redis').catch(() => d.guard.view);
  return recovering(view);
}

/**
 * The order's publish failed. Unsent: give the unit back. Sent but unconfirmed: the broker may have stored it,
 * so PostgreSQL decides — the order is recorded cancelled unless the consumer already confirmed it (then it
 * is a 202 after all); only a cancelled order gives its unit back. If PostgreSQL cannot decide either, the
 * fence goes up: the recovery waits for the queue and recomputes the inventory from whatever became a row.
 */
async function publishFailed(d: Deps, msg: OrderMessage, epoch: string, sent: boolean): Promise<Answer> {
  if (sent) {
    let status;
    try {
      status = await settleUnconfirmed(d.pool, msg, 'cancelled', 'publish_unconfirmed');
    } catch {
      await d.guard.check('order_outcome_unknown').catch(() => undefined);
      return err(
        503,
        'order_outcome_unknown',
        `the order queue did not confirm order ${msg.orderId} and the database cannot be asked; GET /api/orders/${msg.orderId} tells its fate once the inventory has recovered`,
      );
    }
    if (status === 'confirmed') {
      d.metrics.stockDecrement.inc({ sale_id: msg.saleId });
      return accepted(msg.orderId);
    }
    d.metrics.cancelled.inc();
  }
  try {
    const keys = [
      d.keys.guard(),
      d.keys.inventory(msg.saleId),
      d.keys.buyers(msg.saleId),
      d.keys.orderIndex(msg.orderId),
    ];
    await runScript(d.redis, compensateScript, keys, [msg.userId, msg.orderId, epoch]);
    d.metrics.compensations.inc();
  } catch {
    // Redis failed too: the marker stays and the unit stays taken (undersell, never oversell) until Redis'
    // next recovery recomputes both from PostgreSQL.
  }
  return unavailable('the order queue');
}

/** The ApiSale shape (src/sales/sale-api.ts). */
export function saleJson(row: SaleRow, remaining: number): Record<string, unknown> {
  return {
    id: row.id,
    externalId: row.external_id,
    productId: row.product_id,
    name: row.name,
    stock: row.initial_stock,
    remaining,
    startsAt: row.starts_at.toISOString(),
    endsAt: row.ends_at.toISOString(),
    gate: row.gate,
  };
}

/** Whether the request carries the admin token (compared in constant time). */
function isAdmin(d: Deps, req: IncomingMessage): boolean {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/.exec(h);
  const given = Buffer.from(m?.[1] ?? '');
  const want = Buffer.from(d.cfg.adminToken);
  return !!m && want.length > 0 && given.length === want.length && timingSafeEqual(given, want);
}

export function checkAdmin(d: Deps, req: IncomingMessage): void {
  if (!isAdmin(d, req)) {
    throw new HttpError(401, 'unauthorized', 'this endpoint needs "Authorization: Bearer <ADMIN_TOKEN>"');
  }
}

/**
 * POST /api/sales: 201 with the new sale; with an `externalId` already taken, 200 with that sale when every
 * field matches, else 409 `external_id_conflict` naming the fields. The row and its inventory are written in
 * one transaction (nothing is created when Redis fails), and ON CONFLICT keeps concurrent creates to one row.
 */
export async function createSale(d: Deps, req: IncomingMessage, res: ServerResponse): Promise<string> {
  checkAdmin(d, req);
  const s = parseSaleBody(await readJson(req, d.cfg.bodyLimitBytes));
  let out: { row: SaleRow; created: boolean } | undefined;
  let loaded: string | undefined;
  try {
    out = await inTransaction(d.pool, async (c) => {
      const row = await insertSale(c, s);
      if (row) {
        await loadInventory(d, row);
        loaded = row.id;
        return { row, created: true };
      }
      const existing = await getSaleByExternalId(c, s.externalId!);
      return existing ? { row: existing, created: false } : undefined;
    });
  } catch (e) {
    // The commit failed after Redis got the inventory: it must not sell a sale PostgreSQL may not have. (Had
    // the commit gone through after all, the sale's first order finds no inventory and the fence loads it.)
    if (loaded !== undefined) {
      await d.redis.del(d.keys.inventory(loaded), d.keys.saleInfo(loaded)).catch(() => undefined);
    }
    if (e instanceof HttpError) throw e;
    if (!isDatabaseOutage(e)) throw e; // a statement the database refused is a bug (500), not an outage
    throw new HttpError(503, 'unavailable', 'the database is unavailable; no sale was created');
  }
  if (!out) throw new HttpError(503, 'unavailable', 'the sale was created concurrently; retry');
  if (out.created) {
    sendJson(res, 201, saleJson(out.row, out.row.stock));
    return '201';
  }
  const differ = differingFields(out.row, s);
  if (differ.length > 0) {
    throw new HttpError(
      409,
      'external_id_conflict',
      `sale ${out.row.id} already has externalId ${s.externalId} with other ${differ.join(', ')}; use another externalId for another sale`,
    );
  }
  const left = await d.redis.hget(d.keys.inventory(out.row.id), 'stock').catch(() => null);
  sendJson(res, 200, saleJson(out.row, left !== null ? Number(left) : out.row.stock));
  return '200';
}

async function loadInventory(d: Deps, row: SaleRow): Promise<void> {
  try {
    await d.redis.hset(d.keys.inventory(row.id), inventoryFields(row, row.stock));
    await d.redis.set(
      d.keys.saleInfo(row.id),
      JSON.stringify(saleJson(row, row.stock)),
      'EX',
      d.cfg.saleCacheTtlSec,
    );
  } catch {
    throw new HttpError(503, 'unavailable', 'Redis is unavailable; no sale was created, retry');
  }
}

function differingFields(row: SaleRow, s: NewSale): string[] {
  const out: string[] = [];
  if (row.product_id !== s.productId) out.push('productId');
  if (row.name !== s.name) out.push('name');
  if (row.initial_stock !== s.stock) out.push('stock');
  if (row.starts_at.getTime() !== s.startsAt.getTime()) out.push('startsAt');
  if (row.ends_at.getTime() !== s.endsAt.getTime()) out.push('endsAt');
  return out;
}

/**
 * GET /api/sales/{id}: public, for buyers. `externalId` (the operator's namespace/name/uid of the FlashSale)
 * is shown only to a caller with the admin token.
 */
export async function readSale(
  d: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  saleId: string,
): Promise<string> {
  const admin = isAdmin(d, req);
  let cached: string | null;
  let live: (string | null)[] = [];
  try {
    const r = await d.redis
      .pipeline()
      .get(d.keys.saleInfo(saleId))
      .hmget(d.keys.inventory(saleId), 'stock', 'endsAt', 'gate')
      .exec();
    cached = (r?.[0]?.[1] as string | null) ?? null;
    live = (r?.[1]?.[1] as (string | null)[] | null) ?? [];
  } catch {
    cached = null;
  }
  const [stock = null, endsAt = null, gate = null] = live;
  // What purchases see (the inventory hash) wins over the cached copy: remaining, end and gate change live.
  const overlay = (body: Record<string, unknown>): Record<string, unknown> => {
    if (!admin) delete body.externalId;
    if (stock !== null) body.remaining = Number(stock);
    if (endsAt !== null) body.endsAt = new Date(Number(endsAt)).toISOString();
    if (gate !== null) body.gate = gate;
    return body;
  };
  d.metrics.redisRequests.inc({ cache: 'sale' });
  if (cached !== null) {
    d.metrics.redisHits.inc({ cache: 'sale' });
    sendJson(res, 200, overlay(JSON.parse(cached) as Record<string, unknown>));
    return '200';
  }
  let row: SaleRow | undefined;
  try {
    row = await getSale(d.pool, saleId);
  } catch {
    throw new HttpError(503, 'unavailable', 'the database is unavailable');
  }
  if (!row) throw new HttpError(404, 'sale_not_found', `sale ${saleId} does not exist`);
  const body = saleJson(row, row.stock);
  d.redis
    .set(d.keys.saleInfo(saleId), JSON.stringify(body), 'EX', d.cfg.saleCacheTtlSec)
    .catch(() => undefined);
  sendJson(res, 200, overlay({ ...body }));
  return '200';
}

/**
 * GET /api/orders/{orderId}: the row's fate once PostgreSQL has it (confirmed, rejected or cancelled, with the
 * reason), pending while only Redis knows it. While the inventory is fenced an order neither knows may still
 * be in the queue, so that answers 503 rather than 404.
 */
export async function readOrder(d: Deps, res: ServerResponse, orderId: string): Promise<string> {
  d.metrics.redisRequests.inc({ cache: 'order' });
  let confirmed: string | null = null;
  try {
    confirmed = await d.redis.get(d.keys.orderConfirmed(orderId));
  } catch {
    // fall through to PostgreSQL
  }
  if (confirmed !== null) {
    d.metrics.redisHits.inc({ cache: 'order' });
    sendJson(res, 200, JSON.parse(confirmed));
    return '200';
  }
  let row;
  try {
    row = await getOrder(d.pool, orderId);
  } catch {
    throw new HttpError(503, 'unavailable', 'the database is unavailable');
  }
  if (row) {
    const body: Record<string, unknown> = {
      orderId: row.id,
      saleId: row.sale_id,
      userId: row.user_id,
      status: row.status,
    };
    if (row.status !== 'confirmed' && row.reason !== null) {
      body.reason = row.reason;
      body.message = REJECTION_REASONS[row.reason as RejectionReason] ?? row.reason;
    }
    if (row.status === 'confirmed') {
      d.redis
        .set(d.keys.orderConfirmed(orderId), JSON.stringify(body), 'EX', d.cfg.orderCacheTtlSec)
        .catch(() => undefined);
    }
    sendJson(res, 200, body);
    return '200';
  }
  let pending: string | null;
  try {
    pending = await d.redis.get(d.keys.orderIndex(orderId));
  } catch {
    throw new HttpError(503, 'unavailable', 'Redis is unavailable');
  }
  if (pending === null) {
    if (d.guard.view?.state !== 'ok') {
      throw new HttpError(503, 'inventory_recovering', 'orders are being reconciled; retry in a few seconds');
    }
    throw new HttpError(404, 'order_not_found', `order ${orderId} does not exist`);
  }
  const [saleId, userId] = pending.split('\n');
  sendJson(res, 200, { orderId, saleId, userId, status: 'pending' });
  return '200';
}

/** Order counters of one sale, or of all (`saleId` undefined): what Redis accepted vs what PostgreSQL holds. */
export interface SaleCounters {
  saleId: string;
  stock: number;
  remaining: number | null;
  accepted: number | null;
  persisted: number;
  rejected: number;
  cancelled: number;
  pending: number | null;
}

export async function orderCounters(d: Deps, saleId?: string): Promise<SaleCounters[]> {
  const counts = await saleOrderCounts(d.pool, saleId);
  const remaining = counts.length
    ? await d.redis.pipeline(counts.map((c) => ['hget', d.keys.inventory(c.saleId), 'stock'])).exec()
    : [];
  return counts.map((c, i) => {
    const left = remaining?.[i]?.[1];
    const accepted = typeof left === 'string' ? c.initialStock - Number(left) : null;
    return {
      saleId: c.saleId,
      stock: c.initialStock,
      remaining: typeof left === 'string' ? Number(left) : null,
      accepted,
      persisted: c.persisted,
      rejected: c.rejected,
      cancelled: c.cancelled,
      pending: accepted === null ? null : Math.max(0, accepted - c.persisted),
    };
  });
}

function inventoryJson(view: GuardView | undefined): Record<string, unknown> {
  if (!view) return { state: 'unknown' };
  return {
    state: view.state,
    epoch: Number(view.epoch),
    ...(view.state !== 'ok'
      ? { reason: view.reason, since: view.since ? new Date(view.since).toISOString() : undefined }
      : {}),
  };
}

/** GET /api/sales/{id}/counters (admin) */
export async function readSaleCounters(
  d: Deps,
  req: IncomingMessage,
  res: ServerResponse,
  saleId: string,
): Promise<string> {
  checkAdmin(d, req);
  let sales;
  try {
    sales = await orderCounters(d, saleId);
  } catch {
    throw new HttpError(503, 'unavailable', 'the database or Redis is unavailable');
  }
  if (sales.length === 0) throw new HttpError(404, 'sale_not_found', `sale ${saleId} does not exist`);
  sendJson(res, 200, { ...sales[0], inventory: inventoryJson(d.guard.view) });
  return '200';
}

/** GET /api/admin/counters (admin): every sale and the totals, for the operator's API probe. */
export async function readAllCounters(d: Deps, req: IncomingMessage, res: ServerResponse): Promise<string> {
  checkAdmin(d, req);
  let sales;
  try {
    sales = await orderCounters(d);
  } catch {
    throw new HttpError(503, 'unavailable', 'the database or Redis is unavailable');
  }
  const totals = { accepted: 0, persisted: 0, rejected: 0, cancelled: 0, pending: 0 };
  for (const s of sales) {
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += s[k] ?? 0;
  }
  sendJson(res, 200, { inventory: inventoryJson(d.guard.view), totals, sales });
  return '200';
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** GET /readyz: Redis, broker and database reachable, and the inventory not fenced. */
export async function readiness(d: Deps, res: ServerResponse): Promise<string> {
  const checks = await Promise.allSettled([
    // The guard check is Redis' ping: it answers only from Redis, and says whether the fence is up now.
    withTimeout(d.guard.check(), 2000, 'redis'),
    withTimeout(d.publisher.channel(), 2000, 'broker'),
    withTimeout(d.pool.query('SELECT 1'), 2000, 'database'),
  ]);
  const names = ['redis', 'broker', 'database'];
  const failed = names.filter((_, i) => checks[i]!.status === 'rejected');
  const view = d.guard.view;
  if (failed.length === 0 && view?.state === 'ok') {
    sendJson(res, 200, { status: 'ready' });
    return '200';
  }
  const why = failed.length > 0 ? [`unreachable: ${failed.join(', ')}`] : [];
  if (view?.state !== 'ok') why.push(`inventory ${view ? `recovering (${view.reason})` : 'not checked yet'}`);
  sendJson(res, 503, {
    error: failed.length > 0 ? 'not_ready' : 'inventory_recovering',
    message: why.join('; '),
    inventory: inventoryJson(view),
  });
  return '503';
}
