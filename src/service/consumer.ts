/**
 * The order consumer: reads order messages with a large prefetch, writes them to PostgreSQL in batches
 * (one transaction per batch, idempotent on (sale_id, user_id)), and acks only after COMMIT.
 * A batch that fails on a data/constraint error is retried message by message; a message that keeps
 * failing is republished with an attempt counter and dead-lettered after CONSUMER_MAX_ATTEMPTS.
 * Connection-level database errors (outage) never burn attempts: the batch is requeued after a pause.
 * close() stops taking deliveries, writes what it holds, acks, and only then disconnects (SIGTERM drain).
 */
import { createServer, type Server } from 'node:http';
import amqp from 'amqplib';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type pg from 'pg';
import type { ServiceConfig } from './config.js';
import { createPool, insertOrders, type OrderMessage } from './db.js';
import { type ConsumerMetrics, createConsumerMetrics } from './metrics.js';
import { ATTEMPTS_HEADER, coalesceWrites, prepareTopology, type TopologyMode } from './queue.js';
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
    !Number.isNaN(Date.parse(o.acceptedAt))
  ) {
    return { orderId: o.orderId, saleId: o.saleId, userId: o.userId, acceptedAt: o.acceptedAt };
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

  const republishOrDeadLetter = async (msg: ConsumeMessage, why: string): Promise<void> => {
    const attempts = Number(msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0) + 1;
    if (attempts >= cfg.consumerMaxAttempts) {
      // nack without requeue: RabbitMQ moves it to the dead-letter exchange the queue is configured with
      // (the operator's flashsale.dlx, or the service's own DLX when it declared the queue itself).
      log(`dead-lettering message ${String(msg.properties.messageId)} after ${attempts} attempts: ${why}`);
      ch.nack(msg, false, false);
      metrics.deadLettered.inc();
      metrics.consumed.inc({ result: 'dead_lettered' });
      return;
    }
    await new Promise<void>((resolve, reject) => {
      ch.publish(
        '',
        cfg.orderQueue,
        msg.content,
        {
          ...msg.properties,
          persistent: true,
          headers: { ...(msg.properties.headers ?? {}), [ATTEMPTS_HEADER]: attempts },
        },
        (err: unknown) => (err ? reject(new Error(String(err))) : resolve()),
      );
    });
    ch.ack(msg);
    metrics.consumed.inc({ result: 'retried' });
  };

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
   * A multi-order message with a data error: each order in its own transaction; an order that fails is
   * republished as a single-order message carrying the message's attempt count (from there on the normal
   * retry / dead-letter rules apply to it alone); then the message is acked.
   */
  const splitMessage = async (item: Item): Promise<void> => {
    const attempts = Number(item.msg.properties.headers?.[ATTEMPTS_HEADER] ?? 0);
    for (const o of item.orders) {
      for (;;) {
        try {
          recordWrite([o], await inTransaction(pool, [o]));
        } catch (e) {
          if (!isDataError(e)) {
            if (!(await outagePause(e, 1))) return;
            continue;
          }
          await new Promise<void>((resolve, reject) => {
            ch.publish(
              '',
              cfg.orderQueue,
              Buffer.from(JSON.stringify(o)),
              {
                persistent: true,
                contentType: 'application/json',
                messageId: o.orderId,
                headers: { [ATTEMPTS_HEADER]: attempts },
              },
              (err: unknown) => (err ? reject(new Error(String(err))) : resolve()),
            );
          });
          metrics.consumed.inc({ result: 'retried' });
        }
        break;
      }
    }
    ch.ack(item.msg);
  };

  const write = async (items: Item[]): Promise<void> => {
    if (items.length === 0) return;
    const orders = items.length === 1 ? items[0]!.orders : items.flatMap((i) => i.orders);
    try {
      const n = await inTransaction(pool, orders);
      // One ack frame for the whole batch (multiple=true acks every outstanding delivery up to the last
      // tag). Safe because batches are written in delivery order, one after the other, and every earlier
      // delivery has been acked, retried or dead-lettered by then — unless a batch was abandoned during a
      // shutdown in an outage (its messages must go back to the queue), after which acks are one by one.
      if (abandoned) for (const i of items) ch.ack(i.msg);
      else ch.ack(items[items.length - 1]!.msg, true);
      recordWrite(orders, n);
      return;
    } catch (e) {
      if (!isDataError(e)) {
        if (await outagePause(e, orders.length)) return write(items);
        return;
      }
      if (items.length === 1) {
        const only = items[0]!;
        if (only.orders.length === 1) await republishOrDeadLetter(only.msg, String(e));
        else await splitMessage(only);
        return;
      }
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
        // Channel gone: unacked messages return to the queue by themselves.
        log(`batch failed: ${String(e)}`);
      });
  };

  const { consumerTag } = await ch.consume(cfg.orderQueue, (msg) => {
    if (!msg) return; // consumer cancelled by the broker
    const orders = parseMessage(msg);
    if (!orders) {
      log(`dead-lettering malformed message ${String(msg.properties.messageId)}`);
      ch.nack(msg, false, false);
      metrics.deadLettered.inc();
      metrics.consumed.inc({ result: 'dead_lettered' });
      return;
    }
    buffer.push({ msg, orders });
    buffered += orders.length;
    if (buffered >= cfg.consumerBatchSize) flush();
    else if (!timer) timer = setTimeout(flush, cfg.consumerBatchWaitMs);
  });

  const lagTimer = setInterval(() => {
    ch.checkQueue(cfg.orderQueue).then(
      (q) => metrics.lagMessages.set(q.messageCount),
      () => undefined,
    );
  }, 2000);
  lagTimer.unref();

  let metricsServer: Server | undefined;
  if (cfg.consumerMetricsPort > 0) {
    metricsServer = createServer((req, res) => {
      if (req.url === '/metrics') {
        metrics.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        });
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
      } else {
        res.writeHead(404).end();
      }
    });
    metricsServer.listen(cfg.consumerMetricsPort);
  }

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
      await ch.close().catch(() => undefined);
      await conn.close().catch(() => undefined);
      await pool.end();
      if (metricsServer) await new Promise<void>((r) => metricsServer!.close(() => r()));
    },
  };
}
