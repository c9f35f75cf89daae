/**
 * basebackup.sh's termination message is what backup/status.ts reads: the rendered script runs against a
 * private PostgreSQL 15 (SCRAM, so the password comes from PGPASSWORD_FILE as in the pod), writes its result to
 * TERMINATION_LOG, and that text, as a terminated container's message, becomes status.lastSuccessfulBaseBackup
 * or a BaseBackupFailed condition.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseBackupScript } from '../../src/backup/pitr-scripts.js';
import { baseBackupStatusFromJobs, type ObjectLike } from '../../src/backup/status.js';
import { chownToPostgres, PG15_BIN, PrivatePostgres } from '../support/processes.js';

const root = process.getuid?.() === 0;
const PASSWORD = 'bb-Pw:s3cret\\word';

describe('basebackup.sh termination message → base-backup status', () => {
  const server = new PrivatePostgres('fso-bbstatus-');
  const pitrDir = join(server.dir, 'pitr');
  const script = join(server.dir, 'basebackup.sh');

  /** Runs basebackup.sh as the server's OS user with a fresh termination log; returns that log's text. */
  function run(passwordFile: string): { code: number; message: string; err: string } {
    const log = join(server.dir, `termination-${Date.now()}`);
    writeFileSync(log, '');
    chownToPostgres(log);
    const cmd = root ? 'runuser' : 'bash';
    const r = spawnSync(cmd, root ? ['-u', 'postgres', '--', 'bash', script] : [script], {
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${PG15_BIN}:${process.env.PATH}`,
        PGHOST: '127.0.0.1',
        PGPORT: String(server.port),
        PGUSER: 'postgres',
        PGPASSWORD_FILE: passwordFile,
        PITR_DIR: pitrDir,
        STACK: 'shop',
        TMPDIR: server.dir,
        TERMINATION_LOG: log,
      },
    });
    return { code: r.status ?? 1, message: readFileSync(log, 'utf8'), err: r.stderr };
  }

  function passwordFile(name: string, content: string): string {
    const f = join(server.dir, name);
    writeFileSync(f, content, { mode: 0o600 });
    chownToPostgres(f);
    return f;
  }

  /** The finished Job and its terminated pod, as the cluster would show them. */
  function finished(name: string, ok: boolean, message: string, at: string): ObjectLike[] {
    const job: ObjectLike = {
      metadata: { name, labels: { 'app.kubernetes.io/component': 'basebackup' } },
      status: {
        startTime: at,
        ...(ok ? { completionTime: at, succeeded: 1 } : { failed: 1 }),
        conditions: [{ type: ok ? 'Complete' : 'Failed', status: 'True', lastTransitionTime: at }],
      },
    };
    const pod: ObjectLike = {
      metadata: { name: `${name}-x`, labels: { 'job-name': name }, creationTimestamp: at },
      status: {
        containerStatuses: [{ name: 'backup', state: { terminated: { exitCode: ok ? 0 : 1, message } } }],
      },
    };
    return [job, pod];
  }

  beforeAll(async () => {
    mkdirSync(pitrDir);
    writeFileSync(script, baseBackupScript());
    chownToPostgres(pitrDir, script);
    await server.start({ password: PASSWORD });
  }, 60_000);
  afterAll(() => server.stop());

  it('a successful run gives file, bytes and the start of the recovery window', () => {
    const r = run(passwordFile('pw', `${PASSWORD}\n`));
    expect(r.code, r.err).toBe(0);
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const [job, pod] = finished('shop-basebackup-1', true, r.message, at);
    const s = baseBackupStatusFromJobs([job!], '30 1 * * *', new Date(), { pods: [pod!] });
    expect(s).toMatchObject({ status: 'True', reason: 'BackupSucceeded' });
    const record = s.lastSuccessfulBaseBackup!;
    expect(record.file).toMatch(/^base\/shop-\d{8}T\d{6}Z$/);
    expect(existsSync(join(pitrDir, record.file!, 'data', 'PG_VERSION'))).toBe(true);
    expect(record.bytes).toBeGreaterThan(1_000_000);
    // The only base backup kept: the window starts where it ended (backup.env's END_TIME).
    const env = readFileSync(join(pitrDir, record.file!, 'backup.env'), 'utf8');
    const end = Number(/^END_TIME=(\d+)$/m.exec(env)![1]);
    expect(record.restorableFrom).toBe(new Date(end * 1000).toISOString().replace('.000Z', 'Z'));
    expect(r.message).not.toContain(PASSWORD);
  });

  it('a refused connection is BaseBackupFailed with pg_basebackup’s error and no password', () => {
    const wrong = 'not-the-Pw-7781';
    const r = run(passwordFile('wrong', wrong));
    expect(r.code).toBe(1);
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const [job, pod] = finished('shop-basebackup-2', false, r.message, at);
    const s = baseBackupStatusFromJobs([job!], '30 1 * * *', new Date(), { pods: [pod!] });
    expect(s).toMatchObject({ status: 'False', reason: 'BaseBackupFailed' });
    expect(s.message).toContain('Job shop-basebackup-2');
    expect(s.message).toMatch(/pg_basebackup from 127\.0\.0\.1:\d+ failed .*password authentication failed/);
    expect(s.message).not.toContain(wrong);
    expect(s.message).not.toContain(PASSWORD);
  });
});
