/**
 * The built CLI (`node dist/src/service/main.js`, built by `npm test`'s build step): migrate twice, serve
 * with two cluster workers, a consumer killed with SIGKILL mid-stream and replaced, and a SIGTERM drain.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/service/server.js';
import { call, createSale, createTestEnv, orderCount, queueDepth, type TestEnv, waitFor } from './support.js';
import { freePort } from '../support/processes.js';

const MAIN = 'dist/src/service/main.js';

function run(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
    else p.once('exit', (code) => resolve(code));
  });
}

describe('flash-sale-api CLI', () => {
  let t: TestEnv;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    t = await createTestEnv({
      CONSUMER_BATCH_SIZE: '5',
      CONSUMER_PREFETCH: '20',
      CONSUMER_BATCH_WAIT_MS: '5',
    });
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t?.cleanup();
  });

  it('migrate is idempotent', () => {
    for (let i = 0; i < 2; i++) {
      const r = spawnSync(process.execPath, [MAIN, 'migrate'], {
        env: { ...process.env, ...t.env },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('schema is up to date'); // createTestEnv already migrated
    }
    const bad = spawnSync(process.execPath, [MAIN, 'migrate'], {
      env: { ...process.env, ...t.env, WORKERS: 'many' },
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('WORKERS');
  });

  it('serve with two cluster workers answers the contract and aggregates metrics on METRICS_PORT', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const p = run(['serve'], {
      ...t.env,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      WORKERS: '2',
    });
    children.push(p);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      'serve up',
      async () => (await call(base, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200,
    );
    await waitFor('ready', async () => (await call(base, 'GET', '/readyz')).status === 200);
    const sale = await createSale(base, 3);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(base, 'POST', `/api/sales/${sale}/orders`, { userId: `c${i}` }),
      ),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(3);
    expect(replies.filter((r) => r.status === 410)).toHaveLength(17);
    expect((await call(base, 'GET', '/metrics')).status).toBe(404); // the serving port has no metrics
    const m = await call(`http://127.0.0.1:${metricsPort}`, 'GET', '/metrics');
    // aggregated over both workers: the 20 order requests appear in one scrape
    const line =
      /http_requests_total\{method="POST",route="\/api\/sales\/\{id\}\/orders",status="410"\} (\d+)/.exec(
        m.body as string,
      );
    expect(Number(line?.[1])).toBe(17);
    p.kill('SIGTERM');
    expect(await exited(p)).toBe(0);
  });

  it('a consumer killed mid-stream and replaced loses and duplicates nothing; SIGTERM drains', async () => {
    const srv: RunningServer = await startServer(t.cfg);
    const total = 1500;
    const sale = await createSale(srv.url, total);
    for (let i = 0; i < total; i += 300) {
      const replies = await Promise.all(
        Array.from({ length: 300 }, (_, j) =>
          call(srv.url, 'POST', `/api/sales/${sale}/orders`, { userId: `k${i + j}` }),
        ),
      );
      expect(replies.every((r) => r.status === 202)).toBe(true);
    }
    await srv.close();
    // Orders accepted together share a message ({"orders": [...]}), so there are at most as many messages.
    expect(await queueDepth(t.cfg)).toBeGreaterThan(0);

    const first = run(['consume'], t.env);
    children.push(first);
    await waitFor('some rows', async () => (await orderCount(t.pool, sale)) > 0, 20_000);
    first.kill('SIGKILL');
    await exited(first);
    const atKill = await orderCount(t.pool, sale);

    const second = run(['consume'], t.env);
    children.push(second);
    await waitFor('all rows', async () => (await orderCount(t.pool, sale)) === total, 30_000);
    await waitFor('queue empty', async () => (await queueDepth(t.cfg)) === 0);
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);

    const r = await t.pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM orders WHERE sale_id = $1',
      [sale],
    );
    expect(r.rows[0]).toEqual({ n: total, users: total });
    const s = await t.pool.query('SELECT stock FROM flash_sales WHERE id = $1', [sale]);
    expect(s.rows[0].stock).toBe(0);
    expect(await queueDepth(t.cfg, t.cfg.deadLetterQueue)).toBe(0);
    // The kill landed mid-stream (batches of 5 make the first consumer far slower than the poll).
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(total);
  });
});
