import pg from 'pg';
import type { ArchiverHealth, PgTarget, PostgresHealth, ProbeOptions } from './types.js';
import { elapsedMs, errorMessage, formatBytes, round, unreachable, withTimeout } from './util.js';

export const PROBE_APPLICATION_NAME = 'flash-sale-operator-probe';

/** A small pool for probing one PostgreSQL-protocol server; every wait is bounded by `timeoutMs`. */
export function createPgPool(target: PgTarget, timeoutMs: number, simpleProtocolOnly = false): pg.Pool {
  const pool = new pg.Pool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password ?? '',
    database: target.database,
    max: 2,
    idleTimeoutMillis: 120_000,
    connectionTimeoutMillis: timeoutMs,
    // Session GUCs are sent as startup parameters; PgBouncer's admin console rejects unknown ones.
    ...(simpleProtocolOnly
      ? {}
      : {
          statement_timeout: timeoutMs,
          query_timeout: timeoutMs,
          idle_in_transaction_session_timeout: timeoutMs * 2,
          application_name: PROBE_APPLICATION_NAME,
        }),
    keepAlive: true,
    allowExitOnIdle: true,
  });
  // An idle client losing its server must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

export function pgEndpoint(t: PgTarget): string {
  return `${t.host}:${t.port}/${t.database}`;
}

/**
 * Runs `fn` on a client of `pool` with an overall timeout; on timeout the client's socket is destroyed.
 */
export async function withPgClient<T>(
  pool: pg.Pool,
  timeoutMs: number,
  what: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  let client: pg.PoolClient | undefined;
  let timedOut = false;
  const work = (async () => {
    const c = await pool.connect();
    if (timedOut) {
      c.release(true);
      throw new Error('timed out');
    }
    client = c;
    c.on('error', () => undefined);
    try {
      const out = await fn(c);
      c.release();
      client = undefined;
      return out;
    } catch (err) {
      // A failed or cancelled query leaves the connection in an unknown state: throw it away.
      c.release(true);
      client = undefined;
      throw err;
    }
  })();
  return withTimeout(work, timeoutMs, what, () => {
    timedOut = true;
    if (client) {
      client.release(true);
      client = undefined;
    }
  });
}

interface PgSnapshot {
  version: string;
  size: string;
  connections: string;
  max_connections: number;
  lock_waits: string;
  oldest_xact: number | string | null;
  has_pss: boolean;
  archive_mode: string;
  archived_count: string;
  failed_count: string;
  last_archived_wal: string | null;
  last_archived_time: Date | null;
  last_failed_wal: string | null;
  last_failed_time: Date | null;
}

/** PostgreSQL probe: seed §8 (connection, lock waits), §10 (database size), §7 (slow statements). */
export async function probePostgres(
  pool: pg.Pool,
  target: PgTarget,
  opts: ProbeOptions,
): Promise<PostgresHealth> {
  const checkedAt = (opts.now?.() ?? new Date()).toISOString();
  const endpoint = pgEndpoint(target);
  const th = opts.thresholds;
  try {
    return await withPgClient(pool, opts.timeoutMs, `PostgreSQL at ${endpoint}`, async (client) => {
      const t0 = process.hrtime.bigint();
      await client.query('SELECT 1');
      const latencyMs = elapsedMs(t0);
      const snap = (
        await client.query<PgSnapshot>(`
        SELECT current_setting('server_version') AS version,
               pg_database_size(current_database()) AS size,
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS connections,
               current_setting('max_connections')::int AS max_connections,
               (SELECT count(*) FROM pg_stat_activity
                 WHERE wait_event_type = 'Lock' AND datname = current_database()) AS lock_waits,
               (SELECT COALESCE(EXTRACT(EPOCH FROM max(clock_timestamp() - xact_start)), 0)::float8
                  FROM pg_stat_activity
                 WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
                   AND backend_type = 'client backend' AND datname = current_database()) AS oldest_xact,
               EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_pss,
               current_setting('archive_mode') AS archive_mode,
               a.archived_count, a.failed_count, a.last_archived_wal, a.last_archived_time,
               a.last_failed_wal, a.last_failed_time
          FROM pg_stat_archiver a`)
      ).rows[0];
      if (!snap) throw new Error('the health query returned no row');
      const result: PostgresHealth = {
        healthy: true,
        reason: 'Healthy',
        message: '',
        latencyMs,
        checkedAt,
        endpoint,
        serverVersion: snap.version,
        databaseSizeBytes: Number(snap.size),
        connectionsUsed: Number(snap.connections),
        maxConnections: snap.max_connections,
        connectionsUsedPercent: round((100 * Number(snap.connections)) / snap.max_connections, 1),
        lockWaits: Number(snap.lock_waits),
        oldestTransactionSeconds: round(Number(snap.oldest_xact ?? 0), 1),
        slowStatementsAvailable: false,
      };
      if (snap.archive_mode !== 'off') result.archiver = archiverHealth(snap);
      if (snap.has_pss) {
        try {
          const r = await client.query<{ n: string; slowest: number | null }>(
            `SELECT count(*) AS n, max(mean_exec_time)::float8 AS slowest FROM pg_stat_statements
              WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND mean_exec_time > $1`,
            [th.slowStatementMeanMs],
          );
          result.slowStatementsAvailable = true;
          result.slowStatements = Number(r.rows[0]?.n ?? 0);
          if (r.rows[0]?.slowest != null) result.slowestStatementMeanMs = round(r.rows[0].slowest, 1);
        } catch (err) {
          // Extension created but not in shared_preload_libraries: the other checks still count.
          result.slowStatementsAvailable = false;
          result.message = `pg_stat_statements not readable: ${errorMessage(err, [target.password])}. `;
        }
      }
      return judgePostgres(result, opts);
    });
  } catch (err) {
    return unreachable<PostgresHealth>(endpoint, checkedAt, 'PostgreSQL', err, [target.password]);
  }
}

function archiverHealth(s: PgSnapshot): ArchiverHealth {
  const a: ArchiverHealth = {
    archivedCount: Number(s.archived_count),
    failedCount: Number(s.failed_count),
    failing:
      s.last_failed_time !== null &&
      (s.last_archived_time === null || s.last_failed_time.getTime() > s.last_archived_time.getTime()),
  };
  if (s.last_archived_wal) a.lastArchivedWal = s.last_archived_wal;
  if (s.last_archived_time) a.lastArchivedAt = s.last_archived_time.toISOString();
  if (s.last_failed_wal) a.lastFailedWal = s.last_failed_wal;
  if (s.last_failed_time) a.lastFailedAt = s.last_failed_time.toISOString();
  return a;
}

function judgePostgres(r: PostgresHealth, opts: ProbeOptions): PostgresHealth {
  const th = opts.thresholds;
  const summary =
    `PostgreSQL ${r.serverVersion}: ${r.connectionsUsed}/${r.maxConnections} connections ` +
    `(${r.connectionsUsedPercent}%), ${r.lockWaits} lock waits, oldest transaction ` +
    `${r.oldestTransactionSeconds}s, database ${formatBytes(r.databaseSizeBytes ?? 0)}, RTT ${r.latencyMs} ms`;
  const note = r.message;
  const set = (healthy: boolean, reason: PostgresHealth['reason'], why: string): PostgresHealth => ({
    ...r,
    healthy,
    reason,
    message: `${why}${note}${summary}`,
  });
  if (r.archiver?.failing) {
    const a = r.archiver;
    return set(
      false,
      'WalArchiveFailing',
      `archive_command failed for ${a.lastFailedWal ?? '?'} at ${a.lastFailedAt ?? '?'} (${a.failedCount} failures; last success ${a.lastArchivedWal ?? 'none'}): point-in-time recovery stops there and pg_wal grows; see the server log. `,
    );
  }
  if ((r.connectionsUsedPercent ?? 0) > th.connectionsUsedPercentMax) {
    return set(
      false,
      'ConnectionsSaturated',
      `${r.connectionsUsedPercent}% of max_connections in use (threshold ${th.connectionsUsedPercentMax}%). `,
    );
  }
  if ((r.lockWaits ?? 0) > th.lockWaitsMax) {
    return set(
      false,
      'LockWaitsHigh',
      `${r.lockWaits} sessions waiting on locks (threshold ${th.lockWaitsMax}). `,
    );
  }
  if ((r.oldestTransactionSeconds ?? 0) > th.oldestTransactionSecondsMax) {
    return set(
      false,
      'LongRunningTransaction',
      `a transaction has been open for ${r.oldestTransactionSeconds}s (threshold ${th.oldestTransactionSecondsMax}s). `,
    );
  }
  if ((r.slowStatements ?? 0) > 0) {
    return set(
      false,
      'SlowStatements',
      `${r.slowStatements} statements average above ${th.slowStatementMeanMs} ms (slowest ${r.slowestStatementMeanMs} ms). `,
    );
  }
  return set(true, 'Healthy', '');
}
