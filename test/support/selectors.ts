/** Label and field selectors, parsed as the API server parses them. */
import { ApiError, badRequest } from './errors.js';
import { isObj, type KObj } from './util.js';

type LabelReq =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: '=' | '!='; values: [string] };

export type LabelSelector = LabelReq[];

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

export function parseLabelSelector(s: string | null | undefined): LabelSelector {
  if (!s) return [];
  const reqs: LabelSelector = [];
  for (const part of splitTopLevel(s)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      reqs.push({
        key: m[1]!,
        op: m[2] as 'in' | 'notin',
        values: m[3]!
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      });
    } else if ((m = part.match(/^!\s*([^\s!=()]+)$/))) {
      reqs.push({ key: m[1]!, op: '!' });
    } else if ((m = part.match(/^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=()]*)$/))) {
      reqs.push({ key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] });
    } else if ((m = part.match(/^([^\s!=()]+)$/))) {
      reqs.push({ key: m[1]!, op: 'exists' });
    } else {
      throw badRequest(`unable to parse requirement: invalid label selector "${s}": found '${part}'`);
    }
  }
  return reqs;
}

/** A metav1.LabelSelector object (matchLabels, matchExpressions) in the string form selectors are parsed from. */
export function labelSelectorString(sel: unknown): string {
  if (typeof sel === 'string') return sel;
  if (!isObj(sel)) return '';
  const parts = Object.entries((sel.matchLabels ?? {}) as Record<string, string>).map(
    ([k, v]) => `${k}=${v}`,
  );
  for (const e of (sel.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/** A metav1.LabelSelector object as requirements to match with. */
export function labelSelectorOf(sel: unknown): LabelSelector {
  return parseLabelSelector(labelSelectorString(sel));
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
    }
  });
}

/** Field selectors the API server accepts, by resource plural. metadata.name/namespace work everywhere. */
const FIELD_LABELS: Record<string, string[]> = {
  events: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
    'regarding.kind',
    'regarding.namespace',
    'regarding.name',
    'regarding.uid',
    'reportingController',
    'note',
  ],
  pods: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
  ],
  secrets: ['type'],
  namespaces: ['status.phase'],
  jobs: ['status.successful'],
  replicasets: ['status.replicas'],
};

export interface FieldReq {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(s: string | null | undefined, plural: string): FieldReq[] {
  if (!s) return [];
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(FIELD_LABELS[plural] ?? [])]);
  return splitTopLevel(s).map((part) => {
    const m = part.match(/^([^!=]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const field = m[1]!.trim();
    if (!allowed.has(field)) {
      throw new ApiError(400, 'BadRequest', `field label not supported: ${field}`);
    }
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() };
  });
}

function fieldValue(obj: KObj, field: string): string {
  if (field === 'source') return String(obj.source?.component ?? '');
  let cur: any = obj;
  for (const p of field.split('.')) cur = cur == null ? undefined : cur[p];
  return cur == null ? '' : String(cur);
}

export function matchFields(reqs: FieldReq[], obj: KObj): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}

export interface Selector {
  labels: LabelSelector;
  fields: FieldReq[];
}

export function matches(sel: Selector, obj: KObj): boolean {
  return matchLabels(sel.labels, obj.metadata.labels) && matchFields(sel.fields, obj);
}
