/**
 * The password path, proven on a private PostgreSQL 15 that demands SCRAM (the shared one trusts 127.0.0.1):
 * a password full of shell-special characters is read from PGPASSWORD_FILE into a 0600 pgpass file, the dump
 * succeeds, a wrong password fails, and the password never shows in `ps` output or in stdout/stderr.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderedScripts, runScript } from './helpers.js';
import { PrivatePostgres } from '../support/processes.js';

const PASSWORD = `p@ss:w\\o"rd $'x' \`id\` ;|&*?{}!#%^~<>`;

describe('password from the Secret file, on a SCRAM-only PostgreSQL', () => {
  const server = new PrivatePostgres('fso-backup-scram-');
  const dir = server.dir;
  let scripts: ReturnType<typeof renderedScripts>;

  beforeAll(async () => {
    scripts = renderedScripts(dir);
    await server.start({ superuser: 'bk_admin', password: PASSWORD });
  }, 60_000);

  afterAll(() => server.stop());

  it('backs up with the right password, never exposing it; a wrong one fails', async () => {
    const secretDir = join(dir, 'secret');
    mkdirSync(secretDir);
    // As a Kubernetes Secret volume file: the bare value, no trailing newline.
    writeFileSync(join(secretDir, 'password'), PASSWORD);
    const backups = join(dir, 'backups');
    const tmp = join(dir, 'tmp');
    mkdirSync(backups);
    mkdirSync(tmp);

    const seen = { ps: [] as string[], pgpass: [] as { mode: number; content: string }[] };
    let running = true;
    const sampler = (async () => {
      while (running) {
        try {
          seen.ps.push(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }));
        } catch {
          // ps raced with exiting processes
        }
        for (const d of readdirSync(tmp)) {
          try {
            const f = join(tmp, d, 'pgpass');
            seen.pgpass.push({ mode: statSync(f).mode & 0o777, content: readFileSync(f, 'utf8') });
          } catch {
            // not there yet / already removed
          }
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const b = await runScript(scripts.backup, {
      PGHOST: '127.0.0.1',
      PGPORT: String(server.port),
      PGUSER: 'bk_admin',
      PGDATABASE: 'postgres',
      PGPASSWORD_FILE: join(secretDir, 'password'),
      BACKUP_DIR: backups,
      TMPDIR: tmp,
    });
    running = false;
    await sampler;

    expect(b.code, b.stderr).toBe(0);
    expect(b.json).toMatchObject({ succeeded: true });
    expect(seen.ps.length).toBeGreaterThan(0);
    for (const out of seen.ps) expect(out).not.toContain(PASSWORD);
    expect(b.stdout).not.toContain(PASSWORD);
    expect(b.stderr).not.toContain(PASSWORD);
    // The pgpass file the script built: private, with ':' and '\' escaped as libpq requires.
    expect(seen.pgpass.length).toBeGreaterThan(0);
    const escaped = PASSWORD.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
    for (const p of seen.pgpass) {
      expect(p.mode).toBe(0o600);
      if (p.content !== '') expect(p.content).toBe(`*:*:*:*:${escaped}\n`);
    }
    // ...and removed afterwards.
    expect(readdirSync(tmp)).toEqual([]);

    writeFileSync(join(secretDir, 'password'), `${PASSWORD}-wrong`);
    const bad = await runScript(scripts.backup, {
      PGHOST: '127.0.0.1',
      PGPORT: String(server.port),
      PGUSER: 'bk_admin',
      PGDATABASE: 'postgres',
      PGPASSWORD_FILE: join(secretDir, 'password'),
      BACKUP_DIR: backups,
      TMPDIR: tmp,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/password authentication failed/);
    expect(bad.stderr).not.toContain(PASSWORD);
    expect(bad.stdout).not.toContain(PASSWORD);
  });
});
