/**
 * Progressing: converged, rolling out, doing a multi-step change (volume growth), or stuck because the API
 * server refused an object (ApplyFailed, with the object and the server's whole message).
 */
import type { ComponentName } from '../../api/types.js';
import type { ApplyFailure } from '../apply.js';
import type { ConditionInput } from '../conditions.js';

/** A change that takes more than one reconcile (e.g. replacing a StatefulSet to grow its volumes). */
export interface Activity {
  reason: string;
  message: string;
}

/** One line per refused object, as it appears in the Progressing message (and once as an Event). */
export function failureLine(f: ApplyFailure): string {
  return `${f.object} was refused by the API server (${f.code} ${f.reason}): ${f.message}`;
}

export function progressingCondition(input: {
  notReady: readonly ComponentName[];
  failed: readonly ApplyFailure[];
  heldBack: readonly { object: string; waitsFor: string }[];
  activity?: Activity;
}): ConditionInput {
  if (input.failed.length > 0) {
    const lines = input.failed.map(failureLine);
    if (input.heldBack.length > 0) {
      lines.push(
        `Not applied until that is fixed (they depend on it): ${input.heldBack.map((h) => h.object).join(', ')}.`,
      );
    }
    return { type: 'Progressing', status: 'False', reason: 'ApplyFailed', message: lines.join('\n') };
  }
  if (input.activity) {
    return { type: 'Progressing', status: 'True', ...input.activity };
  }
  if (input.notReady.length > 0) {
    return {
      type: 'Progressing',
      status: 'True',
      reason: 'RollingOut',
      message: `Waiting for: ${input.notReady.join(', ')}.`,
    };
  }
  return {
    type: 'Progressing',
    status: 'False',
    reason: 'Converged',
    message: 'All components are at the desired state.',
  };
}
