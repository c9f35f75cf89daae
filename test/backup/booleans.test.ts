/**
 * The scripts' boolean settings (VERIFY, FORCE, REQUIRE_CHECKSUM, SKIP_IF_RESTORED) take the usual spellings —
 * VERIFY=true runs the full verification exactly like VERIFY=1 — and refuse anything else, before touching
 * anything (VERIFY=true used to skip the full read silently).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  PG_BIN,
  removeDir,
  renderedScripts,
  runScript,
  seedDatabase,
  tempDir,
  truncatingPgDump,
  uniqueName,
} from './helpers.js';

let dir: string;
let scripts: ReturnType<typeof renderedScripts>;
let source: string;
let shim: string;
const databases: string[] = [];

beforeAll(async () => {
  dir = tempDir('fso-booleans-');
  scripts = renderedScripts(dir);
  source = uniqueName('bk_bool');
  databases.push(source);
  await createDatabase(source);
  await seedDatabase(source);
  shim = truncatingPgDump(join(dir, 'shim'));
});
afterAll(async () => {
  for (const db of databases) await dropDatabase(db);
  removeDir(dir);
});

function backupsDir(): string {
  const d = join(dir, uniqueName('backups'));
  mkdirSync(d);
  return d;
}

const truncatedBackup = (verify: string, backups = backupsDir()) =>
  runScript(scripts.backup, {
    PGDATABASE: source,
    BACKUP_DIR: backups,
    VERIFY: verify,
    PATH: `${shim}:${PG_BIN}:${process.env.PATH ?? ''}`,
  });

describe('boolean settings of backup.sh and restore.sh', () => {
  it.each(['true', 'Yes', 'ON', '1'])(
    'VERIFY=%s reads every data block and refuses a truncated dump',
    async (v) => {
      const r = await truncatedBackup(v);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/verifying every data block/);
      expect(r.json).toMatchObject({ succeeded: false });
      expect(String(r.json.error)).toMatch(/the dump's data cannot be read back; dump discarded/);
    },
  );

  it.each(['false', 'No', 'OFF', '0'])('VERIFY=%s checks the table of contents only', async (v) => {
    const r = await truncatedBackup(v);
    expect(r.stderr).not.toMatch(/verifying every data block/);
    expect(r.json).toMatchObject({ succeeded: true }); // the weaker check this setting asks for
  });

  it.each(['maybe', 'y', '2', 'enabled'])('VERIFY=%s is refused before anything is dumped', async (v) => {
    const backups = backupsDir();
    const r = await truncatedBackup(v, backups);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({
      succeeded: false,
      error: `VERIFY must be a boolean (1, true, yes, on or 0, false, no, off), got '${v}'`,
    });
    expect(readdirSync(backups)).toEqual([]);
  });

  it('restore.sh reads FORCE and REQUIRE_CHECKSUM the same way', async () => {
    const backups = backupsDir();
    const good = await runScript(scripts.backup, { PGDATABASE: source, BACKUP_DIR: backups, VERIFY: 'yes' });
    expect(good.code, good.stderr).toBe(0);
    const target = uniqueName('bk_bool_target');
    databases.push(target);
    const restore = (env: Record<string, string>) =>
      runScript(scripts.restore, {
        BACKUP_DIR: backups,
        BACKUP_FILE: 'latest',
        TARGET_DATABASE: target,
        ...env,
      });
    expect((await restore({})).code).toBe(0);
    const refused = await restore({ FORCE: 'no' });
    expect(refused.code).toBe(1);
    expect(String(refused.json.error)).toMatch(/already has \d+ tables; refusing/);
    const forced = await restore({ FORCE: 'True' });
    expect(forced.code, forced.stderr).toBe(0);
    const bad = await restore({ FORCE: 'please', REQUIRE_CHECKSUM: 'off' });
    expect(bad.json).toMatchObject({
      succeeded: false,
      error: "FORCE must be a boolean (1, true, yes, on or 0, false, no, off), got 'please'",
    });
    const badChecksum = await restore({ REQUIRE_CHECKSUM: 'sometimes' });
    expect(String(badChecksum.json.error)).toBe(
      "REQUIRE_CHECKSUM must be a boolean (1, true, yes, on or 0, false, no, off), got 'sometimes'",
    );
  });
});
