/**
 * Validation of `spec.postgres.parameters` against the catalog of the chosen major version.
 * Every problem is reported at once; each message names the parameter and says how to fix it.
 */
import type { Problem } from '../api/problems.js';
import {
  type ParameterInfo,
  type SupportedPostgresVersion,
  KNOWN_EXTENSIONS,
  extensionParameter,
  extensionParameterNames,
  postgresCatalog,
  removedParameter,
  versionsWithParameter,
} from './catalog.js';
import { toParameterUnit } from './units.js';

/** Parameters the operator sets itself (render owns them); users may not set them. */
export const OPERATOR_OWNED_PARAMETERS: readonly string[] = [
  'config_file',
  'data_directory',
  'external_pid_file',
  'hba_file',
  'ident_file',
  'listen_addresses',
  'port',
  'unix_socket_directories',
  'unix_socket_group',
  'unix_socket_permissions',
];

/** PgBouncer settings people put into postgresql.conf (the seed does), and where they belong instead. */
const PGBOUNCER_SETTINGS: Readonly<Record<string, string>> = {
  pool_mode: 'spec.pgbouncer.poolMode',
  pool_size: 'spec.pgbouncer.defaultPoolSize',
  default_pool_size: 'spec.pgbouncer.defaultPoolSize',
  pool_max_wait: 'spec.pgbouncer (PgBouncer query_wait_timeout)',
  max_client_conn: 'spec.pgbouncer.maxClientConn',
  reserve_pool_size: 'spec.pgbouncer.reservePoolSize',
  max_db_connections: 'spec.pgbouncer',
  server_idle_timeout: 'spec.pgbouncer',
  query_wait_timeout: 'spec.pgbouncer',
};

/** Names that are not PostgreSQL parameters but look like one, with the advice for each version. */
function specialAdvice(name: string, version: SupportedPostgresVersion): string | undefined {
  if (name === 'io_direct') {
    const direct =
      version >= 16
        ? 'the developer-only option is debug_io_direct (not meant for production)'
        : 'direct I/O is not available before PostgreSQL 16 (debug_io_direct, a developer option)';
    const aio =
      version >= 18
        ? 'asynchronous I/O is configured with io_method (sync, worker, io_uring)'
        : 'asynchronous I/O (io_method) is available from PostgreSQL 18';
    return `io_direct is not a PostgreSQL parameter: ${direct}; ${aio}.`;
  }
  const pgb = PGBOUNCER_SETTINGS[name];
  if (pgb) {
    return (
      `${name} is a PgBouncer setting, not a PostgreSQL parameter (PostgreSQL has no built-in pooling, and an ` +
      `unknown name stops the server from starting); configure pooling with ${pgb}.`
    );
  }
  return undefined;
}

/** Levenshtein distance (small strings only). */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const left = prev[j - 1] ?? 0;
      prev[j] = Math.min(up + 1, left + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

function suggestions(name: string, candidates: Iterable<string>): string[] {
  const limit = name.length <= 6 ? 1 : name.length <= 12 ? 2 : 3;
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d <= limit) scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]));
  return scored.slice(0, 3).map(([, c]) => c);
}

/** PostgreSQL's parse_bool: on/off, true/false, yes/no, 1/0, case-insensitive, unique prefixes allowed. */
export function parsePostgresBool(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  const prefixOf = (word: string, min: number) => v.length >= min && word.startsWith(v);
  if (v === '1' || prefixOf('true', 1) || prefixOf('yes', 1) || v === 'on') return true;
  if (v === '0' || prefixOf('false', 1) || prefixOf('no', 1) || prefixOf('off', 2)) return false;
  return undefined;
}

/** The library list of shared_preload_libraries (comma separated, items optionally double-quoted). */
export function parseLibraryList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim().replace(/^"(.*)"$/, '$1'))
    .filter((s) => s !== '');
}

/** Checks one value against one catalog entry; returns the message (without the path) or undefined. */
export function checkParameterValue(info: ParameterInfo, value: string): string | undefined {
  switch (info.type) {
    case 'bool':
      return parsePostgresBool(value) === undefined
        ? `"${value}" is not a boolean; use on/off (true/false, yes/no and 1/0 are accepted too).`
        : undefined;
    case 'enum': {
      const values = info.enumValues ?? [];
      const v = value.trim().toLowerCase();
      if (values.includes(v)) return undefined;
      // PostgreSQL accepts the usual boolean spellings for enums that have on/off (hidden values).
      if (values.includes('on') && values.includes('off') && parsePostgresBool(v) !== undefined)
        return undefined;
      return `"${value}" is not one of ${values.join(', ')}.`;
    }
    case 'string':
      // eslint-disable-next-line no-control-regex
      return /[\u0000-\u001f]/.test(value)
        ? 'contains a control character (newline, tab…); postgresql.conf cannot hold it.'
        : undefined;
    case 'integer':
    case 'real': {
      let n: number | undefined;
      try {
        n = toParameterUnit(value, info.unit, info.type === 'integer');
      } catch (err) {
        return `${(err as Error).message}.`;
      }
      if (n === undefined) {
        const example = info.unit ? examples(info) : info.type === 'integer' ? 'e.g. 100' : 'e.g. 0.5';
        return `"${value}" is not a number (${example}).`;
      }
      const unit = info.unit ? ` ${info.unit === '8kB' ? '8kB pages' : info.unit}` : '';
      if (info.min !== undefined && n < info.min) {
        return `${value} is below the minimum ${info.min}${unit} (given value = ${n}${unit}).`;
      }
      if (info.max !== undefined && n > info.max) {
        return `${value} is above the maximum ${info.max}${unit} (given value = ${n}${unit}).`;
      }
      return undefined;
    }
  }
}

function examples(info: ParameterInfo): string {
  switch (info.unit) {
    case 'ms':
    case 's':
    case 'min':
      return `a time such as 200ms, 30s or 10min; a bare number means ${info.unit}`;
    default:
      return `a size such as 64kB, 512MB or 4GB; a bare number means ${info.unit === '8kB' ? '8kB pages' : info.unit}`;
  }
}

/**
 * Validates user-given postgresql.conf parameters for a major version. Returns every problem; empty when valid.
 * Dotted names (`ext.name`) are custom/extension parameters: those of extensions we know (pg_stat_statements,
 * auto_explain) are checked like built-in ones (the operator preloads the library when one is set); those of
 * other extensions are accepted only when the extension is listed in `shared_preload_libraries`.
 */
export function validatePostgresParameters(
  version: SupportedPostgresVersion,
  params: Readonly<Record<string, string>>,
  path = 'spec.postgres.parameters',
): Problem[] {
  const problems: Problem[] = [];
  const catalog = postgresCatalog(version);
  const preload = parseLibraryList(params['shared_preload_libraries'] ?? '');
  const owned = new Set(OPERATOR_OWNED_PARAMETERS);
  const seen = new Map<string, string>();

  for (const rawName of Object.keys(params).sort()) {
    const value = params[rawName] ?? '';
    const name = rawName.toLowerCase();
    const at = `${path}.${rawName}`;
    const add = (message: string) => problems.push({ path: at, message });

    const dup = seen.get(name);
    if (dup !== undefined) {
      add(`duplicates ${dup} (parameter names are case-insensitive); keep one of them.`);
      continue;
    }
    seen.set(name, rawName);

    if (typeof value !== 'string') {
      add('must be a string (quote numbers and booleans in YAML, e.g. "on", "200").');
      continue;
    }

    if (owned.has(name)) {
      add(
        `${name} is set by the operator (it must match the Pod, Service and probes) and cannot be overridden.`,
      );
      continue;
    }

    if (name.includes('.')) {
      const ext = name.split('.')[0] ?? '';
      if (KNOWN_EXTENSIONS.includes(ext)) {
        const info = extensionParameter(name);
        if (!info) {
          const known = suggestions(name, extensionParameterNames(ext));
          add(
            `${ext} has no parameter ${name}` +
              (known.length ? `; did you mean ${known.join(' or ')}?` : '; see the extension documentation.'),
          );
          continue;
        }
        const msg = checkParameterValue(info, value);
        if (msg) add(msg);
      } else if (!preload.includes(ext)) {
        add(
          `${name} belongs to extension "${ext}", which is not loaded: add "${ext}" to ` +
            `${path}.shared_preload_libraries (and make sure the image ships it), or remove the parameter.`,
        );
      }
      continue;
    }

    const info = catalog.get(name);
    if (!info) {
      add(unknownMessage(version, name, catalog.keys()));
      continue;
    }
    if (info.context === 'internal') {
      add(
        `${name} is a read-only parameter (it reports how PostgreSQL was built or initialised) and cannot be set.`,
      );
      continue;
    }
    const msg = checkParameterValue(info, value);
    if (msg) add(msg);
  }
  return problems;
}

function unknownMessage(version: SupportedPostgresVersion, name: string, names: Iterable<string>): string {
  const special = specialAdvice(name, version);
  if (special) return special;
  const removed = removedParameter(version, name);
  if (removed) {
    return (
      `${name} was removed in PostgreSQL ${removed.removedIn}` +
      (removed.replacement ? `; use ${removed.replacement} instead.` : '; remove it.')
    );
  }
  const elsewhere = versionsWithParameter(name);
  if (elsewhere.length > 0) {
    const first = Math.min(...elsewhere);
    if (first > version) {
      return `${name} is available from PostgreSQL ${first}; spec.postgres.version is ${version}. Raise the version or remove the parameter.`;
    }
    return `${name} does not exist in PostgreSQL ${version} (it exists in ${elsewhere.join(', ')}).`;
  }
  const close = suggestions(name, names);
  return (
    `${name} is not a PostgreSQL ${version} parameter (an unknown name stops the server from starting)` +
    (close.length ? `; did you mean ${close.join(' or ')}?` : '.')
  );
}
