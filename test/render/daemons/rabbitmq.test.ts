// The running RabbitMQ 3.10 accepts the rendered definitions.json (topology) and the Secret's users.json
// (user with the salted SHA-256 hash render computes), imported into a throwaway vhost; queues exist with the
// rendered arguments, the user can log in with the Secret's password, and rejected messages dead-letter.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  RABBITMQ_DLQ,
  RABBITMQ_DLX,
  rabbitmqQueueArguments,
  renderRabbitMQ,
} from '../../../src/render/rabbitmq.js';
import { configData, inputs, secretData, stack } from './helpers.js';

function ctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', ...args], { encoding: 'utf8', stdio: 'pipe' });
}

/** Points every vhost-scoped item of a definitions document at `vhost` (and renames users). */
function retarget(doc: Record<string, any>, vhost: string, user?: string): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [key, items] of Object.entries(doc)) {
    if (key === 'vhosts') continue; // created with add_vhost
    out[key] = (items as any[]).map((item) => {
      const copy = { ...item };
      if ('vhost' in copy) copy.vhost = vhost;
      if (user && key === 'users') copy.name = user;
      if (user && key === 'permissions') copy.user = user;
      return copy;
    });
  }
  return out;
}

// rabbitmqctl (Debian wrapper) runs as the rabbitmq user: it must be able to read the files.
const dir = mkdtempSync(join(tmpdir(), 'fso-render-mq-'));
chmodSync(dir, 0o755);
const created: { vhosts: string[]; users: string[] } = { vhosts: [], users: [] };

afterAll(() => {
  for (const v of created.vhosts) ctl('delete_vhost', v);
  for (const u of created.users) ctl('delete_user', u);
  rmSync(dir, { recursive: true, force: true });
});

describe.each([1, 3] as const)(
  'rendered RabbitMQ definitions (%i replicas) on the real broker',
  (replicas) => {
    const id = randomBytes(4).toString('hex');
    const vhost = `fso-render-${id}`;
    const user = `fso-render-${id}`;
    const password = `mq-${id}-Pass`;
    const s = stack({ rabbitmq: { replicas, queues: ['refund_queue'] } });
    const objects = renderRabbitMQ(s, inputs({ rabbitmqPassword: password }));
    const defs = JSON.parse(configData(objects)['definitions.json']!);
    const users = JSON.parse(secretData(objects)['users.json']!);

    it('imports topology and users', () => {
      ctl('add_vhost', vhost);
      created.vhosts.push(vhost);
      const defsFile = join(dir, `definitions-${id}.json`);
      const usersFile = join(dir, `users-${id}.json`);
      writeFileSync(defsFile, JSON.stringify(retarget(defs, vhost)));
      writeFileSync(usersFile, JSON.stringify(retarget(users, vhost, user)));
      ctl('import_definitions', defsFile);
      created.users.push(user);
      ctl('import_definitions', usersFile);
      const listed = JSON.parse(
        ctl('list_queues', '-p', vhost, 'name', 'durable', 'arguments', 'type', '--formatter', 'json'),
      );
      const byName = Object.fromEntries(listed.map((q: any) => [q.name, q]));
      const type = replicas === 3 ? 'quorum' : 'classic';
      for (const q of ['order_queue', 'payment_queue', 'refund_queue']) {
        expect(byName[q]?.durable).toBe(true);
        expect(byName[q]?.type).toBe(type);
        const args = Object.fromEntries(
          (byName[q].arguments as [string, string, unknown][]).map((a) => [a[0], a[2]]),
        );
        expect(args).toMatchObject(rabbitmqQueueArguments(s));
      }
      expect(byName[RABBITMQ_DLQ]?.type).toBe(type);
      const exchanges = ctl('list_exchanges', '-p', vhost, 'name', 'type', 'durable');
      expect(exchanges).toMatch(new RegExp(`${RABBITMQ_DLX.replace('.', '\\.')}\\s+fanout\\s+true`));
    });

    it('the users.json hash accepts the Secret password; rejected messages dead-letter', async () => {
      await expect(
        amqp.connect({ hostname: '127.0.0.1', port: 5672, username: user, password: 'wrong', vhost }),
      ).rejects.toThrow(/ACCESS_REFUSED|403/);
      const conn = await amqp.connect({ hostname: '127.0.0.1', port: 5672, username: user, password, vhost });
      try {
        const ch = await conn.createConfirmChannel();
        // Declaring with exactly the rendered arguments is accepted (what the API does).
        await ch.assertQueue('order_queue', { durable: true, arguments: rabbitmqQueueArguments(s) });
        ch.sendToQueue('order_queue', Buffer.from('{"order":1}'), { persistent: true });
        await ch.waitForConfirms();
        const msg = await waitForMessage(ch, 'order_queue');
        ch.nack(msg, false, false);
        const dead = await waitForMessage(ch, RABBITMQ_DLQ);
        expect(dead.content.toString()).toBe('{"order":1}');
        ch.ack(dead);
        await ch.close();
      } finally {
        await conn.close();
      }
    });
  },
);

async function waitForMessage(ch: amqp.Channel, queue: string): Promise<amqp.GetMessage> {
  for (let i = 0; i < 100; i++) {
    const m = await ch.get(queue, { noAck: false });
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message on ${queue}`);
}
