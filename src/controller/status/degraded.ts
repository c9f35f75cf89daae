/**
 * Degraded and the health conditions: what the probes measured, folded with the backup state. When health is
 * not measured (probes off, or no probe finished yet) the answer is Unknown with a reason that says so, never
 * a healthy-sounding False.
 */
import type { FlashSaleStackStatus } from '../../api/types.js';
import type { ConditionInput } from '../conditions.js';
import type { HealthSnapshot } from '../reconciler.js';

export type HealthView =
  { state: 'disabled' } | { state: 'pending' } | { state: 'measured'; snapshot: HealthSnapshot };

export interface DegradedResult {
  /** The probe loop's <Component>Healthy conditions plus Degraded. */
  conditions: ConditionInput[];
  degraded: boolean;
  summary: NonNullable<FlashSaleStackStatus['healthSummary']>;
}

export const HEALTH_PROBES_DISABLED =
  'Health probes are off (the operator runs with --no-health), so only workload readiness is reported; run the operator without --no-health to measure health.';

export function degradedConditions(input: {
  health: HealthView;
  /** Probe failures while workloads roll out are expected: Degraded speaks about a stack that is up. */
  allReady: boolean;
  backup?: ConditionInput;
}): DegradedResult {
  const { health } = input;
  const conditions: ConditionInput[] =
    health.state === 'measured' ? health.snapshot.conditions.filter((c) => c.type !== 'Degraded') : [];
  const reasons =
    health.state === 'measured' && input.allReady
      ? conditions
          .filter((c) => c.type.endsWith('Healthy') && c.status === 'False')
          .map((c) => `${c.type}: ${c.reason}`)
      : [];
  if (input.backup?.status === 'False') reasons.push(`BackupHealthy: ${input.backup.reason}`);
  if (reasons.length > 0) {
    conditions.push({
      type: 'Degraded',
      status: 'True',
      reason: 'ComponentsUnhealthy',
      message: reasons.join('; '),
    });
    return { conditions, degraded: true, summary: 'Degraded' };
  }
  if (health.state !== 'measured') {
    conditions.push(
      health.state === 'disabled'
        ? {
            type: 'Degraded',
            status: 'Unknown',
            reason: 'HealthProbesDisabled',
            message: HEALTH_PROBES_DISABLED,
          }
        : {
            type: 'Degraded',
            status: 'Unknown',
            reason: 'AwaitingFirstProbe',
            message: 'No health probe has finished for this stack yet.',
          },
    );
    return { conditions, degraded: false, summary: 'Unknown' };
  }
  conditions.push({
    type: 'Degraded',
    status: 'False',
    reason: 'AllHealthy',
    message: 'No component reports a health problem.',
  });
  return { conditions, degraded: false, summary: 'Healthy' };
}
