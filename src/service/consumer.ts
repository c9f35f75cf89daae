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

function parseMessage(msg: ConsumeMessage): OrderMessage | undefined {
  try {
    const o = JSON.parse(msg.content.toString('utf8')) as Partial<OrderMessage>;
    if (
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
  } catch {
    // fall through
  }
  return undefined;
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

  let buffer: { msg: ConsumeMessage; order: OrderMessage }[] = [];
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

  const write = async (items: { msg: ConsumeMessage; order: OrderMessage }[]): Promise<void> => {
    if (items.length === 0) return;
    try {
      const n = await inTransaction(
        pool,
        items.map((i) => i.order),
      );
      // One ack frame for the whole batch (multiple=true acks every outstanding delivery up to the last
      // tag). Safe because batches are written in delivery order, one after the other, and every earlier
      // delivery has been acked, retried or dead-lettered by then — unless a batch was abandoned during a
      // shutdown in an outage (its messages must go back to the queue), after which acks are one by one.
      if (abandoned) for (const i of items) ch.ack(i.msg);
      else ch.ack(items[items.length - 1]!.msg, true);
      metrics.batchSize.observe(items.length);
      metrics.consumed.inc({ result: 'inserted' }, n);
      metrics.consumed.inc({ result: 'duplicate' }, items.length - n);
      const newest = Math.max(...items.map((i) => Date.parse(i.order.acceptedAt)));
      metrics.lagSeconds.set(Math.max(0, (Date.now() - newest) / 1000));
      return;
    } catch (e) {
      if (!isDataError(e)) {
        // Database outage: keep holding the messages (unacked) and retry the same batch. Requeueing would
        // count as a delivery on a quorum queue (x-delivery-limit) and dead-letter good orders in an outage.
        // On close, unacked messages go back to the queue with the channel.
        log(`database unavailable (${String(e)}); retrying ${items.length} messages in 1 s`);
        await sleep(1000);
        if (closing) {
          abandoned = true;
          return;
        }
        return write(items);
      }
      if (items.length === 1) {
        await republishOrDeadLetter(items[0]!.msg, String(e));
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
    const order = parseMessage(msg);
    if (!order) {
      log(`dead-lettering malformed message ${String(msg.properties.messageId)}`);
      ch.nack(msg, false, false);
      metrics.deadLettered.inc();
      metrics.consumed.inc({ result: 'dead_lettered' });
      return;
    }
    buffer.push({ msg, order });
    if (buffer.length >= cfg.consumerBatchSize) flush();
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
