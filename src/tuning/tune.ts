/**
 * pgtune-style PostgreSQL defaults from the container's limits, merged with the user's overrides, and the
 * postgresql.conf writer. Pure functions: no IO, no clock.
 */
import type { Problem } from '../api/problems.js';
import { type SupportedPostgresVersion, KNOWN_EXTENSIONS, parameterInfo } from './catalog.js';
import { formatMemory, toParameterUnit, unitScale } from './units.js';
import { parseLibraryList, validatePostgresParameters } from './validate.js';

export interface TunePostgresInput {
  version: SupportedPostgresVersion;
  /** The PostgreSQL container's memory limit in bytes. */
  memoryLimitBytes: number;
  /** The PostgreSQL container's CPU limit in cores (may be fractional). */
  cpuLimit: number;
  /** max_connections from the pool budget (PgBouncer replicas × pool size + reserve); a user override wins. */
  maxConnections: number;
  /** Whether monitoring is on (then pg_stat_statements is preloaded for the exporter and dashboards). */
  monitoring: boolean;
  /**
   * Size of the data volume in bytes (WAL lives on it). WAL sizes are kept to a quarter of it; without it the
   * seed's 2GB / 8GB are used.
   */
  storageBytes?: number;
  /** spec.postgres.parameters as the user wrote them. */
  userParameters: Record<string, string>;
}

export interface TunePostgresResult {
  /** Every parameter to render, sorted by name; does not include operator-owned settings. */
  parameters: Record<string, string>;
  /** Budget problems of user overrides: rendered, but to be surfaced (condition/event). */
  warnings: Problem[];
}

/** Thrown by tunePostgres when the user's parameters are invalid (validate first to avoid it). */
export class InvalidPostgresParametersError extends Error {
  constructor(readonly problems: Problem[]) {
    super(`invalid PostgreSQL parameters: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    this.name = 'InvalidPostgresParametersError';
  }
}

const KB = 1024;
const MB = 1024 * KB;
const GB = 1024 * MB;
const PATH = 'spec.postgres.parameters';

/** Largest multiple of `step` not above `bytes`. */
function floorTo(bytes: number, step: number): number {
  return Math.floor(bytes / step) * step;
}

/** Memory rounded down to a readable step: whole MB from 4MB up, whole kB below. */
function readableMemory(bytes: number): number {
  return bytes >= 4 * MB ? floorTo(bytes, MB) : floorTo(bytes, KB);
}

/** The values the operator chooses when the user does not. */
export function tunedDefaults(input: Omit<TunePostgresInput, 'userParameters'>): Record<string, string> {
  const mem = input.memoryLimitBytes;
  if (!Number.isFinite(mem) || mem < 256 * MB) {
    throw new Error(`memoryLimitBytes must be at least 256Mi for PostgreSQL, got ${mem}`);
  }
  const cpus = Math.max(1, Math.ceil(input.cpuLimit));
  const sharedBuffers = floorTo(mem * 0.25, MB);
  const walBuffers = Math.min(16 * MB, Math.max(64 * KB, floorTo(sharedBuffers * 0.03, 8 * KB)));
  const perGather = Math.max(1, Math.min(4, Math.floor(cpus / 2)));
  const p: Record<string, string> = {
    // Memory (pgtune "web/OLTP" profile)
    shared_buffers: formatMemory(sharedBuffers),
    effective_cache_size: formatMemory(floorTo(mem * 0.75, MB)),
    maintenance_work_mem: formatMemory(Math.min(2 * GB, readableMemory(mem / 16))),
    wal_buffers: formatMemory(walBuffers),
    work_mem: formatMemory(workMemFor(mem, sharedBuffers, input.maxConnections)),
    max_connections: String(input.maxConnections),
    // CPU
    max_worker_processes: String(Math.max(8, cpus)),
    max_parallel_workers: String(Math.max(2, cpus)),
    max_parallel_workers_per_gather: String(perGather),
    max_parallel_maintenance_workers: String(perGather),
    // Storage (SSD-backed volumes)
    random_page_cost: '1.1',
    effective_io_concurrency: '200',
    default_statistics_target: '100',
    // WAL / checkpoints (seed values)
    checkpoint_completion_target: '0.9',
    checkpoint_timeout: '10min',
    // lz4: cheaper than pglz; PGDG builds (the official images) and Debian's are built with lz4.
    wal_compression: 'lz4',
    ...walSizes(input.storageBytes),
    // Logging: to stderr, collected by the container runtime (kubectl logs); no logging_collector.
    log_min_duration_statement: '200ms',
    log_lock_waits: 'on',
    log_checkpoints: 'on',
    log_temp_files: '0',
    log_line_prefix: '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ',
    // Statistics
    track_io_timing: 'on',
    track_functions: 'all',
  };
  if (input.version >= 18) p['io_method'] = 'worker';
  if (input.monitoring) p['pg_stat_statements.track'] = 'all';
  return p;
}

/**
 * The seed's min_wal_size 2GB / max_wal_size 8GB, but never more than a quarter of the data volume for
 * max_wal_size (WAL can grow past it between checkpoints, and a full volume stops PostgreSQL), with
 * min_wal_size a quarter of that.
 */
function walSizes(storageBytes: number | undefined): { min_wal_size: string; max_wal_size: string } {
  const max =
    storageBytes === undefined ? 8 * GB : Math.min(8 * GB, Math.max(64 * MB, floorTo(storageBytes / 4, MB)));
  const min = Math.min(2 * GB, Math.max(32 * MB, floorTo(max / 4, MB)));
  return { min_wal_size: formatMemory(min), max_wal_size: formatMemory(max) };
}

function workMemFor(mem: number, sharedBuffers: number, maxConnections: number): number {
  const raw = (mem - sharedBuffers) / (Math.max(1, maxConnections) * 3);
  return Math.max(64 * KB, readableMemory(raw));
}

/** A memory parameter's value in bytes (for budget checks); undefined when it is not a plain size. */
function bytesOf(
  version: SupportedPostgresVersion,
  name: string,
  value: string | undefined,
): number | undefined {
  if (value === undefined) return undefined;
  const info = parameterInfo(version, name);
  if (!info?.unit) return undefined;
  const { kind, scale } = unitScale(info.unit);
  if (kind !== 'memory') return undefined;
  const n = toParameterUnit(value, info.unit, true);
  return n === undefined ? undefined : n * scale;
}

/**
 * Tuned parameters for one PostgreSQL: defaults from the limits, user overrides on top (validated; throws
 * InvalidPostgresParametersError when invalid), shared_preload_libraries merged with what known extension
 * parameters and monitoring need, budget warnings for overrides that do not fit the memory limit.
 */
export function tunePostgres(input: TunePostgresInput): TunePostgresResult {
  const problems = validatePostgresParameters(input.version, input.userParameters, PATH);
  if (problems.length > 0) throw new InvalidPostgresParametersError(problems);

  const user: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.userParameters)) user[k.toLowerCase()] = v;

  const userMaxConn = user['max_connections'];
  const maxConnections = userMaxConn !== undefined ? Number(userMaxConn) : input.maxConnections;
  const defaults = tunedDefaults({ ...input, maxConnections });
  // Without a user-given shared_buffers, derive work_mem from the effective one.
  const merged: Record<string, string> = { ...defaults, ...user };
  if (user['work_mem'] === undefined && user['shared_buffers'] !== undefined) {
    const sb = bytesOf(input.version, 'shared_buffers', user['shared_buffers']) ?? 0;
    merged['work_mem'] = formatMemory(workMemFor(input.memoryLimitBytes, sb, maxConnections));
  }

  // shared_preload_libraries: the user's list, plus each known extension whose parameters are set.
  const libs = parseLibraryList(user['shared_preload_libraries'] ?? '');
  const needed = new Set<string>();
  if (input.monitoring) needed.add('pg_stat_statements');
  for (const name of Object.keys(merged)) {
    const ext = name.includes('.') ? (name.split('.')[0] ?? '') : '';
    if (KNOWN_EXTENSIONS.includes(ext)) needed.add(ext);
  }
  for (const ext of [...needed].sort()) if (!libs.includes(ext)) libs.push(ext);
  if (libs.length > 0) merged['shared_preload_libraries'] = libs.join(',');
  else delete merged['shared_preload_libraries'];

  const warnings = budgetWarnings(input, merged, user);
  const parameters: Record<string, string> = {};
  for (const k of Object.keys(merged).sort()) parameters[k] = merged[k] ?? '';
  return { parameters, warnings };
}

function budgetWarnings(
  input: TunePostgresInput,
  merged: Record<string, string>,
  user: Record<string, string>,
): Problem[] {
  const warnings: Problem[] = [];
  const mem = input.memoryLimitBytes;
  const fmt = (b: number) => formatMemory(floorTo(b, MB) || floorTo(b, KB));
  const sb = bytesOf(input.version, 'shared_buffers', merged['shared_buffers']) ?? 0;
  const wm = bytesOf(input.version, 'work_mem', merged['work_mem']) ?? 0;
  const conns = Number(merged['max_connections']);
  if (user['shared_buffers'] !== undefined && sb > mem * 0.4) {
    warnings.push({
      path: `${PATH}.shared_buffers`,
      message:
        `shared_buffers ${user['shared_buffers']} is more than 40% of the ${fmt(mem)} memory limit; ` +
        `the rest of PostgreSQL (work_mem, maintenance, connections) and the page cache need the remainder. ` +
        `Use about 25% (${fmt(mem * 0.25)}) or raise spec.postgres.resources.limits.memory.`,
    });
  }
  const userSet = ['work_mem', 'max_connections', 'shared_buffers'].filter((k) => user[k] !== undefined);
  if (userSet.length > 0 && wm * conns + sb > mem) {
    const first = userSet[0] ?? 'work_mem';
    warnings.push({
      path: `${PATH}.${first}`,
      message:
        `work_mem (${merged['work_mem']}) × max_connections (${conns}) + shared_buffers (${merged['shared_buffers']}) ` +
        `= ${fmt(wm * conns + sb)} exceeds the ${fmt(mem)} memory limit: concurrent sorts can get the pod ` +
        `OOM-killed. Lower work_mem (≈ ${fmt(Math.max(64 * KB, (mem - sb) / (Math.max(1, conns) * 3)))}), ` +
        `lower max_connections, or raise the memory limit.`,
    });
  }
  const wal = bytesOf(input.version, 'max_wal_size', merged['max_wal_size']);
  const disk = input.storageBytes;
  if (user['max_wal_size'] !== undefined && wal !== undefined && disk !== undefined && wal > disk / 2) {
    warnings.push({
      path: `${PATH}.max_wal_size`,
      message:
        `max_wal_size ${user['max_wal_size']} is more than half of the ${fmt(disk)} data volume; WAL can grow ` +
        `past it between checkpoints, and a full volume stops PostgreSQL. Use at most ${fmt(disk / 4)} or ` +
        `raise spec.postgres.storage.size.`,
    });
  }
  return warnings;
}

/** Quotes a value for postgresql.conf when needed: numbers, units and simple words stay bare. */
export function quoteConfValue(value: string): string {
  if (/^-?[0-9]+(\.[0-9]+)?([a-zA-Z]+)?$/.test(value) || /^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return value;
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * A commented, deterministic postgresql.conf: one `name = value` per line, sorted by name, strings single-quoted
 * (embedded quotes doubled, backslashes escaped).
 */
export function formatPostgresqlConf(parameters: Record<string, string>): string {
  const lines = [
    '# postgresql.conf — generated by flash-sale-operator; do not edit (set spec.postgres.parameters instead).',
    '# Memory and parallelism are derived from the container limits; user overrides are applied on top.',
    '',
  ];
  for (const name of Object.keys(parameters).sort()) {
    const value = parameters[name] ?? '';
    if (/[\r\n]/.test(value)) throw new Error(`postgresql.conf value of ${name} contains a newline`);
    lines.push(`${name} = ${quoteConfValue(value)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads a postgresql.conf as PostgreSQL's own parser does for the forms formatPostgresqlConf writes and the
 * usual hand-written ones: `name = value` or `name value`, `#` comments (also after a value), bare values, and
 * single-quoted strings with `''` or `\'` for a quote and backslash escapes. Names are lower-cased; a later line
 * for the same name wins. `include` directives are not followed (they are returned as parameters of that name).
 * Throws on a line it cannot read, naming the line number.
 */
export function parsePostgresqlConf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.$]*)\s*(?:=\s*|\s+)(.*)$/.exec(line);
    if (!m) {
      if (/^\s*(#.*)?$/.test(line)) continue;
      throw new Error(`postgresql.conf line ${i + 1}: expected 'name = value', got ${JSON.stringify(line)}`);
    }
    const name = m[1]!.toLowerCase();
    const rest = m[2]!;
    let value: string;
    let tail: string;
    if (rest.startsWith("'")) {
      let j = 1;
      value = '';
      for (;;) {
        if (j >= rest.length)
          throw new Error(`postgresql.conf line ${i + 1}: unterminated quoted value of ${name}`);
        const ch = rest[j]!;
        if (ch === "'" && rest[j + 1] === "'") {
          value += "'";
          j += 2;
        } else if (ch === "'") {
          j++;
          break;
        } else if (ch === '\\' && j + 1 < rest.length) {
          const next = rest[j + 1]!;
          value += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[next] ?? next;
          j += 2;
        } else {
          value += ch;
          j++;
        }
      }
      tail = rest.slice(j);
    } else {
      const bare = /^([^\s#']*)(.*)$/.exec(rest)!;
      value = bare[1]!;
      tail = bare[2]!;
    }
    if (!/^\s*(#.*)?$/.test(tail)) {
      throw new Error(`postgresql.conf line ${i + 1}: unexpected text after the value of ${name}`);
    }
    out[name] = value;
  }
  return out;
}
