/**
 * The service against the topology the operator renders (src/render/rabbitmq.ts): each case gets a throwaway
 * vhost into which the rendered definitions' exchanges, queues and bindings are declared exactly as
 * RabbitMQ's definitions import would create them. The service must work with them (no 406
 * PRECONDITION_FAILED), orders must flow, and a poison message must end in `flashsale.dead-letter` through the
 * queue's own dead-letter exchange.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import type { FlashSaleStack } from '../../src/api/types.js';
import {
  RABBITMQ_DLQ,
  rabbitmqDefinitions,
  rabbitmqQueueArguments,
  type RabbitDefinitions,
} from '../../src/render/rabbitmq.js';
import { startConsumer, type RunningConsumer } from '../../src/service/consumer.js';
import { orderIdFor } from '../../src/service/keys.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import {
  AMQP_URL,
  call,
  createSale,
  createTestEnv,
  orderCount,
  queueDepth,
  type TestEnv,
  waitFor,
} from './support.js';

function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8', stdio: 'pipe' });
}

const vhosts: string[] = [];

function newVhost(): { vhost: string; url: string } {
  const vhost = `fs_test_${randomBytes(5).toString('hex')}`;
  rabbitmqctl('add_vhost', vhost);
  vhosts.push(vhost);
  const user = new URL(AMQP_URL).username || 'guest';
  rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
  return { vhost, url: `${AMQP_URL.replace(/\/+$/, '')}/${encodeURIComponent(vhost)}` };
}

function stack(replicas: number): ReturnType<typeof applyDefaults> {
  const s: FlashSaleStack = {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name: 'shop', namespace: 'default' },
    spec: { rabbitmq: { replicas } },
  } as FlashSaleStack;
  return applyDefaults(s);
}

/** Declares the definitions' exchanges, queues and bindings exactly (what a definitions import creates). */
async function importDefinitions(url: string, defs: RabbitDefinitions): Promise<void> {
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined); // a 406 rejects the pending call below
    for (const e of defs.exchanges) {
      await ch.assertExchange(String(e.name), String(e.type), {
        durable: e.durable === true,
        autoDelete: e.auto_delete === true,
        internal: e.internal === true,
        arguments: e.arguments as Record<string, unknown>,
      });
    }
    for (const q of defs.queues) {
      await ch.assertQueue(String(q.name), {
        durable: q.durable === true,
        autoDelete: q.auto_delete === true,
        arguments: q.arguments as Record<string, unknown>,
      });
    }
    for (const b of defs.bindings) {
      await ch.bindQueue(String(b.destination), String(b.source), String(b.routing_key));
    }
    await ch.close();
  } finally {
    await conn.close();
  }
}

afterAll(() => {
  for (const v of vhosts) rabbitmqctl('delete_vhost', v);
});

describe('service against the operator-rendered RabbitMQ topology', () => {
  let t: TestEnv | undefined;
  let srv: RunningServer | undefined;
  let consumer: RunningConsumer | undefined;
  afterAll(async () => {
    await consumer?.close();
    await srv?.close();
    await t?.cleanup();
  });

  it('quorum order_queue from the definitions (3 replicas): orders flow; poison messages and orders no row can hold end in flashsale.dead-letter', async () => {
    const { url } = newVhost();
    const defs = rabbitmqDefinitions(stack(3));
    expect(defs.queues.find((q) => q.name === 'order_queue')?.arguments).toMatchObject({
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'flashsale.dlx',
    });
    await importDefinitions(url, defs);

    t = await createTestEnv({ AMQP_URL: url, ORDER_QUEUE: 'order_queue' });
    srv = await startServer(t.cfg);
    consumer = await startConsumer(t.cfg, (l) => process.stderr.write(`consumer: ${l}\n`));
    expect(consumer.topology).toBe('existing');
    expect(srv.deps.publisher.topology).toBe('existing');

    const sale = await createSale(srv.url, 20);
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(srv!.url, 'POST', `/api/sales/${sale}/orders`, { userId: `u${i}` }),
      ),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(20);
    expect(replies.filter((r) => r.status === 410)).toHaveLength(10);
    await waitFor('20 rows', async () => (await orderCount(t!.pool, sale)) === 20);

    // Poison: not an order at all (dead-lettered at once), and a batch message (the publisher's
    // `{"orders": [...]}`) holding a good order and one for a sale that does not exist: the good one is
    // written, the bad one (foreign key violation: not even a rejected row can refer to the sale) is split
    // off as its own message and dead-lettered.
    const conn = await amqp.connect(url);
    const ch = await conn.createConfirmChannel();
    ch.publish('', 'order_queue', Buffer.from('{not json'), { persistent: true, messageId: 'poison-1' });
    const ghost = {
      orderId: '00000000-0000-5000-8000-000000000001',
      saleId: '999999999',
      userId: 'ghost',
      acceptedAt: new Date().toISOString(),
    };
    const sale2 = await createSale(srv.url, 1);
    const good = {
      orderId: orderIdFor(sale2, 'late-buyer'),
      saleId: sale2,
      userId: 'late-buyer',
      acceptedAt: new Date().toISOString(),
    };
    ch.publish('', 'order_queue', Buffer.from(JSON.stringify({ orders: [ghost, good] })), {
      persistent: true,
      messageId: 'poison-2',
    });
    await ch.waitForConfirms();
    await waitFor('2 dead letters', async () => (await queueDepth(t!.cfg, RABBITMQ_DLQ)) === 2);
    expect(await queueDepth(t.cfg, 'order_queue')).toBe(0);
    expect(await orderCount(t.pool, sale)).toBe(20);
    expect(await orderCount(t.pool, sale2)).toBe(1);
    const dead: string[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await ch.get(RABBITMQ_DLQ, { noAck: true });
      if (m) dead.push(m.content.toString());
    }
    expect(dead).toContain('{not json');
    const split = dead.filter((d) => d !== '{not json').map((d) => JSON.parse(d) as unknown);
    expect(split).toEqual([{ ...ghost, attempt: 0 }]);
    await conn.close();

    // The queues are still exactly what the definitions describe: importing them again is accepted.
    await expect(importDefinitions(url, defs)).resolves.toBeUndefined();
  });
});

describe('order_queue missing, ORDER_QUEUE_ARGUMENTS set (as render sets it)', () => {
  let t: TestEnv | undefined;
  let consumer: RunningConsumer | undefined;
  afterAll(async () => {
    await consumer?.close();
    await t?.cleanup();
  });

  it('the service declares it exactly as the definitions would, so a later definitions import does not clash', async () => {
    const { url } = newVhost();
    const s = stack(1);
    t = await createTestEnv({
      AMQP_URL: url,
      ORDER_QUEUE: 'order_queue',
      ORDER_QUEUE_ARGUMENTS: JSON.stringify(rabbitmqQueueArguments(s)),
    });
    consumer = await startConsumer(t.cfg);
    expect(consumer.topology).toBe('declared-with-arguments');
    await expect(importDefinitions(url, rabbitmqDefinitions(s))).resolves.toBeUndefined();
  });

  it('a queue declared with other arguments is refused by RabbitMQ (the check above can fail)', async () => {
    const { url } = newVhost();
    const conn = await amqp.connect(url);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue('order_queue', { durable: true });
    await conn.close();
    await expect(importDefinitions(url, rabbitmqDefinitions(stack(1)))).rejects.toThrow(
      /PRECONDITION_FAILED/,
    );
  });
});
