// Boots a real PostgreSQL 15 (this machine's binaries) on a fresh data directory with the rendered
// postgresql.conf, and checks that SHOW returns every rendered value.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPostgresqlConf, tunePostgres } from '../../src/tuning/index.js';
import { expectedShow, PrivatePostgres } from '../support/processes.js';

const GiB = 1024 ** 3;

describe('a real PostgreSQL 15 boots with the tuned postgresql.conf', () => {
  const server = new PrivatePostgres('fso-tuning-pg-');
  let client: pg.Client | undefined;
  const { parameters, warnings } = tunePostgres({
    version: 15,
    memoryLimitBytes: 2 * GiB,
    cpuLimit: 2,
    maxConnections: 50,
    monitoring: true,
    userParameters: { log_min_duration_statement: '250ms', 'pg_stat_statements.max': '5000' },
  });

  beforeAll(async () => {
    await server.start({ conf: formatPostgresqlConf(parameters) });
    client = new pg.Client(server.connection());
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    server.stop();
  });

  it('renders without warnings and with pg_stat_statements preloaded', () => {
    expect(warnings).toEqual([]);
    expect(parameters['shared_preload_libraries']).toBe('pg_stat_statements');
    expect(parameters['shared_buffers']).toBe('512MB');
  });

  it('SHOW returns every rendered value', async () => {
    const mismatches: string[] = [];
    for (const [name, rendered] of Object.entries(parameters)) {
      const res = await client!.query<Record<string, string>>(`SHOW "${name}"`);
      const actual = Object.values(res.rows[0] ?? {})[0];
      const expected = expectedShow(name, rendered);
      if (actual !== expected)
        mismatches.push(`${name}: rendered ${rendered}, expected ${expected}, SHOW ${actual}`);
    }
    expect(mismatches).toEqual([]);
    expect(Object.keys(parameters).length).toBeGreaterThan(20);
  });

  it('loads pg_stat_statements for real', async () => {
    const res = await client!.query<{ setting: string; context: string }>(
      `select setting, context from pg_settings where name = 'pg_stat_statements.max'`,
    );
    expect(res.rows[0]).toEqual({ setting: '5000', context: 'postmaster' });
  });
});
