/**
 * RabbitMQ topology and a publisher with publisher confirms. A publish resolves only once the broker has
 * confirmed the persistent message; any failure (no connection, nack, channel closed, timeout) rejects.
 */
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { ServiceConfig } from './config.js';

export const ATTEMPTS_HEADER = 'x-fs-attempts';

/** Declares the order queue (durable, dead-lettering to the DLX) and the dead-letter exchange + queue. */
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

export class PublishError extends Error {}

export class Publisher {
  private conn: ChannelModel | undefined;
  private ch: ConfirmChannel | undefined;
  private connecting: Promise<ConfirmChannel> | undefined;
  private lastFailure = 0;
  private closed = false;

  constructor(
    private readonly cfg: ServiceConfig,
    /** Minimum pause between reconnect attempts; publishes in between fail fast. */
    private readonly reconnectBackoffMs = 500,
  ) {}

  get connected(): boolean {
    return this.ch !== undefined;
  }

  /** Connects (or reuses the live channel). */
  async channel(): Promise<ConfirmChannel> {
    if (this.closed) throw new PublishError('publisher closed');
    if (this.ch) return this.ch;
    if (this.connecting) return this.connecting;
    if (Date.now() - this.lastFailure < this.reconnectBackoffMs) throw new PublishError('broker unavailable');
    this.connecting = this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<ConfirmChannel> {
    try {
      const conn = await amqp.connect(this.cfg.amqpUrl);
      const drop = (): void => {
        if (this.conn === conn) {
          this.conn = undefined;
          this.ch = undefined;
          this.lastFailure = Date.now();
        }
      };
      conn.on('error', drop);
      conn.on('close', drop);
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => {
        if (this.ch === ch) {
          this.ch = undefined;
          conn.close().catch(() => undefined);
        }
      });
      await assertTopology(ch, this.cfg);
      this.conn = conn;
      this.ch = ch;
      return ch;
    } catch (err) {
      this.lastFailure = Date.now();
      throw new PublishError(`broker unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Publishes a persistent JSON message to the order queue and waits for the broker's confirm. */
  async publish(body: object, messageId: string): Promise<void> {
    const ch = await this.channel();
    const buf = Buffer.from(JSON.stringify(body));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PublishError('publish confirm timed out')),
        this.cfg.publishTimeoutMs,
      );
      try {
        ch.publish(
          '',
          this.cfg.orderQueue,
          buf,
          {
            persistent: true,
            contentType: 'application/json',
            messageId,
            timestamp: Math.floor(Date.now() / 1000),
          },
          (err: unknown) => {
            clearTimeout(timer);
            if (err) reject(new PublishError(`broker refused the message: ${String(err)}`));
            else resolve();
          },
        );
      } catch (err) {
        clearTimeout(timer);
        reject(new PublishError(`publish failed: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  /** For tests and chaos: drop the connection as a network failure would. */
  async dropConnection(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    this.ch = undefined;
    this.lastFailure = Date.now();
    if (c) await c.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.conn;
    this.conn = undefined;
    this.ch = undefined;
    if (c) await c.close().catch(() => undefined);
  }
}
