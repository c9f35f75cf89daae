import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parameterContext,
  parameterInfo,
  postgresCatalog,
  removedParameter,
  type SupportedPostgresVersion,
  versionsWithParameter,
} from '../../src/tuning/index.js';

interface SettingRow {
  name: string;
  vartype: string;
  context: string;
  unit: string | null;
  min_val: string | null;
  max_val: string | null;
  enumvals: string[] | null;
}

interface BuildAllowance {
  /** Enum values our catalog has that a server built without the library lacks. */
  optionalEnumValues?: Record<string, string[]>;
  /** Parameters whose range is the server's own build fact (server_version_num: min = max = its version). */
  ignoreRange?: string[];
}

/** Every way the catalog of `version` disagrees with these pg_settings rows (type, context, unit, range, enum). */
function catalogDifferences(
  version: SupportedPostgresVersion,
  rows: SettingRow[],
  allow: BuildAllowance = {},
): string[] {
  const mismatches: string[] = [];
  for (const r of rows) {
    const info = parameterInfo(version, r.name);
    if (!info) {
      mismatches.push(`${r.name}: missing`);
      continue;
    }
    if (info.type !== r.vartype) mismatches.push(`${r.name}: type ${info.type} vs ${r.vartype}`);
    if (info.context !== r.context) mismatches.push(`${r.name}: context ${info.context} vs ${r.context}`);
    if ((info.unit ?? null) !== r.unit) mismatches.push(`${r.name}: unit ${info.unit} vs ${r.unit}`);
    if (!allow.ignoreRange?.includes(r.name)) {
      if (r.min_val !== null && info.min !== Number(r.min_val)) mismatches.push(`${r.name}: min ${info.min}`);
      if (r.max_val !== null && info.max !== Number(r.max_val)) mismatches.push(`${r.name}: max ${info.max}`);
    }
    const optional = allow.optionalEnumValues?.[r.name] ?? [];
    const ours = info.enumValues?.filter((v) => !optional.includes(v)) ?? null;
    if (JSON.stringify(ours) !== JSON.stringify(r.enumvals)) {
      mismatches.push(`${r.name}: enum ${String(info.enumValues)} vs ${String(r.enumvals)}`);
    }
  }
  return mismatches;
}

describe('v15 catalog agrees with pg_settings of the real PostgreSQL 15', () => {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  let rows: SettingRow[] = [];
  let version = '';

  beforeAll(async () => {
    await client.connect();
    version =
      (await client.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? '';
    rows = (
      await client.query<SettingRow>(
        // Only built-in parameters: extension placeholders (dotted names) depend on what is loaded.
        `select name, vartype, context, unit, min_val, max_val, enumvals from pg_settings where name not like '%.%'`,
      )
    ).rows;
  });
  afterAll(async () => {
    await client.end();
  });

  it('runs against PostgreSQL 15', () => {
    expect(version).toMatch(/^15\./);
    expect(rows.length).toBeGreaterThan(300);
  });

  it('has exactly the same parameter names', () => {
    const real = rows.map((r) => r.name.toLowerCase()).sort();
    const ours = [...postgresCatalog(15).keys()].sort();
    expect(ours).toEqual(real);
  });

  it('has the same type, context, unit, range and enum values for every parameter', () => {
    expect(catalogDifferences(15, rows)).toEqual([]);
  });
});

/**
 * Snapshots of real upstream servers (hack/snapshot-pg-settings.mjs). Their builds lack lz4, zstd and liburing,
 * which the PGDG/Debian builds in the default images have, and Debian's own patches (the v15 catalog comes from
 * this machine's Debian 15.20): those differences are listed here, everything else must match.
 */
const DEBIAN_ONLY = ['composite_type_mismatch', 'extension_destdir', 'output_plugin_libraries'];
const BUILD: BuildAllowance = {
  optionalEnumValues: {
    wal_compression: ['lz4', 'zstd'],
    default_toast_compression: ['lz4'],
    io_method: ['io_uring'],
  },
  ignoreRange: ['server_version_num'],
};

describe.each([16, 17, 18] as const)('v%i catalog agrees with pg_settings of a real server', (version) => {
  const snapshot = JSON.parse(
    readFileSync(new URL(`./fixtures/pg-settings-${version}.json`, import.meta.url), 'utf8'),
  ) as { serverVersion: string; parameters: [string, string, string, ...unknown[]][] };
  const rows: SettingRow[] = snapshot.parameters.map(
    ([name, vartype, context, unit, min, max, enumvals]) => ({
      name,
      vartype,
      context,
      unit: unit as string | null,
      min_val: min === null ? null : String(min),
      max_val: max === null ? null : String(max),
      enumvals: enumvals as string[] | null,
    }),
  );

  it('comes from that major version', () => {
    expect(snapshot.serverVersion.split('.')[0]).toBe(String(version));
    expect(rows.length).toBeGreaterThan(300);
  });

  it('has the same parameter names, apart from Debian-only ones', () => {
    const real = rows.map((r) => r.name.toLowerCase());
    expect([...postgresCatalog(version).keys()].sort()).toEqual([...real, ...DEBIAN_ONLY].sort());
  });

  it('has the same type, context, unit, range and enum values, apart from build options', () => {
    expect(catalogDifferences(version, rows, BUILD)).toEqual([]);
  });
});

describe('catalogs of 16, 17 and 18 follow the release notes', () => {
  it('16 renames force_parallel_mode and adds debug_io_direct, reserved_connections, vacuum_buffer_usage_limit', () => {
    expect(parameterInfo(16, 'force_parallel_mode')).toBeUndefined();
    expect(removedParameter(16, 'force_parallel_mode')).toEqual({
      removedIn: 16,
      replacement: 'debug_parallel_query',
    });
    expect(parameterInfo(16, 'debug_parallel_query')?.enumValues).toEqual(['off', 'on', 'regress']);
    expect(parameterContext(16, 'debug_io_direct')).toBe('postmaster');
    expect(parameterContext(16, 'reserved_connections')).toBe('postmaster');
    expect(parameterInfo(16, 'vacuum_buffer_usage_limit')?.unit).toBe('kB');
    for (const gone of ['promote_trigger_file', 'vacuum_defer_cleanup_age', 'lc_collate', 'lc_ctype']) {
      expect(parameterInfo(16, gone), gone).toBeUndefined();
      expect(parameterInfo(15, gone), gone).toBeDefined();
    }
  });

  it('17 adds summarize_wal, transaction_timeout, allow_alter_system, io_combine_limit, event_triggers', () => {
    for (const name of [
      'summarize_wal',
      'transaction_timeout',
      'allow_alter_system',
      'io_combine_limit',
      'event_triggers',
    ]) {
      expect(parameterInfo(17, name), name).toBeDefined();
      expect(parameterInfo(16, name), name).toBeUndefined();
    }
    for (const gone of ['old_snapshot_threshold', 'trace_recovery_messages', 'db_user_namespace']) {
      expect(parameterInfo(17, gone), gone).toBeUndefined();
      expect(parameterInfo(16, gone), gone).toBeDefined();
    }
    expect(parameterInfo(17, 'io_combine_limit')?.max).toBe(32);
  });

  it('18 adds asynchronous I/O and autovacuum_worker_slots; autovacuum_max_workers becomes reloadable', () => {
    expect(versionsWithParameter('io_method')).toEqual([18]);
    expect(parameterInfo(18, 'io_method')?.enumValues).toContain('worker');
    expect(parameterContext(18, 'io_workers')).toBe('sighup');
    expect(parameterInfo(18, 'io_combine_limit')?.max).toBe(128);
    expect(parameterContext(18, 'autovacuum_worker_slots')).toBe('postmaster');
    expect(parameterContext(17, 'autovacuum_max_workers')).toBe('postmaster');
    expect(parameterContext(18, 'autovacuum_max_workers')).toBe('sighup');
    expect(parameterInfo(18, 'file_copy_method')?.enumValues).toEqual(['copy', 'clone']);
    expect(parameterInfo(18, 'md5_password_warnings')?.type).toBe('bool');
    expect(parameterInfo(18, 'log_connections')?.type).toBe('string');
    expect(parameterInfo(17, 'log_connections')?.type).toBe('bool');
  });

  it('is case-insensitive and knows extension parameters', () => {
    expect(parameterContext(15, 'DateStyle')).toBe('user');
    expect(parameterContext(15, 'datestyle')).toBe('user');
    expect(parameterContext(15, 'shared_buffers')).toBe('postmaster');
    expect(parameterContext(15, 'work_mem')).toBe('user');
    expect(parameterContext(15, 'pg_stat_statements.max')).toBe('postmaster');
    expect(parameterContext(15, 'no_such_thing')).toBeUndefined();
  });
});
