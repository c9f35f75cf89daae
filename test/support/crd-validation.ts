/**
 * Validation of CustomResourceDefinitions on create and update, after the apiextensions-apiserver rules
 * (pkg/apis/apiextensions/validation/validation.go and pkg/apiserver/schema/validation.go): names, versions,
 * the structural-schema invariants (types everywhere, root metadata restricted to name/generateName, no
 * value-validation-only fields), supported keywords, list-type / map-type markers, defaults that validate
 * against their schema and survive pruning, and x-kubernetes-validations that compile (syntax, undeclared
 * names, fields the schema does not declare). Which fields a CRD may carry at all (e.g. `fieldPath` from
 * 1.28) is checked by the built-in schema of the emulated version (builtin-schemas.ts).
 *
 * Messages and paths follow upstream: a CRD whose versions share one schema is validated as the internal
 * `spec.validation.openAPIV3Schema`, otherwise per `spec.versions[i].schema.openAPIV3Schema`.
 * Not implemented: CEL cost estimation, messageExpression compilation, conversion webhooks, and CEL syntax
 * errors carry our parser's wording after upstream's `compilation failed: ERROR: <input>:…` prefix.
 */
import { compileRule, typeCheckIssues } from './cel.js';
import type { Cause } from './immutable.js';
import { deepEqual, isObj } from './util.js';

type Obj = Record<string, any>;

const SUPPORTED_REASONS = [
  'FieldValueDuplicate',
  'FieldValueForbidden',
  'FieldValueInvalid',
  'FieldValueRequired',
];
const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const UNSUPPORTED: [string, string][] = [
  ['id', 'id is not supported'],
  ['additionalItems', 'additionalItems is not supported'],
  ['patternProperties', 'patternProperties is not supported'],
  ['definitions', 'definitions is not supported'],
  ['dependencies', 'dependencies is not supported'],
  ['$ref', '$ref is not supported'],
];
/** Keywords that must not appear under anyOf/allOf/oneOf/not (ForbiddenGenerics / ForbiddenExtensions). */
const NESTED_FORBIDDEN: [string, string][] = [
  ['type', 'must be empty to be structural'],
  ['default', 'must be undefined to be structural'],
  ['title', 'must be empty to be structural'],
  ['description', 'must be empty to be structural'],
  ['nullable', 'must be false to be structural'],
  ['x-kubernetes-preserve-unknown-fields', 'must be false to be structural'],
  ['x-kubernetes-embedded-resource', 'must be false to be structural'],
  ['x-kubernetes-int-or-string', 'must be false to be structural'],
  ['x-kubernetes-list-map-keys', 'must be empty to be structural'],
  ['x-kubernetes-list-type', 'must be undefined to be structural'],
  ['x-kubernetes-map-type', 'must be undefined to be structural'],
  ['x-kubernetes-validations', 'must be empty to be structural'],
  ['additionalProperties', 'must be undefined to be structural'],
];

const required = (field: string, detail = ''): Cause => ({
  field,
  message: detail ? `Required value: ${detail}` : 'Required value',
  reason: 'FieldValueRequired',
});
const forbidden = (field: string, detail: string): Cause => ({
  field,
  message: `Forbidden: ${detail}`,
  reason: 'FieldValueForbidden',
});
const invalid = (field: string, value: unknown, detail: string): Cause => ({
  field,
  message: `Invalid value: ${typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null)}: ${detail}`,
  reason: 'FieldValueInvalid',
});
const notSupported = (field: string, value: unknown, supported: string[]): Cause => ({
  field,
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  reason: 'FieldValueNotSupported',
});

/** How upstream prints an internal apiextensions.ValidationRule (%#v), with the fields the minor has. */
function goRule(r: Obj, minor: number): string {
  const parts = [`Rule:${JSON.stringify(r.rule ?? '')}`, `Message:${JSON.stringify(r.message ?? '')}`];
  parts.push(`MessageExpression:${JSON.stringify(r.messageExpression ?? '')}`);
  if (minor >= 28) {
    parts.push(
      r.reason === undefined
        ? 'Reason:(*apiextensions.FieldValueErrorReason)(nil)'
        : `Reason:(*apiextensions.FieldValueErrorReason)(${JSON.stringify(r.reason)})`,
    );
    parts.push(`FieldPath:${JSON.stringify(r.fieldPath ?? '')}`);
  }
  if (minor >= 29)
    parts.push(
      r.optionalOldSelf === undefined
        ? 'OptionalOldSelf:(*bool)(nil)'
        : `OptionalOldSelf:(*bool)(${r.optionalOldSelf})`,
    );
  return `apiextensions.ValidationRule{${parts.join(', ')}}`;
}

function celError(rule: string, detail: string): string {
  return `compilation failed: ERROR: <input>:1:1: ${detail}\n | ${rule}\n | ^`;
}

type Level = 'root' | 'item' | 'field';

function validateSchemaNode(
  s: unknown,
  path: string,
  level: Level,
  minor: number,
  out: Cause[],
  inMeta = false,
): void {
  if (!isObj(s)) return;
  for (const [k, msg] of UNSUPPORTED) if (s[k] !== undefined) out.push(forbidden(`${path}.${k}`, msg));
  if (s.uniqueItems === true)
    out.push(
      forbidden(
        `${path}.uniqueItems`,
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  if (s.type !== undefined && !TYPES.includes(s.type)) out.push(notSupported(`${path}.type`, s.type, TYPES));
  if (s.type === 'null')
    out.push(forbidden(`${path}.type`, 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(s.items))
    out.push(forbidden(`${path}.items`, 'items must be a schema object and not an array'));
  if (s.type === 'array' && s.items === undefined) out.push(required(`${path}.items`, 'must be specified'));
  if (isObj(s.properties) && s.additionalProperties !== undefined && s.additionalProperties !== false)
    out.push(
      forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'),
    );
  if (level === 'root' && s.additionalProperties !== undefined)
    out.push(forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
  if (inMeta && s['x-kubernetes-embedded-resource'])
    out.push(forbidden(`${path}.x-kubernetes-embedded-resource`, 'must not be used inside of resource meta'));

  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (s['x-kubernetes-preserve-unknown-fields'] === false)
    out.push(invalid(`${path}.x-kubernetes-preserve-unknown-fields`, false, 'must be true or undefined'));
  if (s['x-kubernetes-embedded-resource'] && s.type !== 'object') {
    if (!s.type)
      out.push(required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'));
    else
      out.push(invalid(`${path}.type`, s.type, 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (!s.type && !intOrString && !preserve) {
    const detail =
      level === 'root'
        ? 'must not be empty at the root'
        : level === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields';
    out.push(required(`${path}.type`, detail));
  }
  if (level === 'root' && s.type && s.type !== 'object')
    out.push(invalid(`${path}.type`, s.type, 'must be object at the root'));
  if (intOrString && preserve)
    out.push(
      invalid(
        `${path}.x-kubernetes-preserve-unknown-fields`,
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );

  listMarkers(s, path, out);

  for (const j of ['anyOf', 'allOf', 'oneOf'])
    if (Array.isArray(s[j]))
      s[j].forEach((n: unknown, i: number) =>
        nestedValueValidation(n, `${path}.${j}[${i}]`, out, intOrString && j !== 'oneOf'),
      );
  if (s.not !== undefined) nestedValueValidation(s.not, `${path}.not`, out, false);

  const embedded = s['x-kubernetes-embedded-resource'] === true;
  if (isObj(s.properties)) {
    for (const [k, v] of Object.entries(s.properties)) {
      const p = `${path}.properties[${k}]`;
      if (k === 'metadata' && (level === 'root' || embedded)) {
        rootMetadata(v, p, level === 'root', out);
        validateSchemaNode(v, p, 'field', minor, out, true);
      } else validateSchemaNode(v, p, 'field', minor, out, inMeta);
    }
  }
  if (isObj(s.items)) validateSchemaNode(s.items, `${path}.items`, 'item', minor, out, inMeta);
  if (isObj(s.additionalProperties))
    validateSchemaNode(s.additionalProperties, `${path}.additionalProperties`, 'field', minor, out, inMeta);

  if (s.default !== undefined) defaultValue(s, path, out);
  rules(s, path, minor, out);
}

function rootMetadata(m: unknown, path: string, atRoot: boolean, out: Cause[]): void {
  if (!isObj(m)) return;
  if (m.type !== undefined && m.type !== 'object')
    out.push(invalid(`${path}.type`, m.type, 'must be object'));
  if (!atRoot) return;
  const rest: Obj = { ...m };
  delete rest.type;
  if (isObj(rest.properties)) {
    const keys = Object.keys(rest.properties);
    if (keys.every((k) => k === 'name' || k === 'generateName') && keys.length > 0) delete rest.properties;
  }
  if (Object.keys(rest).length > 0)
    out.push(
      forbidden(
        path,
        'must not specify anything other than name and generateName, but metadata is implicitly specified',
      ),
    );
}

function nestedValueValidation(n: unknown, path: string, out: Cause[], intOrStringPattern: boolean): void {
  if (!isObj(n)) return;
  const isIntOrStringArm =
    intOrStringPattern && (n.type === 'integer' || n.type === 'string') && Object.keys(n).length === 1;
  for (const [k, msg] of NESTED_FORBIDDEN) {
    if (k === 'type' && isIntOrStringArm) continue;
    const v = n[k];
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0) || v === '') continue;
    out.push(forbidden(`${path}.${k}`, msg));
  }
  if (isObj(n.properties)) {
    for (const [k, v] of Object.entries(n.properties)) {
      if (k === 'metadata')
        out.push(forbidden(`${path}.properties[${k}]`, 'must not be specified in a nested context'));
      nestedValueValidation(v, `${path}.properties[${k}]`, out, false);
    }
  }
  if (isObj(n.items)) nestedValueValidation(n.items, `${path}.items`, out, false);
  for (const j of ['anyOf', 'allOf', 'oneOf'])
    if (Array.isArray(n[j]))
      n[j].forEach((x: unknown, i: number) => nestedValueValidation(x, `${path}.${j}[${i}]`, out, false));
  if (n.not !== undefined) nestedValueValidation(n.not, `${path}.not`, out, false);
}

function listMarkers(s: Obj, path: string, out: Cause[]): void {
  const mapType = s['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (s.type !== 'object') {
      if (!s.type) out.push(required(`${path}.type`, 'must be object if x-kubernetes-map-type is specified'));
      else out.push(invalid(`${path}.type`, s.type, 'must be object if x-kubernetes-map-type is specified'));
    }
    if (mapType !== 'atomic' && mapType !== 'granular')
      out.push(notSupported(`${path}.x-kubernetes-map-type`, mapType, ['atomic', 'granular']));
  }
  const listType = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'];
  if (listType !== undefined) {
    if (s.type !== 'array') {
      if (!s.type) out.push(required(`${path}.type`, 'must be array if x-kubernetes-list-type is specified'));
      else out.push(invalid(`${path}.type`, s.type, 'must be array if x-kubernetes-list-type is specified'));
    } else if (listType === 'set' && isObj(s.items)) {
      if (s.items['x-kubernetes-list-type'] !== undefined && s.items['x-kubernetes-list-type'] !== 'atomic')
        out.push(
          invalid(
            `${path}.items.x-kubernetes-list-type`,
            s.items['x-kubernetes-list-type'],
            'must be atomic as item of a list with x-kubernetes-list-type=set',
          ),
        );
      if (s.items['x-kubernetes-map-type'] !== undefined && s.items['x-kubernetes-map-type'] !== 'atomic')
        out.push(
          invalid(
            `${path}.items.x-kubernetes-map-type`,
            s.items['x-kubernetes-map-type'],
            'must be atomic as item of a list with x-kubernetes-list-type=set',
          ),
        );
    }
    if (!['atomic', 'set', 'map'].includes(listType))
      out.push(notSupported(`${path}.x-kubernetes-list-type`, listType, ['atomic', 'set', 'map']));
  }
  if (Array.isArray(keys) && keys.length > 0 && listType !== 'map') {
    if (listType === undefined)
      out.push(
        required(`${path}.x-kubernetes-list-type`, 'must be map if x-kubernetes-list-map-keys is non-empty'),
      );
    else
      out.push(
        invalid(
          `${path}.x-kubernetes-list-type`,
          listType,
          'must be map if x-kubernetes-list-map-keys is non-empty',
        ),
      );
  }
  if (listType !== 'map') return;
  if (!Array.isArray(keys) || keys.length === 0) {
    out.push(
      required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'),
    );
    return;
  }
  const items = s.items;
  if (!isObj(items)) {
    out.push(required(`${path}.items`, 'must have a schema if x-kubernetes-list-type is map'));
    return;
  }
  if (items.type !== 'object') {
    out.push(
      invalid(
        `${path}.items.type`,
        items.type ?? '',
        "must be object if parent array's x-kubernetes-list-type is map",
      ),
    );
    return;
  }
  const props: Obj = isObj(items.properties) ? items.properties : {};
  if (!keys.every((k: string) => k in props))
    out.push(
      invalid(`${path}.x-kubernetes-list-map-keys`, keys, 'entries must all be names of item properties'),
    );
  if (new Set(keys).size !== keys.length)
    out.push(invalid(`${path}.x-kubernetes-list-map-keys`, keys, 'must not contain duplicate entries'));
  const req: string[] = Array.isArray(items.required) ? items.required : [];
  for (const k of keys) {
    const p = props[k];
    if (!isObj(p)) continue;
    if (p.type === 'object' || p.type === 'array')
      out.push(
        invalid(
          `${path}.items.properties[${k}].type`,
          p.type,
          "must be a scalar type if parent array's x-kubernetes-list-type is map",
        ),
      );
    if (!req.includes(k) && p.default === undefined)
      out.push(
        required(
          `${path}.items.properties[${k}].default`,
          'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property',
        ),
      );
    if (p.nullable === true)
      out.push(
        forbidden(
          `${path}.items.properties[${k}].nullable`,
          'this property is in x-kubernetes-list-map-keys, so it cannot be nullable',
        ),
      );
  }
}

/** A default must be valid for its own schema and must not carry fields the schema would prune. */
function defaultValue(s: Obj, path: string, out: Cause[]): void {
  const unknown: string[] = [];
  const issues: Cause[] = [];
  checkValue(s, s.default, '', unknown, issues);
  if (unknown.length)
    out.push(invalid(`${path}.default`, s.default, `must not have unknown fields: ${unknown.join(', ')}`));
  for (const i of issues) out.push({ ...i, field: `${path}.default${i.field ? '.' + i.field : ''}` });
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The value validations a default must pass (a compact subset of what the schema validator checks). */
function checkValue(s: unknown, v: unknown, at: string, unknown: string[], issues: Cause[]): void {
  if (!isObj(s) || v === undefined) return;
  const here = (f: string) => (at ? `${at}.${f}` : f);
  if (v === null) {
    if (!s.nullable)
      issues.push(
        invalid(at, null, `${at || 'value'} in body must be of type ${s.type ?? 'object'}: "null"`),
      );
    return;
  }
  const got = typeName(v);
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const typeOk = intOrString
    ? got === 'integer' || got === 'string'
    : !s.type || s.type === got || (s.type === 'number' && got === 'integer');
  if (!typeOk) {
    issues.push({
      field: at,
      message: `Invalid value: "${got}": ${at || 'body'} in body must be of type ${s.type}: ${JSON.stringify(v)}`,
      reason: 'FieldValueTypeInvalid',
    });
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e: unknown) => deepEqual(e, v)))
    issues.push({
      field: at,
      message: `Unsupported value: ${JSON.stringify(v)}: supported values: ${s.enum.map((e: unknown) => JSON.stringify(e)).join(', ')}`,
      reason: 'FieldValueNotSupported',
    });
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum)
      issues.push(invalid(at, v, `${at} in body should be greater than or equal to ${s.minimum}`));
    if (typeof s.maximum === 'number' && v > s.maximum)
      issues.push(invalid(at, v, `${at} in body should be less than or equal to ${s.maximum}`));
  }
  if (typeof v === 'string') {
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v))
      issues.push(invalid(at, v, `${at} in body should match '${s.pattern}'`));
    if (typeof s.maxLength === 'number' && v.length > s.maxLength)
      issues.push(invalid(at, v, `${at} in body should be at most ${s.maxLength} chars long`));
    if (typeof s.minLength === 'number' && v.length < s.minLength)
      issues.push(invalid(at, v, `${at} in body should be at least ${s.minLength} chars long`));
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkValue(s.items, x, `${at}[${i}]`, unknown, issues));
    return;
  }
  if (!isObj(v)) return;
  for (const r of Array.isArray(s.required) ? s.required : [])
    if (v[r] === undefined && !(isObj(s.properties?.[r]) && s.properties[r].default !== undefined))
      issues.push(required(here(r)));
  const props: Obj | undefined = isObj(s.properties) ? s.properties : undefined;
  for (const [k, x] of Object.entries(v)) {
    if (props && k in props) checkValue(props[k], x, here(k), unknown, issues);
    else if (isObj(s.additionalProperties)) checkValue(s.additionalProperties, x, here(k), unknown, issues);
    else if (
      !s['x-kubernetes-preserve-unknown-fields'] &&
      s.additionalProperties !== true &&
      !s['x-kubernetes-embedded-resource']
    )
      unknown.push(here(k));
  }
}

function rules(s: Obj, path: string, minor: number, out: Cause[]): void {
  const list = s['x-kubernetes-validations'];
  if (!Array.isArray(list)) return;
  const before = out.length;
  list.forEach((r: Obj, i: number) => {
    const p = `${path}.x-kubernetes-validations[${i}]`;
    const rule = typeof r.rule === 'string' ? r.rule.trim() : '';
    const msg = typeof r.message === 'string' ? r.message : undefined;
    if (!rule) out.push(required(`${p}.rule`, 'rule is not specified'));
    else if (msg !== undefined && msg.length > 0 && !msg.trim())
      out.push(invalid(`${p}.message`, msg, 'must be non-empty if specified'));
    else if (msg !== undefined && /[\r\n]/.test(msg.trim()))
      out.push(invalid(`${p}.message`, msg, 'must not contain line breaks'));
    else if (/[\r\n]/.test(rule) && !msg?.trim())
      out.push(required(`${p}.message`, 'message must be specified if rule contains line breaks'));
    if (
      typeof r.messageExpression === 'string' &&
      r.messageExpression.length > 0 &&
      !r.messageExpression.trim()
    )
      out.push(required(`${p}.messageExpression`, 'messageExpression must be non-empty if specified'));
    if (r.reason !== undefined && !SUPPORTED_REASONS.includes(r.reason))
      out.push(notSupported(`${p}.reason`, r.reason, SUPPORTED_REASONS));
    if (typeof r.fieldPath === 'string') {
      if (r.fieldPath.length > 0 && !r.fieldPath.trim())
        out.push(invalid(`${p}.fieldPath`, r.fieldPath, 'must be non-empty if specified'));
      else if (/[\r\n]/.test(r.fieldPath))
        out.push(invalid(`${p}.fieldPath`, r.fieldPath, 'must not contain line breaks'));
      else if (r.fieldPath && !fieldPathValid(s, r.fieldPath))
        out.push(invalid(`${p}.fieldPath`, r.fieldPath, 'must be a valid path'));
    }
  });
  // Upstream compiles rules only when the schema around them is otherwise valid.
  if (out.length > before) return;
  list.forEach((r: Obj, i: number) => {
    const p = `${path}.x-kubernetes-validations[${i}]`;
    const c = compileRule(r as { rule: string });
    const syntax = 'error' in c && c.syntax;
    const detail = syntax ? c.error : typeCheckIssues(r.rule, s, path.endsWith('openAPIV3Schema'))[0];
    if (detail)
      out.push({
        field: `${p}.rule`,
        message: `Invalid value: ${goRule(r, minor)}: ${celError(r.rule, detail)}`,
        reason: 'FieldValueInvalid',
      });
    else if (!/\boldSelf\b/.test(r.rule) && r.optionalOldSelf !== undefined)
      out.push(
        invalid(`${p}.optionalOldSelf`, r.optionalOldSelf, 'may not be set if oldSelf is not used in rule'),
      );
  });
}

/** A fieldPath is `.a.b` or `['a']` steps to a field the schema declares (no numeric indexes). */
function fieldPathValid(s: Obj, fieldPath: string): boolean {
  const steps: string[] = [];
  const re = /\.([A-Za-z_$][\w$-]*)|\[['"]([^'"]+)['"]\]/y;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < fieldPath.length) {
    re.lastIndex = at;
    m = re.exec(fieldPath);
    if (!m) return false;
    steps.push(m[1] ?? m[2]!);
    at = re.lastIndex;
  }
  let cur: Obj | undefined = s;
  for (const step of steps) {
    if (!cur) return false;
    if (isObj(cur.properties) && step in cur.properties) cur = cur.properties[step];
    else if (isObj(cur.additionalProperties)) cur = cur.additionalProperties;
    else return false;
  }
  return true;
}

/** The schemas of a CRD with the path each is validated under. */
function schemasOf(spec: Obj): { schema: Obj; path: string }[] {
  const versions: Obj[] = Array.isArray(spec.versions) ? spec.versions : [];
  const withSchema = versions.filter((v) => isObj(v?.schema?.openAPIV3Schema));
  if (withSchema.length === 0) return [];
  const first = withSchema[0]!.schema.openAPIV3Schema;
  if (
    withSchema.length === versions.length &&
    withSchema.every((v) => deepEqual(v.schema.openAPIV3Schema, first))
  )
    return [{ schema: first, path: 'spec.validation.openAPIV3Schema' }];
  return versions.flatMap((v, i) =>
    isObj(v?.schema?.openAPIV3Schema)
      ? [{ schema: v.schema.openAPIV3Schema, path: `spec.versions[${i}].schema.openAPIV3Schema` }]
      : [],
  );
}

/** Causes of a 422 for this CRD at the emulated minor; [] when it is valid. */
export function crdCauses(crd: Obj, minor: number): Cause[] {
  const out: Cause[] = [];
  const s: Obj = isObj(crd.spec) ? crd.spec : {};
  const name = crd.metadata?.name ?? '';
  if (!s.group) out.push(required('spec.group'));
  else if (!String(s.group).includes('.'))
    out.push(invalid('spec.group', s.group, 'should be a domain with at least one dot'));
  const names: Obj = isObj(s.names) ? s.names : {};
  if (!names.plural) out.push(required('spec.names.plural'));
  if (!names.kind) out.push(required('spec.names.kind'));
  if (!names.listKind) out.push(required('spec.names.listKind'));
  if (!['Namespaced', 'Cluster'].includes(s.scope))
    out.push(
      s.scope ? notSupported('spec.scope', s.scope, ['Cluster', 'Namespaced']) : required('spec.scope'),
    );
  if (s.group && names.plural && name !== `${names.plural}.${s.group}`)
    out.push(invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  const versions: Obj[] = Array.isArray(s.versions) ? s.versions : [];
  if (versions.length === 0)
    out.push(required('spec.versions', 'must have exactly one version marked as storage version'));
  else {
    if (new Set(versions.map((v) => v?.name)).size !== versions.length)
      out.push(invalid('spec.versions', versions, 'must contain unique version names'));
    if (versions.filter((v) => v?.storage === true).length !== 1)
      out.push(invalid('spec.versions', versions, 'must have exactly one version marked as storage version'));
    versions.forEach((v, i) => {
      if (!isObj(v?.schema?.openAPIV3Schema))
        out.push(required(`spec.versions[${i}].schema.openAPIV3Schema`, 'schemas are required'));
    });
  }
  for (const { schema, path } of schemasOf(s)) {
    if (schema.nullable === true)
      out.push(forbidden(`${path}.nullable`, 'nullable cannot be true at the root'));
    validateSchemaNode(schema, path, 'root', minor, out);
  }
  return out;
}
