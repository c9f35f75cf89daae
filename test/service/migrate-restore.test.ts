/**
 * `flash-sale-api migrate` with MIGRATE_WAIT_FOR_RESTORE=1 (bootstrap from backup): it must not create a single
 * table before restore.sh has marked the database (`COMMENT ON DATABASE … IS 'flashsale.dev/restored-from …'`),
 * because restore.sh refuses to restore into a database that already has tables. Runs the built CLI through
 * the image's PATH wrapper (src/service/bin/flash-sale-api) against the real PostgreSQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { API_UID } from '../../src/render/api.js';
import { RESTORE_MARKER_PREFIX } from '../../src/service/db.js';
import { PG_ADMIN } from './support.js';

const WRAPPER = 'src/service/bin/flash-sale-api';

function runCli(args: string[], env: Record<string, string>): { p: ChildProcess; out: () => string } {
  let out = '';
  const p = spawn(WRAPPER, args, {
    env: { ...process.env, FLASH_SALE_API_HOME: process.cwd(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  p.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return { p, out: () => out };
}

function exitCode(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve(p.exitCode);
    else p.once('exit', (code) => resolve(code));
  });
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>, db?: string): Promise<T> {
  const c = new pg.Client({ connectionString: db ? PG_ADMIN.replace(/\/[^/]*$/, `/${db}`) : PG_ADMIN });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function tables(db: string): Promise<string[]> {
  const r = await admin(
    (c) =>
      c.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
      ),
    db,
  );
  return r.rows.map((x) => x.t);
}

const dbs: string[] = [];
afterAll(async () => {
  for (const db of dbs) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`));
});

describe('migrate waits for the bootstrap restore (MIGRATE_WAIT_FOR_RESTORE=1)', () => {
  it('the image wrapper is what the pods run, as uid API_UID', () => {
    expect(existsSync('dist/src/service/main.js')).toBe(true);
    const dockerfile = readFileSync('Dockerfile.api', 'utf8');
    expect(dockerfile).toMatch(
      /COPY --chmod=0755 src\/service\/bin\/flash-sale-api \/usr\/local\/bin\/flash-sale-api/,
    );
    expect(dockerfile).toMatch(new RegExp(`^USER ${API_UID}:${API_UID}$`, 'm'));
    expect(dockerfile).toMatch(/^ENTRYPOINT \["flash-sale-api"\]$/m);
  });

  it('does nothing while the database is missing or unmarked, then migrates once the marker appears', async () => {
    const db = `fs_test_restore_${randomBytes(4).toString('hex')}`;
    dbs.push(db);
    const url = PG_ADMIN.replace(/\/[^/]*$/, `/${db}`);
    const cli = runCli(['migrate'], {
      DATABASE_URL: url,
      MIGRATE_WAIT_FOR_RESTORE: '1',
      MIGRATE_RESTORE_TIMEOUT_SECONDS: '120',
    });
    const code = exitCode(cli.p);
    // restore.sh creates the database first…
    await waitForOutput(cli.out, /not reachable yet/);
    await admin((c) => c.query(`CREATE DATABASE ${db}`));
    await waitForOutput(cli.out, /no restore marker yet/);
    // …restores the dump (one table here) and only then writes the marker.
    await admin((c) => c.query('CREATE TABLE restored_from_dump (id int)'), db);
    expect(cli.p.exitCode).toBeNull();
    expect(await tables(db)).toEqual(['restored_from_dump']);
    await admin((c) =>
      c.query(
        `COMMENT ON DATABASE ${db} IS '${RESTORE_MARKER_PREFIX}shop-20250101T000000Z.dump sha256:ab12'`,
      ),
    );
    expect(await code).toBe(0);
    expect(cli.out()).toMatch(/restore marker found/);
    expect(await tables(db)).toEqual(
      expect.arrayContaining([
        'flash_sales',
        'orders',
        'order_items',
        'schema_migrations',
        'restored_from_dump',
      ]),
    );
  });

  it('gives up after MIGRATE_RESTORE_TIMEOUT_SECONDS with exit 1 and creates nothing', async () => {
    const db = `fs_test_restore_${randomBytes(4).toString('hex')}`;
    dbs.push(db);
    await admin((c) => c.query(`CREATE DATABASE ${db}`));
    await admin((c) => c.query(`COMMENT ON DATABASE ${db} IS 'something else'`));
    const cli = runCli(['migrate'], {
      DATABASE_URL: PG_ADMIN.replace(/\/[^/]*$/, `/${db}`),
      MIGRATE_WAIT_FOR_RESTORE: '1',
      MIGRATE_RESTORE_TIMEOUT_SECONDS: '1',
    });
    expect(await exitCode(cli.p)).toBe(1);
    expect(cli.out()).toMatch(/gave up waiting .*MIGRATE_RESTORE_TIMEOUT_SECONDS/);
    expect(await tables(db)).toEqual([]);
  });

  it('a bad MIGRATE_WAIT_FOR_RESTORE value is a configuration error (exit 2) naming the variable', async () => {
    const cli = runCli(['migrate'], { MIGRATE_WAIT_FOR_RESTORE: 'maybe' });
    expect(await exitCode(cli.p)).toBe(2);
    expect(cli.out()).toMatch(/MIGRATE_WAIT_FOR_RESTORE="maybe" is not a boolean/);
  });
});

async function waitForOutput(out: () => string, re: RegExp, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!re.test(out())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${re} in: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
