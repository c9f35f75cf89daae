/** Publisher batching against the real RabbitMQ: orders of one event-loop turn share one confirmed message. */
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderMessage } from '../../src/service/db.js';
import { Publisher } from '../../src/service/queue.js';
import { createTestEnv, queueDepth, type TestEnv } from './support.js';

const order = (i: number): OrderMessage => ({
  orderId: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`,
  saleId: '1',
  userId: `user-${i}`,
  acceptedAt: new Date().toISOString(),
  attempt: 1,
});

async function drain(url: string, queue: string): Promise<unknown[]> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    const out: unknown[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) return out;
      out.push(JSON.parse(m.content.toString()));
    }
  } finally {
    await conn.close();
  }
}

describe('Publisher.publishOrder', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestEnv({ PUBLISH_BATCH_MAX: '4' });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it('batches one turn into messages of at most PUBLISH_BATCH_MAX orders; a lone order is sent as itself', async () => {
    const p = new Publisher(t.cfg);
    try {
      await p.channel();
      // 6 orders in one turn → a message of 4 and one of 2.
      await Promise.all([1, 2, 3, 4, 5, 6].map((i) => p.publishOrder(order(i))));
      // Then one order alone in its turn.
      await p.publishOrder(order(7));
      expect(await queueDepth(t.cfg)).toBe(3);
      const msgs = await drain(t.cfg.amqpUrl, t.cfg.orderQueue);
      expect(msgs).toEqual([
        {
          orders: [order(1), order(2), order(3), order(4)].map((o) => ({
            ...o,
            acceptedAt: expect.any(String),
          })),
        },
        { orders: [order(5), order(6)].map((o) => ({ ...o, acceptedAt: expect.any(String) })) },
        { ...order(7), acceptedAt: expect.any(String) },
      ]);
    } finally {
      await p.close();
    }
  });

  it('every order of a batch is rejected when the broker is unreachable (the caller answers 503)', async () => {
    const p = new Publisher({ ...t.cfg, amqpUrl: 'amqp://guest:guest@127.0.0.1:1' });
    const results = await Promise.allSettled([1, 2, 3].map((i) => p.publishOrder(order(i))));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await p.close();
  });
});
