import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkCommand, parseCheckArgs } from '../../src/cli/commands/check.js';
import { UsageError } from '../../src/cli/command.js';
import { LOCAL_CHECK_ARGS as LOCAL } from '../cli/run-cli.js';
import { freePort, startPgBouncer } from './daemons.js';

async function runCheck(argv: string[]) {
  let out = '';
  let err = '';
  const code = await checkCommand.run(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('flash-sale-operator check', () => {
  it('--json against the local services exits 0 with the documented fields', async () => {
    const { code, out } = await runCheck([...LOCAL, '--json']);
    const doc = JSON.parse(out) as {
      healthy: boolean;
      checkedAt: string;
      health: Record<string, Record<string, unknown>>;
    };
    expect(code, out).toBe(0);
    expect(doc.healthy).toBe(true);
    expect(Object.keys(doc.health)).toEqual(['postgres', 'redis', 'rabbitmq']);
    for (const c of Object.values(doc.health)) {
      expect(c).toMatchObject({ healthy: true, reason: 'Healthy', checkedAt: expect.any(String) });
      expect(typeof c.latencyMs).toBe('number');
      expect(typeof c.message).toBe('string');
    }
    expect(doc.health.postgres).toHaveProperty('lockWaits', 0);
    expect(doc.health.postgres).toHaveProperty('databaseSizeBytes');
    expect(doc.health.redis).toHaveProperty('evictedKeys', 0);
    expect(doc.health.rabbitmq).toHaveProperty('queues', []);
    expect(out).not.toContain('guest');
  });

  it('one wrong URL exits 1 and names that component, the others still reported', async () => {
    const port = await freePort();
    const argv = [...LOCAL];
    argv[3] = `redis://:hunter2@127.0.0.1:${port}`;
    const { code, out } = await runCheck([...argv, '--timeout', '2s']);
    expect(code).toBe(1);
    expect(out).toMatch(/^FAIL redis\s+Unreachable/m);
    expect(out).toMatch(/^OK\s+postgres/m);
    expect(out).toMatch(/UNHEALTHY: redis$/m);
    expect(out).not.toContain('hunter2');
  });

  it('a queue given with --queues that does not exist makes RabbitMQ unhealthy', async () => {
    const { code, out } = await runCheck([...LOCAL, '--queues', 'health_check_test_absent_queue', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(out).health.rabbitmq.reason).toBe('QueueMissing');
  });

  it('--pgbouncer reads the admin console (database defaults to pgbouncer)', async () => {
    const bouncer = await startPgBouncer();
    try {
      const { code, out } = await runCheck([
        ...LOCAL,
        '--pgbouncer',
        `postgres://postgres@127.0.0.1:${bouncer.port}`,
        '--json',
      ]);
      const doc = JSON.parse(out) as { health: Record<string, Record<string, unknown>> };
      expect(code, out).toBe(0);
      expect(doc.health.pgbouncer).toMatchObject({
        healthy: true,
        reason: 'Healthy',
        clientsWaiting: 0,
        endpoint: `127.0.0.1:${bouncer.port}/pgbouncer`,
      });
    } finally {
      await bouncer.kill();
    }
  });

  it('usage errors throw UsageError (exit 2 through the dispatcher)', () => {
    expect(() => parseCheckArgs(['--redis', 'redis://x'])).toThrow(UsageError);
    expect(() => parseCheckArgs([...LOCAL, '--timeout', 'soon'])).toThrow(
      /--timeout: 'soon' is not a duration/,
    );
    expect(() => parseCheckArgs([...LOCAL, '--bogus'])).toThrow(/unknown argument '--bogus'/);
    expect(() => parseCheckArgs([...LOCAL, '--queues'])).toThrow(/--queues needs a value/);
    expect(() => parseCheckArgs(['--postgres', '127.0.0.1:5432', ...LOCAL.slice(2)])).toThrow(
      /--postgres: not a URL/,
    );
    expect(parseCheckArgs([...LOCAL, '--timeout=500ms', '--queues=a,b'])).toMatchObject({
      timeoutMs: 500,
      targets: { queues: ['a', 'b'] },
    });
    expect(() => parseCheckArgs([...LOCAL, '--api-metrics', 'ftp://h:9465'])).toThrow(/--api-metrics/);
  });

  it('--api-metrics points the API probe at the metrics port for /metrics', () => {
    const { targets } = parseCheckArgs([
      ...LOCAL,
      '--api',
      'http://127.0.0.1:8001',
      '--api-metrics',
      'http://127.0.0.1:9465',
    ]);
    expect(targets.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:8001/);
    expect(targets.apiMetricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:9465/);
  });

  it('the built CLI exits promptly with the right codes (0, 1, 2)', async () => {
    const main = 'dist/src/cli/main.js';
    if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first (npm test does)`);
    const run = (args: string[]) =>
      spawnSync(process.execPath, [main, 'check', ...args], { encoding: 'utf8', timeout: 30_000 });
    // A keep-alive HTTP server for --api/--nginx: open sockets must not keep the CLI running.
    const server = http.createServer((req, res) =>
      res.writeHead(200).end(req.url === '/metrics' ? 'http_requests_total 3\n' : 'ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const web = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const okRun = spawn(process.execPath, [main, 'check', ...LOCAL, '--api', web, '--nginx', web, '--json']);
    let stdout = '';
    okRun.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const status = await new Promise<number | null>((r) => okRun.once('exit', (code) => r(code)));
    server.closeAllConnections();
    server.close();
    expect(status, stdout).toBe(0);
    const doc = JSON.parse(stdout) as { healthy: boolean; health: Record<string, { reason: string }> };
    expect(doc.healthy).toBe(true);
    expect(Object.keys(doc.health)).toEqual(['postgres', 'redis', 'rabbitmq', 'api', 'nginx']);
    const port = await freePort();
    const bad = run([...LOCAL.slice(0, 5), `amqp://guest:guest@127.0.0.1:${port}`, '--timeout', '1s']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/FAIL rabbitmq/);
    expect(bad.stderr).toBe('');
    const usage = run(['--postgres', 'postgres://x@y/z']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/missing --redis, --amqp/);
  });
});
