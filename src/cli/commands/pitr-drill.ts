/**
 * `flash-sale-operator backup drill --pitr-dir DIR --target-time T` (or `--target-lsn L`): proves a
 * point-in-time recovery on this machine. The rendered pitr-restore.sh prepares a scratch data directory from
 * the newest base backup that ended before the target; a private PostgreSQL of the backup's major version then
 * replays the archived WAL up to the target and promotes; the drill reports every table's row count and the
 * last transaction it replayed, then stops the server and removes the directory (unless --keep).
 * PostgreSQL refuses to run as root, so as root the server and the script run as --os-user (postgres).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pitrRestoreScript } from '../../backup/pitr-scripts.js';
import { rowCounts } from './drill-support.js';

export interface PitrDrillArgs {
  pitrDir: string;
  targetTime?: string;
  targetLsn?: string;
  /** Database whose tables are counted. */
  database: string;
  /** Role to connect as (the restored cluster's superuser). */
  user: string;
  /** OS user the server runs as when we are root. */
  osUser: string;
  /** Directory of pg_ctl and postgres; /usr/lib/postgresql/<major>/bin when absent. */
  pgBin?: string;
  keep: boolean;
  /** How long recovery may take before the drill gives up, seconds. */
  timeoutSeconds: number;
}

export interface PitrDrillReport {
  ok: boolean;
  target: string;
  baseBackup?: string;
  promoted: boolean;
  /** Commit time of the last transaction the recovery replayed. */
  lastReplayedCommit?: string;
  database: string;
  tables: Record<string, number>;
  durationSeconds: number;
  /** With --keep: where the recovered server's data directory is (stopped). */
  dataDir?: string;
  error?: string;
}

const root = process.getuid?.() === 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

/** Runs a command as the server's OS user (when root) and returns its status and output. */
function asServerUser(
  osUser: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): { status: number; stdout: string; stderr: string } {
  const [file, argv] = root ? ['runuser', ['-u', osUser, '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file as string, argv as string[], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runPitrDrill(args: PitrDrillArgs): Promise<PitrDrillReport> {
  const started = Date.now();
  const target = args.targetTime !== undefined ? `time ${args.targetTime}` : `WAL location ${args.targetLsn}`;
  const report: PitrDrillReport = {
    ok: false,
    target,
    promoted: false,
    database: args.database,
    tables: {},
    durationSeconds: 0,
  };
  const work = mkdtempSync(join(tmpdir(), 'fso-pitr-drill-'));
  const data = join(work, 'data');
  let bin: string | undefined;
  let running = false;
  try {
    if (root) execFileSync('chown', [`${args.osUser}:`, work]);
    const script = join(work, 'pitr-restore.sh');
    writeFileSync(script, pitrRestoreScript(), { mode: 0o555 });
    const restore = asServerUser(args.osUser, 'bash', [script], {
      PGDATA: data,
      PITR_DIR: args.pitrDir,
      TMPDIR: work,
      TERMINATION_LOG: '/dev/null',
      ...(args.targetTime !== undefined ? { TARGET_TIME: args.targetTime } : {}),
      ...(args.targetLsn !== undefined ? { TARGET_LSN: args.targetLsn } : {}),
    });
    let result: { succeeded?: boolean; baseBackup?: string; error?: string } = {};
    try {
      result = JSON.parse(restore.stdout.trim().split('\n').pop() ?? '') as typeof result;
    } catch {
      // no JSON line: the stderr tail says why
    }
    if (restore.status !== 0 || result.succeeded !== true) {
      report.error = result.error ?? (restore.stderr.trim().split('\n').pop() || 'pitr-restore.sh failed');
      return report;
    }
    if (result.baseBackup) report.baseBackup = result.baseBackup;
    const major = readFileSync(join(data, 'PG_VERSION'), 'utf8').trim();
    bin = args.pgBin ?? `/usr/lib/postgresql/${major}/bin`;
    if (!existsSync(join(bin, 'pg_ctl'))) {
      report.error = `no PostgreSQL ${major} binaries in ${bin} (the base backup's major version); give --pg-bin`;
      return report;
    }
    const hba = join(work, 'pg_hba.conf');
    writeFileSync(hba, 'local all all trust\nhost all all 127.0.0.1/32 trust\n', { mode: 0o644 });
    const port = await freePort();
    const settings = [
      `port=${port}`,
      'listen_addresses=127.0.0.1',
      `unix_socket_directories=${work}`,
      `hba_file=${hba}`,
      // The drill must not write into anyone's archive, nor load what only the pod has.
      'archive_mode=off',
      "shared_preload_libraries=''",
    ];
    const log = join(work, 'server.log');
    const start = asServerUser(args.osUser, join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      log,
      '-w',
      '-t',
      String(args.timeoutSeconds),
      '-o',
      settings.map((s) => `-c ${s}`).join(' '),
      'start',
    ]);
    running = existsSync(join(data, 'postmaster.pid'));
    if (start.status !== 0) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
      report.error = `the recovered server did not start: ${tail || start.stderr.trim()}`;
      return report;
    }
    const client = new pg.Client({ host: '127.0.0.1', port, user: args.user, database: args.database });
    await client.connect();
    try {
      const deadline = Date.now() + args.timeoutSeconds * 1000;
      for (;;) {
        const r = await client.query<{ rec: boolean }>('SELECT pg_is_in_recovery() AS rec');
        if (!r.rows[0]!.rec) break;
        if (Date.now() > deadline) {
          report.error = `recovery did not reach the target within ${args.timeoutSeconds} s`;
          return report;
        }
        await sleep(200);
      }
      report.promoted = true;
      const last = await client.query<{ t: Date | null }>('SELECT pg_last_xact_replay_timestamp() AS t');
      if (last.rows[0]?.t) report.lastReplayedCommit = last.rows[0].t.toISOString();
    } finally {
      await client.end();
    }
    report.tables = await rowCounts(
      { host: '127.0.0.1', port, user: args.user, database: args.database },
      args.database,
    );
    report.ok = true;
    if (args.keep) report.dataDir = data;
    return report;
  } catch (e) {
    report.error = e instanceof Error ? e.message : String(e);
    return report;
  } finally {
    if (running && bin)
      asServerUser(args.osUser, join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
    report.durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  }
}
