/**
 * The real backup.sh / restore.sh (taken from renderBackup's ConfigMap) run with bash against the real
 * PostgreSQL 15 on this machine. Each test has its own databases and temp directory and removes them.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PG_BIN,
  closedPort,
  createDatabase,
  databaseExists,
  dropDatabase,
  removeDir,
  renderedScripts,
  runScript,
  seedDatabase,
  tableFingerprints,
  tempDir,
  truncatingPgDump,
  uniqueName,
} from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function newDir(): string {
  // A space in the path: every path in the scripts must be quoted.
  const dir = tempDir('fso-backup-');
  const backups = join(dir, 'backup dir');
  mkdirSync(backups);
  cleanups.push(() => removeDir(dir));
  return dir;
}

async function newDatabase(seed = true): Promise<string> {
  const db = uniqueName('bk_src');
  await createDatabase(db);
  cleanups.push(() => dropDatabase(db));
  if (seed) await seedDatabase(db);
  return db;
}

function trackDatabase(name: string): string {
  cleanups.push(() => dropDatabase(name));
  return name;
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A fake dump with its checksum file, dated `daysAgo` days in the past with touch -d. */
function fakeDump(dir: string, name: string, daysAgo: number, verified = true): void {
  const path = join(dir, name);
  writeFileSync(path, `not a real dump ${name}`);
  if (verified) writeFileSync(`${path}.sha256`, `${sha256File(path)}  ${name}\n`);
  const when = `${daysAgo} days ago`;
  execFileSync('touch', ['-d', when, path]);
  if (verified) execFileSync('touch', ['-d', when, `${path}.sha256`]);
}

let scripts: ReturnType<typeof renderedScripts>;
let scriptsDir = '';
beforeAll(() => {
  scriptsDir = tempDir('fso-backup-scripts-');
  scripts = renderedScripts(scriptsDir);
});
afterAll(() => removeDir(scriptsDir));

describe('backup.sh and restore.sh from the rendered ConfigMap', () => {
  it('back up a database with awkward names and restore it into a new database: every table equal', async () => {
    const dir = newDir();
    const backups = join(dir, 'backup dir');
    const src = await newDatabase();
    const term = join(dir, 'termination-log');
    writeFileSync(term, '');

    const b = await runScript(scripts.backup, {
      PGDATABASE: src,
      BACKUP_DIR: backups,
      TERMINATION_LOG: term,
    });
    expect(b.stderr).toContain('verifying every data block');
    expect(b.code, b.stderr).toBe(0);
    const file = b.json.file as string;
    expect(file).toMatch(/^shop-\d{8}T\d{6}Z\.dump$/);
    const path = join(backups, file);
    expect(b.json.bytes).toBe(statSync(path).size);
    expect(b.json.sha256).toBe(sha256File(path));
    expect(readFileSync(`${path}.sha256`, 'utf8')).toBe(`${sha256File(path)}  ${file}\n`);
    expect(b.json.deleted).toEqual([]);
    expect(typeof b.json.durationSeconds).toBe('number');
    // The controller reads the same JSON from the termination message.
    expect(JSON.parse(readFileSync(term, 'utf8'))).toEqual(b.json);
    // No temporary file left behind.
    expect(readdirSync(backups).filter((f) => f.includes('partial'))).toEqual([]);

    const target = trackDatabase(uniqueName('bk_restored') + ' New "Target"');
    const r = await runScript(scripts.restore, {
      BACKUP_DIR: backups,
      BACKUP_FILE: 'latest',
      TARGET_DATABASE: target,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ succeeded: true, file, sha256: b.json.sha256, created: true, tables: 4 });

    const before = await tableFingerprints(src);
    expect(Object.keys(before)).toHaveLength(4);
    expect(before['public.plain']?.startsWith('3000:')).toBe(true);
    expect(await tableFingerprints(target)).toEqual(before);

    // A database with tables is not overwritten unless FORCE=1.
    const again = await runScript(scripts.restore, {
      BACKUP_DIR: backups,
      BACKUP_FILE: file,
      TARGET_DATABASE: target,
    });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already has 4 tables; refusing .*FORCE=1/);
    const forced = await runScript(scripts.restore, {
      BACKUP_DIR: backups,
      BACKUP_FILE: file,
      TARGET_DATABASE: target,
      FORCE: '1',
    });
    expect(forced.code, forced.stderr).toBe(0);
    expect(await tableFingerprints(target)).toEqual(before);
  });

  it('a dump that fails verification (truncated) is removed, the run fails and nothing is deleted', async () => {
    const dir = newDir();
    const backups = join(dir, 'backup dir');
    const src = await newDatabase();
    fakeDump(backups, 'shop-20200101T000000Z.dump', 400);
    fakeDump(backups, 'shop-20200102T000000Z.dump', 399);
    const shim = truncatingPgDump(join(dir, 'shim'));
    const before = readdirSync(backups).sort();
    const b = await runScript(scripts.backup, {
      PGDATABASE: src,
      BACKUP_DIR: backups,
      RETENTION_DAYS: '1',
      MIN_KEEP: '1',
      PATH: `${shim}:${PG_BIN}:${process.env.PATH ?? ''}`,
    });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/verification failed/);
    expect(b.json).toMatchObject({ succeeded: false });
    expect(String(b.json.error)).toMatch(/dump discarded \(nothing deleted\)/);
    // The bad dump is gone, no partial is left, and retention did not run.
    expect(readdirSync(backups).sort()).toEqual([...before, '.flashsale-backup.lock'].sort());
  });

  it('restore.sh refuses a dump whose checksum does not match, and one without a checksum', async () => {
    const dir = newDir();
    const backups = join(dir, 'backup dir');
    const src = await newDatabase();
    const b = await runScript(scripts.backup, { PGDATABASE: src, BACKUP_DIR: backups });
    expect(b.code, b.stderr).toBe(0);
    const path = join(backups, b.json.file as string);
    // Flip bytes in the middle of the dump.
    const bytes = readFileSync(path);
    for (let i = 0; i < 16; i++) {
      const at = Math.floor(bytes.length / 2) + i;
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    }
    writeFileSync(path, bytes);

    const target = trackDatabase(uniqueName('bk_never'));
    const r = await runScript(scripts.restore, {
      BACKUP_DIR: backups,
      BACKUP_FILE: 'latest',
      TARGET_DATABASE: target,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/checksum mismatch .*refusing to restore a damaged dump/);
    expect(r.json).toMatchObject({ succeeded: false });
    expect(await databaseExists(target)).toBe(false);

    // Even with a matching (re-computed) checksum, a damaged archive makes pg_restore fail: exit status honoured.
    writeFileSync(`${path}.sha256`, `${sha256File(path)}  ${b.json.file as string}\n`);
    const r2 = await runScript(scripts.restore, {
      BACKUP_DIR: backups,
      BACKUP_FILE: b.json.file as string,
      TARGET_DATABASE: target,
    });
    expect(r2.code).not.toBe(0);
    expect(r2.json).toMatchObject({ succeeded: false });

    // Without a .sha256 beside it, a dump is refused unless REQUIRE_CHECKSUM=0.
    truncateSync(`${path}.sha256`, 0);
    execFileSync('rm', ['-f', `${path}.sha256`]);
    const r3 = await runScript(scripts.restore, {
      BACKUP_DIR: backups,
      BACKUP_FILE: b.json.file as string,
      TARGET_DATABASE: target,
    });
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(/has no .*\.sha256 beside it; refusing/);
  });

  it('retention deletes old dumps but always keeps the newest MIN_KEEP verified ones', async () => {
    const dir = newDir();
    const backups = join(dir, 'backup dir');
    const src = await newDatabase(false);
    for (let d = 40; d >= 36; d--) fakeDump(backups, `shop-2020010${41 - d}T000000Z.dump`, d);
    fakeDump(backups, 'shop-20190101T000000Z.dump', 35, false); // unverified (no .sha256), old
    fakeDump(backups, 'other-20190101T000000Z.dump', 90); // another stack's: never touched
    writeFileSync(join(backups, 'notes with spaces.txt'), 'keep me');

    const b = await runScript(scripts.backup, {
      PGDATABASE: src,
      BACKUP_DIR: backups,
      RETENTION_DAYS: '30',
      MIN_KEEP: '3',
    });
    expect(b.code, b.stderr).toBe(0);
    // Newest first: the new dump, then 36 and 37 days old are the MIN_KEEP=3 verified ones kept.
    expect((b.json.deleted as string[]).sort()).toEqual(
      [
        'shop-20190101T000000Z.dump',
        'shop-20200101T000000Z.dump',
        'shop-20200102T000000Z.dump',
        'shop-20200103T000000Z.dump',
      ].sort(),
    );
    const left = readdirSync(backups)
      .filter((f) => !f.startsWith('.'))
      .sort();
    expect(left).toEqual(
      [
        b.json.file as string,
        `${b.json.file as string}.sha256`,
        'notes with spaces.txt',
        'other-20190101T000000Z.dump',
        'other-20190101T000000Z.dump.sha256',
        'shop-20200104T000000Z.dump',
        'shop-20200104T000000Z.dump.sha256',
        'shop-20200105T000000Z.dump',
        'shop-20200105T000000Z.dump.sha256',
      ].sort(),
    );

    // All dumps older than RETENTION_DAYS (0 days) except the new one: still the newest MIN_KEEP stay.
    const b2 = await runScript(scripts.backup, {
      PGDATABASE: src,
      BACKUP_DIR: backups,
      RETENTION_DAYS: '0',
      MIN_KEEP: '3',
    });
    expect(b2.code, b2.stderr).toBe(0);
    expect(b2.json.deleted).toEqual(['shop-20200104T000000Z.dump']);
    const shop = readdirSync(backups).filter((f) => f.startsWith('shop-') && f.endsWith('.dump'));
    expect(shop.sort()).toEqual(
      [b.json.file as string, b2.json.file as string, 'shop-20200105T000000Z.dump'].sort(),
    );
  });

  it('PostgreSQL unreachable: non-zero exit with a clear message, nothing deleted', async () => {
    const dir = newDir();
    const backups = join(dir, 'backup dir');
    fakeDump(backups, 'shop-20200101T000000Z.dump', 100);
    fakeDump(backups, 'shop-20200102T000000Z.dump', 99);
    const before = readdirSync(backups).sort();
    const port = await closedPort();
    const b = await runScript(scripts.backup, {
      PGDATABASE: 'postgres',
      PGPORT: String(port),
      BACKUP_DIR: backups,
      RETENTION_DAYS: '1',
      MIN_KEEP: '1',
    });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain(
      `pg_dump of database 'postgres' at 127.0.0.1:${port} failed (nothing deleted)`,
    );
    expect(b.stderr).toMatch(/Connection refused|could not connect|connection to server/);
    expect(b.json).toMatchObject({ tool: 'backup', succeeded: false });
    expect(readdirSync(backups).sort()).toEqual([...before, '.flashsale-backup.lock'].sort());

    const r = await runScript(scripts.restore, {
      PGPORT: String(port),
      BACKUP_DIR: backups,
      BACKUP_FILE: 'shop-20200101T000000Z.dump',
      TARGET_DATABASE: 'x',
      REQUIRE_CHECKSUM: '1',
    });
    // The fake dump is not an archive: refused before any connection is attempted.
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/not a readable pg_dump custom-format archive/);
  });

  it('two runs never overlap: a held lock makes the second fail fast without touching anything', async () => {
    const dir = newDir();
    const backups = join(dir, 'backup dir');
    const src = await newDatabase(false);
    fakeDump(backups, 'shop-20200101T000000Z.dump', 100);
    const lock = join(backups, '.flashsale-backup.lock');
    writeFileSync(lock, '');
    // Hold the lock from another process for the duration of the run.
    const holder = execFileSync('bash', ['-c', `flock -n "${lock}" sleep 5 >/dev/null 2>&1 & echo $!`], {
      encoding: 'utf8',
    }).trim();
    cleanups.push(() => {
      try {
        process.kill(Number(holder));
      } catch {
        // already gone
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    const b = await runScript(scripts.backup, {
      PGDATABASE: src,
      BACKUP_DIR: backups,
      RETENTION_DAYS: '1',
      MIN_KEEP: '1',
    });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/another backup or restore is running/);
    expect(readdirSync(backups).sort()).toEqual([
      '.flashsale-backup.lock',
      'shop-20200101T000000Z.dump',
      'shop-20200101T000000Z.dump.sha256',
    ]);
    expect(existsSync(join(backups, 'shop-20200101T000000Z.dump'))).toBe(true);
  });
});
