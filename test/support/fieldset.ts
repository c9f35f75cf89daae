/**
 * Field sets as server-side apply tracks them (the fieldsV1 format): path elements are `f:<field>`,
 * `k:<json of the list-map keys>` for associative-list items, `v:<json>` for set items; `.` marks the item itself.
 */
import { clone, deepEqual, isObj } from './util.js';

export type ListKind = { type: 'map'; keys: string[] } | { type: 'set' } | { type: 'atomic' };

/** Where we are in the schema while walking an object: a CRD schema node, or built-in field-name knowledge. */
export interface Nav {
  schema?: Record<string, any>;
  builtin: boolean;
  field?: string;
}

export function childNav(nav: Nav, field: string): Nav {
  if (!nav.builtin) {
    const s = nav.schema;
    const next =
      s?.properties?.[field] ?? (isObj(s?.additionalProperties) ? s.additionalProperties : undefined);
    return { builtin: false, schema: next, field };
  }
  return { builtin: true, field };
}

export function itemNav(nav: Nav): Nav {
  return nav.builtin
    ? { builtin: true, field: `${nav.field}[]` }
    : { builtin: false, schema: nav.schema?.items };
}

const TCP_DEFAULT_KEYS = new Set(['protocol']);

/** listType of a list field: schema extensions for CRDs, the built-in API's markers otherwise. */
export function listKind(nav: Nav, items: any[]): ListKind {
  if (!nav.builtin) {
    const s = nav.schema ?? {};
    if (s['x-kubernetes-list-type'] === 'map')
      return { type: 'map', keys: s['x-kubernetes-list-map-keys'] ?? [] };
    if (s['x-kubernetes-list-type'] === 'set') return { type: 'set' };
    return { type: 'atomic' };
  }
  switch (nav.field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return { type: 'map', keys: ['name'] };
    case 'volumeMounts':
      return { type: 'map', keys: ['mountPath'] };
    case 'conditions':
      return { type: 'map', keys: ['type'] };
    case 'ownerReferences':
      return { type: 'map', keys: ['uid'] };
    case 'hostAliases':
      return { type: 'map', keys: ['ip'] };
    case 'topologySpreadConstraints':
      return { type: 'map', keys: ['topologyKey', 'whenUnsatisfiable'] };
    case 'finalizers':
      return { type: 'set' };
    case 'ports':
      return items.some((x) => isObj(x) && 'containerPort' in x)
        ? { type: 'map', keys: ['containerPort', 'protocol'] }
        : { type: 'map', keys: ['port', 'protocol'] };
    default:
      return { type: 'atomic' };
  }
}

export function itemKey(item: any, keys: string[]): string {
  const k: Record<string, any> = {};
  for (const key of keys) {
    const v = isObj(item) ? item[key] : undefined;
    if (v !== undefined) k[key] = v;
    else if (TCP_DEFAULT_KEYS.has(key)) k[key] = 'TCP';
  }
  return 'k:' + JSON.stringify(k);
}

const SEP = '\u0000';
export type FieldSet = Set<string>;

/** The set of field paths present in `value` (leaves, and `.` for associative/set items). */
export function fieldsOf(value: any, nav: Nav, prefix: string[] = [], out: FieldSet = new Set()): FieldSet {
  if (isObj(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && prefix.length > 0) out.add(prefix.join(SEP));
    for (const k of keys) {
      const v = value[k];
      if (v === undefined) continue;
      const p = [...prefix, `f:${k}`];
      const cn = childNav(nav, k);
      if (Array.isArray(v)) {
        const lk = listKind(cn, v);
        if (lk.type === 'atomic' || v.length === 0) out.add(p.join(SEP));
        else if (lk.type === 'set') for (const x of v) out.add([...p, `v:${JSON.stringify(x)}`].join(SEP));
        else
          for (const item of v) {
            const ip = [...p, itemKey(item, lk.keys)];
            out.add([...ip, '.'].join(SEP));
            fieldsOf(item, itemNav(cn), ip, out);
          }
      } else if (isObj(v)) {
        fieldsOf(v, cn, p, out);
      } else out.add(p.join(SEP));
    }
  }
  return out;
}

export function toFieldsV1(set: FieldSet): Record<string, any> {
  const root: Record<string, any> = {};
  for (const s of [...set].sort()) {
    let cur = root;
    for (const el of s.split(SEP)) cur = cur[el] ??= {};
  }
  return root;
}

export function fromFieldsV1(
  tree: Record<string, any> | undefined,
  prefix: string[] = [],
  out: FieldSet = new Set(),
): FieldSet {
  if (!tree) return out;
  const keys = Object.keys(tree);
  if (keys.length === 0 && prefix.length > 0) out.add(prefix.join(SEP));
  for (const k of keys) fromFieldsV1(tree[k], [...prefix, k], out);
  return out;
}

/** `.spec.replicas`, `.spec.template.spec.containers[name="app"].image` — how conflicts are reported. */
export function describePath(path: string): string {
  return path
    .split(SEP)
    .filter((e) => e !== '.')
    .map((e) => {
      if (e.startsWith('f:')) return '.' + e.slice(2);
      if (e.startsWith('k:')) {
        const k = JSON.parse(e.slice(2)) as Record<string, unknown>;
        return (
          '[' +
          Object.entries(k)
            .map(([a, b]) => `${a}=${JSON.stringify(b)}`)
            .join(',') +
          ']'
        );
      }
      if (e.startsWith('v:')) return `[${e.slice(2)}]`;
      return e;
    })
    .join('');
}

function resolve(
  obj: any,
  els: string[],
): { found: boolean; value?: any; parent?: any; at?: string | number } {
  let cur = obj;
  let parent: any;
  let at: string | number | undefined;
  for (const el of els) {
    if (el === '.') continue;
    if (el.startsWith('f:')) {
      if (!isObj(cur) || !(el.slice(2) in cur)) return { found: false };
      parent = cur;
      at = el.slice(2);
      cur = cur[at];
    } else if (el.startsWith('k:')) {
      if (!Array.isArray(cur)) return { found: false };
      const keys = Object.keys(JSON.parse(el.slice(2)) as object);
      const i = cur.findIndex((x) => itemKey(x, keys) === el);
      if (i < 0) return { found: false };
      parent = cur;
      at = i;
      cur = cur[i];
    } else if (el.startsWith('v:')) {
      if (!Array.isArray(cur)) return { found: false };
      const want = JSON.parse(el.slice(2));
      const i = cur.findIndex((x) => deepEqual(x, want));
      if (i < 0) return { found: false };
      parent = cur;
      at = i;
      cur = cur[i];
    } else return { found: false };
  }
  return { found: true, value: cur, parent, at };
}

export function valueAt(obj: any, path: string): { found: boolean; value?: any } {
  return resolve(obj, path.split(SEP));
}

/** Remove the fields at `paths` from obj (in place), deepest first; empty parent maps are left as the real server does. */
export function removePaths(obj: any, paths: Iterable<string>): void {
  const sorted = [...paths].sort((a, b) => b.split(SEP).length - a.split(SEP).length);
  for (const p of sorted) {
    const els = p.split(SEP);
    // an item marker `.` removes the whole item
    const r = resolve(obj, els[els.length - 1] === '.' ? els.slice(0, -1) : els);
    if (!r.found || r.parent === undefined) continue;
    if (Array.isArray(r.parent)) r.parent.splice(r.at as number, 1);
    else delete r.parent[r.at as string];
  }
}

/** Merge an applied configuration into the live object (maps recursively, associative lists by key). */
export function applyMerge(live: any, applied: any, nav: Nav): any {
  if (!isObj(applied)) return clone(applied);
  const out: Record<string, any> = isObj(live) ? clone(live) : {};
  for (const [k, v] of Object.entries(applied)) {
    if (v === null || v === undefined) {
      delete out[k];
      continue;
    }
    const cn = childNav(nav, k);
    if (Array.isArray(v)) {
      const cur: any[] = Array.isArray(out[k]) ? out[k] : [];
      const lk = listKind(cn, [...cur, ...v]);
      if (lk.type === 'atomic') out[k] = clone(v);
      else if (lk.type === 'set') {
        const merged = [...cur];
        for (const x of v) if (!merged.some((y) => deepEqual(x, y))) merged.push(clone(x));
        out[k] = merged;
      } else {
        const merged: any[] = [];
        const seen = new Set<string>();
        for (const item of v) {
          const key = itemKey(item, lk.keys);
          seen.add(key);
          const existing = cur.find((x) => itemKey(x, lk.keys) === key);
          merged.push(applyMerge(existing, item, itemNav(cn)));
        }
        for (const x of cur) if (!seen.has(itemKey(x, lk.keys))) merged.push(x);
        out[k] = merged;
      }
    } else if (isObj(v)) out[k] = applyMerge(out[k], v, cn);
    else out[k] = v;
  }
  return out;
}

export const FIELD_SEP = SEP;
