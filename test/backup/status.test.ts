/** Pure backup status logic, cron arithmetic, and the shapes of the rendered backup objects. */
import { describe, expect, it } from 'vitest';
import {
  CronError,
  nextRun,
  parseCron,
  previousRun,
  scheduleIntervalSeconds,
} from '../../src/backup/cron.js';
import { backupStatus, backupStatusFromJobs, type ObjectLike } from '../../src/backup/status.js';
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
