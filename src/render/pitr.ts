/**
 * Point-in-time recovery, the parts PostgreSQL's own pod needs (render/postgres.ts uses them; the base-backup
 * CronJob and the volume are rendered in render/backup.ts):
 *   - spec.backup.pitr.enabled: archive_mode, archive_command (archive-wal.sh into <volume>/wal), archive_timeout,
 *     the volume mounted at PITR_MOUNT, and pg_hba lines for pg_basebackup's replication connection;
 *   - spec.postgres.bootstrap.fromBackup.targetTime / targetLSN: an initContainer running pitr-restore.sh on an
 *     empty data directory, with the source volume mounted read-only at RESTORE_SOURCE_MOUNT in both containers
 *     (restore_command reads WAL from it during recovery).
 * Pure.
 */
import { parseDuration } from '../api/formats.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { childName } from './common.js';

export const PITR_MOUNT = '/pitr';
export const RESTORE_SOURCE_MOUNT = '/restore-source';
export const ARCHIVE_SCRIPT = 'archive-wal.sh';
export const PITR_RESTORE_SCRIPT = 'pitr-restore.sh';

export function pitrEnabled(stack: ResolvedFlashSaleStack): boolean {
  return stack.spec.backup.pitr.enabled;
}

/** The claim of the WAL archive and base backups: spec.backup.pitr.existingClaim or `<stack>-backup-pitr`. */
export function pitrClaimName(stack: ResolvedFlashSaleStack): string {
  return stack.spec.backup.pitr.existingClaim ?? childName(stack, 'backup', 'pitr');
}

/** The point-in-time target of a bootstrap, when the stack is bootstrapped that way. */
export function pitrBootstrap(
  stack: ResolvedFlashSaleStack,
): { claimName: string; targetTime?: string; targetLSN?: string } | undefined {
  const from = stack.spec.postgres.bootstrap?.fromBackup;
  if (!from || (from.targetTime === undefined && from.targetLSN === undefined)) return undefined;
  return {
    claimName: from.claimName,
    ...(from.targetTime !== undefined ? { targetTime: from.targetTime } : {}),
    ...(from.targetLSN !== undefined ? { targetLSN: from.targetLSN } : {}),
  };
}

/** A bootstrap from a pg_dump file (the `<stack>-bootstrap` Job and migrate's wait for its marker). */
export function dumpBootstrap(
  stack: ResolvedFlashSaleStack,
): { claimName: string; file: string } | undefined {
  const from = stack.spec.postgres.bootstrap?.fromBackup;
  return from?.file !== undefined ? { claimName: from.claimName, file: from.file } : undefined;
}

/**
 * postgresql.conf settings of WAL archiving. `configDir` is where the PostgreSQL ConfigMap (with
 * archive-wal.sh) is mounted. archive_timeout bounds how long a commit can stay in an unarchived segment.
 */
export function walArchivingSettings(
  stack: ResolvedFlashSaleStack,
  configDir: string,
): Record<string, string> {
  if (!pitrEnabled(stack)) return {};
  return {
    archive_mode: 'on',
    archive_command: `bash ${configDir}/${ARCHIVE_SCRIPT} "%p" "%f" ${PITR_MOUNT}`,
    // PostgreSQL's units differ from our durations (no "1h30m"): whole seconds, at least 1.
    archive_timeout: `${Math.max(1, Math.round((parseDuration(stack.spec.backup.pitr.archiveTimeout) ?? 60_000) / 1000))}s`,
  };
}
