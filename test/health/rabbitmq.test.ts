import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StackProbeSession } from '../../src/health/session.js';
import type { HealthReport } from '../../src/health/types.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/types.js';
import { AMQP } from './helpers.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

describe('RabbitMQ queues', () => {
  const queue = `health_test_orders_${randomBytes(4).toString('hex')}`;
  const missing = `health_test_missing_${randomBytes(4).toString('hex')}`;
  let conn: amqp.ChannelModel;
  let ch: amqp.ConfirmChannel;
  const session = new StackProbeSession(5000);

  beforeAll(async () => {
    conn = await amqp.connect(AMQP_URL);
    ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: false });
  });
  afterAll(async () => {
    await session.close();
    await ch.deleteQueue(queue).catch(() => undefined);
    await conn.close();
  });

  async function publish(n: number) {
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`order ${i}`));
    await ch.waitForConfirms();
  }

  it('reports depth, a growing backlog after two rounds, and clears once consumed', async () => {
    const targets = { rabbitmq: { ...AMQP }, queues: [queue] };
    await publish(5);
    const r1 = await session.probe(targets, DEFAULT_THRESHOLDS);
    const m1 = r1.components.rabbitmq!;
    expect(m1.queues).toEqual([{ name: queue, exists: true, depth: 5, consumers: 0 }]);
    expect(m1.reason).toBe('NoConsumers');

    await publish(7);
    const r2 = await session.probe(targets, DEFAULT_THRESHOLDS, r1);
    const m2 = r2.components.rabbitmq!;
    expect(m2.queues![0]).toMatchObject({ depth: 12, depthDelta: 7 });
    expect(m2.healthy).toBe(false);
    expect(m2.reason).toBe('OrderBacklogGrowing');
    expect(m2.message).toContain(`${queue} +7 to 12`);

    // A consumer drains the queue.
    const consumer = await conn.createChannel();
    let seen = 0;
    await consumer.consume(queue, (msg) => {
      if (msg) {
        seen++;
        consumer.ack(msg);
      }
    });
    for (let i = 0; i < 100 && seen < 12; i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toBe(12);
    let r3: HealthReport = await session.probe(targets, DEFAULT_THRESHOLDS, r2);
    for (let i = 0; i < 20 && r3.components.rabbitmq!.queues![0]!.depth !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      r3 = await session.probe(targets, DEFAULT_THRESHOLDS, r2);
    }
    const m3 = r3.components.rabbitmq!;
    expect(m3.queues![0]).toMatchObject({ depth: 0, consumers: 1 });
    expect(m3.reason).toBe('Healthy');
    await consumer.close();
  });

  it('reports a missing queue as QueueMissing (not a crash) and still checks the others', async () => {
    const r = await session.probe({ rabbitmq: { ...AMQP }, queues: [missing, queue] }, DEFAULT_THRESHOLDS);
    const m = r.components.rabbitmq!;
    expect(m.healthy).toBe(false);
    expect(m.reason).toBe('QueueMissing');
    expect(m.message).toContain(`queue ${missing} does not exist`);
    expect(m.queues).toEqual([
      { name: missing, exists: false },
      { name: queue, exists: true, depth: 0, consumers: 0 },
    ]);
    // The shared connection survived the 404 channel close.
    const again = await session.probe({ rabbitmq: { ...AMQP }, queues: [queue] }, DEFAULT_THRESHOLDS);
    expect(again.components.rabbitmq!.reason).toBe('Healthy');
  });

  it('reports QueueDepthHigh over the threshold', async () => {
    await publish(3);
    const r = await session.probe(
      { rabbitmq: { ...AMQP }, queues: [queue] },
      { ...DEFAULT_THRESHOLDS, queueDepthMax: 2 },
    );
    expect(r.components.rabbitmq!.reason).toBe('QueueDepthHigh');
    await ch.purgeQueue(queue);
  });

  it('wrong credentials are Unreachable with the broker refusal, and no password', async () => {
    const r = await session.probe({ rabbitmq: { ...AMQP, password: 'wr0ng-pass' } }, DEFAULT_THRESHOLDS);
    expect(r.components.rabbitmq!.reason).toBe('Unreachable');
    expect(r.components.rabbitmq!.message).toMatch(/ACCESS|refused|403/i);
    expect(JSON.stringify(r)).not.toContain('wr0ng-pass');
  });
});
