import amqp from 'amqplib';
import type { AmqpTarget, ProbeOptions, QueueHealth, RabbitMQHealth } from './types.js';
import { elapsedMs, unreachable, withTimeout } from './util.js';

/** An AMQP connection kept across rounds; `alive` turns false when the broker closes it. */
export interface AmqpHandle {
  model: amqp.ChannelModel;
  alive: boolean;
  close(): Promise<void>;
}

export function amqpEndpoint(t: AmqpTarget): string {
  return `${t.host}:${t.port}${t.vhost === '/' ? '/' : `/${encodeURIComponent(t.vhost)}`}`;
}

/** Opens an AMQP connection; the TCP connect and the AMQP handshake are bounded by `timeoutMs`. */
export async function openAmqp(target: AmqpTarget, timeoutMs: number): Promise<AmqpHandle> {
  let late = false;
  const connecting = amqp.connect(
    {
      protocol: 'amqp',
      hostname: target.host,
      port: target.port,
      username: target.username,
      password: target.password,
      vhost: target.vhost,
      heartbeat: Math.max(5, Math.ceil((timeoutMs * 3) / 1000)),
    },
    { timeout: timeoutMs, clientProperties: { connection_name: 'flash-sale-operator-probe' } },
  );
  // If the race below gives up first, close whatever connection arrives later.
  connecting.then(
    (m) => {
      if (late) m.close().catch(() => undefined);
    },
    () => undefined,
  );
  const model = await withTimeout(connecting, timeoutMs, `RabbitMQ at ${amqpEndpoint(target)}`, () => {
    late = true;
  });
  const handle: AmqpHandle = {
    model,
    alive: true,
    close: async () => {
      if (!handle.alive) return;
      handle.alive = false;
      await withTimeout(model.close(), 2000, 'closing AMQP').catch(() => undefined);
    },
  };
  model.on('error', () => undefined);
  model.on('close', () => {
    handle.alive = false;
  });
  return handle;
}

/**
 * RabbitMQ probe: seed §8/§10 (`rabbitmqctl list_queues`, `rabbitmq-diagnostics ping`): broker reachable,
 * each queue's depth and consumers (a missing queue closes the channel with 404: reported, not thrown), and
 * whether a backlog grew since the previous round.
 */
export async function probeRabbitMQ(
  getHandle: () => Promise<AmqpHandle>,
  target: AmqpTarget,
  queues: string[],
  opts: ProbeOptions,
  previous?: RabbitMQHealth,
): Promise<RabbitMQHealth> {
  const checkedAt = (opts.now?.() ?? new Date()).toISOString();
  const endpoint = amqpEndpoint(target);
  const th = opts.thresholds;
  let handle: AmqpHandle | undefined;
  const work = async (): Promise<RabbitMQHealth> => {
    handle = await getHandle();
    const t0 = process.hrtime.bigint();
    let ch: amqp.Channel | undefined = await handle.model.createChannel();
    const latencyMs = elapsedMs(t0);
    ch.on('error', () => undefined);
    const results: QueueHealth[] = [];
    for (const name of queues) {
      if (!ch) {
        ch = await handle.model.createChannel();
        ch.on('error', () => undefined);
      }
      try {
        const ok = await ch.checkQueue(name);
        const prev = previous?.queues?.find((q) => q.name === name);
        const q: QueueHealth = { name, exists: true, depth: ok.messageCount, consumers: ok.consumerCount };
        if (prev?.exists && prev.depth !== undefined) q.depthDelta = ok.messageCount - prev.depth;
        results.push(q);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code !== 404) throw err;
        results.push({ name, exists: false });
        ch = undefined; // the broker closed that channel
      }
    }
    if (ch) await ch.close().catch(() => undefined);
    return judgeRabbitMQ(
      { healthy: true, reason: 'Healthy', message: '', latencyMs, checkedAt, endpoint, queues: results },
      th.queueDepthMax,
    );
  };
  try {
    return await withTimeout(work(), opts.timeoutMs, `RabbitMQ at ${endpoint}`, () => {
      if (handle) {
        handle.alive = false;
        handle.model.close().catch(() => undefined);
      }
    });
  } catch (err) {
    return unreachable<RabbitMQHealth>(endpoint, checkedAt, 'RabbitMQ', err, [target.password]);
  }
}

function judgeRabbitMQ(r: RabbitMQHealth, depthMax: number): RabbitMQHealth {
  const qs = r.queues ?? [];
  const summary =
    `RabbitMQ reachable (channel open ${r.latencyMs} ms)` +
    (qs.length
      ? `; ${qs
          .map((q) =>
            q.exists ? `${q.name}: ${q.depth} ready, ${q.consumers} consumers` : `${q.name}: missing`,
          )
          .join('; ')}`
      : '; no queues checked');
  const bad = (reason: RabbitMQHealth['reason'], why: string): RabbitMQHealth => ({
    ...r,
    healthy: false,
    reason,
    message: `${why} ${summary}`,
  });
  const missing = qs.filter((q) => !q.exists);
  if (missing.length) {
    return bad('QueueMissing', `queue ${missing.map((q) => q.name).join(', ')} does not exist.`);
  }
  const growing = qs.filter((q) => (q.depthDelta ?? 0) > 0);
  if (growing.length) {
    return bad(
      'OrderBacklogGrowing',
      `backlog growing: ${growing.map((q) => `${q.name} +${q.depthDelta} to ${q.depth}`).join(', ')} since the last round.`,
    );
  }
  const deep = qs.filter((q) => (q.depth ?? 0) > depthMax);
  if (deep.length) {
    return bad(
      'QueueDepthHigh',
      `${deep.map((q) => `${q.name} has ${q.depth} messages`).join(', ')} (threshold ${depthMax}).`,
    );
  }
  const idle = qs.filter((q) => (q.depth ?? 0) > 0 && q.consumers === 0);
  if (idle.length) {
    return bad(
      'NoConsumers',
      `${idle.map((q) => `${q.name} has ${q.depth} messages`).join(', ')} and no consumer.`,
    );
  }
  return { ...r, message: summary };
}
