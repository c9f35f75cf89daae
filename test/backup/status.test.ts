/** Pure backup status logic, cron arithmetic, and the shapes of the rendered backup objects. */
import { describe, expect, it } from 'vitest';
import {
  CronError,
  nextRun,
  parseCron,
  previousRun,
  scheduleIntervalSeconds,
} from '../../src/backup/cron.js';
import {
  backupStatus,
  backupStatusFromJobs,
  baseBackupStatusFromJobs,
  type ObjectLike,
} from '../../src/backup/status.js';
import { backupNowJobName, renderBackup, renderBackupNowJob } from '../../src/render/backup.js';
import type { KubeObject } from '../../src/render/common.js';
import { inputs, stackOf } from '../golden/fixtures.js';

function job(
  name: string,
  outcome: 'Complete' | 'Failed' | 'Running',
  startedAt: string,
  completedAt?: string,
): ObjectLike {
  const conditions =
    outcome === 'Running'
      ? []
      : [{ type: outcome, status: 'True', lastTransitionTime: completedAt ?? startedAt }];
  return {
    metadata: { name, labels: { 'app.kubernetes.io/component': 'backup' } },
    status: {
      startTime: startedAt,
      ...(outcome === 'Complete' ? { completionTime: completedAt, succeeded: 1 } : {}),
      ...(outcome === 'Failed' ? { failed: 3 } : {}),
      conditions,
    },
  };
}

function pod(jobName: string, message: string, created = '2025-01-01T00:00:00Z'): ObjectLike {
  return {
    metadata: {
      name: `${jobName}-x`,
      labels: { 'batch.kubernetes.io/job-name': jobName },
      creationTimestamp: created,
    },
    status: { containerStatuses: [{ name: 'backup', state: { terminated: { exitCode: 0, message } } }] },
  };
}

describe('cron', () => {
  it('computes next and previous runs and the interval around now', () => {
    const now = new Date('2025-03-12T10:17:30Z'); // a Wednesday
    expect(nextRun('0 2 * * *', now)?.toISOString()).toBe('2025-03-13T02:00:00.000Z');
    expect(previousRun('0 2 * * *', now)?.toISOString()).toBe('2025-03-12T02:00:00.000Z');
    expect(scheduleIntervalSeconds('0 2 * * *', now)).toBe(86_400);
    expect(scheduleIntervalSeconds('*/15 * * * *', now)).toBe(900);
    expect(scheduleIntervalSeconds('@hourly', now)).toBe(3600);
    // Weekdays only: over the weekend the gap is three days.
    expect(scheduleIntervalSeconds('0 2 * * mon-fri', new Date('2025-03-15T12:00:00Z'))).toBe(3 * 86_400);
    expect(scheduleIntervalSeconds('0 2 * * 1-5', now)).toBe(86_400);
    // Both day fields restricted: either matches (1st of the month or Sundays).
    expect(nextRun('0 0 1 * 0', new Date('2025-03-01T00:00:00Z'))?.toISOString()).toBe(
      '2025-03-02T00:00:00.000Z',
    );
    expect(nextRun('0 0 29 2 *', now)?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
    expect(nextRun('0 0 30 2 *', now)).toBeUndefined();
  });

  it('names the bad field', () => {
    expect(() => parseCron('0 25 * * *')).toThrow(CronError);
    expect(() => parseCron('0 25 * * *')).toThrow(/hour/);
    expect(() => parseCron('0 2 * *')).toThrow(/5 fields/);
    expect(() => parseCron('x 2 * * *')).toThrow(/minute/);
  });
});

describe('backupStatusFromJobs', () => {
  const schedule = '0 2 * * *';
  const now = new Date('2025-03-12T10:00:00Z');

  it('no backup yet: Unknown while young, False when the stack is older than 2 × the interval', () => {
    const young = backupStatusFromJobs([], schedule, now, { createdAt: '2025-03-12T09:00:00Z' });
    expect(young.condition).toMatchObject({ status: 'Unknown', reason: 'NoBackupYet' });
    expect(young.lastBackup).toBeUndefined();
    const old = backupStatusFromJobs([], schedule, now, { createdAt: '2025-03-01T00:00:00Z' });
    expect(old.condition).toMatchObject({ status: 'False', reason: 'NoBackupYet' });
  });

  it('a failed run → False/BackupFailed with the script error; a later success → True with file and bytes', () => {
    const failed = job('shop-backup-1', 'Failed', '2025-03-12T02:00:00Z', '2025-03-12T02:03:00Z');
    const failPod = pod(
      'shop-backup-1',
      '{"tool":"backup","succeeded":false,"error":"pg_dump failed: connection refused"}',
    );
    const s1 = backupStatusFromJobs([failed], schedule, now, { pods: [failPod] });
    expect(s1.condition).toMatchObject({ type: 'BackupHealthy', status: 'False', reason: 'BackupFailed' });
    expect(s1.condition.message).toContain('shop-backup-1');
    expect(s1.condition.message).toContain('connection refused');
    expect(s1.lastBackup).toEqual({
      job: 'shop-backup-1',
      succeeded: false,
      startedAt: '2025-03-12T02:00:00Z',
      completedAt: '2025-03-12T02:03:00Z',
    });
    expect(s1.lastSuccessfulBackup).toBeUndefined();

    const ok = job('shop-backup-now-abc', 'Complete', '2025-03-12T09:00:00Z', '2025-03-12T09:01:00Z');
    const okPod = pod(
      'shop-backup-now-abc',
      '{"tool":"backup","succeeded":true,"file":"shop-20250312T090000Z.dump","bytes":12345,"deleted":[]}',
    );
    const s2 = backupStatusFromJobs([failed, ok], schedule, now, { pods: [failPod, okPod] });
    expect(s2.condition).toMatchObject({ status: 'True', reason: 'BackupSucceeded' });
    expect(s2.lastBackup).toEqual({
      job: 'shop-backup-now-abc',
      succeeded: true,
      startedAt: '2025-03-12T09:00:00Z',
      completedAt: '2025-03-12T09:01:00Z',
      file: 'shop-20250312T090000Z.dump',
      bytes: 12345,
    });
    expect(s2.lastSuccessfulBackup).toEqual(s2.lastBackup);
  });

  it('an old success → False/NoRecentBackup; running Jobs do not count', () => {
    const ok = job('shop-backup-1', 'Complete', '2025-03-09T02:00:00Z', '2025-03-09T02:01:00Z');
    const running = job('shop-backup-2', 'Running', '2025-03-12T02:00:00Z');
    const s = backupStatusFromJobs([ok, running], schedule, now);
    expect(s.condition).toMatchObject({ status: 'False', reason: 'NoRecentBackup' });
    expect(s.condition.message).toContain('2d');
    expect(s.lastBackup?.job).toBe('shop-backup-1');
    // Within 2 days it is fine.
    expect(backupStatusFromJobs([ok], schedule, new Date('2025-03-10T12:00:00Z')).condition.status).toBe(
      'True',
    );
  });

  it('keeps the previous records when their Jobs are gone (history limits)', () => {
    const previous = {
      lastBackup: { job: 'gone-2', succeeded: false, completedAt: '2025-03-12T02:05:00Z' },
      lastSuccessfulBackup: {
        job: 'gone-1',
        succeeded: true,
        completedAt: '2025-03-11T02:05:00Z',
        file: 'f.dump',
        bytes: 9,
      },
    };
    const s = backupStatusFromJobs([], schedule, now, { previous });
    expect(s.lastBackup).toEqual(previous.lastBackup);
    expect(s.lastSuccessfulBackup).toEqual(previous.lastSuccessfulBackup);
    expect(s.condition.reason).toBe('BackupFailed');
  });

  it('an invalid schedule is reported, not thrown', () => {
    expect(backupStatusFromJobs([], '61 * * * *', now).condition).toMatchObject({
      status: 'False',
      reason: 'InvalidSchedule',
    });
  });

  it('backupStatus(jobs, stack, now) reads schedule, previous status and creation time from the stack', () => {
    const stack = stackOf({ backup: { schedule: '0 */6 * * *' } });
    stack.metadata.creationTimestamp = '2025-03-01T00:00:00Z';
    const ok = job('j', 'Complete', '2025-03-11T20:00:00Z', '2025-03-11T20:01:00Z');
    // 14 h old, schedule every 6 h → older than 12 h.
    expect(backupStatus([ok], stack, now).condition.reason).toBe('NoRecentBackup');
    expect(backupStatus([], stack, now).condition).toMatchObject({ status: 'False', reason: 'NoBackupYet' });
  });
});

/** A Job of the base-backup CronJob (render labels its jobTemplate with component `basebackup`). */
function baseJob(...args: Parameters<typeof job>): ObjectLike {
  const j = job(...args);
  j.metadata.labels = { 'app.kubernetes.io/component': 'basebackup' };
  return j;
}

describe('base backups of spec.backup.pitr in BackupHealthy', () => {
  const schedule = '30 1 * * *';
  const now = new Date('2025-03-12T10:00:00Z');
  const okMessage = JSON.stringify({
    tool: 'basebackup',
    succeeded: true,
    file: 'base/shop-20250312T013000Z',
    bytes: 41_000_000,
    restorableFrom: '2025-03-05T01:31:10Z',
  });

  it('a successful base backup gives its file, size and the start of the recovery window', () => {
    const ok = baseJob('shop-basebackup-1', 'Complete', '2025-03-12T01:30:00Z', '2025-03-12T01:31:10Z');
    const s = baseBackupStatusFromJobs([ok], schedule, now, { pods: [pod('shop-basebackup-1', okMessage)] });
    expect(s).toMatchObject({ status: 'True', reason: 'BackupSucceeded' });
    expect(s.lastSuccessfulBaseBackup).toEqual({
      job: 'shop-basebackup-1',
      succeeded: true,
      startedAt: '2025-03-12T01:30:00Z',
      completedAt: '2025-03-12T01:31:10Z',
      file: 'base/shop-20250312T013000Z',
      bytes: 41_000_000,
      restorableFrom: '2025-03-05T01:31:10Z',
    });
    expect(s.message).toContain('2025-03-05T01:31:10Z');
  });

  it('a failed newest base backup is BaseBackupFailed with the script error, after an older success', () => {
    const ok = baseJob('bb-1', 'Complete', '2025-03-11T01:30:00Z', '2025-03-11T01:31:00Z');
    const bad = baseJob('bb-2', 'Failed', '2025-03-12T01:30:00Z', '2025-03-12T01:30:20Z');
    const error = 'pg_basebackup from shop-postgres:5432 failed (nothing deleted): no pg_hba.conf entry';
    const s = baseBackupStatusFromJobs([ok, bad], schedule, now, {
      pods: [
        pod('bb-1', okMessage),
        pod('bb-2', JSON.stringify({ tool: 'basebackup', succeeded: false, error })),
      ],
    });
    expect(s).toMatchObject({ status: 'False', reason: 'BaseBackupFailed' });
    expect(s.message).toContain('Job bb-2');
    expect(s.message).toContain(error);
    expect(s.message).toContain('2025-03-11T01:31:00Z');
    // The last success stays the recovery window's record.
    expect(s.lastSuccessfulBaseBackup?.job).toBe('bb-1');
  });

  it('no successful base backup within 2 × the schedule interval is NoRecentBaseBackup', () => {
    const old = baseJob('bb-1', 'Complete', '2025-03-09T01:30:00Z', '2025-03-09T01:31:00Z');
    expect(baseBackupStatusFromJobs([old], schedule, now)).toMatchObject({
      status: 'False',
      reason: 'NoRecentBaseBackup',
    });
    // Within 48 h of a daily schedule it is still fine.
    expect(baseBackupStatusFromJobs([old], schedule, new Date('2025-03-10T20:00:00Z')).status).toBe('True');
    // Never one: Unknown on a young stack, NoRecentBaseBackup once it is older than 2 × the interval.
    expect(baseBackupStatusFromJobs([], schedule, now, { createdAt: '2025-03-11T12:00:00Z' })).toMatchObject({
      status: 'Unknown',
      reason: 'NoBackupYet',
    });
    expect(baseBackupStatusFromJobs([], schedule, now, { createdAt: '2025-03-01T00:00:00Z' })).toMatchObject({
      status: 'False',
      reason: 'NoRecentBaseBackup',
    });
  });

  it('the previous lastSuccessfulBaseBackup survives its Job being garbage-collected', () => {
    const previous = {
      job: 'bb-gone',
      succeeded: true,
      completedAt: '2025-03-12T01:31:00Z',
      file: 'base/shop-20250312T013000Z',
      restorableFrom: '2025-03-05T01:31:10Z',
    };
    const s = baseBackupStatusFromJobs([], schedule, now, {
      previous: { lastBaseBackup: previous, lastSuccessfulBaseBackup: previous },
    });
    expect(s.status).toBe('True');
    expect(s.lastSuccessfulBaseBackup).toEqual(previous);
    // A remembered failure newer than the success still counts once its Job is gone.
    const failure = { job: 'bb-failed-gone', succeeded: false, completedAt: '2025-03-12T03:00:00Z' };
    const f = baseBackupStatusFromJobs([], schedule, now, {
      previous: { lastBaseBackup: failure, lastSuccessfulBaseBackup: previous },
    });
    expect(f).toMatchObject({ status: 'False', reason: 'BaseBackupFailed', lastBaseBackup: failure });
  });

  it('dump Jobs do not count as base backups, nor base backups as dumps', () => {
    const dump = job('shop-backup-1', 'Complete', '2025-03-12T02:00:00Z', '2025-03-12T02:01:00Z');
    const base = baseJob('bb-1', 'Failed', '2025-03-12T01:30:00Z', '2025-03-12T01:30:20Z');
    expect(
      baseBackupStatusFromJobs([dump], schedule, now, { createdAt: '2025-03-12T00:00:00Z' }).status,
    ).toBe('Unknown');
    const dumps = backupStatusFromJobs([dump, base], '0 2 * * *', now);
    expect(dumps.condition.reason).toBe('BackupSucceeded');
    expect(dumps.lastBackup?.job).toBe('shop-backup-1');
  });

  it('backupStatus: a failed base backup makes BackupHealthy False while the dumps succeed; the dumps keep their semantics', () => {
    const stack = stackOf({ backup: { pitr: { enabled: true } } });
    stack.metadata.creationTimestamp = '2025-03-01T00:00:00Z';
    const dump = job('shop-backup-1', 'Complete', '2025-03-12T02:00:00Z', '2025-03-12T02:01:00Z');
    const bad = baseJob('bb-2', 'Failed', '2025-03-12T01:30:00Z', '2025-03-12T01:30:20Z');
    const failed = backupStatus([dump, bad], stack, now);
    expect(failed.condition).toMatchObject({ status: 'False', reason: 'BaseBackupFailed' });
    expect(failed.lastSuccessfulBackup?.job).toBe('shop-backup-1');

    const good = baseJob('bb-3', 'Complete', '2025-03-12T03:00:00Z', '2025-03-12T03:01:00Z');
    const healthy = backupStatus([dump, bad, good], stack, now, [pod('bb-3', okMessage)]);
    expect(healthy.condition).toMatchObject({ status: 'True', reason: 'BackupSucceeded' });
    expect(healthy.condition.message).toContain('Backup Job shop-backup-1');
    expect(healthy.condition.message).toContain('Base backup Job bb-3 wrote base/shop-20250312T013000Z');
    expect(healthy.lastSuccessfulBaseBackup?.restorableFrom).toBe('2025-03-05T01:31:10Z');

    // A failing dump keeps its own reason; the base backup's failure is added to its message.
    const badDump = job('shop-backup-2', 'Failed', '2025-03-12T04:00:00Z', '2025-03-12T04:00:30Z');
    const both = backupStatus([dump, badDump, bad], stack, now);
    expect(both.condition.reason).toBe('BackupFailed');
    expect(both.condition.message).toContain('The last base backup (Job bb-2) failed');

    // Without PITR the base-backup Jobs are not judged at all.
    const plain = stackOf({});
    plain.metadata.creationTimestamp = '2025-03-01T00:00:00Z';
    expect(backupStatus([dump, bad], plain, now).condition.reason).toBe('BackupSucceeded');
    expect(backupStatus([dump, bad], plain, now).lastSuccessfulBaseBackup).toBeUndefined();
  });

  it('backupStatus with PITR but dumps off judges the base backups alone', () => {
    const stack = stackOf({ backup: { enabled: false, pitr: { enabled: true } } });
    stack.metadata.creationTimestamp = '2025-03-01T00:00:00Z';
    expect(backupStatus([], stack, now).condition).toMatchObject({
      status: 'False',
      reason: 'NoRecentBaseBackup',
    });
    const ok = baseJob('bb-1', 'Complete', '2025-03-12T01:30:00Z', '2025-03-12T01:31:10Z');
    const s = backupStatus([ok], stack, now, [pod('bb-1', okMessage)]);
    expect(s.condition).toMatchObject({ status: 'True', reason: 'BackupSucceeded' });
    expect(s.lastBackup).toBeUndefined();
  });
});

describe('rendered backup objects', () => {
  const stack = stackOf({
    postgres: {
      maintenance: { schedule: '30 3 * * *' },
      bootstrap: { fromBackup: { claimName: 'old-shop-backup', file: 'shop-20250101T020000Z.dump' } },
    },
  });
  const objects = renderBackup(stack, inputs());
  const byName = (kind: string, name: string): KubeObject => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`no ${kind}/${name}`);
    return o;
  };

  it('validates against the Kubernetes schemas', async () => {
    const failures: string[] = [];
    const all = [...objects, renderBackupNowJob(stack, inputs(), 'now-1')];
    for (const o of all) {
      const mod = (await import(`kubernetes-models/${o.apiVersion}`)) as Record<
        string,
        new (d: unknown) => { validate(): void }
      >;
      const Model = mod[o.kind];
      if (!Model) throw new Error(`no model for ${o.kind}`);
      try {
        new Model(o).validate();
      } catch (e) {
        failures.push(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(all.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/shop-backup-scripts',
        'CronJob/shop-backup',
        'CronJob/shop-maintenance',
        'Job/shop-bootstrap',
        `Job/${backupNowJobName(stack, 'now-1')}`,
        'PersistentVolumeClaim/shop-backup',
      ].sort(),
    );
  });

  it('the CronJob: Forbid, deadlines, history limits, restricted uid 999, password only as a file', () => {
    const cj = byName('CronJob', 'shop-backup') as unknown as { spec: Record<string, any> };
    expect(cj.spec).toMatchObject({
      schedule: '0 2 * * *',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    const jobSpec = cj.spec.jobTemplate.spec;
    expect(jobSpec.backoffLimit).toBe(2);
    expect(jobSpec.activeDeadlineSeconds).toBeGreaterThan(0);
    const pod = jobSpec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, fsGroup: 999 });
    const c = pod.containers[0];
    expect(c.command).toEqual(['bash', '/scripts/backup.sh']);
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    const env = Object.fromEntries(
      (c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      PGDATABASE: 'flash_sale_db',
      PGPASSWORD_FILE: '/credentials/password',
      MIN_KEEP: '3',
      RETENTION_DAYS: '30',
      STACK: 'shop',
      BACKUP_DIR: '/backups',
    });
    expect(JSON.stringify(cj)).not.toMatch(/PGPASSWORD"/);
    expect(JSON.stringify(objects)).not.toContain(inputs().secrets.postgresPassword);
    expect(pod.volumes).toContainEqual({
      name: 'backups',
      persistentVolumeClaim: { claimName: 'shop-backup' },
    });
  });

  it('backup-now Job names are stable per value and differ between values', () => {
    const a1 = renderBackupNowJob(stack, inputs(), '2025-03-12T10:00');
    const a2 = renderBackupNowJob(stack, inputs(), '2025-03-12T10:00');
    const b = renderBackupNowJob(stack, inputs(), '2025-03-12T10:05');
    expect(a1.metadata.name).toBe(a2.metadata.name);
    expect(a1).toEqual(a2);
    expect(a1.metadata.name).not.toBe(b.metadata.name);
    expect(a1.metadata.name).toMatch(/^shop-backup-now-[0-9a-f]{10}$/);
    expect(a1.metadata.annotations?.['flashsale.dev/backup-now']).toBe('2025-03-12T10:00');
    expect(a1.metadata.labels?.['app.kubernetes.io/component']).toBe('backup');
    const long = stackOf({}, 'a'.repeat(60));
    expect(backupNowJobName(long, 'x').length).toBeLessThanOrEqual(63);
  });

  it('existingClaim: no PVC, the Jobs mount the user claim; backups disabled: no CronJob', () => {
    const s = stackOf({ backup: { existingClaim: 'nfs-backups' } });
    const objs = renderBackup(s, inputs());
    expect(objs.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(JSON.stringify(objs)).toContain('"claimName":"nfs-backups"');
    const off = renderBackup(stackOf({ backup: { enabled: false } }), inputs());
    expect(off).toEqual([]);
  });
});
