/** Every script render ships (backup-scripts ConfigMap, and the PITR scripts of PostgreSQL's) passes shellcheck. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveWalScript, pitrRestoreScript } from '../../src/backup/pitr-scripts.js';
import { backupScriptsData } from '../../src/render/backup.js';

describe('rendered shell scripts', () => {
  const scripts = {
    ...backupScriptsData(),
    'archive-wal.sh': archiveWalScript(),
    'pitr-restore.sh': pitrRestoreScript(),
  };
  it.each(Object.keys(scripts))('%s passes shellcheck', (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'fso-shellcheck-'));
    try {
      const file = join(dir, name);
      writeFileSync(file, scripts[name as keyof typeof scripts]!);
      const r = spawnSync('shellcheck', ['--shell=bash', file], { encoding: 'utf8' });
      expect(r.error).toBeUndefined();
      expect(r.stdout, r.stdout).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a script shellcheck objects to is reported (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fso-shellcheck-'));
    try {
      const file = join(dir, 'bad.sh');
      writeFileSync(file, '#!/usr/bin/env bash\nrm -rf $1/*\n');
      expect(spawnSync('shellcheck', [file], { encoding: 'utf8' }).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
