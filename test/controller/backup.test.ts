import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../src/api/defaults.js';
import type { FlashSaleStack } from '../../src/api/types.js';
import type { ApiObject } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { backupNowJobName } from '../../src/render/backup.js';
import {
  condition,
  eventually,
  getStack,
  loadExample,
  STACKS,
  useOperatorTestEnv,
  waitReady,
} from './harness.js';

const JOBS = resourceTypeByKind('Job');
const PODS = resourceTypeByKind('Pod');
const EVENTS = resourceTypeByKind('Event');

describe('backups seen from the controller', () => {
  const env = useOperatorTestEnv();

  async function createReadyStack(spec: Record<string, unknown> = {}): Promise<ApiObject> {
    const stack = loadExample('minimal.yaml');
    stack.spec = spec;
    await env.c.create(stack);
    return waitReady(env.c);
  }

  const jobName = (stack: ApiObject, value: string) =>
    backupNowJobName(applyDefaults(stack as unknown as FlashSaleStack), value);

  const backupNowJobs = async () =>
    (await env.c.list(JOBS, 'default', { labelSelector: 'flashsale.dev/stack=shop' })).items.filter((j) =>
      j.metadata.name.startsWith('shop-backup-now-'),
    );

  const annotate = (value: string) =>
    env.c.mergePatch(STACKS, 'default', 'shop', {
      metadata: { annotations: { 'flashsale.dev/backup-now': value } },
    });

  it('the backup-now annotation creates exactly one Job per new value', async () => {
    const stack = await createReadyStack();
    await annotate('first');
    await eventually(async () => (await backupNowJobs()).length === 1, 'one backup-now Job');
    // More reconciles with the same value (a resync, an unrelated change) create nothing new.
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await env.op.waitIdle();
    await new Promise((r) => setTimeout(r, 300));
    await env.op.waitIdle();
    expect((await backupNowJobs()).map((j) => j.metadata.name)).toEqual([jobName(stack, 'first')]);
    await annotate('second');
    await eventually(async () => (await backupNowJobs()).length === 2, 'a second Job for a new value');
    const names = (await backupNowJobs()).map((j) => j.metadata.name).sort();
    expect(names).toEqual([jobName(stack, 'first'), jobName(stack, 'second')].sort());
  });

  it('a failed backup sets BackupHealthy=False with an Event; a later success sets it back to True with file and size', async () => {
    const stack = await createReadyStack();
    const failing = jobName(stack, 'will-fail');
    env.srv.kubelet.fail('Job', 'default', failing, 'pg_dump: error: connection to server failed');
    await annotate('will-fail');
    const failed = await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'BackupHealthy')?.status === 'False' ? s : undefined;
    }, 'BackupHealthy=False');
    expect(condition(failed, 'BackupHealthy')?.reason).toBe('BackupFailed');
    expect((failed.status as any).lastBackup).toMatchObject({ job: failing, succeeded: false });
    expect((failed.status as any).phase).toBe('Degraded');
    const backupEvents = async (reason: string) =>
      (await env.c.list(EVENTS, 'default', {})).items.filter((e: any) => e.reason === reason);
    await eventually(async () => (await backupEvents('BackupFailed')).length > 0, 'a BackupFailed Event');
    await env.op.waitIdle();
    expect((await backupEvents('BackupFailed')).length).toBe(1);

    // The next run succeeds; its pod's termination message carries the script's JSON summary.
    const ok = jobName(stack, 'will-succeed');
    const pod = await env.c.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${ok}-abcde`, namespace: 'default', labels: { 'job-name': ok } },
      spec: { containers: [{ name: 'backup', image: 'postgres:18.1-bookworm' }] },
    });
    await env.c.mergePatch(
      PODS,
      'default',
      pod.metadata.name,
      {
        status: {
          containerStatuses: [
            {
              name: 'backup',
              state: {
                terminated: {
                  exitCode: 0,
                  message: JSON.stringify({
                    succeeded: true,
                    file: 'shop-20261125T020000Z.dump',
                    bytes: 123456,
                  }),
                },
              },
            },
          ],
        },
      },
      'status',
    );
    // Job times have one-second resolution: let the successful run finish in a later second than the failed one.
    await new Promise((r) => setTimeout(r, 1_100));
    await annotate('will-succeed');
    const healthy = await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'BackupHealthy')?.status === 'True' ? s : undefined;
    }, 'BackupHealthy=True');
    expect((healthy.status as any).lastSuccessfulBackup).toMatchObject({
      job: ok,
      succeeded: true,
      file: 'shop-20261125T020000Z.dump',
      bytes: 123456,
    });
    await eventually(async () => (await backupEvents('BackupHealthy')).length > 0, 'a BackupHealthy Event');
    await env.op.waitIdle();
    expect((await backupEvents('BackupHealthy')).length).toBe(1);
    const metrics = await (await fetch(`http://127.0.0.1:${env.op.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(
      /flashsale_backup_last_success_timestamp_seconds\{stack_namespace="default",stack="shop"\} \d+/,
    );
    expect(metrics).toMatch(
      /flashsale_backup_last_failure_timestamp_seconds\{stack_namespace="default",stack="shop"\} \d+/,
    );
  });

  /** A Job as the `<stack>-basebackup` CronJob creates it: the jobTemplate, owned by the CronJob. */
  async function baseBackupJob(name: string): Promise<ApiObject> {
    const cron = await env.c.get(resourceTypeByKind('CronJob'), 'default', 'shop-basebackup');
    const template = (cron.spec as any).jobTemplate;
    return env.c.create({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: 'default',
        labels: template.metadata.labels,
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'CronJob',
            name: cron.metadata.name,
            uid: cron.metadata.uid!,
            controller: true,
          },
        ],
      },
      spec: template.spec,
    });
  }

  /** The Job's pod, terminated with basebackup.sh's JSON line as its termination message. */
  async function terminatedPod(jobName: string, exitCode: number, result: unknown): Promise<void> {
    const pod = await env.c.create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `${jobName}-abcde`, namespace: 'default', labels: { 'job-name': jobName } },
      spec: { containers: [{ name: 'backup', image: 'postgres:18.1-bookworm' }] },
    });
    await env.c.mergePatch(
      PODS,
      'default',
      pod.metadata.name,
      {
        status: {
          containerStatuses: [
            { name: 'backup', state: { terminated: { exitCode, message: JSON.stringify(result) } } },
          ],
        },
      },
      'status',
    );
  }

  it('a failed PITR base backup sets BackupHealthy=False (BaseBackupFailed) with one Event; the next success records the recovery window', async () => {
    await createReadyStack({ backup: { pitr: { enabled: true } } });
    const error =
      'pg_basebackup from shop-postgres:5432 failed (nothing deleted): FATAL: no pg_hba.conf entry';
    await terminatedPod('shop-basebackup-29000001', 1, { tool: 'basebackup', succeeded: false, error });
    env.srv.kubelet.fail(
      'Job',
      'default',
      'shop-basebackup-29000001',
      'Job has reached the specified backoff limit',
    );
    await baseBackupJob('shop-basebackup-29000001');
    const failed = await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'BackupHealthy')?.status === 'False' ? s : undefined;
    }, 'BackupHealthy=False');
    expect(condition(failed, 'BackupHealthy')?.reason).toBe('BaseBackupFailed');
    expect(condition(failed, 'BackupHealthy')?.message).toContain('Job shop-basebackup-29000001');
    expect(condition(failed, 'BackupHealthy')?.message).toContain(error);
    expect((failed.status as any).lastBaseBackup).toMatchObject({
      job: 'shop-basebackup-29000001',
      succeeded: false,
    });
    expect((failed.status as any).phase).toBe('Degraded');
    const events = async (reason: string) =>
      (await env.c.list(EVENTS, 'default', {})).items.filter((e: any) => e.reason === reason);
    await eventually(async () => (await events('BaseBackupFailed')).length > 0, 'a BaseBackupFailed Event');
    // More reconciles of the same failure add no Event.
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { nginx: { replicas: 3 } } });
    await env.op.waitIdle();
    await new Promise((r) => setTimeout(r, 300));
    await env.op.waitIdle();
    expect((await events('BaseBackupFailed')).map((e: any) => e.type)).toEqual(['Warning']);

    await new Promise((r) => setTimeout(r, 1_100)); // Job times have one-second resolution
    await terminatedPod('shop-basebackup-29000002', 0, {
      tool: 'basebackup',
      succeeded: true,
      file: 'base/shop-20261125T013000Z',
      bytes: 41_943_040,
      restorableFrom: '2026-11-18T01:31:02Z',
    });
    await baseBackupJob('shop-basebackup-29000002');
    const healthy = await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'BackupHealthy')?.reason !== 'BaseBackupFailed' ? s : undefined;
    }, 'BackupHealthy no longer BaseBackupFailed');
    expect((healthy.status as any).lastBaseBackup?.job).toBe('shop-basebackup-29000002');
    expect((healthy.status as any).lastSuccessfulBaseBackup).toMatchObject({
      job: 'shop-basebackup-29000002',
      succeeded: true,
      file: 'base/shop-20261125T013000Z',
      bytes: 41_943_040,
      restorableFrom: '2026-11-18T01:31:02Z',
    });
    const metrics = await (await fetch(`http://127.0.0.1:${env.op.metricsPort}/metrics`)).text();
    for (const m of ['success', 'failure']) {
      expect(metrics).toMatch(
        new RegExp(
          `flashsale_basebackup_last_${m}_timestamp_seconds\\{stack_namespace="default",stack="shop"\\} \\d+`,
        ),
      );
    }
  });

  it('with backup.onDelete, deleting the stack first runs a final backup Job that outlives the stack', async () => {
    await createReadyStack({ backup: { onDelete: true } });
    env.srv.kubelet.delayMs = 800; // long enough to see the stack waiting for the final backup
    await env.c.delete(STACKS, 'default', 'shop');
    const job = await eventually(
      async () =>
        (await env.c.list(JOBS, 'default', {})).items.find((j) =>
          j.metadata.name.startsWith('shop-backup-now-'),
        ),
      'the final backup Job',
    );
    expect(job.metadata.ownerReferences ?? []).toEqual([]);
    const waiting = await env.c.getOrNull(STACKS, 'default', 'shop');
    expect(waiting?.metadata.deletionTimestamp).toBeTruthy();
    await eventually(
      async () => (await env.c.getOrNull(STACKS, 'default', 'shop')) === null,
      'the stack to go',
      30_000,
    );
    const after = await env.c.getOrNull(JOBS, 'default', job.metadata.name);
    expect(after).not.toBeNull();
    expect(((after!.status as any).conditions ?? []).some((x: any) => x.type === 'Complete')).toBe(true);
  });
});
