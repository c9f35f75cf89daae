/**
 * Point-in-time recovery for real, on a private PostgreSQL 15 (the PrivatePostgres helper): WAL archived by the
 * rendered archive-wal.sh, base backups and retention by the rendered basebackup.sh, recovery through the
 * rendered pitr-restore.sh via `flash-sale-operator backup drill --target-time`.
 *   - rows written over a minute with recorded commit windows; recovery to a chosen second holds exactly the
 *     rows committed before it;
 *   - an archive_command failure (a segment name already archived with other content) is visible in the
 *     health probe's status (WalArchiveFailing) — the alert on it is tested with promtool in
 *     test/render/daemons/promtool.test.ts;
 *   - retention keeps every segment the oldest kept base backup needs: recovery from it still works.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveWalScript, baseBackupScript } from '../../src/backup/pitr-scripts.js';
import { backupCommand } from '../../src/cli/commands/backup.js';
import type { PitrDrillReport } from '../../src/cli/commands/pitr-drill.js';
import { createPgPool, probePostgres } from '../../src/health/postgres.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/types.js';
import { chownToPostgres, PG15_BIN, PrivatePostgres } from '../support/processes.js';

const root = process.getuid?.() === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('point-in-time recovery on a private PostgreSQL 15', () => {
  const server = new PrivatePostgres('fso-pitr-');
  const pitrDir = join(server.dir, 'pitr');
  const scripts = join(server.dir, 'scripts');
  let client: pg.Client;

  /** Runs a rendered script as the server's OS user (as the pods run them as uid 999). */
  function runAsPostgres(
    script: string,
    env: Record<string, string>,
  ): { code: number; out: string; err: string } {
    const cmd = root ? 'runuser' : 'bash';
    const args = root ? ['-u', 'postgres', '--', 'bash', script] : [script];
    const r = spawnSync(cmd, args, {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${PG15_BIN}:${process.env.PATH}`, TERMINATION_LOG: '/dev/null', ...env },
    });
    return { code: r.status ?? 1, out: r.stdout, err: r.stderr };
  }

  const baseBackup = (env: Record<string, string> = {}) =>
    runAsPostgres(join(scripts, 'basebackup.sh'), {
      PGHOST: '127.0.0.1',
      PGPORT: String(server.port),
      PGUSER: 'postgres',
      PITR_DIR: pitrDir,
      STACK: 'shop',
      TMPDIR: server.dir,
      ...env,
    });

  async function drill(targetTime: string): Promise<{ code: number; report: PitrDrillReport; err: string }> {
    let out = '';
    let err = '';
    const code = await backupCommand.run(
      ['drill', '--pitr-dir', pitrDir, '--target-time', targetTime, '--pg-bin', PG15_BIN, '--json'],
      { stdout: (s) => (out += s), stderr: (s) => (err += s) },
    );
    return { code, report: JSON.parse(out) as PitrDrillReport, err };
  }

  /** Forces the current segment out and waits until the archiver has it. */
  async function archiveNow(): Promise<void> {
    const seg = (await client.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn()) AS f'))
      .rows[0]!.f;
    await client.query('SELECT pg_switch_wal()');
    for (let i = 0; i < 200 && !existsSync(join(pitrDir, 'wal', seg)); i++) await sleep(50);
    expect(existsSync(join(pitrDir, 'wal', seg)), `segment ${seg} archived`).toBe(true);
  }

  beforeAll(async () => {
    mkdirSync(pitrDir);
    mkdirSync(scripts);
    writeFileSync(join(scripts, 'archive-wal.sh'), archiveWalScript());
    writeFileSync(join(scripts, 'basebackup.sh'), baseBackupScript());
    chownToPostgres(pitrDir, scripts);
    // What render writes for spec.backup.pitr, with the volume and config paths of this machine.
    await server.start({
      conf: [
        "archive_mode = 'on'",
        `archive_command = 'bash ${scripts}/archive-wal.sh "%p" "%f" ${pitrDir}'`,
        "archive_timeout = '1s'",
        "wal_level = 'replica'",
        'max_wal_senders = 4',
        '',
      ].join('\n'),
    });
    client = new pg.Client(server.connection());
    await client.connect();
  }, 60_000);
  afterAll(async () => {
    await client?.end();
    server.stop();
  });

  it('restores to a chosen second exactly the rows committed before it (rows written over a minute)', async () => {
    const b = baseBackup();
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out.trim().split('\n').pop()!)).toMatchObject({
      tool: 'basebackup',
      succeeded: true,
    });
    await client.query('CREATE TABLE ticks (n int PRIMARY KEY, written_at timestamptz NOT NULL)');
    await sleep(1100); // the CREATE commits before the first second we may pick
    // One row every 250 ms for a minute; each commit happened somewhere inside [before, after].
    const windows: { before: number; after: number }[] = [];
    const end = Date.now() + 60_000;
    for (let n = 1; Date.now() < end; n++) {
      const before = Date.now();
      await client.query('INSERT INTO ticks VALUES ($1, clock_timestamp())', [n]);
      windows.push({ before, after: Date.now() });
      await sleep(250);
    }
    await archiveNow();
    // A whole second in the middle that no commit window straddles.
    let target = Math.ceil((windows[0]!.before + 30_000) / 1000) * 1000;
    while (windows.some((w) => w.before <= target && target <= w.after)) target += 1000;
    const expected = windows.filter((w) => w.after < target).length;
    expect(expected).toBeGreaterThan(50);
    expect(expected).toBeLessThan(windows.length - 50);

    const { code, report, err } = await drill(new Date(target).toISOString().replace('.000Z', 'Z'));
    expect(code, `${err} ${JSON.stringify(report)}`).toBe(0);
    expect(report.promoted).toBe(true);
    expect(report.tables['public.ticks']).toBe(expected);
    expect(Date.parse(report.lastReplayedCommit!)).toBeLessThan(target);
  }, 180_000);

  it('an archive_command failure shows in the probe status; archiving resumes once the cause is gone', async () => {
    const pool = createPgPool({ ...server.connection(), database: 'postgres' }, 5000);
    const probe = () =>
      probePostgres(pool, { ...server.connection() }, { timeoutMs: 5000, thresholds: DEFAULT_THRESHOLDS });
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS ticks (n int PRIMARY KEY, written_at timestamptz NOT NULL)',
      );
      await client.query('INSERT INTO ticks VALUES (99999, now())');
      await archiveNow();
      const healthy = await probe();
      expect(healthy.archiver).toMatchObject({ failing: false });
      expect(healthy.archiver!.archivedCount).toBeGreaterThan(0);
      // The segment after the current one already has a file of other content in the archive (archive_timeout
      // may switch the current one any moment, so squat one ahead). It must never be overwritten.
      const seg = (
        await client.query<{ f: string }>('SELECT pg_walfile_name(pg_current_wal_lsn() + 16777216) AS f')
      ).rows[0]!.f;
      const squatter = join(pitrDir, 'wal', seg);
      writeFileSync(squatter, "not this server's WAL");
      chownToPostgres(squatter);
      for (const n of [100000, 100002]) {
        await client.query('INSERT INTO ticks VALUES ($1, now())', [n]);
        await client.query('SELECT pg_switch_wal()');
      }
      let failing = await probe();
      for (let i = 0; i < 100 && !failing.archiver?.failing; i++) {
        await sleep(100);
        failing = await probe();
      }
      expect(failing.healthy).toBe(false);
      expect(failing.reason).toBe('WalArchiveFailing');
      expect(failing.archiver).toMatchObject({ failing: true, lastFailedWal: seg });
      expect(failing.message).toContain(seg);
      expect(readFileSync(squatter, 'utf8')).toBe("not this server's WAL"); // not overwritten
      spawnSync('rm', ['-f', squatter]);
      // After three failures the archiver sleeps up to a minute; the next finished segment wakes it.
      await client.query('INSERT INTO ticks VALUES (100001, now())');
      await client.query('SELECT pg_switch_wal()');
      let back = await probe();
      for (let i = 0; i < 200 && back.archiver?.failing; i++) {
        await sleep(100);
        back = await probe();
      }
      expect(back.archiver?.failing, readFileSync(join(server.dir, 'server.log'), 'utf8').slice(-3000)).toBe(
        false,
      );
      expect(existsSync(squatter)).toBe(true); // archived for real this time
    } finally {
      await pool.end();
    }
  }, 60_000);

  it('retention removes old base backups and WAL, but never a segment the oldest kept base backup needs', async () => {
    for (let i = 0; i < 2; i++) {
      await client.query('INSERT INTO ticks VALUES ($1, now())', [200000 + i]);
      await archiveNow();
      await sleep(1100); // distinct backup names (seconds)
      const b = baseBackup({ RETENTION_DAYS: '0', MIN_BASE_BACKUPS: '2' });
      expect(b.code, b.err).toBe(0);
    }
    const bases = readdirSync(join(pitrDir, 'base'))
      .filter((d) => !d.startsWith('.'))
      .sort();
    expect(bases).toHaveLength(2); // three were taken: the oldest went
    const oldest = readFileSync(join(pitrDir, 'base', bases[0]!, 'backup.env'), 'utf8');
    const keepFrom = /START_WAL_FILE=(\w+)/.exec(oldest)![1]!;
    const segments = readdirSync(join(pitrDir, 'wal'))
      .filter((f) => /^[0-9A-F]{24}$/.test(f))
      .sort();
    expect(segments[0]! >= keepFrom).toBe(true); // older segments are gone …
    expect(segments).toContain(keepFrom); // … the first one it needs is not
    // And recovery from the oldest kept base backup still works: to a second after it ended.
    const endTime = Number(/END_TIME=(\d+)/.exec(oldest)![1]);
    await client.query('INSERT INTO ticks VALUES (300000, now())');
    await sleep(1500);
    await archiveNow();
    const newestEnd = Number(
      /END_TIME=(\d+)/.exec(readFileSync(join(pitrDir, 'base', bases[1]!, 'backup.env'), 'utf8'))![1],
    );
    const target = Math.min(endTime + 1, newestEnd - 1) * 1000;
    if (target > endTime * 1000) {
      const { code, report, err } = await drill(new Date(target).toISOString().replace('.000Z', 'Z'));
      expect(code, `${err} ${JSON.stringify(report)}`).toBe(0);
      expect(report.baseBackup).toBe(bases[0]);
    }
  }, 120_000);
});
