/**
 * Small helpers for tests that start real daemons: a free loopback port, and running PostgreSQL's binaries
 * as the `postgres` OS user (initdb, pg_ctl and postgres refuse to run as root, and CI runs as root).
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Runs `cmd args` as the postgres OS user when we are root (otherwise as ourselves); returns stdout. */
export function asPostgres(cmd: string, args: string[]): string {
  const root = process.getuid?.() === 0;
  return execFileSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, {
    encoding: 'utf8',
    stdio: 'pipe',
  });
}
