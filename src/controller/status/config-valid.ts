/**
 * ConfigValid for a spec that passed validation: budget warnings (the spec works but is risky) and notices
 * (facts about the cluster the user may want to act on, e.g. no Prometheus Operator) have their own reasons.
 */
import type { Problem } from '../../api/problems.js';
import { formatProblem } from '../../api/problems.js';
import type { ConditionInput } from '../conditions.js';

export function configValidCondition(
  warnings: readonly Problem[],
  notices: readonly Problem[],
): ConditionInput {
  const parts = ['Spec is valid.'];
  if (warnings.length > 0) parts.push(`Budget warnings: ${warnings.map(formatProblem).join('; ')}.`);
  if (notices.length > 0) parts.push(`Notices: ${notices.map(formatProblem).join('; ')}.`);
  return {
    type: 'ConfigValid',
    status: 'True',
    reason: warnings.length > 0 ? 'ValidWithWarnings' : notices.length > 0 ? 'ValidWithNotices' : 'Valid',
    message: parts.join(' '),
  };
}

/** ConfigValid=False: the spec (or a change of it) cannot be applied; nothing was changed. */
export function configInvalidCondition(reason: string, problems: readonly Problem[]): ConditionInput {
  return { type: 'ConfigValid', status: 'False', reason, message: problems.map(formatProblem).join('; ') };
}
