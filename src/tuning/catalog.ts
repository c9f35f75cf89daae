/**
 * PostgreSQL parameter catalog per supported major version (15–18).
 *
 * Version 15 is generated from pg_settings of a real PostgreSQL 15 (catalog-pg15.ts, hack/gen-pg-catalog.mjs).
 * Each later version is the previous one plus the changes of that release: parameters added, removed (or
 * renamed), and parameters whose context, type, range or enum values changed. The result is checked against
 * pg_settings snapshots of real 16.14, 17.10 and 18.4 servers (test/tuning/fixtures, hack/snapshot-pg-settings.mjs);
 * the test lists the differences that depend on the build (lz4/zstd/liburing, Debian's patches). Only
 * build-independent parameters are listed (developer GUCs that exist only in assert/debug builds are not).
 */
import type { ParameterInfo, ParameterRow } from './catalog-types.js';
import { PG15_ROWS } from './catalog-pg15.js';

export type { ParameterContext, ParameterInfo, ParameterType, ParameterUnit } from './catalog-types.js';

export type SupportedPostgresVersion = 15 | 16 | 17 | 18;
export const SUPPORTED_POSTGRES_VERSIONS: readonly SupportedPostgresVersion[] = [15, 16, 17, 18];

interface VersionDelta {
  /** New parameters, or replacement rows for parameters whose definition changed. */
  set: readonly ParameterRow[];
  /** Parameters that no longer exist, with what replaced them (if anything). */
  removed: Readonly<Record<string, string | null>>;
}

const INT_MAX = 2147483647;
const MAX_BACKENDS = 262143;
const SLRU_MAX = 131072;

// PostgreSQL 16 release notes, "Migration to Version 16" and "Server Configuration".
const PG16: VersionDelta = {
  set: [
    ['createrole_self_grant', 'string', 'user'],
    ['debug_io_direct', 'string', 'postmaster'],
    ['debug_logical_replication_streaming', 'enum', 'user', null, null, null, ['buffered', 'immediate']],
    ['debug_parallel_query', 'enum', 'user', null, null, null, ['off', 'on', 'regress']],
    ['enable_presorted_aggregate', 'bool', 'user'],
    // Not in the 16.0 release notes: present in the 16.14, 17.10 and 18.4 servers the snapshots come from.
    ['file_extend_method', 'enum', 'sighup', null, null, null, ['posix_fallocate', 'write_zeros']],
    ['gss_accept_delegation', 'bool', 'sighup'],
    [
      'icu_validation_level',
      'enum',
      'user',
      null,
      null,
      null,
      ['disabled', 'debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'log', 'notice', 'warning', 'error'],
    ],
    ['max_parallel_apply_workers_per_subscription', 'integer', 'sighup', null, 0, 1024],
    ['reserved_connections', 'integer', 'postmaster', null, 0, MAX_BACKENDS],
    ['scram_iterations', 'integer', 'user', null, 1, INT_MAX],
    ['send_abort_for_crash', 'bool', 'sighup'],
    ['send_abort_for_kill', 'bool', 'sighup'],
    ['vacuum_buffer_usage_limit', 'integer', 'user', 'kB', 0, 16777216],
  ],
  removed: {
    force_parallel_mode: 'debug_parallel_query',
    promote_trigger_file: null,
    vacuum_defer_cleanup_age: null,
    lc_collate: null,
    lc_ctype: null,
  },
};

// PostgreSQL 17 release notes.
const PG17: VersionDelta = {
  set: [
    ['allow_alter_system', 'bool', 'sighup'],
    ['commit_timestamp_buffers', 'integer', 'postmaster', '8kB', 0, SLRU_MAX],
    ['enable_group_by_reordering', 'bool', 'user'],
    ['event_triggers', 'bool', 'superuser'],
    ['huge_pages_status', 'enum', 'internal', null, null, null, ['off', 'on', 'unknown']],
    ['io_combine_limit', 'integer', 'user', '8kB', 1, 32],
    ['maintenance_work_mem', 'integer', 'user', 'kB', 64, INT_MAX], // minimum lowered from 1MB to 64kB
    ['max_notify_queue_pages', 'integer', 'postmaster', null, 64, INT_MAX],
    ['multixact_member_buffers', 'integer', 'postmaster', '8kB', 16, SLRU_MAX],
    ['multixact_offset_buffers', 'integer', 'postmaster', '8kB', 16, SLRU_MAX],
    ['notify_buffers', 'integer', 'postmaster', '8kB', 16, SLRU_MAX],
    ['serializable_buffers', 'integer', 'postmaster', '8kB', 16, SLRU_MAX],
    ['subtransaction_buffers', 'integer', 'postmaster', '8kB', 0, SLRU_MAX],
    ['summarize_wal', 'bool', 'sighup'],
    ['sync_replication_slots', 'bool', 'sighup'],
    ['synchronized_standby_slots', 'string', 'sighup'],
    ['trace_connection_negotiation', 'bool', 'postmaster'],
    ['transaction_buffers', 'integer', 'postmaster', '8kB', 0, SLRU_MAX],
    ['transaction_timeout', 'integer', 'user', 'ms', 0, INT_MAX],
    ['wal_summary_keep_time', 'integer', 'sighup', 'min', 0, 35791394],
  ],
  removed: {
    old_snapshot_threshold: null,
    trace_recovery_messages: null,
    db_user_namespace: null,
  },
};

// PostgreSQL 18 release notes (asynchronous I/O, vacuum, authentication, logging changes).
const PG18: VersionDelta = {
  set: [
    ['autovacuum_max_workers', 'integer', 'sighup', null, 1, MAX_BACKENDS], // was postmaster
    ['autovacuum_vacuum_max_threshold', 'integer', 'sighup', null, -1, INT_MAX],
    ['autovacuum_worker_slots', 'integer', 'postmaster', null, 1, MAX_BACKENDS],
    ['enable_distinct_reordering', 'bool', 'user'],
    ['enable_self_join_elimination', 'bool', 'user'],
    ['extension_control_path', 'string', 'superuser'],
    ['file_copy_method', 'enum', 'user', null, null, null, ['copy', 'clone']],
    ['idle_replication_slot_timeout', 'integer', 'sighup', 's', 0, INT_MAX],
    ['io_combine_limit', 'integer', 'user', '8kB', 1, 128], // max raised from 32 (256kB) to 128 (1MB)
    ['io_max_combine_limit', 'integer', 'postmaster', '8kB', 1, 128],
    ['log_rotation_size', 'integer', 'sighup', 'kB', 0, INT_MAX], // max was 2097151 (2 GB)
    ['io_max_concurrency', 'integer', 'postmaster', null, -1, 1024],
    // io_uring is only accepted by builds with liburing (the PGDG/Debian packages are built with it).
    ['io_method', 'enum', 'postmaster', null, null, null, ['sync', 'worker', 'io_uring']],
    ['io_workers', 'integer', 'sighup', null, 1, 32],
    ['log_connections', 'string', 'superuser-backend'], // was bool; now a list (receipt, authentication, …)
    ['log_lock_failures', 'bool', 'superuser'],
    ['max_active_replication_origins', 'integer', 'postmaster', null, 0, MAX_BACKENDS],
    ['md5_password_warnings', 'bool', 'user'],
    ['num_os_semaphores', 'integer', 'internal', null, 0, INT_MAX],
    ['oauth_validator_libraries', 'string', 'sighup'],
    ['ssl_groups', 'string', 'sighup'],
    ['ssl_tls13_ciphers', 'string', 'sighup'],
    ['track_cost_delay_timing', 'bool', 'superuser'],
    ['vacuum_max_eager_freeze_failure_rate', 'real', 'user', null, 0, 1],
    ['vacuum_truncate', 'bool', 'user'],
  ],
  removed: {
    ssl_ecdh_curve: 'ssl_groups',
  },
};

const DELTAS: Readonly<Record<Exclude<SupportedPostgresVersion, 15>, VersionDelta>> = {
  16: PG16,
  17: PG17,
  18: PG18,
};

function rowToInfo(row: ParameterRow): ParameterInfo {
  const [name, type, context, unit, min, max, enumValues] = row;
  const info: ParameterInfo = { name, type, context };
  if (unit) info.unit = unit;
  if (min !== null && min !== undefined) info.min = min;
  if (max !== null && max !== undefined) info.max = max;
  if (enumValues) info.enumValues = enumValues;
  return info;
}

const cache = new Map<SupportedPostgresVersion, ReadonlyMap<string, ParameterInfo>>();

/** The catalog of one major version, keyed by lower-case parameter name (PostgreSQL names are case-insensitive). */
export function postgresCatalog(version: SupportedPostgresVersion): ReadonlyMap<string, ParameterInfo> {
  const cached = cache.get(version);
  if (cached) return cached;
  let result: Map<string, ParameterInfo>;
  if (version === 15) {
    result = new Map(PG15_ROWS.map((row) => [row[0].toLowerCase(), rowToInfo(row)]));
  } else {
    result = new Map(postgresCatalog((version - 1) as SupportedPostgresVersion));
    const delta = DELTAS[version];
    for (const name of Object.keys(delta.removed)) result.delete(name);
    for (const row of delta.set) result.set(row[0].toLowerCase(), rowToInfo(row));
  }
  cache.set(version, result);
  return result;
}

/** Catalog entry of one parameter (case-insensitive), or undefined when the version has no such parameter. */
export function parameterInfo(version: SupportedPostgresVersion, name: string): ParameterInfo | undefined {
  return postgresCatalog(version).get(name.toLowerCase());
}

/** When a change of this parameter takes effect; undefined for unknown names (and for extension parameters). */
export function parameterContext(
  version: SupportedPostgresVersion,
  name: string,
): ParameterInfo['context'] | undefined {
  return parameterInfo(version, name)?.context ?? extensionParameter(name)?.context;
}

/** The versions (of 15–18) that have this parameter. */
export function versionsWithParameter(name: string): SupportedPostgresVersion[] {
  return SUPPORTED_POSTGRES_VERSIONS.filter((v) => postgresCatalog(v).has(name.toLowerCase()));
}

/** If `name` was removed or renamed in a version up to `version`, what happened to it. */
export function removedParameter(
  version: SupportedPostgresVersion,
  name: string,
): { removedIn: SupportedPostgresVersion; replacement: string | null } | undefined {
  const lower = name.toLowerCase();
  for (const v of [16, 17, 18] as const) {
    if (v > version) break;
    if (lower in DELTAS[v].removed) return { removedIn: v, replacement: DELTAS[v].removed[lower] ?? null };
  }
  return undefined;
}

/**
 * Parameters of the extensions we know (custom, dotted names). Their definitions follow each extension's
 * documentation; they exist only when the extension's library is loaded (shared_preload_libraries).
 */
const EXTENSION_ROWS: Readonly<Record<string, readonly ParameterRow[]>> = {
  pg_stat_statements: [
    ['pg_stat_statements.max', 'integer', 'postmaster', null, 100, 1073741823],
    ['pg_stat_statements.save', 'bool', 'sighup'],
    ['pg_stat_statements.track', 'enum', 'superuser', null, null, null, ['none', 'top', 'all']],
    ['pg_stat_statements.track_planning', 'bool', 'superuser'],
    ['pg_stat_statements.track_utility', 'bool', 'superuser'],
  ],
  auto_explain: [
    ['auto_explain.log_analyze', 'bool', 'superuser'],
    ['auto_explain.log_buffers', 'bool', 'superuser'],
    ['auto_explain.log_format', 'enum', 'superuser', null, null, null, ['text', 'xml', 'json', 'yaml']],
    [
      'auto_explain.log_level',
      'enum',
      'superuser',
      null,
      null,
      null,
      ['debug5', 'debug4', 'debug3', 'debug2', 'debug1', 'debug', 'info', 'notice', 'warning', 'log'],
    ],
    ['auto_explain.log_min_duration', 'integer', 'superuser', 'ms', -1, INT_MAX],
    ['auto_explain.log_nested_statements', 'bool', 'superuser'],
    ['auto_explain.log_settings', 'bool', 'superuser'],
    ['auto_explain.log_timing', 'bool', 'superuser'],
    ['auto_explain.log_triggers', 'bool', 'superuser'],
    ['auto_explain.log_verbose', 'bool', 'superuser'],
    ['auto_explain.log_wal', 'bool', 'superuser'],
    ['auto_explain.sample_rate', 'real', 'superuser', null, 0, 1],
  ],
};

export const KNOWN_EXTENSIONS: readonly string[] = Object.keys(EXTENSION_ROWS).sort();

/** Catalog entry of a known extension parameter such as `pg_stat_statements.track`. */
export function extensionParameter(name: string): ParameterInfo | undefined {
  const lower = name.toLowerCase();
  const ext = lower.split('.')[0] ?? '';
  const row = EXTENSION_ROWS[ext]?.find((r) => r[0] === lower);
  return row ? rowToInfo(row) : undefined;
}

/** Parameter names of a known extension (empty for unknown extensions). */
export function extensionParameterNames(ext: string): string[] {
  return (EXTENSION_ROWS[ext.toLowerCase()] ?? []).map((r) => r[0]);
}
