/** Writing status: skip equal statuses, and send a merge patch that also removes what disappeared. */
import type { Condition, FlashSaleStackStatus } from '../../api/types.js';
import { canonicalJson } from '../../render/common.js';
import { conditionsEqual } from '../conditions.js';

/**
 * An RFC 7386 merge patch turning `from` into `to`: removed keys (at any depth) become null, so fields that
 * disappear from status (a component's message once it is ready) really disappear. Arrays are replaced whole.
 */
export function mergePatchBetween(from: unknown, to: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(from) || !isObj(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    patch[k] = k in from ? mergePatchBetween(from[k], v) : v;
  }
  for (const k of Object.keys(from)) if (!(k in to) || to[k] === undefined) patch[k] = null;
  return patch;
}

export function statusEqual(a: FlashSaleStackStatus, b: FlashSaleStackStatus): boolean {
  const { conditions: ca, ...ra } = a;
  const { conditions: cb, ...rb } = b;
  return canonicalJson(ra) === canonicalJson(rb) && conditionsEqual(ca, cb) && sameTransitions(ca, cb);
}

function sameTransitions(a: Condition[] | undefined, b: Condition[] | undefined): boolean {
  return (
    canonicalJson((a ?? []).map((c) => c.lastTransitionTime)) ===
    canonicalJson((b ?? []).map((c) => c.lastTransitionTime))
  );
}
