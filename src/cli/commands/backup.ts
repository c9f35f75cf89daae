/**
 * `flash-sale-operator backup drill`: restore the newest verified dump of a stack into a scratch database with
 * the rendered restore.sh, compare every table's row count with the source database, drop the scratch database.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { backupScriptsData } from '../../render/backup.js';
import { parseOptions, UsageError, type Command, type CommandIO } from '../command.js';

const usage = `Usage: flash-sale-operator backup drill --backup-dir DIR --stack NAME --postgres URL [--keep] [--json]

Restores the newest verified dump of STACK in DIR (restore.sh, as the operator renders it) into a scratch
database fso_drill_<time> on the server of URL, compares each table's row count with the database of URL,
then drops the scratch database (unless --keep) and prints a report.

  --backup-dir DIR   directory with <stack>-<UTC>.dump files and their .sha256
  --stack NAME       stack whose dumps to use
  --postgres URL     postgres://user@host:port/database (the source to compare with). A password is taken from
                     the file named by PGPASSWORD_FILE; one in the URL is used too but never printed.
  --keep             keep the scratch database for inspection
  --json             print the report as JSON

Exit codes: 0 every table matches, 1 a mismatch or a failed restore, 2 usage error.`;

interface DrillArgs {
  backupDir: string;
  stack: string;
  url: URL;
  keep: boolean;
  json: boolean;
}

export function parseDrillArgs(argv: string[]): DrillArgs {
  if (argv[0] !== 'drill') throw new UsageError('the only backup sub-command is "drill"');
  const v = parseOptions(argv.slice(1), {
    'backup-dir': { type: 'string' },
    stack: { type: 'string' },
    postgres: { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  for (const required of ['backup-dir', 'stack', 'postgres'] as const) {
    if (!v[required]) throw new UsageError(`--${required} is required`);
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
    backupDir: v['backup-dir'] ?? '',
    stack: v.stack ?? '',
    url,
    keep: v.keep ?? false,
    json: v.json ?? false,
  };
}

interface Conn {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
}

function connOf(url: URL): Conn {
  const c: Conn = {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    database: decodeURIComponent(url.pathname.replace(/^\//, '') || 'postgres'),
  };
  if (url.password) c.password = decodeURIComponent(url.password);
  return c;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function rowCounts(conn: Conn, database: string): Promise<Record<string, number>> {
  const client = new pg.Client({ ...conn, database });
  await client.connect();
  try {
    const tables = await client.query<{ s: string; t: string }>(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2`,
    );
    const out: Record<string, number> = {};
    for (const { s, t } of tables.rows) {
      const r = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ${quoteIdent(s)}.${quoteIdent(t)}`,
      );
      out[`${s}.${t}`] = Number(r.rows[0]?.n ?? NaN);
    }
    return out;
  } finally {
    await client.end();
  }
}

interface ScriptRun {
  code: number;
  stderr: string;
  result: Record<string, unknown>;
}

function runRestore(script: string, env: Record<string, string>): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      let result: Record<string, unknown> = {};
      try {
        result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        result = {};
      }
      resolve({ code: code ?? 1, stderr, result });
    });
  });
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
    const run = await runRestore(script, env);
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
  summary: 'Backup tools: `backup drill` restores the newest dump into a scratch database and compares',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const args = parseDrillArgs(argv);
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
