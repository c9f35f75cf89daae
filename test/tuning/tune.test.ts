import { describe, expect, it } from 'vitest';
import {
  InvalidPostgresParametersError,
  formatPostgresqlConf,
  parseMemory,
  tunePostgres,
  validatePostgresParameters,
  type TunePostgresInput,
} from '../../src/tuning/index.js';

const GiB = 1024 ** 3;
const base: TunePostgresInput = {
  version: 15,
  memoryLimitBytes: 4 * GiB,
  cpuLimit: 2,
  maxConnections: 200,
  monitoring: false,
  userParameters: {},
};
const tune = (over: Partial<TunePostgresInput>) => tunePostgres({ ...base, ...over });

describe('tunePostgres', () => {
  it('derives memory settings from the limit, pgtune-style', () => {
    const { parameters, warnings } = tune({});
    expect(warnings).toEqual([]);
    expect(parameters['shared_buffers']).toBe('1GB');
    expect(parameters['effective_cache_size']).toBe('3GB');
    expect(parameters['maintenance_work_mem']).toBe('256MB');
    expect(parameters['wal_buffers']).toBe('16MB'); // 3% of 1GB is above the 16MB cap
    // (4GB - 1GB) / (200 × 3) = 5.12MB → 5MB
    expect(parameters['work_mem']).toBe('5MB');
    expect(parameters['max_connections']).toBe('200');
    expect(parameters['random_page_cost']).toBe('1.1');
    expect(parameters['effective_io_concurrency']).toBe('200');
    expect(parameters['checkpoint_completion_target']).toBe('0.9');
    expect(parameters['io_method']).toBeUndefined();
    expect(parameters['shared_preload_libraries']).toBeUndefined();
  });

  it('scales with memory and CPUs, capping maintenance_work_mem and wal_buffers', () => {
    const small = tune({ memoryLimitBytes: 1 * GiB, cpuLimit: 0.5 }).parameters;
    const big = tune({ memoryLimitBytes: 64 * GiB, cpuLimit: 16 }).parameters;
    expect(small['shared_buffers']).toBe('256MB');
    expect(small['wal_buffers']).toBe('7864kB'); // 3% of 256MB, whole 8kB pages
    expect(big['shared_buffers']).toBe('16GB');
    expect(big['effective_cache_size']).toBe('48GB');
    expect(big['maintenance_work_mem']).toBe('2GB');
    expect(big['wal_buffers']).toBe('16MB');
    expect(parseMemory(big['work_mem'] ?? '')).toBeGreaterThan(parseMemory(small['work_mem'] ?? ''));
    expect(small['max_parallel_workers_per_gather']).toBe('1');
    expect(big['max_parallel_workers_per_gather']).toBe('4');
    expect(big['max_worker_processes']).toBe('16');
    expect(big['max_parallel_workers']).toBe('16');
    expect(small['max_worker_processes']).toBe('8');
  });

  it('sets io_method on 18 only, and preloads pg_stat_statements for monitoring', () => {
    expect(tune({ version: 18 }).parameters['io_method']).toBe('worker');
    expect(tune({ version: 17 }).parameters['io_method']).toBeUndefined();
    const mon = tune({ monitoring: true }).parameters;
    expect(mon['shared_preload_libraries']).toBe('pg_stat_statements');
    expect(mon['pg_stat_statements.track']).toBe('all');
  });

  it('merges shared_preload_libraries without duplicates when pg_stat_statements.* is set', () => {
    const p = tune({
      userParameters: {
        shared_preload_libraries: 'auto_explain, "pg_stat_statements"',
        'pg_stat_statements.track': 'top',
      },
    }).parameters;
    expect(p['shared_preload_libraries']).toBe('auto_explain,pg_stat_statements');
    expect(p['pg_stat_statements.track']).toBe('top');
    const q = tune({ userParameters: { 'pg_stat_statements.max': '10000' } }).parameters;
    expect(q['shared_preload_libraries']).toBe('pg_stat_statements');
  });

  it('lets user overrides win and derives work_mem from the effective values', () => {
    const p = tune({
      userParameters: { max_connections: '100', shared_buffers: '512MB', random_page_cost: '2' },
    });
    expect(p.parameters['max_connections']).toBe('100');
    expect(p.parameters['shared_buffers']).toBe('512MB');
    expect(p.parameters['random_page_cost']).toBe('2');
    // (4GB - 512MB) / (100 × 3) = 11.9MB → 11MB
    expect(p.parameters['work_mem']).toBe('11MB');
    expect(p.warnings).toEqual([]);
  });

  it('warns when a user override breaks the memory budget (the seed values on a 4GiB pod)', () => {
    const { parameters, warnings } = tune({
      userParameters: { shared_buffers: '4GB', work_mem: '128MB', max_connections: '1000' },
    });
    expect(parameters['work_mem']).toBe('128MB'); // rendered, but flagged
    expect(warnings.map((w) => w.path)).toEqual([
      'spec.postgres.parameters.shared_buffers',
      'spec.postgres.parameters.work_mem',
    ]);
    expect(warnings[0]?.message).toMatch(/more than 40% of the 4GB memory limit/);
    expect(warnings[1]?.message).toMatch(/exceeds the 4GB memory limit/);
    expect(tune({ userParameters: { work_mem: '64MB' } }).warnings).toHaveLength(1);
    expect(tune({ userParameters: { work_mem: '4MB' } }).warnings).toEqual([]);
  });

  it('keeps WAL to a quarter of a small data volume and uses the seed sizes on a large one', () => {
    const small = tune({ storageBytes: 20 * GiB }).parameters;
    expect(small['max_wal_size']).toBe('5GB');
    expect(small['min_wal_size']).toBe('1280MB');
    const tiny = tune({ storageBytes: 1 * GiB }).parameters;
    expect(tiny['max_wal_size']).toBe('256MB');
    expect(tiny['min_wal_size']).toBe('64MB');
    const large = tune({ storageBytes: 200 * GiB }).parameters;
    expect(large['max_wal_size']).toBe('8GB');
    expect(large['min_wal_size']).toBe('2GB');
    expect(tune({}).parameters['max_wal_size']).toBe('8GB'); // volume unknown
  });

  it('warns when a max_wal_size override is more than half of the data volume', () => {
    const { parameters, warnings } = tune({
      storageBytes: 10 * GiB,
      userParameters: { max_wal_size: '8GB' },
    });
    expect(parameters['max_wal_size']).toBe('8GB');
    expect(warnings).toEqual([
      expect.objectContaining({
        path: 'spec.postgres.parameters.max_wal_size',
        message: expect.stringMatching(/more than half of the 10GB data volume.*at most 2560MB/),
      }),
    ]);
    expect(tune({ storageBytes: 100 * GiB, userParameters: { max_wal_size: '8GB' } }).warnings).toEqual([]);
  });

  it('refuses invalid user parameters with all problems', () => {
    try {
      tune({ userParameters: { pool_mode: 'transaction', io_method: 'worker' } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidPostgresParametersError);
      expect((err as InvalidPostgresParametersError).problems).toHaveLength(2);
    }
  });

  it('renders only parameters that are valid for the chosen version', () => {
    for (const version of [15, 16, 17, 18] as const) {
      for (const monitoring of [false, true]) {
        const { parameters } = tune({ version, monitoring, memoryLimitBytes: 8 * GiB, cpuLimit: 4 });
        expect(validatePostgresParameters(version, parameters), `v${version}`).toEqual([]);
      }
    }
  });

  it('is deterministic and sorted by name', () => {
    const a = tune({ monitoring: true, userParameters: { work_mem: '4MB', autovacuum: 'on' } });
    const b = tune({ monitoring: true, userParameters: { autovacuum: 'on', work_mem: '4MB' } });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const names = Object.keys(a.parameters);
    expect(names).toEqual([...names].sort());
    expect(formatPostgresqlConf(a.parameters)).toBe(formatPostgresqlConf(b.parameters));
  });
});

describe('formatPostgresqlConf', () => {
  it('quotes strings, escapes quotes and backslashes, leaves numbers and words bare', () => {
    const conf = formatPostgresqlConf({
      work_mem: '4MB',
      wal_level: 'replica',
      random_page_cost: '1.1',
      log_line_prefix: "%t [%p] it's ",
      search_path: '"$user", public',
      archive_command: 'test ! -f /a\\b',
    });
    const lines = conf.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual([
      "archive_command = 'test ! -f /a\\\\b'",
      "log_line_prefix = '%t [%p] it''s '",
      'random_page_cost = 1.1',
      `search_path = '"$user", public'`,
      'wal_level = replica',
      'work_mem = 4MB',
    ]);
    expect(conf.startsWith('# ')).toBe(true);
    expect(() => formatPostgresqlConf({ application_name: 'a\nb' })).toThrow(/newline/);
  });
});
