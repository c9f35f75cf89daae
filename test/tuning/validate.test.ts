import { describe, expect, it } from 'vitest';
import {
  OPERATOR_OWNED_PARAMETERS,
  parseDuration,
  parseMemory,
  parsePostgresBool,
  showValue,
  validatePostgresParameters,
} from '../../src/tuning/index.js';

const P = 'spec.postgres.parameters';
const messages = (version: 15 | 16 | 17 | 18, params: Record<string, string>) =>
  validatePostgresParameters(version, params);

describe('unit helpers', () => {
  it('parses memory and time like PostgreSQL', () => {
    expect(parseMemory('4GB')).toBe(4 * 1024 ** 3);
    expect(parseMemory('512 kB')).toBe(512 * 1024);
    expect(parseMemory('16', '8kB')).toBe(16 * 8192);
    expect(() => parseMemory('4gb')).toThrow(/not a memory unit/);
    expect(parseDuration('10min')).toBe(600_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('30', 's')).toBe(30_000);
    expect(() => parseDuration('5sec')).toThrow(/not a time unit/);
  });

  it('displays values the way SHOW does', () => {
    expect(showValue(524288, '8kB')).toBe('4GB');
    expect(showValue(4096, 'kB')).toBe('4MB');
    expect(showValue(200, 'ms')).toBe('200ms');
    expect(showValue(600, 's')).toBe('10min');
    expect(showValue(-1, 'kB')).toBe('-1');
    expect(showValue(0, 'ms')).toBe('0');
  });

  it('parses booleans like parse_bool', () => {
    for (const v of ['on', 'ON', 'true', 'yes', '1', 't', 'y']) expect(parsePostgresBool(v), v).toBe(true);
    for (const v of ['off', 'false', 'no', '0', 'of', 'f', 'n']) expect(parsePostgresBool(v), v).toBe(false);
    for (const v of ['o', 'maybe', '2', '']) expect(parsePostgresBool(v), v).toBeUndefined();
  });
});

describe('validatePostgresParameters', () => {
  it('accepts the sound part of the seed on every version', () => {
    const params = {
      shared_buffers: '4GB',
      work_mem: '128MB',
      effective_cache_size: '12GB',
      max_connections: '1000',
      wal_buffers: '32MB',
      checkpoint_timeout: '10min',
      checkpoint_completion_target: '0.9',
      random_page_cost: '1.1',
      log_min_duration_statement: '200',
      log_line_prefix: '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
      track_io_timing: 'on',
      track_functions: 'all',
      'pg_stat_statements.track': 'all',
    };
    for (const v of [15, 16, 17, 18] as const) expect(messages(v, params), `v${v}`).toEqual([]);
  });

  it('reports every problem of the seed at once, with the PgBouncer and io_direct advice', () => {
    const problems = messages(15, {
      io_direct: 'data',
      io_combine_limit: '128kB',
      pool_mode: 'transaction',
      pool_size: '500',
      pool_max_wait: '5',
      shared_buffers: '4GB',
    });
    expect(problems.map((p) => p.path)).toEqual([
      `${P}.io_combine_limit`,
      `${P}.io_direct`,
      `${P}.pool_max_wait`,
      `${P}.pool_mode`,
      `${P}.pool_size`,
    ]);
    const byName = Object.fromEntries(problems.map((p) => [p.path.slice(P.length + 1), p.message]));
    expect(byName['io_direct']).toMatch(/debug_io_direct/);
    expect(byName['io_direct']).toMatch(/io_method/);
    expect(byName['pool_mode']).toMatch(/PgBouncer.*spec\.pgbouncer\.poolMode/);
    expect(byName['pool_size']).toMatch(/spec\.pgbouncer\.defaultPoolSize/);
    expect(byName['pool_max_wait']).toMatch(/spec\.pgbouncer/);
    expect(byName['io_combine_limit']).toMatch(/available from PostgreSQL 17/);
  });

  it('io_method is an error on 15 and valid on 18', () => {
    const on15 = messages(15, { io_method: 'worker' });
    expect(on15).toHaveLength(1);
    expect(on15[0]?.message).toMatch(/available from PostgreSQL 18/);
    expect(messages(18, { io_method: 'worker' })).toEqual([]);
    expect(messages(18, { io_method: 'threads' })[0]?.message).toMatch(/not one of sync, worker, io_uring/);
    expect(messages(18, { io_direct: 'data' })[0]?.message).toMatch(/configured with io_method/);
  });

  it('names removed parameters and their replacement', () => {
    expect(messages(16, { force_parallel_mode: 'on' })[0]?.message).toMatch(
      /removed in PostgreSQL 16; use debug_parallel_query/,
    );
    expect(messages(15, { force_parallel_mode: 'on' })).toEqual([]);
    expect(messages(17, { old_snapshot_threshold: '-1' })[0]?.message).toMatch(/removed in PostgreSQL 17/);
  });

  it('suggests close names for typos', () => {
    expect(messages(15, { shared_bufers: '1GB' })[0]?.message).toMatch(/did you mean shared_buffers/);
    expect(messages(15, { maintenance_workmem: '1GB' })[0]?.message).toMatch(
      /did you mean maintenance_work_mem/,
    );
    expect(messages(15, { totally_unknown_parameter: 'x' })[0]?.message).toMatch(
      /not a PostgreSQL 15 parameter/,
    );
  });

  it('checks types', () => {
    expect(messages(15, { track_io_timing: 'maybe' })[0]?.message).toMatch(/not a boolean/);
    for (const v of ['on', 'off', 'true', 'false', 'yes', 'no', '1', '0']) {
      expect(messages(15, { track_io_timing: v }), v).toEqual([]);
    }
    expect(messages(15, { max_connections: 'many' })[0]?.message).toMatch(/not a number/);
    expect(messages(15, { random_page_cost: 'fast' })[0]?.message).toMatch(/not a number/);
    expect(messages(15, { wal_level: 'maximal' })[0]?.message).toMatch(
      /not one of minimal, replica, logical/,
    );
    expect(messages(15, { synchronous_commit: 'true' })).toEqual([]); // hidden boolean spellings of on/off enums
    expect(messages(15, { application_name: 'a\nb' })[0]?.message).toMatch(/control character/);
  });

  it('checks ranges in the parameter unit', () => {
    // 4GB = 524288 8kB pages, well inside shared_buffers' 16..1073741823 pages.
    expect(messages(15, { shared_buffers: '4GB' })).toEqual([]);
    expect(messages(15, { shared_buffers: '64kB' })[0]?.message).toMatch(/below the minimum 16 8kB pages/);
    expect(messages(15, { max_connections: '0' })[0]?.message).toMatch(/below the minimum 1/);
    expect(messages(15, { checkpoint_timeout: '2d' })[0]?.message).toMatch(/above the maximum 86400 s/);
    expect(messages(15, { checkpoint_completion_target: '1.5' })[0]?.message).toMatch(/above the maximum 1/);
    expect(messages(15, { work_mem: '1.5MB' })).toEqual([]);
  });

  it('checks units', () => {
    expect(messages(15, { shared_buffers: '4gb' })[0]?.message).toMatch(/"gb" is not a valid memory unit/);
    expect(messages(15, { shared_buffers: '10s' })[0]?.message).toMatch(/"s" is not a valid memory unit/);
    expect(messages(15, { checkpoint_timeout: '1GB' })[0]?.message).toMatch(/not a valid time unit/);
    expect(messages(15, { max_connections: '100MB' })[0]?.message).toMatch(/takes no unit/);
    expect(messages(15, { log_min_duration_statement: '250ms' })).toEqual([]);
  });

  it('refuses read-only and operator-owned parameters', () => {
    expect(messages(15, { block_size: '16384' })[0]?.message).toMatch(/read-only/);
    expect(OPERATOR_OWNED_PARAMETERS).toContain('listen_addresses');
    expect(OPERATOR_OWNED_PARAMETERS).toContain('port');
    for (const name of OPERATOR_OWNED_PARAMETERS) {
      expect(messages(15, { [name]: '1' })[0]?.message, name).toMatch(/set by the operator/);
    }
  });

  it('validates extension parameters', () => {
    expect(messages(15, { 'pg_stat_statements.track': 'everything' })[0]?.message).toMatch(/none, top, all/);
    expect(messages(15, { 'pg_stat_statements.max': '10' })[0]?.message).toMatch(/below the minimum 100/);
    expect(messages(15, { 'pg_stat_statements.trak': 'all' })[0]?.message).toMatch(
      /did you mean pg_stat_statements.track/,
    );
    expect(messages(15, { 'timescaledb.max_background_workers': '8' })[0]?.message).toMatch(
      /add "timescaledb" to spec.postgres.parameters.shared_preload_libraries/,
    );
    expect(
      messages(15, { shared_preload_libraries: 'timescaledb', 'timescaledb.max_background_workers': '8' }),
    ).toEqual([]);
  });

  it('reports case-insensitive duplicates and uses the given path', () => {
    const problems = validatePostgresParameters(15, { Work_Mem: '4MB', work_mem: '8MB' }, 'x.params');
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toMatch(/^x\.params\./);
    expect(problems[0]?.message).toMatch(/case-insensitive/);
  });
});
