/**
 * Backups, maintenance and bootstrap-from-backup:
 *   - ConfigMap `<stack>-backup-scripts` (keys `backup.sh`, `restore.sh`, `maintenance.sh`; src/backup/scripts.ts)
 *   - PVC `<stack>-backup` (unless spec.backup.existingClaim); it carries an owner reference only when
 *     spec.pvcRetentionPolicy is Delete, so by default the dumps outlive the stack
 *   - CronJob `<stack>-backup` (spec.backup.schedule, UTC, concurrencyPolicy Forbid)
 *   - Job `<stack>-backup-now-<hash>` per value of the `flashsale.dev/backup-now` annotation (renderBackupNowJob)
 *   - CronJob `<stack>-maintenance` (spec.postgres.maintenance.schedule): vacuumdb --analyze-only
 *   - Job `<stack>-bootstrap` (spec.postgres.bootstrap.fromBackup.file): restore.sh of the given dump into the
 *     application database once PostgreSQL answers (idempotent: a re-run after success is a no-op)
 *   - with spec.backup.pitr: PVC `<stack>-backup-pitr` (unless pitr.existingClaim; owner reference as for the
 *     dumps) and CronJob `<stack>-basebackup` (basebackup.sh: pg_basebackup + retention + pg_archivecleanup),
 *     whose pods run on PostgreSQL's node (the volume is ReadWriteOnce and PostgreSQL archives into it)
 * Every backup pod runs the PostgreSQL image as uid 999 under the restricted Pod Security Standard; the
 * password reaches the scripts only as a file from the credentials Secret (PGPASSWORD_FILE → 0600 pgpass).
 * Pure.
 */
import { PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { BACKUP_CONTAINER, BACKUP_TRIGGER_ANNOTATION } from '../backup/status.js';
import { baseBackupScript } from '../backup/pitr-scripts.js';
import { backupScript, maintenanceScript, restoreScript } from '../backup/scripts.js';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  childName,
  configChecksum,
  labels,
  objectMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  sha256,
  type Component,
  type KubeObject,
  type RenderInputs,
} from './common.js';
import { dumpBootstrap, PITR_MOUNT, pitrClaimName, pitrEnabled, RESTORE_SOURCE_MOUNT } from './pitr.js';
import { POSTGRES_UID, postgresSecretName, postgresServiceHost } from './postgres.js';
import { claimSpec, containerResources } from './resources.js';
import { serviceAccountName } from './serviceaccounts.js';

export const BACKUP_NOW_ANNOTATION = 'flashsale.dev/backup-now';
export const SCRIPTS_DIR = '/scripts';
export const BACKUP_MOUNT = '/backups';
export { RESTORE_SOURCE_MOUNT } from './pitr.js';
const CREDENTIALS_DIR = '/credentials';

/** Limits of the backup Jobs. */
export const BACKUP_JOB_LIMITS = {
  /** A scheduled run that could not start within this many seconds is skipped (counted as missed). */
  startingDeadlineSeconds: 3600,
  /** Retries of a failed run (each retry is a new pod; a failed dump is removed, so a retry starts clean). */
  backoffLimit: 2,
  /** A run is killed after this; its partial file is removed by the next run. */
  activeDeadlineSeconds: 6 * 3600,
  successfulJobsHistoryLimit: 3,
  failedJobsHistoryLimit: 3,
} as const;

const JOB_RESOURCES = {
  requests: { cpu: '100m', memory: '256Mi' },
  limits: { cpu: '1', memory: '1Gi' },
};

export function backupScriptsName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'backup', 'scripts');
}

/** The claim the dumps go to: spec.backup.existingClaim or `<stack>-backup`. */
export function backupClaimName(stack: ResolvedFlashSaleStack): string {
  return stack.spec.backup.existingClaim ?? childName(stack, 'backup');
}

/** Data of the scripts ConfigMap. */
export function backupScriptsData(): Record<string, string> {
  return {
    'backup.sh': backupScript(),
    'restore.sh': restoreScript(),
    'maintenance.sh': maintenanceScript(),
    'basebackup.sh': baseBackupScript(),
  };
}

/**
 * Deterministic name of the on-demand Job for a `flashsale.dev/backup-now` value: `<stack>-backup-now-<10 hex
 * of sha256(value)>` — the same value always maps to the same Job (so it runs once), a new value to a new Job.
 * At most 63 characters (Job names become pod label values).
 */
export function backupNowJobName(stack: ResolvedFlashSaleStack, value: string): string {
  const hash = sha256(value).slice(0, 10);
  const prefix = childName(stack, 'backup', 'now')
    .slice(0, 63 - 11)
    .replace(/-+$/, '');
  return `${prefix}-${hash}`;
}

function needsScripts(stack: ResolvedFlashSaleStack): boolean {
  const s = stack.spec;
  return (
    s.backup.enabled ||
    s.backup.onDelete ||
    !!s.postgres.maintenance?.schedule ||
    !!dumpBootstrap(stack) ||
    s.backup.pitr.enabled
  );
}

function needsBackupClaim(stack: ResolvedFlashSaleStack): boolean {
  return (
    (stack.spec.backup.enabled || stack.spec.backup.onDelete) && stack.spec.backup.existingClaim === undefined
  );
}

function connectionEnv(stack: ResolvedFlashSaleStack): Record<string, unknown>[] {
  return [
    { name: 'PGHOST', value: postgresServiceHost(stack) },
    { name: 'PGPORT', value: String(PORTS.postgres) },
    { name: 'PGUSER', valueFrom: { secretKeyRef: { name: postgresSecretName(stack), key: 'username' } } },
    { name: 'PGPASSWORD_FILE', value: `${CREDENTIALS_DIR}/password` },
    { name: 'PGCONNECT_TIMEOUT', value: '10' },
    { name: 'PGAPPNAME', value: 'flash-sale-operator-backup' },
    { name: 'TMPDIR', value: '/tmp' },
  ];
}

function baseVolumes(stack: ResolvedFlashSaleStack): Record<string, unknown>[] {
  return [
    { name: 'scripts', configMap: { name: backupScriptsName(stack), defaultMode: 0o444 } },
    {
      name: 'credentials',
      secret: {
        secretName: postgresSecretName(stack),
        items: [{ key: 'password', path: 'password' }],
        defaultMode: 0o440,
      },
    },
    { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];
}

const baseMounts = [
  { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
  { name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true },
  { name: 'tmp', mountPath: '/tmp' },
];

function podTemplate(
  stack: ResolvedFlashSaleStack,
  component: Component,
  account: 'backup' | 'basebackup' | 'maintenance' | 'bootstrap',
  spec: Record<string, unknown>,
): Record<string, unknown> {
  return {
    metadata: {
      labels: labels(stack, component),
      annotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(backupScriptsData()) },
    },
    spec: {
      serviceAccountName: serviceAccountName(stack, account),
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      securityContext: restrictedPodSecurityContext(POSTGRES_UID),
      ...spec,
    },
  };
}

/** A container running one of the backup scripts against the stack's PostgreSQL, its result as termination message. */
function scriptContainer(
  stack: ResolvedFlashSaleStack,
  script: string,
  env: Record<string, unknown>[],
  volume: { name: string; mountPath: string },
): Record<string, unknown> {
  return {
    name: BACKUP_CONTAINER,
    image: stack.spec.postgres.image,
    imagePullPolicy: 'IfNotPresent',
    command: ['bash', `${SCRIPTS_DIR}/${script}`],
    env: [...connectionEnv(stack), ...env],
    resources: containerResources(JOB_RESOURCES),
    securityContext: restrictedContainerSecurityContext(),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [...baseMounts, volume],
  };
}

function backupContainer(stack: ResolvedFlashSaleStack): Record<string, unknown> {
  const b = stack.spec.backup;
  return scriptContainer(
    stack,
    'backup.sh',
    [
      { name: 'PGDATABASE', value: stack.spec.postgres.database },
      { name: 'BACKUP_DIR', value: BACKUP_MOUNT },
      { name: 'STACK', value: stack.metadata.name },
      { name: 'RETENTION_DAYS', value: String(b.retentionDays) },
      { name: 'MIN_KEEP', value: String(b.minKeep) },
      { name: 'VERIFY', value: b.verify ? '1' : '0' },
    ],
    { name: 'backups', mountPath: BACKUP_MOUNT },
  );
}

/** The Job spec every backup run uses (scheduled, on demand, final). */
function backupJobSpec(stack: ResolvedFlashSaleStack): Record<string, unknown> {
  return {
    backoffLimit: BACKUP_JOB_LIMITS.backoffLimit,
    activeDeadlineSeconds: BACKUP_JOB_LIMITS.activeDeadlineSeconds,
    template: podTemplate(stack, 'backup', 'backup', {
      containers: [backupContainer(stack)],
      volumes: [
        ...baseVolumes(stack),
        { name: 'backups', persistentVolumeClaim: { claimName: backupClaimName(stack) } },
      ],
    }),
  };
}

/** The on-demand backup Job for one value of the `flashsale.dev/backup-now` annotation (also the final backup). */
export function renderBackupNowJob(
  stack: ResolvedFlashSaleStack,
  _inputs: RenderInputs,
  value: string,
): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: objectMeta(stack, 'backup', backupNowJobName(stack, value), {
      [BACKUP_NOW_ANNOTATION]: value,
      [BACKUP_TRIGGER_ANNOTATION]: value.startsWith('final-') ? 'final' : 'on-demand',
    }),
    spec: backupJobSpec(stack),
  };
}

/** A volume claim of backups; it outlives the stack unless the user asked for PVCs to go with it. */
function backupVolumeClaim(
  stack: ResolvedFlashSaleStack,
  name: string,
  storage: { size: string; storageClassName?: string },
): KubeObject {
  const meta = objectMeta(stack, 'backup', name);
  if (stack.spec.pvcRetentionPolicy !== 'Delete') delete meta.ownerReferences;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta,
    spec: claimSpec(storage),
  };
}

/** How every backup CronJob runs: UTC, never two at once, a missed run skipped after an hour, 3+3 Jobs kept. */
function backupCronSchedule(schedule: string): Record<string, unknown> {
  return {
    schedule,
    timeZone: 'Etc/UTC',
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: BACKUP_JOB_LIMITS.startingDeadlineSeconds,
    successfulJobsHistoryLimit: BACKUP_JOB_LIMITS.successfulJobsHistoryLimit,
    failedJobsHistoryLimit: BACKUP_JOB_LIMITS.failedJobsHistoryLimit,
  };
}

/** CronJob `<stack>-basebackup`: base backups into the PITR volume, on PostgreSQL's node. */
function renderBaseBackupCronJob(stack: ResolvedFlashSaleStack): KubeObject {
  const pitr = stack.spec.backup.pitr;
  const container = scriptContainer(
    stack,
    'basebackup.sh',
    [
      { name: 'PITR_DIR', value: PITR_MOUNT },
      { name: 'STACK', value: stack.metadata.name },
      { name: 'RETENTION_DAYS', value: String(pitr.retentionDays) },
      { name: 'MIN_BASE_BACKUPS', value: String(pitr.minBaseBackups) },
      { name: 'VERIFY', value: stack.spec.backup.verify ? '1' : '0' },
    ],
    { name: 'pitr', mountPath: PITR_MOUNT },
  );
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: objectMeta(stack, 'basebackup', childName(stack, 'basebackup')),
    spec: {
      ...backupCronSchedule(pitr.baseBackupSchedule),
      jobTemplate: {
        metadata: { labels: labels(stack, 'basebackup') },
        spec: {
          backoffLimit: BACKUP_JOB_LIMITS.backoffLimit,
          activeDeadlineSeconds: BACKUP_JOB_LIMITS.activeDeadlineSeconds,
          template: podTemplate(stack, 'basebackup', 'basebackup', {
            // ReadWriteOnce: the volume can only be mounted on the node where PostgreSQL archives into it.
            affinity: {
              podAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  {
                    labelSelector: { matchLabels: selectorLabels(stack, 'postgres') },
                    topologyKey: 'kubernetes.io/hostname',
                  },
                ],
              },
            },
            containers: [container],
            volumes: [
              ...baseVolumes(stack),
              { name: 'pitr', persistentVolumeClaim: { claimName: pitrClaimName(stack) } },
            ],
          }),
        },
      },
    },
  };
}

export function renderBackup(stack: ResolvedFlashSaleStack, _inputs: RenderInputs): KubeObject[] {
  const s = stack.spec;
  const out: KubeObject[] = [];
  if (!needsScripts(stack)) return out;
  out.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(stack, 'backup', backupScriptsName(stack)),
    data: backupScriptsData(),
  });

  if (needsBackupClaim(stack))
    out.push(backupVolumeClaim(stack, childName(stack, 'backup'), s.backup.storage));
  if (pitrEnabled(stack)) {
    if (s.backup.pitr.existingClaim === undefined) {
      out.push(backupVolumeClaim(stack, pitrClaimName(stack), s.backup.pitr.storage));
    }
    out.push(renderBaseBackupCronJob(stack));
  }

  if (s.backup.enabled) {
    out.push({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: objectMeta(stack, 'backup', childName(stack, 'backup')),
      spec: {
        ...backupCronSchedule(s.backup.schedule),
        jobTemplate: {
          metadata: {
            labels: labels(stack, 'backup'),
            annotations: { [BACKUP_TRIGGER_ANNOTATION]: 'scheduled' },
          },
          spec: backupJobSpec(stack),
        },
      },
    });
  }

  const maintenance = s.postgres.maintenance?.schedule;
  if (maintenance) {
    out.push({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: objectMeta(stack, 'maintenance', childName(stack, 'maintenance')),
      spec: {
        schedule: maintenance,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: BACKUP_JOB_LIMITS.startingDeadlineSeconds,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: labels(stack, 'maintenance') },
          spec: {
            backoffLimit: 1,
            activeDeadlineSeconds: 3 * 3600,
            template: podTemplate(stack, 'maintenance', 'maintenance', {
              containers: [
                {
                  name: 'maintenance',
                  image: s.postgres.image,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['bash', `${SCRIPTS_DIR}/maintenance.sh`],
                  env: [...connectionEnv(stack), { name: 'PGDATABASE', value: s.postgres.database }],
                  resources: containerResources(JOB_RESOURCES),
                  securityContext: restrictedContainerSecurityContext(),
                  volumeMounts: baseMounts,
                },
              ],
              volumes: baseVolumes(stack),
            }),
          },
        },
      },
    });
  }

  const from = dumpBootstrap(stack);
  if (from) {
    const env = [
      ...connectionEnv(stack),
      { name: 'PGDATABASE', value: 'postgres' },
      { name: 'BACKUP_DIR', value: RESTORE_SOURCE_MOUNT },
      { name: 'BACKUP_FILE', value: from.file },
      { name: 'TARGET_DATABASE', value: s.postgres.database },
      { name: 'STACK', value: stack.metadata.name },
      // A dump made elsewhere may have no .sha256; when it has one, it is still checked.
      { name: 'REQUIRE_CHECKSUM', value: '0' },
      { name: 'SKIP_IF_RESTORED', value: '1' },
    ];
    out.push({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: objectMeta(stack, 'bootstrap', childName(stack, 'bootstrap'), {
        'flashsale.dev/bootstrap-from': `${from.claimName}:${from.file}`,
      }),
      spec: {
        backoffLimit: 3,
        activeDeadlineSeconds: 12 * 3600,
        template: podTemplate(stack, 'bootstrap', 'bootstrap', {
          initContainers: [
            {
              name: 'wait-for-postgres',
              image: s.postgres.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['bash', '-c', 'until pg_isready --timeout=5 >/dev/null 2>&1; do sleep 2; done'],
              env: env.filter((e) => ['PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE'].includes(e.name as string)),
              resources: containerResources(JOB_RESOURCES),
              securityContext: restrictedContainerSecurityContext(),
            },
          ],
          containers: [
            {
              name: 'restore',
              image: s.postgres.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['bash', `${SCRIPTS_DIR}/restore.sh`],
              env,
              resources: containerResources(JOB_RESOURCES),
              securityContext: restrictedContainerSecurityContext(),
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              volumeMounts: [
                ...baseMounts,
                { name: 'source', mountPath: RESTORE_SOURCE_MOUNT, readOnly: true },
              ],
            },
          ],
          volumes: [
            ...baseVolumes(stack),
            { name: 'source', persistentVolumeClaim: { claimName: from.claimName, readOnly: true } },
          ],
        }),
      },
    });
  }
  return out;
}
