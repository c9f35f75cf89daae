/**
 * Built-in objects checked against the emulated server's OpenAPI models (kube-openapi.ts), the way a real
 * kube-apiserver decodes them, and put in the form it stores them in.
 *
 * - `conform` walks an object along its model and reports fields the model does not declare (in both path
 *   notations: strict JSON decoding `spec.template.spec.containers[0].lifecycle.preStop.sleep`, and
 *   server-side apply's typed paths `.spec.template.spec.containers[name="app"].lifecycle.preStop.sleep`),
 *   values of the wrong JSON type, malformed quantities, and required fields that are missing.
 * - `storedForm` drops what Go's encoding drops (`null`, empty optional lists/maps/strings, the zero value of
 *   non-pointer `omitempty` scalars) and writes quantities canonically. Approximation: the OpenAPI models say
 *   which fields are optional but not which are Go pointers, so every optional list, map and string is
 *   treated as `omitempty` (true for the built-in API's optional fields), objects are always kept (a Go
 *   struct, pointer or not, is never omitted when present), and scalars are kept unless listed in
 *   ZERO_DROPPED_SCALARS; KEPT_EMPTY_STRINGS lists the pointer strings that keep "".
 */
import { itemKey, listKind } from './fieldset.js';
import {
  KEPT_EMPTY_STRINGS,
  ZERO_DROPPED_SCALARS,
  type FieldType,
  type KubeOpenApi,
  type Model,
} from './kube-openapi.js';
import { canonicalQuantity, QUANTITY_FORMAT_ERROR } from './quantity.js';
import { isObj } from './util.js';

export interface FieldProblem {
  /** Path as strict JSON decoding and validation print it: `spec.template.spec.containers[0].image`. */
  path: string;
  /** Path as server-side apply prints it: `.spec.template.spec.containers[name="app"].image`. */
  ssaPath: string;
}

export interface TypeProblem extends FieldProblem {
  /** What the model wants, in Go terms (`int32`, `string`, `bool`, `object`, `array`). */
  goType: string;
  /** The model (Go struct) that holds the field, e.g. `DeploymentSpec`. */
  struct: string;
  got: string;
  /** Set for a malformed quantity (the apimachinery parse error). */
  detail?: string;
}

export interface Conformance {
  unknown: FieldProblem[];
  types: TypeProblem[];
  required: FieldProblem[];
}

const META_SKIPPED = new Set(['apiVersion', 'kind']);

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

function goTypeOf(t: FieldType): string {
  switch (t.t) {
    case 'integer':
      return 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'ref':
      return `v1.${t.ref.replace(/^(Core|Events)?V\d\w*?(?=[A-Z])/, '')}`;
    case 'array':
      return `[]${goTypeOf(t.of)}`;
    case 'map':
      return `map[string]${goTypeOf(t.of)}`;
    default:
      return 'string';
  }
}

const structNames = new Map<string, string>();

/** The Go struct name of a model: `V1DeploymentSpec` → `DeploymentSpec`. */
function structName(model: string): string {
  let name = structNames.get(model);
  if (name === undefined) {
    name = model.replace(/^(Core|Events)?V\d+(alpha\d+|beta\d+)?/, '');
    structNames.set(model, name);
  }
  return name;
}

function fits(t: FieldType, v: unknown): boolean {
  switch (t.t) {
    case 'string':
    case 'date-time':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'int-or-string':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
    case 'quantity':
      return typeof v === 'string' || typeof v === 'number';
    case 'ref':
      return isObj(v) || t.loose === true;
    case 'map':
      return isObj(v);
    case 'array':
      return Array.isArray(v);
    default:
      return true;
  }
}

/** The SSA path element of a list item: `[name="app"]` for keyed lists, `["x"]` for sets, `[0]` otherwise. */
function ssaItem(field: string, list: unknown[], item: unknown, index: number): string {
  const kind = listKind({ builtin: true, field }, list);
  if (kind.type === 'map' && isObj(item)) {
    const key = JSON.parse(itemKey(item, kind.keys).slice(2)) as Record<string, unknown>;
    return `[${Object.entries(key)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}]`;
  }
  if (kind.type === 'set') return `[${JSON.stringify(item)}]`;
  return `[${index}]`;
}

/** Check `obj` against `model` (see the module comment). With `dropUnknown`, unknown fields are removed. */
export function conform(
  api: KubeOpenApi,
  model: Model,
  obj: Record<string, unknown>,
  dropUnknown = false,
): Conformance {
  const out: Conformance = { unknown: [], types: [], required: [] };
  const join = (p: string, k: string) => (p ? `${p}.${k}` : k);

  // SSA paths need list keys, so they are only built for the fields that are reported.
  const walkValue = (
    t: FieldType,
    v: unknown,
    path: string,
    ssa: () => string,
    holder: string,
    field: string,
  ): void => {
    if (v === null || v === undefined) return;
    if (!fits(t, v)) {
      out.types.push({ path, ssaPath: ssa(), goType: goTypeOf(t), struct: holder, got: jsonType(v) });
      return;
    }
    if (t.t === 'quantity' && canonicalQuantity(v as string | number) === undefined) {
      out.types.push({
        path,
        ssaPath: ssa(),
        goType: 'resource.Quantity',
        struct: holder,
        got: jsonType(v),
        detail: QUANTITY_FORMAT_ERROR,
      });
      return;
    }
    if (t.t === 'ref') {
      const m = api.models.get(t.ref);
      if (m && isObj(v)) walkModel(m, v, path, ssa);
    } else if (t.t === 'array') {
      const list = v as unknown[];
      list.forEach((x, i) =>
        walkValue(t.of, x, `${path}[${i}]`, () => `${ssa()}${ssaItem(field, list, x, i)}`, holder, field),
      );
    } else if (t.t === 'map') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        walkValue(t.of, x, join(path, k), () => `${ssa()}.${k}`, holder, field);
    }
  };

  const walkModel = (m: Model, o: Record<string, unknown>, path: string, ssa: () => string): void => {
    const root = path === '';
    for (const [k, v] of Object.entries(o)) {
      if (root && META_SKIPPED.has(k)) continue;
      const f = m.fields.get(k);
      if (!f) {
        out.unknown.push({ path: join(path, k), ssaPath: `${ssa()}.${k}` });
        if (dropUnknown) delete o[k];
        continue;
      }
      walkValue(f.type, v, join(path, k), () => `${ssa()}.${k}`, structName(m.name), k);
    }
    // Status is written by controllers, and upstream does not refuse missing fields there (they decode to
    // zero values); on the spec side, missing required fields are what validation refuses.
    if (root || !path.startsWith('status'))
      for (const f of m.fields.values()) {
        // A required struct decodes to its zero value when absent, so only required scalars and lists are refused.
        if (
          f.required &&
          f.type.t !== 'ref' &&
          o[f.name] === undefined &&
          !(root && META_SKIPPED.has(f.name))
        )
          out.required.push({ path: join(path, f.name), ssaPath: `${ssa()}.${f.name}` });
      }
  };

  walkModel(model, obj, '', () => '');
  return out;
}

function isEmpty(t: FieldType, v: unknown, key: string): boolean {
  if (v === null) return true;
  switch (t.t) {
    case 'array':
      return Array.isArray(v) && v.length === 0;
    case 'map':
      return isObj(v) && Object.keys(v).length === 0;
    case 'string':
    case 'date-time':
      return v === '' && !KEPT_EMPTY_STRINGS.has(key);
    case 'integer':
    case 'number':
      return v === 0 && ZERO_DROPPED_SCALARS.has(key);
    case 'boolean':
      return v === false && ZERO_DROPPED_SCALARS.has(key);
    default:
      return false;
  }
}

/**
 * Fields that are non-pointer structs in Go, which encoding/json writes even when empty (so the server
 * returns them although nobody sent them); nested ObjectMeta likewise brings `creationTimestamp: null`.
 */
const EMITTED_ZERO = new Map<string, [string, unknown][]>([
  ['V1Container', [['resources', {}]]],
  ['V1PodTemplateSpec', [['metadata', {}]]],
]);

/** Put a conforming object into the form the server stores (in place; see the module comment). */
export function storedForm(api: KubeOpenApi, model: Model, obj: Record<string, unknown>): void {
  const value = (t: FieldType, v: unknown): unknown => {
    if (t.t === 'quantity' && (typeof v === 'string' || typeof v === 'number'))
      return canonicalQuantity(v) ?? v;
    if (t.t === 'ref' && isObj(v)) {
      const m = api.models.get(t.ref);
      if (m) walk(m, v);
    } else if (t.t === 'array' && Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = value(t.of, v[i]);
    } else if (t.t === 'map' && isObj(v)) {
      for (const k of Object.keys(v)) v[k] = value(t.of, v[k]);
    }
    return v;
  };
  const walk = (m: Model, o: Record<string, unknown>, root = false): void => {
    // Non-pointer structs are always encoded: an absent one comes back as its zero value.
    for (const [k, zero] of EMITTED_ZERO.get(m.name) ?? [])
      if (o[k] === undefined) o[k] = structuredClone(zero);
    if (m.name === 'V1ObjectMeta' && !root && o.creationTimestamp === undefined) o.creationTimestamp = null;
    for (const [k, v] of Object.entries(o)) {
      const f = m.fields.get(k);
      if (!f || k === 'managedFields') continue;
      if (k === 'creationTimestamp' && v === null && !root) continue;
      if (v === null || (!f.required && isEmpty(f.type, v, `${m.name}.${k}`))) {
        delete o[k];
        continue;
      }
      o[k] = value(f.type, v);
    }
  };
  walk(model, obj, true);
}
