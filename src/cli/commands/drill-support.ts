/** What both backup drills share: a libpq login from a URL, row counts per table, running a rendered script. */
import { spawn } from 'node:child_process';
import pg from 'pg';

export interface Conn {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
}

export function connOf(url: URL): Conn {
  const c: Conn = {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    database: decodeURIComponent(url.pathname.replace(/^\//, '') || 'postgres'),
  };
  if (url.password) c.password = decodeURIComponent(url.password);
  return c;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function rowCounts(conn: Conn, database: string): Promise<Record<string, number>> {
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

export interface ScriptRun {
  code: number;
  stderr: string;
  result: Record<string, unknown>;
}

export function runBashScript(script: string, env: Record<string, string>): Promise<ScriptRun> {
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
