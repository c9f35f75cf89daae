import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from '../support/processes.js';

export { freePort };

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

export interface Daemon {
  port: number;
  child: ChildProcess;
  stderr: () => string;
  kill(): Promise<void>;
}

function daemon(cmd: string, args: string[], port: number, cleanup?: () => void): Daemon {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return {
    port,
    child,
    stderr: () => err,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      cleanup?.();
    },
  };
}

/** A private redis-server (no persistence) on a free port. */
export async function startRedis(extra: string[] = [], fixedPort?: number): Promise<Daemon> {
  const port = fixedPort ?? (await freePort());
  const d = daemon(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
    port,
  );
  await waitForPort(port, d.child, 'redis-server');
  return d;
}

/** A private PgBouncer in front of the local PostgreSQL, trust auth, admin user postgres. */
export async function startPgBouncer(): Promise<Daemon> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'health-pgb-'));
  chmodSync(dir, 0o777);
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      '* = host=127.0.0.1 port=5432',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = postgres',
      'pool_mode = transaction',
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'userlist.txt'), 0o644);
  chmodSync(join(dir, 'pgbouncer.ini'), 0o644);
  const asRoot = process.getuid?.() === 0;
  const d = daemon('pgbouncer', [...(asRoot ? ['-u', 'nobody'] : []), join(dir, 'pgbouncer.ini')], port, () =>
    rmSync(dir, { recursive: true, force: true }),
  );
  await waitForPort(port, d.child, 'pgbouncer');
  return d;
}

/** A TCP server that accepts connections and never sends a byte (a black hole for every protocol). */
export async function startBlackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
