// A second, throwaway RabbitMQ 3.10 node boots with the rendered rabbitmq.conf, enabled_plugins and the
// definitions directory (definitions.json from the ConfigMap + users.json from the Secret), exactly as the pod
// mounts them (ports and paths mapped). Cuttlefish refuses unknown or mistyped keys at boot, so a successful
// boot validates every key. It also shows the design premise: with load_definitions set, no default (guest)
// user is created; the only user is the one from users.json, and it can log in.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rabbitmqWatermarkBytes } from '../../../src/render/budgets.js';
import { RABBITMQ_DEFINITIONS_DIR, RABBITMQ_USERNAME, renderRabbitMQ } from '../../../src/render/rabbitmq.js';
import { configData, freePort, inputs, secretData, stack, waitFor } from './helpers.js';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

function ctl(node: string, ...args: string[]): string {
  return execFileSync('rabbitmqctl', ['-q', '-n', node, ...args], { encoding: 'utf8', stdio: 'pipe' });
}

describe('a RabbitMQ node boots with the rendered rabbitmq.conf, plugins and definitions', () => {
  const id = randomBytes(4).toString('hex');
  const node = `fso-render-${id}@localhost`;
  const password = `mq-boot-${id}`;
  const s = stack({ rabbitmq: { queues: ['refund_queue'] } });
  const objects = renderRabbitMQ(s, inputs({ rabbitmqPassword: password }));
  const dir = mkdtempSync(join(tmpdir(), 'fso-render-mqboot-'));
  const ports = { amqp: 0, mgmt: 0, prom: 0, dist: 0 };
  let proc: ChildProcess | undefined;
  let out = '';

  beforeAll(async () => {
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
    chmodSync(dir, 0o755);
    const defsDir = join(dir, 'definitions');
    mkdirSync(defsDir);
    const data = configData(objects);
    writeFileSync(join(defsDir, 'definitions.json'), data['definitions.json']!);
    writeFileSync(join(defsDir, 'users.json'), secretData(objects)['users.json']!);
    const conf = data['rabbitmq.conf']!.replace(
      /^listeners\.tcp\.default = .*$/m,
      `listeners.tcp.default = ${ports.amqp}`,
    )
      .replace(/^management\.tcp\.port = .*$/m, `management.tcp.port = ${ports.mgmt}`)
      .replace(/^prometheus\.tcp\.port = .*$/m, `prometheus.tcp.port = ${ports.prom}`)
      .replace(/^load_definitions = .*$/m, `load_definitions = ${defsDir}`);
    expect(data['rabbitmq.conf']).toContain(`load_definitions = ${RABBITMQ_DEFINITIONS_DIR}`);
    writeFileSync(join(dir, 'rabbitmq.conf'), conf);
    writeFileSync(join(dir, 'enabled_plugins'), data.enabled_plugins!);
    execFileSync('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
    proc = spawn(
      'setpriv',
      [
        '--reuid=rabbitmq',
        '--regid=rabbitmq',
        '--init-groups',
        'env',
        'HOME=/var/lib/rabbitmq',
        `RABBITMQ_NODENAME=${node}`,
        `RABBITMQ_DIST_PORT=${ports.dist}`,
        `RABBITMQ_MNESIA_BASE=${join(dir, 'mnesia')}`,
        `RABBITMQ_LOG_BASE=${join(dir, 'log')}`,
        `RABBITMQ_CONFIG_FILE=${join(dir, 'rabbitmq.conf')}`,
        `RABBITMQ_ENABLED_PLUGINS_FILE=${join(dir, 'enabled_plugins')}`,
        `RABBITMQ_PLUGINS_EXPAND_DIR=${join(dir, 'plugins-expand')}`,
        SERVER,
      ],
      { cwd: '/var/lib/rabbitmq', detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (d) => (out += String(d)));
    proc.stderr?.on('data', (d) => (out += String(d)));
    await waitFor(
      'rabbitmq node',
      async () => {
        if (proc?.exitCode !== null) return 'exited';
        return out.includes('Server startup complete') ? 'started' : undefined;
      },
      650,
    );
    if (proc?.exitCode !== null) throw new Error(`rabbitmq-server exited:\n${out}`);
  }, 180_000);

  afterAll(async () => {
    try {
      if (proc && proc.exitCode === null) ctl(node, 'stop');
    } catch {
      // fall through to the kill below
    }
    if (proc?.pid && proc.exitCode === null) {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('booted with the rendered settings', () => {
    expect(out).not.toMatch(/\[error\]/);
    const limit = ctl(node, 'eval', 'vm_memory_monitor:get_memory_limit().').trim();
    expect(Number(limit)).toBe(rabbitmqWatermarkBytes(s));
    const plugins = ctl(node, 'eval', 'rabbit_plugins:active().');
    expect(plugins).toContain('rabbitmq_prometheus');
    expect(plugins).toContain('rabbitmq_management');
  });

  it('loaded the definitions, created only the users.json user (no guest)', async () => {
    const users = ctl(node, 'list_users', '--formatter', 'json');
    expect(JSON.parse(users).map((u: { user: string }) => u.user)).toEqual([RABBITMQ_USERNAME]);
    const queues = ctl(node, 'list_queues', 'name', '--formatter', 'json');
    expect(
      JSON.parse(queues)
        .map((q: { name: string }) => q.name)
        .sort(),
    ).toEqual(['flashsale.dead-letter', 'order_queue', 'payment_queue', 'refund_queue'].sort());
    const conn = await amqp.connect({
      hostname: '127.0.0.1',
      port: ports.amqp,
      username: RABBITMQ_USERNAME,
      password,
    });
    const ch = await conn.createChannel();
    expect((await ch.checkQueue('order_queue')).queue).toBe('order_queue');
    await conn.close();
  });

  it('serves Prometheus metrics on the rendered metrics port', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.prom}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^rabbitmq_queues /m);
  });
});
