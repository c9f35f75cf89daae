/** Server-side apply and managedFields bookkeeping for every write. */
import { ApiError } from './errors.js';
import {
  applyMerge,
  describePath,
  FIELD_SEP,
  fieldsOf,
  fromFieldsV1,
  removePaths,
  toFieldsV1,
  valueAt,
  type FieldSet,
  type Nav,
} from './fieldset.js';
import { deepEqual, nowIso, type KObj, type ManagedFieldsEntry } from './util.js';

const TRACKED_META = ['labels', 'annotations', 'finalizers', 'ownerReferences'];

/** The part of an object whose fields are owned: no apiVersion/kind/system metadata; status only for /status. */
export function trackedView(
  obj: Record<string, any>,
  subresource: string | undefined,
  hasStatus: boolean,
): Record<string, any> {
  if (subresource === 'status') return obj.status === undefined ? {} : { status: obj.status };
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && hasStatus) continue;
    if (k === 'metadata') {
      const m: Record<string, any> = {};
      for (const mk of TRACKED_META) if (v?.[mk] !== undefined) m[mk] = v[mk];
      if (Object.keys(m).length) out.metadata = m;
      continue;
    }
    out[k] = v;
  }
  return out;
}

function entryMatches(e: ManagedFieldsEntry, manager: string, op: string, sub: string | undefined): boolean {
  return e.manager === manager && e.operation === op && (e.subresource ?? '') === (sub ?? '');
}

function setEntry(
  entries: ManagedFieldsEntry[],
  manager: string,
  op: 'Apply' | 'Update',
  sub: string | undefined,
  apiVersion: string,
  set: FieldSet,
  changed: boolean,
): ManagedFieldsEntry[] {
  const out = entries.filter((e) => !entryMatches(e, manager, op, sub));
  const prev = entries.find((e) => entryMatches(e, manager, op, sub));
  if (set.size === 0) return out;
  const fieldsV1 = toFieldsV1(set);
  const time = changed || !prev ? nowIso() : prev.time;
  const entry: ManagedFieldsEntry = {
    manager,
    operation: op,
    apiVersion,
    time,
    fieldsType: 'FieldsV1',
    fieldsV1,
  };
  if (sub) entry.subresource = sub;
  if (prev && deepEqual(prev.fieldsV1, fieldsV1) && !changed) entry.time = prev.time;
  const idx = entries.findIndex((e) => entryMatches(e, manager, op, sub));
  if (idx >= 0) out.splice(Math.min(idx, out.length), 0, entry);
  else out.push(entry);
  return out;
}

function minus(a: FieldSet, b: FieldSet): FieldSet {
  return new Set([...a].filter((x) => !b.has(x)));
}

/**
 * managedFields after a non-apply write by `manager`: it gains the fields it changed or added, loses the ones it
 * removed; other managers lose fields that were changed or removed under them.
 */
export function updateManagedFields(
  oldObj: KObj | undefined,
  newObj: KObj,
  manager: string,
  sub: string | undefined,
  nav: Nav,
  hasStatus: boolean,
): ManagedFieldsEntry[] {
  const entries = (oldObj?.metadata.managedFields ?? []).map((e) => ({ ...e }));
  const oldView = oldObj ? trackedView(oldObj, sub, hasStatus) : {};
  const newView = trackedView(newObj, sub, hasStatus);
  const oldSet = fieldsOf(oldView, nav);
  const newSet = fieldsOf(newView, nav);
  const changed = new Set<string>();
  for (const p of newSet) {
    if (!oldSet.has(p)) changed.add(p);
    else {
      const a = valueAt(oldView, p);
      const b = valueAt(newView, p);
      if (!p.endsWith('.') && !deepEqual(a.value, b.value)) changed.add(p);
    }
  }
  const removed = minus(oldSet, newSet);
  if (changed.size === 0 && removed.size === 0) return entries;
  const touched = new Set([...changed, ...removed]);
  let result = entries.map((e) => {
    if (entryMatches(e, manager, 'Update', sub)) return e;
    const s = minus(fromFieldsV1(e.fieldsV1), touched);
    return { ...e, fieldsV1: toFieldsV1(s), _empty: s.size === 0 } as ManagedFieldsEntry & {
      _empty?: boolean;
    };
  });
  result = result
    .filter((e) => !(e as { _empty?: boolean })._empty)
    .map((e) => {
      const { _empty: _x, ...rest } = e as ManagedFieldsEntry & { _empty?: boolean };
      return rest;
    });
  const mine = result.find((e) => entryMatches(e, manager, 'Update', sub));
  const mySet = minus(new Set([...fromFieldsV1(mine?.fieldsV1), ...changed]), removed);
  return setEntry(result, manager, 'Update', sub, newObj.apiVersion, mySet, true);
}

export interface ApplyResult {
  obj: KObj;
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined when creating).
 * Conflicts (another manager owns a field with a different value) → 409 unless `force`.
 */
export function serverSideApply(
  live: KObj | undefined,
  applied: KObj,
  manager: string,
  force: boolean,
  sub: string | undefined,
  nav: Nav,
  hasStatus: boolean,
): KObj {
  const base: KObj = live ?? { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  const entries = (base.metadata.managedFields ?? []).map((e) => ({ ...e }));
  const appliedView = trackedView(applied, sub, hasStatus);
  const newSet = fieldsOf(appliedView, nav);
  const liveView = trackedView(base, sub, hasStatus);
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  const others = entries.filter((e) => !entryMatches(e, manager, 'Apply', sub));
  const otherSets = new Map<ManagedFieldsEntry, FieldSet>();
  for (const e of others) {
    const s = fromFieldsV1(e.fieldsV1);
    otherSets.set(e, s);
    if ((e.subresource ?? '') !== (sub ?? '')) continue;
    for (const p of newSet) {
      if (!s.has(p) || p.endsWith('.')) continue;
      const a = valueAt(liveView, p);
      const b = valueAt(appliedView, p);
      if (a.found && !deepEqual(a.value, b.value))
        conflicts.push({ manager: e.manager, apiVersion: e.apiVersion, path: p });
    }
  }
  if (conflicts.length && !force) {
    const lines = conflicts.map(
      (c) =>
        `conflict with "${c.manager}"${c.apiVersion ? ` using ${c.apiVersion}` : ''}: ${describePath(c.path)}`,
    );
    const msg =
      conflicts.length === 1
        ? `Apply failed with 1 conflict: ${lines[0]}`
        : `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
    throw new ApiError(409, 'Conflict', msg, {
      causes: conflicts.map((c, i) => ({
        reason: 'FieldManagerConflict',
        message: lines[i]!.replace(/: [^:]*$/, ''),
        field: describePath(c.path),
      })),
    });
  }
  const conflictPaths = new Set(conflicts.map((c) => c.path));
  const merged = applyMerge(
    base,
    sub === 'status' ? { status: applied.status } : stripUntracked(applied, hasStatus),
    { ...nav },
  );
  const mine = entries.find((e) => entryMatches(e, manager, 'Apply', sub));
  const previously = fromFieldsV1(mine?.fieldsV1);
  const ownedByOthers = new Set<string>();
  const newEntries: ManagedFieldsEntry[] = [];
  for (const e of entries) {
    if (entryMatches(e, manager, 'Apply', sub)) {
      newEntries.push(e);
      continue;
    }
    let s = otherSets.get(e)!;
    if (force && conflictPaths.size) s = minus(s, conflictPaths);
    for (const p of s) ownedByOthers.add(p);
    if (s.size)
      newEntries.push(s === otherSets.get(e) ? e : { ...e, fieldsV1: toFieldsV1(s), time: nowIso() });
  }
  // A list item (`.`) still partly owned by someone else (or still applied) is kept; only its fields go.
  const stillOwned = [...ownedByOthers, ...newSet];
  const drop = [...previously].filter((p) => {
    if (newSet.has(p) || ownedByOthers.has(p)) return false;
    if (p.endsWith(FIELD_SEP + '.')) {
      const item = p.slice(0, -1);
      return !stillOwned.some((q) => q.startsWith(item));
    }
    return true;
  });
  const mergedView = merged as KObj;
  if (drop.length) removePaths(mergedView, drop);
  mergedView.metadata = { ...(mergedView.metadata ?? {}) };
  mergedView.metadata.managedFields = setEntry(
    newEntries,
    manager,
    'Apply',
    sub,
    applied.apiVersion,
    newSet,
    !setEq(previously, newSet),
  );
  return mergedView;
}

function stripUntracked(applied: KObj, hasStatus: boolean): Record<string, any> {
  const v = trackedView(applied, undefined, hasStatus);
  return v;
}

function setEq(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
