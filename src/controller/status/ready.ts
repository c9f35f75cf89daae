/** Ready and the phase `kubectl get fss` shows, from the component, apply and health verdicts. */
import type { ComponentName, Phase } from '../../api/types.js';
import type { ApplyFailure } from '../apply.js';
import type { ConditionInput } from '../conditions.js';

export interface ReadyInput {
  components: readonly ComponentName[];
  notReady: readonly ComponentName[];
  failed: readonly ApplyFailure[];
  degraded: boolean;
}

export function readyCondition(input: ReadyInput): ConditionInput {
  const total = input.components.length;
  const ready = total - input.notReady.length;
  if (input.failed.length > 0) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'ApplyFailed',
      message: `The API server refused ${input.failed.map((f) => f.object).join(', ')}; the stack does not match its spec (see Progressing).`,
    };
  }
  if (input.notReady.length > 0) {
    return {
      type: 'Ready',
      status: 'False',
      reason: 'ComponentsNotReady',
      message: `${ready}/${total} components ready; waiting for ${input.notReady.join(', ')}.`,
    };
  }
  return {
    type: 'Ready',
    status: 'True',
    reason: input.degraded ? 'ReadyButDegraded' : 'AllComponentsReady',
    message: `All ${total} components are ready${input.degraded ? ' (see Degraded)' : ''}.`,
  };
}

export function phaseOf(input: ReadyInput): Phase {
  if (input.failed.length > 0) return 'Failed';
  if (input.notReady.length > 0) return 'Progressing';
  return input.degraded ? 'Degraded' : 'Ready';
}
