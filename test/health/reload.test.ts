import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reloadPostgresParameters, settingMatches } from '../../src/health/postgres-reload.js';
import { PG } from './helpers.js';

describe('reloadPostgresParameters (real PostgreSQL, ALTER SYSTEM, restored afterwards)', () => {
  const admin = new pg.Client({ ...PG });
  let original: { log_min_duration_statement: string; autovacuum_naptime: string };

  beforeAll(async () => {
    await admin.connect();
    const r = await admin.query<{ name: string; source: string }>(
      "SELECT name, source FROM pg_settings WHERE name IN ('log_min_duration_statement', 'autovacuum_naptime')",
    );
    original = {
      log_min_duration_statement: (await admin.query('SHOW log_min_duration_statement')).rows[0]
        .log_min_duration_statement,
      autovacuum_naptime: (await admin.query('SHOW autovacuum_naptime')).rows[0].autovacuum_naptime,
    };
    expect(r.rows).toHaveLength(2);
  });

  afterAll(async () => {
    await admin.query('ALTER SYSTEM RESET log_min_duration_statement');
    await admin.query('ALTER SYSTEM RESET autovacuum_naptime');
    await admin.query('ALTER SYSTEM RESET max_wal_senders');
    await admin.query('SELECT pg_reload_conf()');
    // Give the reload a moment, then make sure the originals are live again.
    for (let i = 0; i < 50; i++) {
      const v = (await admin.query('SHOW log_min_duration_statement')).rows[0].log_min_duration_statement;
      if (v === original.log_min_duration_statement) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await admin.end();
  });

  it('applies sighup parameters without a restart and verifies them with unit normalisation', async () => {
    await admin.query("ALTER SYSTEM SET log_min_duration_statement = '1234ms'");
    await admin.query("ALTER SYSTEM SET autovacuum_naptime = '2min'");
    const result = await reloadPostgresParameters('postgres://postgres@127.0.0.1:5432/postgres', {
      log_min_duration_statement: '1234ms',
      autovacuum_naptime: '120s',
    });
    expect(result.applied.sort()).toEqual(['autovacuum_naptime', 'log_min_duration_statement']);
    expect(result.pendingRestart).toEqual([]);
    expect(result.notApplied).toEqual([]);
    const shown = (await admin.query('SHOW log_min_duration_statement')).rows[0].log_min_duration_statement;
    expect(shown).toBe('1234ms');
  });

  it('reports postmaster parameters as pending_restart and unknown names as unknown', async () => {
    const current = Number((await admin.query('SHOW max_wal_senders')).rows[0].max_wal_senders);
    await admin.query(`ALTER SYSTEM SET max_wal_senders = ${current + 1}`);
    const result = await reloadPostgresParameters(
      { ...PG },
      {
        max_wal_senders: String(current + 1),
        no_such_parameter_xyz: '1',
      },
    );
    expect(result.pendingRestart).toEqual(['max_wal_senders']);
    expect(result.unknown).toEqual(['no_such_parameter_xyz']);
    await admin.query('ALTER SYSTEM RESET max_wal_senders');
    await admin.query('SELECT pg_reload_conf()');
  });

  it('reports a parameter whose live value differs as notApplied with the live value', async () => {
    const result = await reloadPostgresParameters(
      admin,
      { log_min_duration_statement: '987ms' },
      { timeoutMs: 300 },
    );
    expect(result.notApplied).toEqual([
      { name: 'log_min_duration_statement', expected: '987ms', actual: expect.any(String) },
    ]);
  });
});

describe('settingMatches', () => {
  it('normalises memory, time, booleans and enums', () => {
    expect(settingMatches('128MB', { setting: '16384', unit: '8kB', vartype: 'integer' })).toBe(true);
    expect(settingMatches('1GB', { setting: '131072', unit: '8kB', vartype: 'integer' })).toBe(true);
    expect(settingMatches('64MB', { setting: '65536', unit: 'kB', vartype: 'integer' })).toBe(true);
    expect(settingMatches('1s', { setting: '1000', unit: 'ms', vartype: 'integer' })).toBe(true);
    expect(settingMatches('1000', { setting: '1000', unit: 'ms', vartype: 'integer' })).toBe(true);
    expect(settingMatches('-1', { setting: '-1', unit: 'ms', vartype: 'integer' })).toBe(true);
    expect(settingMatches('2s', { setting: '1000', unit: 'ms', vartype: 'integer' })).toBe(false);
    expect(settingMatches('true', { setting: 'on', unit: null, vartype: 'bool' })).toBe(true);
    expect(settingMatches("'Replica'", { setting: 'replica', unit: null, vartype: 'enum' })).toBe(true);
    expect(settingMatches('0.9', { setting: '0.9', unit: null, vartype: 'real' })).toBe(true);
  });
});
