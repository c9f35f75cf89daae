/**
 * `flash-sale-api <command> --help` prints that command's help and does nothing else: no connection to
 * PostgreSQL, Redis or RabbitMQ, no listener. Mistakes are usage errors (exit 2), the error line first.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../api/crd-helpers.js';
import { freePort } from '../support/processes.js';

const MAIN = join(ROOT, 'dist/src/service/main.js');
const COMMANDS = ['migrate', 'serve', 'consume', 'rebuild-stock'];

let trap: Server;
let connections = 0;
let env: Record<string, string>;

beforeAll(async () => {
  // Every service URL points at this listener: a command that connects anywhere is counted.
  trap = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  const port = (trap.address() as { port: number }).port;
  env = {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/help_test`,
    REDIS_URL: `redis://127.0.0.1:${port}`,
    AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`,
    PORT: String(await freePort()),
    CONSUMER_METRICS_PORT: '0',
    WORKERS: '1',
  };
});
afterAll(() => new Promise<void>((resolve) => trap.close(() => resolve())));

function api(...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('flash-sale-api help and usage', () => {
  it.each(COMMANDS)('%s --help (and -h, help %s) prints the help of %s only and exits 0', (cmd) => {
    for (const args of [
      [cmd, '--help'],
      [cmd, '-h'],
      ['help', cmd],
    ]) {
      const r = api(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: flash-sale-api ${cmd}\\n\\n`));
      expect(r.stdout).toMatch(/docs\/api-service\.md/);
      expect(r.stderr).toBe('');
    }
    expect(connections).toBe(0);
  });

  it('--help lists every command', () => {
    const r = api('--help');
    expect(r.status).toBe(0);
    for (const cmd of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });

  it.each([
    [[], 'flash-sale-api: give a command: migrate, serve, consume, rebuild-stock', 'flash-sale-api --help'],
    [['bogus'], 'flash-sale-api: unknown command "bogus"', 'flash-sale-api --help'],
    [['help', 'bogus'], 'flash-sale-api: unknown command "bogus"', 'flash-sale-api --help'],
    [
      ['serve', '--port', '80'],
      'flash-sale-api serve: unexpected argument "--port"; it takes none (configuration comes from the environment)',
      'flash-sale-api serve --help',
    ],
  ])('%j is a usage error: the error line, a hint, exit 2, nothing started', (args, line, hint) => {
    const r = api(...args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${line}\nRun '${hint}' for usage.\n`);
    expect(connections).toBe(0);
  });
});
