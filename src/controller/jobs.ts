/**
 * Jobs are run once: their pod template is immutable, so a Job whose rendered template changed (a new image
 * after the bootstrap or an on-demand backup ran) is never re-applied. The existing Job, finished or not,
 * stays as the record of what ran; deleting it makes the operator create it again from the current spec.
 */
import type { KubeObject } from '../render/common.js';
import { isAppliedIn } from './cache-shape.js';
import type { ApiObject } from './kube-client.js';

/** True when `desired` is a Job that exists with another pod template (the live one must be kept as is). */
export function keepsExistingJob(desired: KubeObject, cached: ApiObject | undefined): boolean {
  if (desired.kind !== 'Job' || !cached) return false;
  const want = (desired.spec as { template?: unknown } | undefined)?.template;
  const have = (cached.spec as { template?: unknown } | undefined)?.template;
  return !isAppliedIn(want, have);
}
