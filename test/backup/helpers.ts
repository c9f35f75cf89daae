/** Helpers for the backup tests: the scripts as render emits them, a bash runner, databases and comparisons. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { renderBackup } from '../../src/render/backup.js';
import type { KubeObject } from '../../src/render/common.js';
import { inputs, stackOf } from '../golden/fixtures.js';
import { PG15_BIN } from '../support/processes.js';

export const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
export const PG_BIN = PG15_BIN;

/** backup.sh / restore.sh / maintenance.sh taken from the rendered ConfigMap (not from a source file). */
export function renderedScripts(dir: string): { backup: string; restore: string; maintenance: string } {
  const stack = stackOf({ postgres: { maintenance: { schedule: '30 3 * * *' } } });
  const cm = renderBackup(stack, inputs()).find(
    (o: KubeObject) => o.kind === 'ConfigMap' && o.metadata.name === 'shop-backup-scripts',
  );
  const data = cm?.data as Record<string, string> | undefined;
  if (!data?.['backup.sh'] || !data['restore.sh'] || !data['maintenance.sh']) {
    throw new Error(
      'renderBackup emitted no ConfigMap shop-backup-scripts with backup.sh/restore.sh/maintenance.sh',
    );
  }
  const out = {
    backup: join(dir, 'backup.sh'),
    restore: join(dir, 'restore.sh'),
    maintenance: join(dir, 'maintenance.sh'),
  };
  writeFileSync(out.backup, data['backup.sh']);
  writeFileSync(out.restore, data['restore.sh']);
  writeFileSync(out.maintenance, data['maintenance.sh']);
  return out;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the scripts' result contract). */
  json: Record<string, unknown>;
}

export async function runScript(
  script: string,
  env: Record<string, string>,
  onSpawn?: (pid: number) => void,
): Promise<RunResult> {
  const base: Record<string, string> = {
    PATH: `${PG_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? '/tmp',
    PGHOST: PG.host,
    PGPORT: String(PG.port),
    PGUSER: PG.user,
    STACK: 'shop',
  };
  const child = spawn('bash', [script], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  const last = stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(last) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { code, stdout, stderr, json };
}

/**
 * A directory `shim` holding a pg_dump that writes its dump and then loses the second half of it (a full disk,
 * a dying node...): `pg_restore --list` still reads it, only a full read of the data notices. Put it first on PATH.
 */
export function truncatingPgDump(shim: string): string {
  mkdirSync(shim);
  writeFileSync(
    join(shim, 'pg_dump'),
    `#!/usr/bin/env bash
set -e
"${PG_BIN}/pg_dump" "$@"
for a in "$@"; do case $a in --file=*) f=\${a#--file=};; esac; done
size=$(stat -c %s "$f")
truncate -s $((size / 2)) "$f"
`,
  );
  chmodSync(join(shim, 'pg_dump'), 0o755);
  return shim;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function withClient<T>(
  database: string,
  fn: (c: pg.Client) => Promise<T>,
  port = PG.port,
): Promise<T> {
  const c = new pg.Client({ ...PG, port, database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createDatabase(name: string): Promise<void> {
  await withClient('postgres', (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
}

export async function dropDatabase(name: string): Promise<void> {
  await withClient('postgres', (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

export async function databaseExists(name: string): Promise<boolean> {
  return withClient('postgres', async (c) => {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return r.rowCount === 1;
  });
}

/** Several tables, a few thousand rows, awkward names (spaces, quotes, mixed case, a schema). */
export async function seedDatabase(name: string): Promise<void> {
  await withClient(name, async (c) => {
    await c.query(`
      CREATE SCHEMA "Sales Data";
      CREATE TABLE "Sales Data"."Order Items" (
        id serial PRIMARY KEY, sku text NOT NULL, "Qty" int NOT NULL CHECK ("Qty" > 0), price numeric(12,2));
      CREATE TABLE public."MixedCase" (id bigint PRIMARY KEY, payload jsonb, created timestamptz);
      CREATE TABLE public."it's ""quoted""" (k text PRIMARY KEY, v bytea);
      CREATE TABLE public.plain (id int PRIMARY KEY, note text);
      CREATE INDEX "Order Items sku" ON "Sales Data"."Order Items" (sku);
      CREATE VIEW "Sales Data"."Big Orders" AS SELECT * FROM "Sales Data"."Order Items" WHERE "Qty" > 5;
      INSERT INTO "Sales Data"."Order Items" (sku, "Qty", price)
        SELECT 'SKU-' || g || E' \\'q\\' "dq" ' || chr(9), 1 + g % 10, g * 1.25 FROM generate_series(1, 2500) g;
      INSERT INTO public."MixedCase"
        SELECT g, jsonb_build_object('n', g, 'name', 'user ' || g || ' "x"'), '2024-01-01'::timestamptz + g * interval '1 min'
        FROM generate_series(1, 1500) g;
      INSERT INTO public."it's ""quoted"""
        SELECT 'key ' || g, decode(md5(g::text), 'hex') FROM generate_series(1, 700) g;
      INSERT INTO public.plain SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('n', g % 50) END
        FROM generate_series(1, 3000) g;
    `);
  });
}

/** Per table: row count and an md5 over its rows in a fixed order. */
export async function tableFingerprints(database: string, port = PG.port): Promise<Record<string, string>> {
  return withClient(
    database,
    async (c) => {
      const tables = await c.query<{ schema: string; name: string }>(`
        SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY 1, 2`);
      const out: Record<string, string> = {};
      for (const t of tables.rows) {
        const q = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
        const r = await c.query<{ n: string; h: string }>(
          `SELECT count(*)::text AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM ${q} x`,
        );
        out[`${t.schema}.${t.name}`] = `${r.rows[0]?.n}:${r.rows[0]?.h}`;
      }
      return out;
    },
    port,
  );
}

/** A loopback port nothing listens on (it was free a moment ago). */
export { freePort as closedPort } from '../support/processes.js';
