/**
 * events.k8s.io/v1 Events are a second view of the core/v1 Events storage, as in the real API server:
 * regarding ↔ involvedObject, note ↔ message, reportingController ↔ reportingComponent,
 * deprecatedSource/FirstTimestamp/LastTimestamp/Count ↔ source/firstTimestamp/lastTimestamp/count.
 */
import type { KObj } from './util.js';

const PAIRS: [v1: string, core: string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const SAME = ['metadata', 'reason', 'type', 'action', 'related', 'reportingInstance', 'eventTime', 'series'];

export function eventsV1ToCore(o: KObj): KObj {
  const out: KObj = { apiVersion: 'v1', kind: 'Event', metadata: o.metadata };
  for (const k of SAME) if (o[k] !== undefined) out[k] = o[k];
  for (const [v1, core] of PAIRS) if (o[v1] !== undefined) out[core] = o[v1];
  return out;
}

export function coreToEventsV1(o: KObj): KObj {
  const out: KObj = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: o.metadata };
  for (const k of SAME) if (o[k] !== undefined) out[k] = o[k];
  for (const [v1, core] of PAIRS) if (o[core] !== undefined) out[v1] = o[core];
  return out;
}

/** events.k8s.io field selector names → the core/v1 fields they select on. */
export function coreEventField(field: string): string {
  if (field.startsWith('regarding.')) return 'involvedObject.' + field.slice('regarding.'.length);
  if (field === 'reportingController') return 'reportingComponent';
  if (field === 'note') return 'message';
  return field;
}
