// A real redis-server starts with the rendered redis.conf (port/dir/include path mapped), CONFIG GET agrees
// with the rendered values, and AUTH works with the rendered Secret's password only.
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRedis } from '../../../src/render/redis.js';
import {
  configData,
  freePort,
  inputs,
  secretData,
  stack,
  startDaemon,
  stopDaemon,
  waitFor,
} from './helpers.js';

describe('rendered redis.conf runs on a real redis-server', () => {
  const s = stack({ redis: { resources: { limits: { memory: '512Mi' } }, maxmemoryPolicy: 'volatile-lru' } });
  const objects = renderRedis(s, inputs({ redisPassword: 'r3dis "quoted" \\ pass' }));
  const dir = mkdtempSync(join(tmpdir(), 'fso-render-redis-'));
  let port = 0;
  let daemon: { proc: ChildProcess; output: () => string } | undefined;
  const clients: Redis[] = [];
  const password = secretData(objects).password!;

  function client(pass?: string): Redis {
    const c = new Redis({
      host: '127.0.0.1',
      port,
      password: pass,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    port = await freePort();
    writeFileSync(join(dir, 'auth.conf'), secretData(objects)['auth.conf']!);
    const rendered = configData(objects)['redis.conf']!;
    const conf = rendered
      .replace(/^bind .*$/m, 'bind 127.0.0.1')
      .replace(/^port .*$/m, `port ${port}`)
      .replace(/^dir .*$/m, `dir ${dir}`)
      .replace(/^include .*$/m, `include ${join(dir, 'auth.conf')}`);
    writeFileSync(join(dir, 'redis.conf'), conf);
    daemon = startDaemon('redis-server', [join(dir, 'redis.conf')]);
    await waitFor('redis-server', async () => {
      if (daemon?.proc.exitCode !== null) throw new Error(`redis-server exited: ${daemon?.output()}`);
      const c = client(password);
      await c.connect();
      const pong = await c.ping();
      c.disconnect();
      return pong === 'PONG' ? true : undefined;
    });
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await stopDaemon(daemon?.proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it('CONFIG GET agrees with the rendered values', async () => {
    const c = client(password);
    await c.connect();
    const get = async (k: string) => ((await c.config('GET', k)) as string[])[1];
    expect(await get('maxmemory')).toBe(String(Math.floor(512 * 2 ** 20 * 0.75)));
    expect(await get('maxmemory-policy')).toBe('volatile-lru');
    expect(await get('appendonly')).toBe('yes');
    expect(await get('appendfsync')).toBe('everysec');
    expect(await get('dir')).toBe(dir);
    expect(await c.set('fso:render:k', 'v')).toBe('OK');
    expect(await c.del('fso:render:k')).toBe(1);
  });

  it('requires the Secret password', async () => {
    // Raw RESP over TCP: no client-library retries or ready checks in the way.
    const send = (cmd: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1', () => sock.write(cmd));
        sock.once('data', (d) => {
          resolve(String(d));
          sock.destroy();
        });
        sock.once('error', reject);
      });
    expect(await send('PING\r\n')).toMatch(/^-NOAUTH/);
    expect(await send('AUTH wrong\r\n')).toMatch(/^-WRONGPASS/);
    const c = client(password);
    await c.connect();
    expect(await c.ping()).toBe('PONG');
  });
});
