/**
 * `flash-sale-operator backup drill`: restore the newest verified dump of a stack into a scratch database with
 * the rendered restore.sh, compare every table's row count with the source database, drop the scratch database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { checkDateTime } from '../../api/formats.js';
import { backupScriptsData } from '../../render/backup.js';
import { parseOptions, UsageError, type Command, type CommandIO } from '../command.js';
import { connOf, quoteIdent, rowCounts, runBashScript } from './drill-support.js';
import { runPitrDrill, type PitrDrillArgs } from './pitr-drill.js';

const usage = `Usage: flash-sale-operator backup drill --backup-dir DIR --stack NAME --postgres URL [--keep] [--json]
       flash-sale-operator backup drill --pitr-dir DIR (--target-time T | --target-lsn L) [--database DB]
                                        [--user ROLE] [--os-user USER] [--pg-bin DIR] [--keep] [--json]

A dump drill restores the newest verified dump of STACK in DIR (restore.sh, as the operator renders it) into a
scratch database fso_drill_<time> on the server of URL, compares each table's row count with the database of
URL, then drops the scratch database (unless --keep) and prints a report.

A point-in-time drill restores the WAL archive and base backups of a spec.backup.pitr volume (DIR, e.g. the
volume mounted or copied here) to the target with the rendered pitr-restore.sh, recovers it in a private
PostgreSQL on this machine, prints each table's row count of DB and the last transaction replayed, and stops
and removes it (unless --keep).

  --backup-dir DIR   directory with <stack>-<UTC>.dump files and their .sha256
  --stack NAME       stack whose dumps to use
  --postgres URL     postgres://user@host:port/database (the source to compare with). A password is taken from
                     the file named by PGPASSWORD_FILE; one in the URL is used too but never printed.
  --pitr-dir DIR     a spec.backup.pitr volume: base/ and wal/
  --target-time T    recover every transaction committed up to T (RFC 3339, e.g. 2025-11-11T00:00:05Z)
  --target-lsn L     recover up to WAL location L (e.g. 0/3000060) instead
  --database DB      database whose tables are counted (postgres)
  --user ROLE        role to connect as, the cluster's superuser (postgres)
  --os-user USER     OS user the private server runs as when this runs as root (postgres)
  --pg-bin DIR       PostgreSQL binaries (default /usr/lib/postgresql/<major of the backup>/bin)
  --keep             keep the scratch database (dump drill) or data directory (point-in-time drill)
  --json             print the report as JSON

Exit codes: 0 every table matches / the recovery reached its target, 1 a mismatch or a failed restore,
2 usage error.`;

interface DrillArgs {
  backupDir: string;
  stack: string;
  url: URL;
  keep: boolean;
  json: boolean;
}

export function parseDrillArgs(
  argv: string[],
): ({ mode: 'dump' } & DrillArgs) | ({ mode: 'pitr'; json: boolean } & PitrDrillArgs) {
  if (argv[0] !== 'drill') throw new UsageError('the only backup sub-command is "drill"');
  const v = parseOptions(argv.slice(1), {
    'backup-dir': { type: 'string' },
    stack: { type: 'string' },
    postgres: { type: 'string' },
    'pitr-dir': { type: 'string' },
    'target-time': { type: 'string' },
    'target-lsn': { type: 'string' },
    database: { type: 'string' },
    user: { type: 'string' },
    'os-user': { type: 'string' },
    'pg-bin': { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (v['pitr-dir'] !== undefined) {
    const time = v['target-time'];
    const lsn = v['target-lsn'];
    if ((time === undefined) === (lsn === undefined)) {
      throw new UsageError('a point-in-time drill needs exactly one of --target-time and --target-lsn');
    }
    const badTime = time === undefined ? undefined : checkDateTime(time);
    if (badTime !== undefined) throw new UsageError(`--target-time: ${badTime}`);
    if (lsn !== undefined && !/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(lsn)) {
      throw new UsageError(`--target-lsn "${lsn}" is not a WAL location like 0/3000060`);
    }
    return {
      mode: 'pitr',
      pitrDir: v['pitr-dir'],
      ...(time !== undefined ? { targetTime: time } : {}),
      ...(lsn !== undefined ? { targetLsn: lsn } : {}),
      database: v.database ?? 'postgres',
      user: v.user ?? 'postgres',
      osUser: v['os-user'] ?? 'postgres',
      ...(v['pg-bin'] !== undefined ? { pgBin: v['pg-bin'] } : {}),
      keep: v.keep ?? false,
      json: v.json ?? false,
      timeoutSeconds: 600,
    };
  }
  for (const required of ['backup-dir', 'stack', 'postgres'] as const) {
    if (!v[required])
      throw new UsageError(`--${required} is required (or --pitr-dir for a point-in-time drill)`);
  }
  let url: URL;
  try {
    url = new URL(v.postgres ?? '');
  } catch {
    throw new UsageError('--postgres must be a URL like postgres://user@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError('--postgres must be a postgres:// URL');
  }
  return {
    mode: 'dump',
    backupDir: v['backup-dir'] ?? '',
    stack: v.stack ?? '',
    url,
    keep: v.keep ?? false,
    json: v.json ?? false,
  };
}

export interface DrillReport {
  ok: boolean;
  file?: string;
  scratchDatabase: string;
  kept: boolean;
  tables: { table: string; source: number | null; restored: number | null; match: boolean }[];
  error?: string;
}

export async function runDrill(args: DrillArgs): Promise<DrillReport> {
  const conn = connOf(args.url);
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const scratch = `fso_drill_${stamp}_${randomBytes(2).toString('hex')}`;
  const work = mkdtempSync(join(tmpdir(), 'fso-drill-'));
  const report: DrillReport = { ok: false, scratchDatabase: scratch, kept: args.keep, tables: [] };
  let created = false;
  try {
    const script = join(work, 'restore.sh');
    writeFileSync(script, backupScriptsData()['restore.sh'] ?? '', { mode: 0o500 });
    const env: Record<string, string> = {
      PGHOST: conn.host,
      PGPORT: String(conn.port),
      PGUSER: conn.user,
      BACKUP_DIR: args.backupDir,
      BACKUP_FILE: 'latest',
      STACK: args.stack,
      TARGET_DATABASE: scratch,
      MAINTENANCE_DATABASE: conn.database,
      TMPDIR: work,
    };
    if (conn.password !== undefined) {
      // Handed over as a file, like the Secret mount in the cluster: never on a command line.
      writeFileSync(join(work, 'password'), conn.password, { mode: 0o600 });
      env.PGPASSWORD_FILE = join(work, 'password');
    }
    const run = await runBashScript(script, env);
    created = run.result.created === true;
    if (run.code !== 0) {
      report.error =
        typeof run.result.error === 'string' ? run.result.error : run.stderr.trim().split('\n').pop();
      return report;
    }
    if (typeof run.result.file === 'string') report.file = run.result.file;
    const [source, restored] = await Promise.all([rowCounts(conn, conn.database), rowCounts(conn, scratch)]);
    const names = [...new Set([...Object.keys(source), ...Object.keys(restored)])].sort();
    report.tables = names.map((table) => {
      const s = source[table] ?? null;
      const r = restored[table] ?? null;
      return { table, source: s, restored: r, match: s !== null && s === r };
    });
    report.ok = report.tables.length > 0 && report.tables.every((t) => t.match);
    if (report.tables.length === 0) report.error = 'the source database has no tables to compare';
    return report;
  } finally {
    if (created && !args.keep) {
      const client = new pg.Client({ ...conn });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
}

export const backupCommand: Command = {
  name: 'backup',
  summary:
    'Backup tools: `backup drill` restores the newest dump into a scratch database and compares, or recovers a PITR volume to a point in time',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const args = parseDrillArgs(argv);
    if (args.mode === 'pitr') {
      const report = await runPitrDrill(args);
      if (args.json) io.stdout(`${JSON.stringify(report)}\n`);
      else {
        io.stdout(
          `point-in-time drill to ${report.target} from ${report.baseBackup ?? '(no base backup)'}: ${report.ok ? 'OK' : 'FAILED'} in ${report.durationSeconds} s\n`,
        );
        if (report.lastReplayedCommit)
          io.stdout(`  last transaction replayed: ${report.lastReplayedCommit}\n`);
        for (const [table, n] of Object.entries(report.tables)) io.stdout(`  ${table}: ${n} rows\n`);
      }
      if (report.error) io.stderr(`backup drill: ${report.error}\n`);
      return report.ok ? 0 : 1;
    }
    const report = await runDrill(args);
    if (args.json) {
      io.stdout(`${JSON.stringify(report)}\n`);
    } else {
      io.stdout(
        `restore drill of ${report.file ?? '(no dump)'} into ${report.scratchDatabase}: ${report.ok ? 'OK' : 'FAILED'}\n`,
      );
      for (const t of report.tables) {
        io.stdout(
          `  ${t.match ? 'ok  ' : 'DIFF'} ${t.table}: source ${t.source ?? '-'}, restored ${t.restored ?? '-'}\n`,
        );
      }
    }
    if (report.error) io.stderr(`backup drill: ${report.error}\n`);
    return report.ok ? 0 : 1;
  },
};
