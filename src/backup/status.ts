/**
 * Backup status from backup Jobs: `status.lastBackup`, `status.lastSuccessfulBackup` and the `BackupHealthy`
 * condition. Pure: the controller passes the Jobs (and, when it has them, their Pods) and the time.
 *
 * Where file/bytes come from: backup.sh writes its final JSON line to the container's termination message
 * (`/dev/termination-log`), so it appears in the Pod's `status.containerStatuses[].state.terminated.message`
 * — readable with a Pod list, no log streaming. A Job may also carry the annotations
 * `flashsale.dev/backup-file` / `flashsale.dev/backup-bytes` (if a controller copies them there); those win.
 *
 * Jobs disappear (CronJob history limits, TTL), so the previous status is an input too: the newest record
 * among the Jobs and the previous `lastBackup`/`lastSuccessfulBackup` wins.
 *
 * Base backups of spec.backup.pitr (Jobs labelled component `basebackup`, from basebackup.sh) are judged
 * apart from the dumps: without a fresh base backup the recovery window stops moving, so a failed newest
 * base backup, or none within 2 × its schedule's interval, makes BackupHealthy False on its own.
 */
import type { BackupRecord, BaseBackupRecord, ResolvedFlashSaleStack } from '../api/types.js';
import { CronError, parseCron, scheduleIntervalSeconds } from './cron.js';

export const BACKUP_FILE_ANNOTATION = 'flashsale.dev/backup-file';
export const BACKUP_BYTES_ANNOTATION = 'flashsale.dev/backup-bytes';
/** `scheduled` (CronJob), `on-demand` (backup-now annotation), `final` (deletion). */
export const BACKUP_TRIGGER_ANNOTATION = 'flashsale.dev/backup-trigger';
/** Name of the backup container in every backup Job (the termination message is read from it). */
export const BACKUP_CONTAINER = 'backup';
/** `app.kubernetes.io/component` of the base-backup CronJob's Jobs (every other backup Job is a dump). */
export const BASE_BACKUP_COMPONENT = 'basebackup';
const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** The parts of a Job / Pod this module reads (structurally compatible with ApiObject and kubernetes-models). */
export interface ObjectLike {
  metadata: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
  };
  status?: unknown;
  [field: string]: unknown;
}

export interface BackupCondition {
  type: 'BackupHealthy';
  status: 'True' | 'False' | 'Unknown';
  reason:
    | 'BackupSucceeded'
    | 'BackupFailed'
    | 'NoRecentBackup'
    | 'NoBackupYet'
    | 'InvalidSchedule'
    | 'BaseBackupFailed'
    | 'NoRecentBaseBackup';
  message: string;
}

export interface BackupStatus {
  lastBackup?: BackupRecord;
  lastSuccessfulBackup?: BackupRecord;
  lastBaseBackup?: BaseBackupRecord;
  lastSuccessfulBaseBackup?: BaseBackupRecord;
  condition: BackupCondition;
}

export interface BackupStatusOptions {
  /** The stack's previous status fields (Jobs get garbage-collected; the records must not regress). */
  previous?: { lastBackup?: BackupRecord; lastSuccessfulBackup?: BackupRecord };
  /** Pods of the backup Jobs (label `job-name` / `batch.kubernetes.io/job-name`), for file, bytes and errors. */
  pods?: ObjectLike[];
  /** When the stack was created: before 2 × the interval has passed, "no backup yet" is not a failure. */
  createdAt?: string;
}

interface JobStatusShape {
  startTime?: string;
  completionTime?: string;
  succeeded?: number;
  failed?: number;
  conditions?: { type?: string; status?: string; lastTransitionTime?: string; message?: string }[];
}

interface PodStatusShape {
  containerStatuses?: { name?: string; state?: { terminated?: { exitCode?: number; message?: string } } }[];
}

interface ScriptResult {
  succeeded?: boolean;
  file?: string;
  bytes?: number;
  error?: string;
  restorableFrom?: string;
}

function parseResult(message: string | undefined): ScriptResult | undefined {
  if (!message) return undefined;
  const lines = message.trim().split('\n');
  try {
    const value: unknown = JSON.parse(lines[lines.length - 1] ?? '');
    return value !== null && typeof value === 'object' ? (value as ScriptResult) : undefined;
  } catch {
    return undefined;
  }
}

function podsOf(job: ObjectLike, pods: ObjectLike[]): ObjectLike[] {
  const name = job.metadata.name;
  return pods.filter(
    (p) =>
      p.metadata.labels?.['batch.kubernetes.io/job-name'] === name ||
      p.metadata.labels?.['job-name'] === name,
  );
}

/** The backup script's results in a Job's pods, newest pod first (a retried Job has several). */
function scriptResults(job: ObjectLike, pods: ObjectLike[]): ScriptResult[] {
  return podsOf(job, pods)
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''))
    .flatMap((p) => {
      const st = (p.status ?? {}) as PodStatusShape;
      const c = st.containerStatuses?.find((s) => s.name === BACKUP_CONTAINER);
      const r = parseResult(c?.state?.terminated?.message);
      return r ? [r] : [];
    });
}

interface JobRecord {
  record: BackupRecord;
  error?: string;
  /** basebackup.sh: the end of the oldest base backup retention kept. */
  restorableFrom?: string;
}

/** A finished backup Job as a BackupRecord; undefined while it still runs. */
export function recordFromJob(job: ObjectLike, pods: ObjectLike[] = []): JobRecord | undefined {
  const st = (job.status ?? {}) as JobStatusShape;
  const complete = st.conditions?.find((c) => c.type === 'Complete' && c.status === 'True');
  const failed = st.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  if (!complete && !failed) return undefined;
  const succeeded = complete !== undefined;
  const record: BackupRecord = { job: job.metadata.name ?? '', succeeded };
  const startedAt = st.startTime ?? job.metadata.creationTimestamp;
  if (startedAt) record.startedAt = startedAt;
  const completedAt = succeeded
    ? (st.completionTime ?? complete?.lastTransitionTime)
    : (failed?.lastTransitionTime ?? st.completionTime);
  if (completedAt) record.completedAt = completedAt;
  const results = scriptResults(job, pods);
  const ok = results.find((r) => r.succeeded === true);
  let restorableFrom: string | undefined;
  if (succeeded && ok) {
    if (typeof ok.file === 'string') record.file = ok.file;
    if (typeof ok.bytes === 'number') record.bytes = ok.bytes;
    if (typeof ok.restorableFrom === 'string') restorableFrom = ok.restorableFrom;
  }
  const ann = job.metadata.annotations ?? {};
  if (ann[BACKUP_FILE_ANNOTATION]) record.file = ann[BACKUP_FILE_ANNOTATION];
  const bytes = Number(ann[BACKUP_BYTES_ANNOTATION]);
  if (ann[BACKUP_BYTES_ANNOTATION] !== undefined && Number.isFinite(bytes)) record.bytes = bytes;
  if (succeeded) return restorableFrom ? { record, restorableFrom } : { record };
  const error = results.find((r) => typeof r.error === 'string')?.error ?? failed?.message;
  return error ? { record, error } : { record };
}

function when(r: BackupRecord | undefined): number {
  const t = Date.parse(r?.completedAt ?? r?.startedAt ?? '');
  return Number.isNaN(t) ? -Infinity : t;
}

function newest<T extends { record: BackupRecord }>(items: T[]): T | undefined {
  let best: T | undefined;
  for (const i of items) if (!best || when(i.record) > when(best.record)) best = i;
  return best;
}

function human(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * lastBackup / lastSuccessfulBackup / BackupHealthy from backup Jobs.
 *   - the newest finished run failed                           → False, BackupFailed (message: Job + error)
 *   - no success within 2 × the schedule interval around now   → False, NoRecentBackup
 *   - no run at all: Unknown (NoBackupYet) while the stack is younger than 2 × the interval (or its age is
 *     unknown), then False (NoBackupYet)
 *   - otherwise                                                → True, BackupSucceeded
 */
export function backupStatusFromJobs(
  jobs: ObjectLike[],
  schedule: string,
  now: Date,
  options: BackupStatusOptions = {},
): BackupStatus {
  const pods = options.pods ?? [];
  const fromJobs = jobs
    .filter((j) => !isBaseBackupJob(j))
    .flatMap((j) => {
      const r = recordFromJob(j, pods);
      return r ? [r] : [];
    });
  const prev = options.previous ?? {};
  const candidates: JobRecord[] = [...fromJobs];
  // A previous record whose Job we still see is superseded by the Job's fresher view.
  for (const r of [prev.lastBackup, prev.lastSuccessfulBackup]) {
    if (r && !fromJobs.some((j) => j.record.job === r.job)) candidates.push({ record: r });
  }
  const last = newest(candidates);
  const lastSuccess = newest(candidates.filter((c) => c.record.succeeded === true));
  const out: Omit<BackupStatus, 'condition'> = {};
  if (last) out.lastBackup = last.record;
  if (lastSuccess) out.lastSuccessfulBackup = lastSuccess.record;

  let interval: number | undefined;
  try {
    interval = scheduleIntervalSeconds(parseCron(schedule), now);
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    return {
      ...out,
      condition: {
        type: 'BackupHealthy',
        status: 'False',
        reason: 'InvalidSchedule',
        message: `spec.backup.schedule "${schedule}" is not a valid cron schedule: ${e.message}`,
      },
    };
  }
  const maxAge = 2 * (interval ?? 86_400);

  if (last && last.record.succeeded !== true) {
    const detail = last.error ? `: ${last.error}` : '';
    return {
      ...out,
      condition: {
        type: 'BackupHealthy',
        status: 'False',
        reason: 'BackupFailed',
        message: `The last backup (Job ${last.record.job ?? '?'}) failed${detail}.${lastSuccess ? ` Last success: ${lastSuccess.record.completedAt ?? '?'}.` : ' No successful backup yet.'}`,
      },
    };
  }
  if (!lastSuccess) {
    const created = Date.parse(options.createdAt ?? '');
    const young = Number.isNaN(created) || (now.getTime() - created) / 1000 <= maxAge;
    return {
      ...out,
      condition: {
        type: 'BackupHealthy',
        status: young ? 'Unknown' : 'False',
        reason: 'NoBackupYet',
        message: young
          ? `No backup has run yet (schedule "${schedule}"); annotate the stack with flashsale.dev/backup-now=<value> to take one now.`
          : `No successful backup since the stack was created more than ${human(maxAge)} ago (2 × the schedule "${schedule}").`,
      },
    };
  }
  const age = (now.getTime() - when(lastSuccess.record)) / 1000;
  if (age > maxAge) {
    return {
      ...out,
      condition: {
        type: 'BackupHealthy',
        status: 'False',
        reason: 'NoRecentBackup',
        message: `The last successful backup (${lastSuccess.record.completedAt ?? '?'}) is older than ${human(maxAge)}, 2 × the interval of the schedule "${schedule}".`,
      },
    };
  }
  const file = lastSuccess.record.file ? ` wrote ${lastSuccess.record.file}` : ' succeeded';
  return {
    ...out,
    condition: {
      type: 'BackupHealthy',
      status: 'True',
      reason: 'BackupSucceeded',
      message: `Backup Job ${lastSuccess.record.job ?? '?'}${file} at ${lastSuccess.record.completedAt ?? '?'}.`,
    },
  };
}

function isBaseBackupJob(job: ObjectLike): boolean {
  return job.metadata.labels?.[COMPONENT_LABEL] === BASE_BACKUP_COMPONENT;
}

export interface BaseBackupStatus {
  lastBaseBackup?: BaseBackupRecord;
  lastSuccessfulBaseBackup?: BaseBackupRecord;
  /** True: base backups are current; False: the recovery window stopped moving; Unknown: none yet (young). */
  status: 'True' | 'False' | 'Unknown';
  reason: BackupCondition['reason'];
  message: string;
}

export interface BaseBackupStatusOptions {
  /** The previous `status.lastBaseBackup` / `lastSuccessfulBaseBackup` (their Jobs may be gone). */
  previous?: { lastBaseBackup?: BaseBackupRecord; lastSuccessfulBaseBackup?: BaseBackupRecord };
  pods?: ObjectLike[];
  createdAt?: string;
}

/**
 * The base backups' part of BackupHealthy, from the Jobs labelled component `basebackup` (others are ignored):
 *   - the newest finished base backup failed                    → False, BaseBackupFailed (Job + script error)
 *   - no successful one within 2 × the schedule's interval      → False, NoRecentBaseBackup (also when none
 *     ever succeeded and the stack is older than that)
 *   - none yet on a young stack (or of unknown age)             → Unknown, NoBackupYet
 *   - otherwise                                                 → True, BackupSucceeded
 */
export function baseBackupStatusFromJobs(
  jobs: ObjectLike[],
  schedule: string,
  now: Date,
  options: BaseBackupStatusOptions = {},
): BaseBackupStatus {
  const pods = options.pods ?? [];
  const fromJobs = jobs.filter(isBaseBackupJob).flatMap((j) => {
    const r = recordFromJob(j, pods);
    return r ? [r] : [];
  });
  const prev = options.previous ?? {};
  const candidates: JobRecord[] = [...fromJobs];
  for (const r of [prev.lastBaseBackup, prev.lastSuccessfulBaseBackup]) {
    if (r && !candidates.some((j) => j.record.job === r.job)) {
      const { restorableFrom, ...record } = r;
      candidates.push({ record, ...(restorableFrom ? { restorableFrom } : {}) });
    }
  }
  const last = newest(candidates);
  const success = newest(candidates.filter((c) => c.record.succeeded === true));
  const asRecord = (c: JobRecord): BaseBackupRecord => ({
    ...c.record,
    ...(c.restorableFrom ? { restorableFrom: c.restorableFrom } : {}),
  });
  const out: Pick<BaseBackupStatus, 'lastBaseBackup' | 'lastSuccessfulBaseBackup'> = {};
  if (last) out.lastBaseBackup = asRecord(last);
  if (success) out.lastSuccessfulBaseBackup = asRecord(success);
  const field = 'spec.backup.pitr.baseBackupSchedule';
  let interval: number | undefined;
  try {
    interval = scheduleIntervalSeconds(parseCron(schedule), now);
  } catch (e) {
    if (!(e instanceof CronError)) throw e;
    return {
      ...out,
      status: 'False',
      reason: 'InvalidSchedule',
      message: `${field} "${schedule}" is not a valid cron schedule: ${e.message}`,
    };
  }
  const maxAge = 2 * (interval ?? 86_400);
  const window = success?.restorableFrom
    ? ` Point-in-time recovery reaches back to ${success.restorableFrom}.`
    : '';
  if (last && last.record.succeeded !== true) {
    const detail = last.error ? `: ${last.error}` : '';
    return {
      ...out,
      status: 'False',
      reason: 'BaseBackupFailed',
      message: `The last base backup (Job ${last.record.job ?? '?'}) failed${detail}.${success ? ` Last successful base backup: ${success.record.completedAt ?? '?'}.${window}` : ' No base backup yet: there is nothing to recover to a point in time from.'}`,
    };
  }
  if (!success) {
    const created = Date.parse(options.createdAt ?? '');
    const young = Number.isNaN(created) || (now.getTime() - created) / 1000 <= maxAge;
    return young
      ? {
          ...out,
          status: 'Unknown',
          reason: 'NoBackupYet',
          message: `No base backup has run yet (${field} "${schedule}").`,
        }
      : {
          ...out,
          status: 'False',
          reason: 'NoRecentBaseBackup',
          message: `No successful base backup since the stack was created more than ${human(maxAge)} ago (2 × ${field} "${schedule}"): there is nothing to recover to a point in time from.`,
        };
  }
  if ((now.getTime() - when(success.record)) / 1000 > maxAge) {
    return {
      ...out,
      status: 'False',
      reason: 'NoRecentBaseBackup',
      message: `The last successful base backup (${success.record.completedAt ?? '?'}) is older than ${human(maxAge)}, 2 × the interval of ${field} "${schedule}"; retention keeps an ever older one.${window}`,
    };
  }
  const file = success.record.file ? ` wrote ${success.record.file}` : ' succeeded';
  return {
    ...out,
    status: 'True',
    reason: 'BackupSucceeded',
    message: `Base backup Job ${success.record.job ?? '?'}${file} at ${success.record.completedAt ?? '?'}.${window}`,
  };
}

/**
 * One BackupHealthy from the dumps' and the base backups' verdicts (either may be off). A base-backup failure
 * makes it False unless the dumps already failed (their reason stays, the base backup's message is added);
 * a healthy base backup adds its line to the dumps' message.
 */
export function combineBackupStatus(
  dump: BackupStatus | undefined,
  base: BaseBackupStatus | undefined,
): BackupStatus {
  const baseRecord = {
    ...(base?.lastBaseBackup ? { lastBaseBackup: base.lastBaseBackup } : {}),
    ...(base?.lastSuccessfulBaseBackup ? { lastSuccessfulBaseBackup: base.lastSuccessfulBaseBackup } : {}),
  };
  if (!base) {
    return (
      dump ?? {
        condition: {
          type: 'BackupHealthy',
          status: 'Unknown',
          reason: 'NoBackupYet',
          message: 'Backups are off.',
        },
      }
    );
  }
  const baseCondition: BackupCondition = {
    type: 'BackupHealthy',
    status: base.status,
    reason: base.reason,
    message: base.message,
  };
  if (!dump) return { ...baseRecord, condition: baseCondition };
  const { condition, ...records } = dump;
  if (base.status === 'False' && condition.status !== 'False') {
    return { ...records, ...baseRecord, condition: baseCondition };
  }
  return {
    ...records,
    ...baseRecord,
    condition: { ...condition, message: `${condition.message} ${base.message}` },
  };
}

/** The controller's hook (ReconcilerDeps.backupStatus): schedule, previous status and age from the stack. */
export function backupStatus(
  jobs: ObjectLike[],
  stack: ResolvedFlashSaleStack,
  now: Date,
  pods?: ObjectLike[],
): BackupStatus {
  const previous = {
    ...(stack.status?.lastBackup ? { lastBackup: stack.status.lastBackup } : {}),
    ...(stack.status?.lastSuccessfulBackup
      ? { lastSuccessfulBackup: stack.status.lastSuccessfulBackup }
      : {}),
  };
  const context = {
    ...(pods ? { pods } : {}),
    ...(stack.metadata.creationTimestamp ? { createdAt: stack.metadata.creationTimestamp } : {}),
  };
  const dump = stack.spec.backup.enabled
    ? backupStatusFromJobs(jobs, stack.spec.backup.schedule, now, { previous, ...context })
    : undefined;
  const pitr = stack.spec.backup.pitr;
  const base = pitr.enabled
    ? baseBackupStatusFromJobs(jobs, pitr.baseBackupSchedule, now, {
        previous: {
          ...(stack.status?.lastBaseBackup ? { lastBaseBackup: stack.status.lastBaseBackup } : {}),
          ...(stack.status?.lastSuccessfulBaseBackup
            ? { lastSuccessfulBaseBackup: stack.status.lastSuccessfulBaseBackup }
            : {}),
        },
        ...context,
      })
    : undefined;
  return combineBackupStatus(dump, base);
}
