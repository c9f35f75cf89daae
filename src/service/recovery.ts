/**
 * Recovery of a fenced inventory: wait until every order Redis accepted before the fence is persisted (or
 * settled otherwise), recompute stock and purchase markers from PostgreSQL, record the new epoch durably,
 * then lift the fence. Any API process may run it; a Redis lock with a token keeps it to one at a time, and
 * the lift is a compare-and-set on the fence it claimed, so a fence raised again meanwhile (another restart,
 * another refused order) is never lifted by a recovery that did not see it.
 *
 * "Persisted" is established without reading the queue's content:
 *   1. every publish in flight when the fence went up has settled after PUBLISH_TIMEOUT_MS (a confirmed
 *      order is in the queue; an unconfirmed one was settled through PostgreSQL, see handlers.ts);
 *   2. the order queue then has no ready message, every consumer of it (RabbitMQ's consumer count) has a
 *      fresh heartbeat in `consumer_heartbeats` holding no unsettled delivery, and neither changed across the
 *      round — so no order is left that PostgreSQL has not seen.
 * A system that never had a verified inventory (no row in `inventory_guard`) and has no order at all cannot
 * have accepted anything, so it skips the wait. (With orders but no row — an upgrade from a version without
 * the fence — it waits like any other.)
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { ServiceConfig } from './config.js';
import { durableEpoch, recordEpoch } from './db.js';
import { InventoryGuard } from './inventory-guard.js';
import type { Keys } from './keys.js';
import { claimScript, liftScript, releaseScript, renewScript, runScript } from './lua.js';
import { rebuildInventory } from './rebuild.js';

export interface QueueStatus {
  messageCount: number;
  consumerCount: number;
}

export interface RecoveryDeps {
  redis: Redis;
  pool: pg.Pool;
  keys: Keys;
  guard: InventoryGuard;
  orderQueue: string;
  publishTimeoutMs: number;
  queueStatus: () => Promise<QueueStatus>;
  log: (s: string) => void;
  /** Called after a lift with the fence's reason and how long this recovery took. */
  onLifted?: (reason: string, seconds: number) => void;
}

export interface RecoveryResult {
  epoch: number;
  sales: number;
  markers: number;
  reason: string;
}

const LOCK_TTL_MS = 10_000;
/** A consumer whose heartbeat is older than this is gone (its deliveries went back to the queue). */
const HEARTBEAT_STALE = '3 seconds';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the database has no order at all (then a never-verified inventory needs no wait). */
export async function noOrdersYet(pool: pg.Pool): Promise<boolean> {
  const r = await pool.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM orders) AS any');
  return r.rows[0]?.any === false;
}

class FenceMoved extends Error {}

interface Beat {
  consumer_id: string;
  held: number;
  after: boolean;
}

export class InventoryRecovery {
  private running: Promise<RecoveryResult | undefined> | undefined;

  constructor(private readonly d: RecoveryDeps) {}

  /** Runs a recovery unless one runs in this process already; resolves undefined when another process has it. */
  run(): Promise<RecoveryResult | undefined> {
    this.running ??= this.recover().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async recover(): Promise<RecoveryResult | undefined> {
    const { redis, keys } = this.d;
    const token = randomUUID();
    const locked = await redis.set(keys.guardLock(), token, 'PX', LOCK_TTL_MS, 'NX');
    if (locked === null) return undefined;
    const renew = setInterval(() => {
      runScript(redis, renewScript, [keys.guardLock()], [token, LOCK_TTL_MS]).catch(() => undefined);
    }, LOCK_TTL_MS / 3);
    renew.unref();
    const started = performance.now();
    try {
      for (;;) {
        const view = await this.d.guard.check();
        if (view.state === 'ok') return undefined;
        const claimed = (await runScript(redis, claimScript, [keys.guard()], [token, view.runId])) as
          string | null;
        if (claimed === null) continue;
        this.d.log(`inventory fenced (${view.reason}); recovering`);
        try {
          const durable = await durableEpoch(this.d.pool, keys.prefix);
          if (durable !== undefined || !(await noOrdersYet(this.d.pool))) await this.drain(token);
          const epoch = Math.max(Number(durable ?? 0), Number(claimed)) + 1;
          const rebuilt = await rebuildInventory(this.d.pool, redis, keys);
          await this.assertClaimed(token);
          await recordEpoch(this.d.pool, keys.prefix, epoch, view.runId);
          const lifted = await runScript(redis, liftScript, [keys.guard()], [token, view.runId, epoch]);
          if (Number(lifted) !== 1) continue;
          await this.d.guard.check();
          const seconds = (performance.now() - started) / 1000;
          this.d.log(
            `inventory recovered in ${seconds.toFixed(2)} s (epoch ${epoch}, ${rebuilt.sales} sales, ${rebuilt.markers} markers)`,
          );
          this.d.onLifted?.(view.reason, seconds);
          return { epoch, ...rebuilt, reason: view.reason };
        } catch (e) {
          if (!(e instanceof FenceMoved)) throw e;
        }
      }
    } finally {
      clearInterval(renew);
      await runScript(redis, releaseScript, [keys.guardLock()], [token]).catch(() => undefined);
    }
  }

  private async assertClaimed(token: string): Promise<void> {
    const g = await this.d.redis.hget(this.d.keys.guard(), 'recovery');
    if (g !== token) throw new FenceMoved();
  }

  private async beats(after: Date): Promise<Beat[]> {
    const r = await this.d.pool.query<Beat>(
      `SELECT consumer_id, held, beat_at > $2 AS after FROM consumer_heartbeats
        WHERE queue = $1 AND beat_at > now() - interval '${HEARTBEAT_STALE}' ORDER BY consumer_id`,
      [this.d.orderQueue, after],
    );
    return r.rows;
  }

  /** Waits until no order accepted before the fence is outside PostgreSQL (see the module comment). */
  private async drain(token: string): Promise<void> {
    await sleep(this.d.publishTimeoutMs + 250);
    for (;;) {
      await this.assertClaimed(token);
      let q1: QueueStatus;
      try {
        q1 = await this.d.queueStatus();
      } catch (e) {
        this.d.log(`recovery waits for the broker: ${e instanceof Error ? e.message : String(e)}`);
        await sleep(500);
        continue;
      }
      if (q1.messageCount > 0) {
        await sleep(100);
        continue;
      }
      const t0 = (await this.d.pool.query<{ t: Date }>('SELECT now() AS t')).rows[0]!.t;
      const before = await this.beats(new Date(0));
      let after = before;
      for (let i = 0; i < 40; i++) {
        after = await this.beats(t0);
        if (after.length >= before.length && after.every((b) => b.after)) break;
        await sleep(50);
      }
      const q2 = await this.d.queueStatus();
      const ids = (bs: Beat[]): string => bs.map((b) => b.consumer_id).join(',');
      if (
        q2.messageCount === 0 &&
        q1.consumerCount === q2.consumerCount &&
        after.length === q2.consumerCount &&
        ids(before) === ids(after) &&
        after.every((b) => b.after && b.held === 0)
      ) {
        return;
      }
      await sleep(100);
    }
  }
}

/** The guard and the recovery of one process, wired to this stack's PostgreSQL, Redis and order queue. */
export function inventoryFence(
  cfg: Pick<ServiceConfig, 'orderQueue' | 'publishTimeoutMs'>,
  redis: Redis,
  pool: pg.Pool,
  keys: Keys,
  publisher: { queueCounts(): Promise<QueueStatus> },
  log: (s: string) => void,
  onLifted?: RecoveryDeps['onLifted'],
): { guard: InventoryGuard; recovery: InventoryRecovery } {
  const guard = new InventoryGuard(redis, keys, () => durableEpoch(pool, keys.prefix));
  const recovery = new InventoryRecovery({
    redis,
    pool,
    keys,
    guard,
    orderQueue: cfg.orderQueue,
    publishTimeoutMs: cfg.publishTimeoutMs,
    queueStatus: () => publisher.queueCounts(),
    log,
    ...(onLifted ? { onLifted } : {}),
  });
  return { guard, recovery };
}
