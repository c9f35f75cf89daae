/**
 * Events on the FlashSaleStack, derived from how its status changed: emitted on transitions only (never every
 * reconcile or every retry), so `kubectl describe fss` tells the story without noise.
 */
import type { Condition, FlashSaleStackStatus } from '../../api/types.js';
import { findCondition } from '../conditions.js';
import type { EventType } from '../events.js';

export interface StatusEvent {
  type: EventType;
  reason: string;
  message: string;
}

export function statusEvents(
  before: FlashSaleStackStatus | undefined,
  after: FlashSaleStackStatus,
): StatusEvent[] {
  const out: StatusEvent[] = [];
  const was = (t: string) => findCondition(before?.conditions, t);
  const now = (t: string) => findCondition(after.conditions, t);

  const config = now('ConfigValid');
  if (config && becameOrChanged(was('ConfigValid'), config, 'False', 'message')) {
    out.push({ type: 'Warning', reason: config.reason, message: config.message });
  }
  if (config?.status === 'True' && was('ConfigValid')?.status === 'False') {
    out.push({ type: 'Normal', reason: 'SpecValid', message: 'The spec is valid again; reconciling.' });
  }

  // One Warning per distinct refusal: a retry that fails the same way finds its line in the old message.
  const progressing = now('Progressing');
  if (progressing?.reason === 'ApplyFailed') {
    const old = was('Progressing');
    const known = old?.reason === 'ApplyFailed' ? old.message.split('\n') : [];
    for (const line of progressing.message.split('\n')) {
      if (line.includes(' was refused by the API server ') && !known.includes(line)) {
        out.push({ type: 'Warning', reason: 'ApplyFailed', message: line });
      }
    }
  }
  if (progressing && progressing.reason !== 'ApplyFailed' && was('Progressing')?.reason === 'ApplyFailed') {
    out.push({ type: 'Normal', reason: 'Applied', message: 'Every object was applied again.' });
  }

  if (now('Ready')?.status === 'True' && was('Ready')?.status !== 'True') {
    out.push({ type: 'Normal', reason: 'Ready', message: now('Ready')!.message });
  }
  const degraded = now('Degraded');
  if (degraded && becameOrChanged(was('Degraded'), degraded, 'True', 'message')) {
    out.push({ type: 'Warning', reason: 'Degraded', message: degraded.message });
  }
  if (degraded?.status === 'False' && was('Degraded')?.status === 'True') {
    out.push({ type: 'Normal', reason: 'Recovered', message: degraded.message });
  }
  const backup = now('BackupHealthy');
  if (backup && becameOrChanged(was('BackupHealthy'), backup, 'False', 'reason')) {
    out.push({ type: 'Warning', reason: backup.reason, message: backup.message });
  }
  if (backup?.status === 'True' && was('BackupHealthy')?.status === 'False') {
    out.push({ type: 'Normal', reason: 'BackupHealthy', message: backup.message });
  }
  return out;
}

/** `now` has `status`, and either `was` had not or `was` said something else (its `field` differs). */
function becameOrChanged(
  was: Condition | undefined,
  now: Condition,
  status: Condition['status'],
  field: 'message' | 'reason',
): boolean {
  return now.status === status && (was?.status !== status || was[field] !== now[field]);
}
