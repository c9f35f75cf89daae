/** `flash-sale-operator backup drill` against the real PostgreSQL: a matching restore, then a drifted source. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { backupCommand, type DrillReport } from '../../src/cli/commands/backup.js';
import {
  createDatabase,
  databaseExists,
  dropDatabase,
  removeDir,
  renderedScripts,
  runScript,
  seedDatabase,
  tempDir,
  uniqueName,
  withClient,
} from './helpers.js';

describe('backup drill', () => {
  const dir = tempDir('fso-drill-test-');
  const db = uniqueName('bk_drill');
  afterAll(async () => {
    await dropDatabase(db);
    removeDir(dir);
  });

  it('restores the newest dump into a scratch database, compares row counts, drops it', async () => {
    await createDatabase(db);
    await seedDatabase(db);
    const backups = join(dir, 'dumps');
    mkdirSync(backups);
    const scripts = renderedScripts(dir);
    const b = await runScript(scripts.backup, { PGDATABASE: db, BACKUP_DIR: backups });
    expect(b.code, b.stderr).toBe(0);

    const run = async (): Promise<{ code: number; report: DrillReport; err: string }> => {
      let out = '';
      let err = '';
      const code = await backupCommand.run(
        [
          'drill',
          '--backup-dir',
          backups,
          '--stack',
          'shop',
          '--postgres',
          `postgres://postgres@127.0.0.1:5432/${db}`,
          '--json',
        ],
        { stdout: (t) => (out += t), stderr: (t) => (err += t) },
      );
      return { code, report: JSON.parse(out) as DrillReport, err };
    };
    const ok = await run();
    expect(ok.code, ok.err).toBe(0);
    expect(ok.report.ok).toBe(true);
    expect(ok.report.file).toBe(b.json.file);
    expect(ok.report.tables).toHaveLength(4);
    expect(ok.report.tables.find((t) => t.table === 'public.plain')).toEqual({
      table: 'public.plain',
      source: 3000,
      restored: 3000,
      match: true,
    });
    expect(await databaseExists(ok.report.scratchDatabase)).toBe(false);

    // The source moved on since the dump: the drill reports the difference and fails.
    await withClient(db, (c) => c.query('INSERT INTO public.plain VALUES (100001, $1)', ['late']));
    const drift = await run();
    expect(drift.code).toBe(1);
    expect(drift.report.tables.find((t) => t.table === 'public.plain')).toMatchObject({
      source: 3001,
      restored: 3000,
      match: false,
    });
    expect(await databaseExists(drift.report.scratchDatabase)).toBe(false);
  });

  it('usage errors name the missing flag', async () => {
    await expect(
      backupCommand.run(['drill', '--stack', 'shop'], { stdout: () => {}, stderr: () => {} }),
    ).rejects.toThrow(/--backup-dir is required/);
    await expect(backupCommand.run(['nope'], { stdout: () => {}, stderr: () => {} })).rejects.toThrow(
      /drill/,
    );
  });
});
