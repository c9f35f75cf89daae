/**
 * RabbitMQ topology and a publisher with publisher confirms. A publish resolves only once the broker has
 * confirmed the persistent message; any failure (no connection, nack, channel closed, timeout) rejects.
 */
import { Socket } from 'node:net';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { ServiceConfig } from './config.js';
import type { OrderMessage } from './db.js';
import { TurnBatcher } from './turn-batcher.js';

/** The service's own topology (no operator): order queue dead-lettering to its own direct DLX + DLQ. */
export async function assertTopology(ch: Channel, cfg: ServiceConfig): Promise<void> {
  await ch.assertExchange(cfg.deadLetterExchange, 'direct', { durable: true });
  await ch.assertQueue(cfg.deadLetterQueue, { durable: true });
  await ch.bindQueue(cfg.deadLetterQueue, cfg.deadLetterExchange, cfg.orderQueue);
  await ch.assertQueue(cfg.orderQueue, {
    durable: true,
    arguments: {
      'x-dead-letter-exchange': cfg.deadLetterExchange,
      'x-dead-letter-routing-key': cfg.orderQueue,
    },
  });
}

export type TopologyMode = 'existing' | 'declared-with-arguments' | 'own';

/**
 * Makes sure the order queue exists without ever fighting the operator's definitions:
 *  1. the queue exists (RabbitMQ loaded the operator's definitions.json) → use it as it is: a passive declare
 *     never compares arguments, so it can never answer 406 PRECONDITION_FAILED;
 *  2. it does not exist and ORDER_QUEUE_ARGUMENTS is set (the operator sets it to its rendered arguments) →
 *     declare it with exactly those arguments (what definitions.json would create);
 *  3. neither → the service's own topology (`assertTopology`: own DLX + DLQ), for running without the operator.
 * A passive declare of a missing queue closes its channel (404), so the probe uses a throwaway channel.
 */
export async function prepareTopology(conn: ChannelModel, cfg: ServiceConfig): Promise<TopologyMode> {
  const probe = await conn.createChannel();
  probe.on('error', () => undefined);
  let exists: boolean;
  try {
    await probe.checkQueue(cfg.orderQueue);
    exists = true;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 404) throw e;
    exists = false;
  }
  await probe.close().catch(() => undefined);
  if (exists) return 'existing';
  const ch = await conn.createChannel();
  ch.on('error', () => undefined);
  try {
    if (cfg.orderQueueArguments) {
      await ch.assertQueue(cfg.orderQueue, { durable: true, arguments: { ...cfg.orderQueueArguments } });
      return 'declared-with-arguments';
    }
    await assertTopology(ch, cfg);
    return 'own';
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/**
 * A publish that failed. `sent` says whether the message may have reached the broker: false when it was
 * never written (no connection, deadline passed first), true when it was written but not confirmed (timeout,
 * nack, connection lost) — then the broker may still have stored it, and the order's fate must be settled.
 */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly sent = false,
  ) {
    super(message);
  }
}

/** The order queue as RabbitMQ counts it right now: ready messages and consumers. */
export interface QueueCounts {
  messageCount: number;
  consumerCount: number;
}

interface PendingOrder {
  order: OrderMessage;
  deadline: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * amqplib writes every frame (each publish, each ack) to the socket separately: one syscall each. Corking the
 * socket on the first write of a tick and uncorking on the next tick turns a tick's frames into one writev.
 * Only the write batching changes; frame order and content are untouched.
 */
export function coalesceWrites(conn: ChannelModel): void {
  const stream = (conn as unknown as { connection?: { stream?: unknown } }).connection?.stream;
  if (!(stream instanceof Socket)) return;
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as typeof stream.write;
}

/**
 * Publishes with publisher confirms over PUBLISH_CHANNELS confirm channels of one connection, round robin.
 * Every message gets its own confirm callback (no `waitForConfirms` barrier), so many publishes are in flight
 * at once and each resolves as soon as the broker confirmed *that* message (RabbitMQ confirms persistent
 * messages once they are written to disk / replicated; it batches the fsyncs, so throughput needs many
 * messages in flight).
 */
export class Publisher {
  private conn: ChannelModel | undefined;
  private chans: ConfirmChannel[] = [];
  private next = 0;
  private connecting: Promise<void> | undefined;
  private lastFailure = 0;
  private closed = false;
  /** How the order queue was found or declared on the last connect. */
  topology: TopologyMode | undefined;
  private readonly orders: TurnBatcher<PendingOrder>;

  constructor(
    private readonly cfg: ServiceConfig,
    /** Minimum pause between reconnect attempts; publishes in between fail fast. */
    private readonly reconnectBackoffMs = 500,
  ) {
    this.orders = new TurnBatcher(cfg.publishBatchMax, (_key, batch) => this.sendOrders(batch));
  }

  get connected(): boolean {
    return this.chans.length > 0;
  }

  /** Connects (or reuses the live channels); resolves to one channel (readiness). */
  async channel(): Promise<ConfirmChannel> {
    if (this.closed) throw new PublishError('publisher closed');
    if (this.chans.length === 0) {
      if (!this.connecting) {
        if (Date.now() - this.lastFailure < this.reconnectBackoffMs)
          throw new PublishError('broker unavailable');
        this.connecting = this.open().finally(() => {
          this.connecting = undefined;
        });
      }
      await this.connecting;
    }
    const ch = this.chans[this.next++ % this.chans.length];
    if (!ch) throw new PublishError('broker unavailable');
    return ch;
  }

  private async open(): Promise<void> {
    let conn: ChannelModel | undefined;
    try {
      conn = await amqp.connect(this.cfg.amqpUrl, { noDelay: true });
      coalesceWrites(conn);
      const c = conn;
      const drop = (): void => {
        if (this.conn === c) {
          this.conn = undefined;
          this.chans = [];
          this.lastFailure = Date.now();
        }
      };
      c.on('error', drop);
      c.on('close', drop);
      this.topology = await prepareTopology(c, this.cfg);
      const chans: ConfirmChannel[] = [];
      for (let i = 0; i < this.cfg.publishChannels; i++) {
        const ch = await c.createConfirmChannel();
        ch.on('error', () => undefined);
        ch.on('close', () => {
          const i = this.chans.indexOf(ch);
          if (i >= 0) this.chans.splice(i, 1);
          if (this.conn === c && this.chans.length === 0) {
            this.conn = undefined;
            this.lastFailure = Date.now();
            c.close().catch(() => undefined);
          }
        });
        chans.push(ch);
      }
      this.conn = c;
      this.chans = chans;
    } catch (err) {
      this.lastFailure = Date.now();
      if (conn) conn.close().catch(() => undefined);
      throw new PublishError(`broker unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Publishes a persistent message to the order queue; resolves only once the broker confirmed it. Nothing is
   * written after `deadline` (ms): a publish that waited that long for a connection fails unsent, so every
   * order a fence stops has settled PUBLISH_TIMEOUT_MS after it was accepted.
   */
  async publish(
    body: Buffer,
    messageId: string,
    deadline = Date.now() + this.cfg.publishTimeoutMs,
  ): Promise<void> {
    const ch = await this.channel();
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) throw new PublishError('broker unavailable: no connection before the deadline');
    const queue = this.cfg.orderQueue;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PublishError('publish confirm timed out', true)), timeoutMs);
      try {
        ch.publish(
          '',
          queue,
          body,
          {
            persistent: true,
            contentType: 'application/json',
            messageId,
            timestamp: Math.floor(Date.now() / 1000),
          },
          (err: unknown) => {
            clearTimeout(timer);
            if (err) reject(new PublishError(`broker did not confirm the message: ${String(err)}`, true));
            else resolve();
          },
        );
      } catch (err) {
        clearTimeout(timer);
        reject(new PublishError(`publish failed: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  /**
   * Publishes one order; resolves only once the broker confirmed the persistent message that carries it.
   * Orders published in the same event-loop turn (e.g. every order whose Lua reply came in one Redis read)
   * travel in one message `{"orders": [...]}` (at most PUBLISH_BATCH_MAX), so they share one publish, one
   * disk write and one confirm; a lone order is sent as the order object itself. No order waits for a
   * later one: the batch leaves at the end of the current turn (TurnBatcher).
   */
  publishOrder(order: OrderMessage): Promise<void> {
    const deadline = Date.now() + this.cfg.publishTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      this.orders.add('', { order, deadline, resolve, reject });
    });
  }

  /** Ready messages and consumers of the order queue (a passive declare on a throwaway channel). */
  async queueCounts(): Promise<QueueCounts> {
    await this.channel();
    const conn = this.conn;
    if (!conn) throw new PublishError('broker unavailable');
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    try {
      const q = await ch.checkQueue(this.cfg.orderQueue);
      return { messageCount: q.messageCount, consumerCount: q.consumerCount };
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private sendOrders(b: PendingOrder[]): void {
    const first = b[0]!.order;
    const body = Buffer.from(JSON.stringify(b.length === 1 ? first : { orders: b.map((x) => x.order) }));
    const deadline = Math.min(...b.map((x) => x.deadline));
    this.publish(body, first.orderId, deadline).then(
      () => {
        for (const x of b) x.resolve();
      },
      (e: unknown) => {
        for (const x of b) x.reject(e);
      },
    );
  }

  /** For tests and chaos: drop the connection as a network failure would. */
  async dropConnection(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    this.chans = [];
    this.lastFailure = Date.now();
    if (c) await c.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = undefined;
    this.chans = [];
    if (c) await c.close().catch(() => undefined);
  }
}
