/**
 * Fields a real API server refuses to change on update (422 Invalid), per pkg/apis/{apps,batch,core,rbac}/
 * validation (ValidateStatefulSetUpdate, ValidateJobSpecUpdate, ValidatePersistentVolumeClaimUpdate, …), and
 * the PersistentVolumeClaimResize admission check. Compared after defaulting, as upstream does.
 *
 * Approximations: values in "Invalid value:" are printed in the newer JSON form from 1.31 on and in Go
 * syntax before (upstream prints internal types with %#v, which we shorten to `core.PodTemplateSpec{…}` for
 * pod templates); PVC size rules follow RecoverVolumeExpansionFailure (on from 1.32: not below
 * status.capacity) and the older "not less than previous value" before.
 */
import { ApiError, qualified } from './errors.js';
import { parseQuantity } from './quantity.js';
import { deepEqual, isObj, type KObj } from './util.js';

export interface Cause {
  field: string;
  message: string;
  reason: string;
}

export interface ImmutabilityContext {
  minor: number;
  /** `allowVolumeExpansion` of a StorageClass, or undefined when no such class exists. */
  storageClassExpands(name: string): boolean | undefined;
}

type Obj = Record<string, any>;

const forbidden = (field: string, detail: string): Cause => ({
  field,
  message: `Forbidden: ${detail}`,
  reason: 'FieldValueForbidden',
});

function goValue(v: unknown, minor: number, goType: string): string {
  if (minor >= 31) return JSON.stringify(v ?? null);
  if (typeof v === 'string' || typeof v === 'number') return JSON.stringify(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string'))
    return `[]string{${v.map((x) => JSON.stringify(x)).join(', ')}}`;
  if (goType === 'v1.LabelSelector' && isObj(v)) {
    const labels = Object.entries(v.matchLabels ?? {})
      .map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x)}`)
      .join(', ');
    const exprs = v.matchExpressions
      ? '[]v1.LabelSelectorRequirement{…}'
      : '[]v1.LabelSelectorRequirement(nil)';
    return `v1.LabelSelector{MatchLabels:map[string]string{${labels}}, MatchExpressions:${exprs}}`;
  }
  return `${goType}{…}`;
}

const immutableField = (field: string, value: unknown, minor: number, goType: string): Cause => ({
  field,
  message: `Invalid value: ${goValue(value, minor, goType)}: field is immutable`,
  reason: 'FieldValueInvalid',
});

function without(o: Obj | undefined, keys: string[]): Obj {
  const c: Obj = { ...(o ?? {}) };
  for (const k of keys) delete c[k];
  return c;
}

function statefulSet(old: Obj, next: Obj, minor: number): Cause[] {
  // revisionHistoryLimit became mutable in 1.34.
  const mutable = [
    'replicas',
    'ordinals',
    'template',
    'updateStrategy',
    'persistentVolumeClaimRetentionPolicy',
    'minReadySeconds',
  ];
  if (minor >= 34) mutable.splice(4, 0, 'revisionHistoryLimit');
  if (deepEqual(without(old.spec, mutable), without(next.spec, mutable))) return [];
  const names = mutable.map((m) => `'${m}'`);
  const list = `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return [forbidden('spec', `updates to statefulset spec for fields other than ${list} are forbidden`)];
}

function selector(old: Obj, next: Obj, minor: number): Cause[] {
  return deepEqual(old.spec?.selector, next.spec?.selector)
    ? []
    : [immutableField('spec.selector', next.spec?.selector, minor, 'v1.LabelSelector')];
}

function job(old: Obj, next: Obj, minor: number): Cause[] {
  const causes = selector(old, next, minor);
  const o = old.spec ?? {};
  const n = next.spec ?? {};
  if (!deepEqual(o.template, n.template))
    causes.push(immutableField('spec.template', n.template, minor, 'core.PodTemplateSpec'));
  const elasticIndexed = n.completionMode === 'Indexed' && n.completions === n.parallelism;
  if (!deepEqual(o.completions, n.completions) && !elasticIndexed)
    causes.push(immutableField('spec.completions', n.completions, minor, 'int32'));
  for (const f of [
    'completionMode',
    'podFailurePolicy',
    'podReplacementPolicy',
    'managedBy',
    'manualSelector',
  ])
    if (!deepEqual(o[f], n[f])) causes.push(immutableField(`spec.${f}`, n[f], minor, 'string'));
  return causes;
}

function storageOf(pvc: Obj, where: 'spec' | 'status'): bigint | undefined {
  const raw = where === 'spec' ? pvc.spec?.resources?.requests?.storage : pvc.status?.capacity?.storage;
  return raw === undefined ? undefined : parseQuantity(raw)?.nanos;
}

function pvc(old: Obj, next: Obj, ctx: ImmutabilityContext): Cause[] {
  const bound = old.status?.phase === 'Bound';
  const strip = (p: Obj) => {
    const spec = { ...(p.spec ?? {}) };
    if (bound)
      spec.resources = {
        ...(spec.resources ?? {}),
        requests: without(spec.resources?.requests, ['storage']),
      };
    if (!old.spec?.volumeName) delete spec.volumeName;
    delete spec.volumeAttributesClassName;
    return spec;
  };
  const detail =
    ctx.minor >= 29
      ? 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'
      : 'spec is immutable after creation except resources.requests for bound claims';
  if (!deepEqual(strip(old), strip(next))) return [forbidden('spec', detail)];
  const before = storageOf(old, 'spec');
  const after = storageOf(next, 'spec');
  if (before === undefined || after === undefined || after === before) return [];
  if (ctx.minor >= 32) {
    const capacity = storageOf(old, 'status') ?? before;
    if (after < capacity)
      return [forbidden('spec.resources.requests.storage', 'field can not be less than status.capacity')];
  } else if (after < before)
    return [forbidden('spec.resources.requests.storage', 'field can not be less than previous value')];
  return [];
}

function service(old: Obj, next: Obj, minor: number): Cause[] {
  const o = old.spec ?? {};
  const n = next.spec ?? {};
  if (n.type === 'ExternalName' || o.type === 'ExternalName') return [];
  const causes: Cause[] = [];
  if (o.clusterIP && n.clusterIP !== o.clusterIP) {
    causes.push({
      field: 'spec.clusterIPs[0]',
      message: `Invalid value: ${goValue(n.clusterIPs ?? [], minor, '[]string')}: may not change once set`,
      reason: 'FieldValueInvalid',
    });
    causes.push(immutableField('spec.clusterIP', n.clusterIP ?? '', minor, 'string'));
  }
  return causes;
}

function immutableData(old: Obj, next: Obj): Cause[] {
  if (old.immutable !== true) return [];
  const causes: Cause[] = [];
  if (next.immutable !== true)
    causes.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of ['data', 'binaryData', 'stringData'])
    if (f !== 'stringData' && !deepEqual(old[f], next[f]))
      causes.push(forbidden(f, 'field is immutable when `immutable` is set'));
  return causes;
}

/** Causes of a 422 for changing immutable fields from `old` to `next`; [] when the update is allowed. */
export function immutabilityCauses(plural: string, old: KObj, next: KObj, ctx: ImmutabilityContext): Cause[] {
  switch (plural) {
    case 'statefulsets':
      return statefulSet(old, next, ctx.minor);
    case 'deployments':
    case 'replicasets':
    case 'daemonsets':
      return selector(old, next, ctx.minor);
    case 'jobs':
      return job(old, next, ctx.minor);
    case 'persistentvolumeclaims':
      return pvc(old, next, ctx);
    case 'services':
      return service(old, next, ctx.minor);
    case 'configmaps':
      return immutableData(old, next);
    case 'secrets':
      return [
        ...(old.type !== next.type ? [immutableField('type', next.type, ctx.minor, 'string')] : []),
        ...immutableData(old, next),
      ];
    case 'rolebindings':
    case 'clusterrolebindings':
      return deepEqual(old.roleRef, next.roleRef)
        ? []
        : [
            {
              field: 'roleRef',
              message: `Invalid value: ${goValue(next.roleRef, ctx.minor, 'rbac.RoleRef')}: cannot change roleRef`,
              reason: 'FieldValueInvalid',
            },
          ];
    default:
      return [];
  }
}

/**
 * The PersistentVolumeClaimResize admission plugin: growing a claim needs a StorageClass that allows
 * expansion (403 Forbidden otherwise).
 */
export function resizeRefusal(
  plural: string,
  old: KObj,
  next: KObj,
  ctx: ImmutabilityContext,
): ApiError | undefined {
  if (plural !== 'persistentvolumeclaims') return undefined;
  const before = storageOf(old, 'spec');
  const after = storageOf(next, 'spec');
  if (before === undefined || after === undefined || after <= before) return undefined;
  const cls = next.spec?.storageClassName;
  if (typeof cls === 'string' && cls && ctx.storageClassExpands(cls) === true) return undefined;
  return new ApiError(
    403,
    'Forbidden',
    `${qualified('persistentvolumeclaims', '')} "${next.metadata.name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`,
    { name: next.metadata.name, kind: 'persistentvolumeclaims' },
  );
}
