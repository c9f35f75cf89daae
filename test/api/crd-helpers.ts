import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

export const ROOT = new URL('../../', import.meta.url).pathname;

export function loadCrd(): any {
  return parse(readFileSync(`${ROOT}crds/flashsale.dev_flashsalestacks.yaml`, 'utf8'));
}

export function crdSchema(): any {
  return loadCrd().spec.versions[0].schema.openAPIV3Schema;
}

/**
 * The API server prunes unknown fields of structural schemas; for a test we turn "would be pruned" into
 * "is an error" (additionalProperties: false) except where x-kubernetes-preserve-unknown-fields is set.
 * x-kubernetes-* keywords are registered with ajv as annotations (CEL is not evaluated here).
 */
function strictify(node: any): any {
  if (Array.isArray(node)) return node.map(strictify);
  if (node === null || typeof node !== 'object') return node;
  const out: any = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] =
      k === 'properties'
        ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, strictify(s)]))
        : strictify(v);
  }
  if (
    out.type === 'object' &&
    out.properties &&
    !out['x-kubernetes-preserve-unknown-fields'] &&
    !out.additionalProperties
  ) {
    out.additionalProperties = false;
  }
  return out;
}

export function crdValidator(): ValidateFunction {
  return schemaValidator(crdSchema());
}

/** A validator for one node of the CRD schema, as strict as pruning (see strictify). */
export function schemaValidator(node: unknown): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  for (const kw of [
    'x-kubernetes-validations',
    'x-kubernetes-preserve-unknown-fields',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-int-or-string',
    'x-kubernetes-embedded-resource',
  ]) {
    ajv.addKeyword({ keyword: kw, schemaType: ['array', 'boolean', 'string'] });
  }
  return ajv.compile(strictify(node));
}
