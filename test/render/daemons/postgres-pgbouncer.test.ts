// Real PostgreSQL 15 boots with the rendered postgresql.conf + pg_hba.conf (SHOW agrees with every rendered
// value), the first-init SQL works, and a real PgBouncer with the rendered pgbouncer.ini and the userlist
// from the rendered Secret serves queries through to it in transaction mode with SCRAM on both sides.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGBOUNCER_ADMIN_USER, renderPgBouncer } from '../../../src/render/pgbouncer.js';
import { postgresConfig, renderPostgres } from '../../../src/render/postgres.js';
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
import { chownToPostgres, expectedShow, PrivatePostgres } from '../../support/processes.js';

const root = process.getuid?.() === 0;

describe('rendered PostgreSQL 15 and PgBouncer configs run on the real daemons', () => {
  const s = stack({
    postgres: { version: 15, resources: { limits: { memory: '1Gi', cpu: '2' } } },
    pgbouncer: { poolMode: 'transaction', defaultPoolSize: 5, reservePoolSize: 2 },
  });
  const ins = inputs({ postgresPassword: 'pg-Pass\'w"0rd', pgbouncerAdminPassword: 'adm1n-Pass' });
  const pgObjects = renderPostgres(s, ins);
  const pgbObjects = renderPgBouncer(s, ins);
  const { parameters } = postgresConfig(s);
  const database = s.spec.postgres.database;
  const password = secretData(pgObjects).password!;

  const pgFiles = configData(pgObjects);
  // PgBouncer's files go into the server's directory too: it runs as the same OS user.
  const server = new PrivatePostgres('fso-render-pg-');
  const dir = server.dir;
  let pgbPort = 0;
  let bouncer: { proc: ChildProcess; output: () => string } | undefined;
  const clients: pg.Client[] = [];

  async function connect(cfg: pg.ClientConfig): Promise<pg.Client> {
    const c = new pg.Client({ host: '127.0.0.1', connectionTimeoutMillis: 10_000, ...cfg });
    await c.connect();
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    await server.start({ password, conf: pgFiles['postgresql.conf']!, hba: pgFiles['pg_hba.conf']! });
    // What the image's entrypoint does on first init: create POSTGRES_DB, run the initdb scripts in it.
    const admin = await connect(server.connection());
    await admin.query(`CREATE DATABASE ${database}`);
    const app = await connect(server.connection(database));
    await app.query(pgFiles['00-pg-stat-statements.sql']!);

    // PgBouncer with the rendered ini, the PostgreSQL host mapped to the local one.
    pgbPort = await freePort();
    const authFile = join(dir, 'userlist.txt');
    writeFileSync(authFile, secretData(pgbObjects, 'shop-pgbouncer-auth')['userlist.txt']!);
    const pgbIni = configData(pgbObjects)['pgbouncer.ini']!;
    const ini = pgbIni
      .replace(/^\* = host=\S+ port=\d+$/m, `* = host=127.0.0.1 port=${server.port}`)
      .replace(/^listen_addr = .*$/m, 'listen_addr = 127.0.0.1')
      .replace(/^listen_port = .*$/m, `listen_port = ${pgbPort}`)
      .replace(/^auth_file = .*$/m, `auth_file = ${authFile}`);
    writeFileSync(join(dir, 'pgbouncer.ini'), ini);
    chownToPostgres(authFile, join(dir, 'pgbouncer.ini'));
    // setpriv execs (no intermediate process), so stopping the child stops pgbouncer.
    bouncer = root
      ? startDaemon('setpriv', [
          '--reuid=postgres',
          '--regid=postgres',
          '--init-groups',
          '/usr/sbin/pgbouncer',
          join(dir, 'pgbouncer.ini'),
        ])
      : startDaemon('/usr/sbin/pgbouncer', [join(dir, 'pgbouncer.ini')]);
    await waitFor(`pgbouncer on ${pgbPort}: ${bouncer.output()}`, async () => {
      if (bouncer?.proc.exitCode !== null) throw new Error(`pgbouncer exited: ${bouncer?.output()}`);
      const c = new pg.Client({
        host: '127.0.0.1',
        port: pgbPort,
        user: PGBOUNCER_ADMIN_USER,
        password: 'adm1n-Pass',
        database: 'pgbouncer',
      });
      await c.connect();
      await c.end();
      return true;
    });
  });

  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await stopDaemon(bouncer?.proc);
    server.stop();
  });

  it('SHOW returns every rendered postgresql.conf value', async () => {
    const c = await connect(server.connection(database));
    const mapped = new Set(['listen_addresses', 'port', 'unix_socket_directories', 'hba_file']);
    const mismatches: string[] = [];
    for (const [name, rendered] of Object.entries(parameters)) {
      if (mapped.has(name)) continue;
      const res = await c.query<Record<string, string>>(`SHOW "${name}"`);
      const actual = Object.values(res.rows[0] ?? {})[0];
      const expected = expectedShow(name, rendered);
      if (actual !== expected) mismatches.push(`${name}: rendered ${rendered}, SHOW ${actual}`);
    }
    expect(mismatches).toEqual([]);
    expect((await c.query('SHOW password_encryption')).rows[0].password_encryption).toBe('scram-sha-256');
    expect(Number((await c.query('SHOW max_connections')).rows[0].max_connections)).toBe(2 * 7 + 12);
  });

  it('pg_hba requires a password (scram) and the extension exists', async () => {
    await expect(connect({ ...server.connection(database), password: 'wrong' })).rejects.toThrow(
      /password authentication failed/,
    );
    const c = await connect(server.connection(database));
    const ext = await c.query(`select extname from pg_extension where extname = 'pg_stat_statements'`);
    expect(ext.rowCount).toBe(1);
    const verifier = await c.query(`select rolpassword from pg_authid where rolname = 'postgres'`);
    expect(verifier.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$/);
  });

  it('PgBouncer serves queries through to PostgreSQL with SCRAM, in transaction mode', async () => {
    const c = await connect({ port: pgbPort, user: 'postgres', password, database });
    await c.query('BEGIN');
    await c.query('CREATE TEMP TABLE t (x int) ON COMMIT DROP');
    await c.query('INSERT INTO t VALUES (1), (2)');
    const sum = await c.query('SELECT sum(x)::int AS s FROM t');
    await c.query('COMMIT');
    expect(sum.rows[0].s).toBe(3);
    expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');
    await expect(connect({ port: pgbPort, user: 'postgres', password: 'nope', database })).rejects.toThrow();

    const admin = await connect({
      port: pgbPort,
      user: PGBOUNCER_ADMIN_USER,
      password: 'adm1n-Pass',
      database: 'pgbouncer',
    });
    const pools = await admin.query('SHOW POOLS');
    const pool = pools.rows.find((r) => r.database === database && r.user === 'postgres');
    expect(pool?.pool_mode).toBe('transaction');
    const config = await admin.query('SHOW CONFIG');
    const setting = (key: string) => config.rows.find((r) => r.key === key)?.value;
    expect(setting('default_pool_size')).toBe('5');
    expect(setting('max_db_connections')).toBe('7');
    expect(setting('auth_type')).toBe('scram-sha-256');
  });
});
