import pg from 'pg';
import type { PgTarget } from './types.js';
import { errorMessage } from './util.js';

export interface ParameterCheck {
  name: string;
  expected: string;
  /** The live value as `SHOW` prints it (absent for an unknown parameter). */
  actual?: string;
}

export interface ReloadResult {
  /** Parameters whose live value now equals the requested one. */
  applied: string[];
  /** Parameters PostgreSQL marked `pending_restart` (postmaster context): they need a restart. */
  pendingRestart: string[];
  /** Parameters whose live value still differs after the reload (file not updated yet, or overridden). */
  notApplied: ParameterCheck[];
  /** Names PostgreSQL does not know. */
  unknown: string[];
}

const MEMORY: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Splits a pg_settings unit such as `8kB` into multiplier and base unit. */
function unitScale(unit: string | null): { factor: number; table?: Record<string, number> } {
  if (!unit) return { factor: 1 };
  const m = /^(\d*)\s*([A-Za-z]+)$/.exec(unit);
  if (!m) return { factor: 1 };
  const n = m[1] ? Number(m[1]) : 1;
  const u = m[2]!;
  if (u in MEMORY) return { factor: n * MEMORY[u]!, table: MEMORY };
  if (u in TIME) return { factor: n * TIME[u]!, table: TIME };
  return { factor: n };
}

const BOOL: Record<string, string> = {
  on: 'on',
  true: 'on',
  yes: 'on',
  '1': 'on',
  off: 'off',
  false: 'off',
  no: 'off',
  '0': 'off',
};

/**
 * Compares a requested value with a pg_settings row: numbers with units are brought to bytes/milliseconds
 * (`setting × unit`), booleans to on/off, everything else compared case-insensitively without quotes.
 */
export function settingMatches(
  expected: string,
  row: { setting: string; unit: string | null; vartype: string },
): boolean {
  const want = expected.trim().replace(/^'(.*)'$/, '$1');
  if (row.vartype === 'bool') return BOOL[want.toLowerCase()] === BOOL[row.setting.toLowerCase()];
  if (row.vartype === 'integer' || row.vartype === 'real') {
    const { factor, table } = unitScale(row.unit);
    const live = Number(row.setting) * factor;
    const m = /^(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(want);
    if (!m) return false;
    const n = Number(m[1]);
    const u = m[2] ?? '';
    // -1/0 style sentinels are stored unscaled.
    if (!u) return n === Number(row.setting) || (n < 0 && Number(row.setting) === n);
    if (!table || !(u in table)) return false;
    return Math.abs(n * table[u]! - live) < 1e-6 * Math.max(1, Math.abs(live));
  }
  return want.toLowerCase() === row.setting.toLowerCase();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Applies `sighup`/`user`-context parameters without a restart: `SELECT pg_reload_conf()`, then waits (up to
 * `timeoutMs`) until each parameter's live value (pg_settings, unit-normalised) equals the requested one, or
 * PostgreSQL reports it `pending_restart`. The new values must already be in the configuration (the rendered
 * postgresql.conf or ALTER SYSTEM). `db` is a connected client, a connection URL, or a PgTarget (connections this
 * function opens are closed before it returns).
 */
export async function reloadPostgresParameters(
  db: pg.ClientBase | string | PgTarget,
  params: Record<string, string>,
  options: { timeoutMs?: number } = {},
): Promise<ReloadResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  let own: pg.Client | undefined;
  let client: pg.ClientBase;
  if (typeof db === 'string' || !('query' in db)) {
    own = new pg.Client(
      typeof db === 'string'
        ? { connectionString: db, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs }
        : { ...db, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs },
    );
    own.on('error', () => undefined);
    try {
      await own.connect();
    } catch (err) {
      await own.end().catch(() => undefined);
      throw new Error(`cannot connect to PostgreSQL to reload parameters: ${errorMessage(err)}`);
    }
    client = own;
  } else {
    client = db;
  }
  try {
    await client.query('SELECT pg_reload_conf()');
    const names = Object.keys(params);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A new statement lets this backend process the SIGHUP; pg_settings then shows the reloaded values.
      const rows = (
        await client.query<{
          name: string;
          setting: string;
          unit: string | null;
          vartype: string;
          pending_restart: boolean;
        }>('SELECT name, setting, unit, vartype, pending_restart FROM pg_settings WHERE name = ANY($1)', [
          names.map((n) => n.toLowerCase()),
        ])
      ).rows;
      const byName = new Map(rows.map((r) => [r.name, r]));
      const result: ReloadResult = { applied: [], pendingRestart: [], notApplied: [], unknown: [] };
      for (const name of names) {
        const row = byName.get(name.toLowerCase());
        const expected = params[name]!;
        if (!row) result.unknown.push(name);
        else if (settingMatches(expected, row)) result.applied.push(name);
        else if (row.pending_restart) result.pendingRestart.push(name);
        else {
          const shown = await client.query<Record<string, string>>(`SHOW ${pg.escapeIdentifier(row.name)}`);
          result.notApplied.push({ name, expected, actual: Object.values(shown.rows[0] ?? {})[0] });
        }
      }
      if (result.notApplied.length === 0 || Date.now() >= deadline) return result;
      await sleep(100);
    }
  } finally {
    if (own) await own.end().catch(() => undefined);
  }
}
