/**
 * The order consumer: reads order messages with a large prefetch, writes them to PostgreSQL in batches
 * (one transaction per batch, idempotent on (sale_id, user_id)), and acks only after COMMIT.
 * A batch that fails on a data/constraint error is retried one message, then one order, per transaction; an
 * order the database refuses (stock CHECK, constraint) is recorded `rejected` with its reason — a visible fate,
 * counted in `orders_rejected_total` — its purchase marker leaves Redis, and the inventory fence goes up, since
 * Redis accepted what PostgreSQL could not hold (the recovery recomputes stock). Only messages that are not
 * orders at all (or whose rejection cannot be written) are dead-lettered.
 * Connection-level database errors (outage) never settle anything: the batch is retried after a pause.
 * Every 200 ms the consumer records in `consumer_heartbeats` how many deliveries it holds unsettled; the
 * inventory recovery reads that to know when every accepted order has reached PostgreSQL.
 * close() stops taking deliveries, writes what it holds, acks, and only then disconnects (SIGTERM drain).
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { ServiceConfig } from './config.js';
import { createPool, insertOrders, retryKeyRace, settleUnconfirmed, type OrderMessage } from './db.js';
import { Keys } from './keys.js';
import { forgetScript, guardScript, runScript } from './lua.js';
import { type ConsumerMetrics, createConsumerMetrics, listenMetrics } from './metrics.js';
import { coalesceWrites, prepareTopology, type TopologyMode } from './queue.js';
import { rejectionReason } from './rejections.js';
import { isOrderId, isSaleId } from './validate.js';

export interface RunningConsumer {
  metrics: ConsumerMetrics;
  /** How the order queue was found or declared (see prepareTopology). */
  topology: TopologyMode;
  /** Graceful: stop consuming, drain in-flight work, disconnect. */
  close(): Promise<void>;
  /** Resolves when the broker connection is lost (the CLI exits non-zero so the pod restarts). */
  lost: Promise<void>;
}

function parseOrder(o: Partial<OrderMessage> | null): OrderMessage | undefined {
  if (
    o !== null &&
    typeof o === 'object' &&
    typeof o.orderId === 'string' &&
    isOrderId(o.orderId) &&
    typeof o.saleId === 'string' &&
    isSaleId(o.saleId) &&
    typeof o.userId === 'string' &&
    o.userId.length > 0 &&
    o.userId.length <= 128 &&
    typeof o.acceptedAt === 'string' &&
    !Number.isNaN(Date.parse(o.acceptedAt)) &&
    (o.attempt === undefined || (Number.isSafeInteger(o.attempt) && o.attempt >= 0))
  ) {
    return {
      orderId: o.orderId,
      saleId: o.saleId,
      userId: o.userId,
      acceptedAt: o.acceptedAt,
      attempt: o.attempt ?? 0,
    };
  }
  return undefined;
}

/** A message is one order object, or `{"orders": [order, …]}` (1-1000) from the publisher's batching. */
function parseMessage(msg: ConsumeMessage): OrderMessage[] | undefined {
  let v: unknown;
  try {
    v = JSON.parse(msg.content.toString('utf8'));
  } catch {
    return undefined;
  }
  const list = (v as { orders?: unknown } | null)?.orders;
  if (list === undefined) {
    const one = parseOrder(v as Partial<OrderMessage> | null);
    return one ? [one] : undefined;
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > 1000) return undefined;
  const out: OrderMessage[] = [];
  for (const o of list) {
    const parsed = parseOrder(o as Partial<OrderMessage> | null);
    if (!parsed) return undefined;
    out.push(parsed);
  }
  return out;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity violation) are the message's fault. */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

async function inTransaction(pool: pg.Pool, batch: OrderMessage[]): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const n = await insertOrders(client, batch);
    await client.query('COMMIT');
    return n;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startConsumer(
  cfg: ServiceConfig,
  log: (s: string) => void = () => undefined,
): Promise<RunningConsumer> {
  const metrics = createConsumerMetrics();
  const pool = createPool(cfg.databaseUrl, Math.min(cfg.pgPoolMax, 4));
  const conn = await amqp.connect(cfg.amqpUrl, { noDelay: true });
  coalesceWrites(conn); // a batch's acks go out in one write
  let lostResolve: () => void = () => undefined;
  const lost = new Promise<void>((r) => (lostResolve = r));
  let closing = false;
  conn.on('error', () => undefined);
  conn.on('close', () => {
    if (!closing) lostResolve();
  });
  const topology = await prepareTopology(conn, cfg);
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  await ch.prefetch(cfg.consumerPrefetch);

  type Item = { msg: ConsumeMessage; orders: OrderMessage[] };
  let buffer: Item[] = [];
  let buffered = 0; // orders in buffer
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let abandoned = false;
  /** Deliveries received and not yet acked or nacked (what the heartbeat reports). */
  let held = 0;

  const keys = new Keys(cfg.redisKeyPrefix);
  const redis = new Redis(cfg.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 2000 });
  redis.on('error', () => undefined);

  const deadLetter = (msg: ConsumeMessage, why: string): void => {
    // nack without requeue: RabbitMQ moves it to the dead-letter exchange the queue is configured with
    // (the operator's flashsale.dlx, or the service's own DLX when it declared the queue itself).
    log(`dead-lettering message ${String(msg.properties.messageId)}: ${why}`);
    ch.nack(msg, false, false);
    held--;
    metrics.deadLettered.inc();
    metrics.consumed.inc({ result: 'dead_lettered' });
  };

  /**
   * Redis' side of a rejected order: the buyer's marker and pending key go, and the fence goes up so the
   * recovery recomputes the sale's stock from PostgreSQL. Redis being down changes nothing here: its next
   * guard check after the outage fences anyway (a new run id), and the rejection is already durable.
   */
  const reconcileRejected = async (o: OrderMessage, reason: string): Promise<void> => {
    try {
      await runScript(
        redis,
        forgetScript,
        [keys.buyers(o.saleId), keys.orderIndex(o.orderId)],
        [o.userId, o.orderId],
      );
      await runScript(redis, guardScript, [keys.guard()], ['', `order_rejected:${reason}`]);
    } catch (e) {
      log(
        `could not reconcile rejected order ${o.orderId} in Redis: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  };

  const republishAlone = (o: OrderMessage): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      ch.publish(
        '',
        cfg.orderQueue,
        Buffer.from(JSON.stringify(o)),
        { persistent: true, contentType: 'application/json', messageId: o.orderId },
        (err: unknown) => (err ? reject(new Error(String(err))) : resolve()),
      );
    });

  const recordWrite = (orders: OrderMessage[], inserted: number): void => {
    metrics.batchSize.observe(orders.length);
    metrics.consumed.inc({ result: 'inserted' }, inserted);
    metrics.consumed.inc({ result: 'duplicate' }, orders.length - inserted);
    let newest = 0;
    for (const o of orders) newest = Math.max(newest, Date.parse(o.acceptedAt));
    metrics.lagSeconds.set(Math.max(0, (Date.now() - newest) / 1000));
  };

  /** Outage handling shared by both write paths: false when the consumer is closing (give up, no ack). */
  const outagePause = async (e: unknown, n: number): Promise<boolean> => {
    // Database outage: keep holding the messages (unacked) and retry. Requeueing would count as a delivery
    // on a quorum queue (x-delivery-limit) and dead-letter good orders during an outage. On close, unacked
    // messages go back to the queue with the channel.
    log(`database unavailable (${String(e)}); retrying ${n} orders in 1 s`);
    await sleep(1000);
    if (closing) {
      abandoned = true;
      return false;
    }
    return true;
  };

  /**
   * A message with a data error: each order in its own transaction; an order the database refuses is
   * recorded rejected (unless it is confirmed meanwhile), then the message is acked. false when the message
   * must stay unacked (outage while closing) or was dead-lettered.
   */
  const writeOneByOne = async (item: Item): Promise<void> => {
    for (const o of item.orders) {
      for (;;) {
        try {
          recordWrite([o], await retryKeyRace(() => inTransaction(pool, [o])));
        } catch (e) {
          if (!isDataError(e)) {
            if (!(await outagePause(e, 1))) return;
            continue;
          }
          const reason = rejectionReason(e);
          let status;
          try {
            status = await settleUnconfirmed(pool, o, 'rejected', reason);
          } catch (e2) {
            if (isDataError(e2)) {
              const why = `order ${o.orderId} refused (${String(e)}) and its rejection cannot be recorded (${String(e2)})`;
              if (item.orders.length === 1) {
                deadLetter(item.msg, why);
                return;
              }
              // Only this order is poison: it goes back alone (and is dead-lettered as such), the others stay.
              log(`${why}; splitting it off`);
              await republishAlone(o);
              break;
            }
            if (!(await outagePause(e2, 1))) return;
            continue;
          }
          if (status === 'rejected') {
            log(`order ${o.orderId} of sale ${o.saleId} rejected by the database: ${reason} (${String(e)})`);
            metrics.rejected.inc({ reason });
            metrics.consumed.inc({ result: 'rejected' });
            await reconcileRejected(o, reason);
          } else {
            metrics.consumed.inc({ result: 'duplicate' });
          }
        }
        break;
      }
    }
    ch.ack(item.msg);
    held--;
  };

  const write = async (items: Item[]): Promise<void> => {
    if (items.length === 0) return;
    const orders = items.length === 1 ? items[0]!.orders : items.flatMap((i) => i.orders);
    try {
      const n = await inTransaction(pool, orders);
      // One ack frame for the whole batch (multiple=true acks every outstanding delivery up to the last
      // tag). Safe because batches are written in delivery order, one after the other, and every earlier
      // delivery has been acked or dead-lettered by then — unless a batch was abandoned during a
      // shutdown in an outage (its messages must go back to the queue), after which acks are one by one.
      if (abandoned) for (const i of items) ch.ack(i.msg);
      else ch.ack(items[items.length - 1]!.msg, true);
      held -= items.length;
      recordWrite(orders, n);
      return;
    } catch (e) {
      if (!isDataError(e)) {
        if (await outagePause(e, orders.length)) return write(items);
        return;
      }
      if (items.length === 1) return writeOneByOne(items[0]!);
    }
    // A data error somewhere in the batch: find it by writing one message per transaction.
    for (const i of items) await write([i]);
  };

  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    const batch = buffer;
    buffer = [];
    buffered = 0;
    if (batch.length === 0) return;
    chain = chain
      .then(() => write(batch))
      .catch((e: unknown) => {
        // Channel gone: unacked messages return to the queue by themselves (and the process exits: lost).
        log(`batch failed: ${String(e)}`);
      });
  };

  const consumerId = randomUUID();
  const beat = (): Promise<unknown> =>
    pool.query(
      `INSERT INTO consumer_heartbeats (consumer_id, queue, held, beat_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (consumer_id) DO UPDATE SET held = EXCLUDED.held, beat_at = now()`,
      [consumerId, cfg.orderQueue, held],
    );
  await beat().catch(() => undefined);

  const { consumerTag } = await ch.consume(cfg.orderQueue, (msg) => {
    if (!msg) return; // consumer cancelled by the broker
    held++;
    const orders = parseMessage(msg);
    if (!orders) {
      deadLetter(msg, 'not an order message');
      return;
    }
    buffer.push({ msg, orders });
    buffered += orders.length;
    if (buffered >= cfg.consumerBatchSize) flush();
    else if (!timer) timer = setTimeout(flush, cfg.consumerBatchWaitMs);
  });

  let beating = false;
  const beatTimer = setInterval(() => {
    if (beating) return;
    beating = true;
    beat()
      .catch(() => undefined)
      .finally(() => (beating = false));
  }, 200);
  beatTimer.unref();

  const lagTimer = setInterval(() => {
    ch.checkQueue(cfg.orderQueue).then(
      (q) => metrics.lagMessages.set(q.messageCount),
      () => undefined,
    );
  }, 2000);
  lagTimer.unref();

  const metricsListener =
    cfg.consumerMetricsPort > 0
      ? await listenMetrics({ port: cfg.consumerMetricsPort, registry: metrics.registry, healthz: true })
      : undefined;

  return {
    metrics,
    topology,
    lost,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(lagTimer);
      await ch.cancel(consumerTag).catch(() => undefined);
      flush();
      await chain;
      clearInterval(beatTimer);
      await ch.close().catch(() => undefined);
      await conn.close().catch(() => undefined);
      await pool
        .query('DELETE FROM consumer_heartbeats WHERE consumer_id = $1', [consumerId])
        .catch(() => undefined);
      await pool.end();
      redis.disconnect();
      await metricsListener?.close();
    },
  };
}
