// Boots a real PostgreSQL 15 (this machine's binaries) on a fresh data directory with the rendered
// postgresql.conf, and checks that SHOW returns every rendered value.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatPostgresqlConf,
  parameterInfo,
  parsePostgresBool,
  showValue,
  toParameterUnit,
  tunePostgres,
} from '../../src/tuning/index.js';
import { freePort, asPostgres } from '../support/processes.js';

const BIN = '/usr/lib/postgresql/15/bin';
const GiB = 1024 ** 3;

/** What SHOW prints for a value as we rendered it. */
function expectedShow(name: string, rendered: string): string {
  const info = parameterInfo(15, name);
  if (!info) return rendered; // extension parameter (pg_stat_statements.track)
  switch (info.type) {
    case 'bool':
      return parsePostgresBool(rendered) ? 'on' : 'off';
    case 'enum':
      return rendered.toLowerCase();
    case 'integer':
      return showValue(toParameterUnit(rendered, info.unit, true) ?? NaN, info.unit);
    case 'real':
      return showValue(toParameterUnit(rendered, info.unit, false) ?? NaN, info.unit);
    case 'string':
      return rendered;
  }
}

describe('a real PostgreSQL 15 boots with the tuned postgresql.conf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fso-tuning-pg-'));
  const data = join(dir, 'data');
  let port = 0;
  let started = false;
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
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', dir]);
    asPostgres(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    port = await freePort();
    const operatorOwned = [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
    ].join('\n');
    const conf = formatPostgresqlConf(parameters) + '\n# operator-owned\n' + operatorOwned + '\n';
    writeFileSync(join(data, 'postgresql.conf'), conf);
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', join(data, 'postgresql.conf')]);
    try {
      asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    } catch (err) {
      let log = '';
      try {
        log = execFileSync('cat', [join(dir, 'server.log')], { encoding: 'utf8' });
      } catch {
        log = '(no server log)';
      }
      throw new Error(`postgres did not start: ${(err as Error).message}\n${log}`);
    }
    started = true;
    client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    if (started) asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
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
