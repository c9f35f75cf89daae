/**
 * CRD structural schemas: pruning of unknown fields, defaulting, and validation with ajv.
 * Handles x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
 * nullable, and listType map/set uniqueness. x-kubernetes-validations (CEL) is NOT evaluated.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { clone, isObj } from './util.js';

const PERMISSIVE_FORMATS = [
  'int32',
  'int64',
  'float',
  'double',
  'byte',
  'binary',
  'password',
  'quantity',
  'duration',
  'uri',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'cidr',
  'mac',
  'uuid',
  'date',
  'date-time',
  'datetime',
];

function toAjv(s: any, root = false): any {
  if (!isObj(s)) return s;
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(s)) {
    if (
      k.startsWith('x-kubernetes-') ||
      k === 'nullable' ||
      k === 'default' ||
      k === 'example' ||
      k === 'externalDocs'
    )
      continue;
    if (k === 'properties' && isObj(v)) {
      out.properties = {};
      for (const [pk, pv] of Object.entries(v))
        out.properties[pk] = root && pk === 'metadata' ? { type: 'object' } : toAjv(pv);
    } else if (k === 'items' || k === 'additionalProperties' || k === 'not') out[k] = isObj(v) ? toAjv(v) : v;
    else if ((k === 'anyOf' || k === 'allOf' || k === 'oneOf') && Array.isArray(v))
      out[k] = v.map((x) => toAjv(x));
    else out[k] = v;
  }
  if (s['x-kubernetes-int-or-string']) {
    delete out.type;
    if (!out.anyOf) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (s.nullable && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (s['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

export interface SchemaIssue {
  field: string;
  message: string;
  reason: string;
}

function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function issueOf(e: ErrorObject, data: unknown): SchemaIssue {
  const path = fieldPath(e.instancePath);
  const show = (v: unknown) => JSON.stringify(v);
  const at = (rel: string) => (path ? `${path}.${rel}` : rel);
  const value = (() => {
    let cur: any = data;
    for (const p of e.instancePath.split('/').slice(1))
      cur = cur?.[p.replace(/~1/g, '/').replace(/~0/g, '~')];
    return cur;
  })();
  switch (e.keyword) {
    case 'required':
      return {
        field: at(String(e.params.missingProperty)),
        message: 'Required value',
        reason: 'FieldValueRequired',
      };
    case 'enum':
      return {
        field: path,
        message: `Unsupported value: ${show(value)}: supported values: ${(e.params.allowedValues as unknown[]).map(show).join(', ')}`,
        reason: 'FieldValueNotSupported',
      };
    case 'type':
      return {
        field: path,
        message: `Invalid value: "${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}": ${path} in body must be of type ${e.params.type}: ${show(value)}`,
        reason: 'FieldValueTypeInvalid',
      };
    case 'minimum':
    case 'maximum':
      return {
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body should be ${e.keyword === 'minimum' ? 'greater' : 'less'} than or equal to ${e.params.limit}`,
        reason: 'FieldValueInvalid',
      };
    case 'pattern':
      return {
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body should match '${e.params.pattern}'`,
        reason: 'FieldValueInvalid',
      };
    case 'maxLength':
    case 'minLength':
      return {
        field: path,
        message: `Invalid value: ${show(value)}: ${path} in body should be at ${e.keyword === 'minLength' ? 'least' : 'most'} ${e.params.limit} chars long`,
        reason: 'FieldValueInvalid',
      };
    case 'maxItems':
    case 'minItems':
      return {
        field: path,
        message: `Too ${e.keyword === 'maxItems' ? 'many' : 'few'}: must have at ${e.keyword === 'maxItems' ? 'most' : 'least'} ${e.params.limit} items`,
        reason: 'FieldValueInvalid',
      };
    default:
      return {
        field: path,
        message: `Invalid value: ${show(value)}: ${e.message ?? e.keyword}`,
        reason: 'FieldValueInvalid',
      };
  }
}

export class CrdSchema {
  private validateFn: ValidateFunction | undefined;

  constructor(readonly schema: Record<string, any> | undefined) {
    if (schema) {
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      for (const f of PERMISSIVE_FORMATS) ajv.addFormat(f, true);
      this.validateFn = ajv.compile(toAjv(schema, true));
    }
  }

  /** Remove fields the schema does not know (in place); returns their paths (for fieldValidation=Strict). */
  prune(obj: Record<string, any>): string[] {
    const removed: string[] = [];
    if (!this.schema) return removed;
    const walk = (v: any, s: any, path: string, root: boolean) => {
      if (!isObj(s)) return;
      if (Array.isArray(v)) {
        v.forEach((x, i) => walk(x, s.items, `${path}[${i}]`, false));
        return;
      }
      if (!isObj(v) || s['x-kubernetes-embedded-resource']) return;
      const props = isObj(s.properties) ? s.properties : undefined;
      for (const k of Object.keys(v)) {
        if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
        const p = path ? `${path}.${k}` : k;
        if (props && k in props) walk(v[k], props[k], p, false);
        else if (isObj(s.additionalProperties)) walk(v[k], s.additionalProperties, p, false);
        else if (s.additionalProperties === true || s['x-kubernetes-preserve-unknown-fields']) continue;
        else {
          removed.push(p);
          delete v[k];
        }
      }
    };
    walk(obj, this.schema, '', true);
    return removed;
  }

  /** Apply `default`s from the schema (in place), recursively where the parent exists. */
  applyDefaults(obj: Record<string, any>): void {
    if (!this.schema) return;
    const walk = (v: any, s: any) => {
      if (!isObj(s)) return;
      if (Array.isArray(v)) {
        for (const x of v) walk(x, s.items);
        return;
      }
      if (!isObj(v)) return;
      if (isObj(s.properties)) {
        for (const [k, ps] of Object.entries(s.properties as Record<string, any>)) {
          if (v[k] === undefined && isObj(ps) && ps.default !== undefined) v[k] = clone(ps.default);
          if (v[k] !== undefined) walk(v[k], ps);
        }
      }
      if (isObj(s.additionalProperties)) for (const k of Object.keys(v)) walk(v[k], s.additionalProperties);
    };
    walk(obj, this.schema);
  }

  validate(obj: Record<string, any>): SchemaIssue[] {
    if (!this.validateFn) return [];
    if (this.validateFn(obj)) return [];
    const seen = new Set<string>();
    const issues: SchemaIssue[] = [];
    for (const e of this.validateFn.errors ?? []) {
      if (e.keyword === 'anyOf' || e.keyword === 'if') continue;
      const i = issueOf(e, obj);
      const key = `${i.field}|${i.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        issues.push(i);
      }
    }
    return issues;
  }
}
