/**
 * CRD structural schemas: pruning of unknown fields, defaulting, and validation with ajv.
 * Handles x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
 * nullable, and listType map/set uniqueness. x-kubernetes-validations (CEL) rules are evaluated with the
 * subset evaluator in cel.ts; a rule outside that subset is skipped and reported (see `skippedRules`).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { compileRule, evalCel, type CompiledRule } from './cel.js';
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
  private readonly rules = new Map<object, CompiledRule[]>();
  /** Rules this server cannot evaluate (outside the CEL subset): path, rule, why. */
  readonly skippedRules: { path: string; rule: string; error: string }[] = [];

  constructor(readonly schema: Record<string, any> | undefined) {
    if (schema) {
      const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      for (const f of PERMISSIVE_FORMATS) ajv.addFormat(f, true);
      this.validateFn = ajv.compile(toAjv(schema, true));
      this.collectRules(schema, '');
    }
  }

  private collectRules(s: any, path: string): void {
    if (!isObj(s)) return;
    const list = s['x-kubernetes-validations'];
    if (Array.isArray(list)) {
      const compiled: CompiledRule[] = [];
      for (const r of list) {
        const c = compileRule(r);
        if ('error' in c) {
          this.skippedRules.push({ path: path || '<root>', rule: String(r.rule), error: c.error });
          console.warn(
            `fake-apiserver: x-kubernetes-validations rule at ${path || '<root>'} not evaluated (${c.error}): ${r.rule}`,
          );
        } else compiled.push(c);
      }
      if (compiled.length) this.rules.set(s, compiled);
    }
    if (isObj(s.properties))
      for (const [k, v] of Object.entries(s.properties)) this.collectRules(v, path ? `${path}.${k}` : k);
    if (isObj(s.additionalProperties)) this.collectRules(s.additionalProperties, `${path}[*]`);
    if (isObj(s.items)) this.collectRules(s.items, `${path}[*]`);
  }

  /** Evaluate x-kubernetes-validations rules; transition rules (oldSelf) only when an old value exists. */
  validateRules(obj: Record<string, any>, old: Record<string, any> | undefined): SchemaIssue[] {
    if (!this.schema || this.rules.size === 0) return [];
    const issues: SchemaIssue[] = [];
    const typeName = (v: unknown) =>
      Array.isArray(v) ? 'array' : isObj(v) ? 'object' : Number.isInteger(v) ? 'integer' : typeof v;
    const walk = (v: any, ov: any, s: any, path: string) => {
      if (!isObj(s) || v === undefined || v === null) return;
      for (const r of this.rules.get(s) ?? []) {
        if (r.usesOldSelf && ov === undefined) continue;
        let ok: unknown;
        let err: string | undefined;
        try {
          ok = evalRule(r, v, ov);
        } catch (e) {
          err = (e as Error).message;
        }
        if (ok === true) continue;
        const field = r.fieldPath
          ? `${path}${r.fieldPath.startsWith('.') || r.fieldPath.startsWith('[') ? '' : '.'}${r.fieldPath}`.replace(
              /^\./,
              '',
            )
          : path;
        const msg =
          err !== undefined ? `${r.rule}: evaluation error: ${err}` : (r.message ?? `failed rule: ${r.rule}`);
        if (r.reason === 'FieldValueForbidden')
          issues.push({ field, message: `Forbidden: ${msg}`, reason: r.reason });
        else if (r.reason === 'FieldValueRequired')
          issues.push({ field, message: `Required value: ${msg}`, reason: r.reason });
        else if (r.reason === 'FieldValueDuplicate')
          issues.push({ field, message: `Duplicate value: ${msg}`, reason: r.reason });
        else
          issues.push({
            field,
            message: `Invalid value: "${typeName(v)}": ${msg}`,
            reason: 'FieldValueInvalid',
          });
      }
      if (Array.isArray(v)) {
        v.forEach((x, i) => walk(x, undefined, s.items, `${path}[${i}]`));
        return;
      }
      if (!isObj(v)) return;
      if (isObj(s.properties))
        for (const [k, ps] of Object.entries(s.properties))
          walk(v[k], isObj(ov) ? ov[k] : undefined, ps, path ? `${path}.${k}` : k);
      if (isObj(s.additionalProperties))
        for (const k of Object.keys(v))
          walk(v[k], isObj(ov) ? ov[k] : undefined, s.additionalProperties, `${path}[${k}]`);
    };
    walk(obj, old, this.schema, '');
    return issues;
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

function evalRule(r: CompiledRule, self: unknown, oldSelf: unknown): unknown {
  return evalCel(r.ast, oldSelf === undefined ? { self } : { self, oldSelf });
}
