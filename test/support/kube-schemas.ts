/**
 * Validation of Kubernetes objects for tests: built-in kinds against Kubernetes' own OpenAPI schemas
 * (kubernetes-models), Prometheus Operator kinds (monitoring.coreos.com/v1) against the part of their CRD
 * schemas our objects use, with unknown fields refused. Used for rendered stacks and for the install manifests.
 *
 * Per Kubernetes minor: `validateObject(obj, { kubernetesVersion: '1.28' })` (and `schemaFailures(objects,
 * { kubernetesVersion })`) check built-in objects the way the stand-in API server emulating that minor does
 * (test/support/builtin-schemas.ts on the OpenAPI models of that release): fields the release does not have
 * (`field not declared in schema`, as server-side apply says), wrong types, malformed quantities, missing
 * required fields, and for CustomResourceDefinitions the apiextensions rules of that release.
 */
import { Ajv } from 'ajv';
import { formatVersion, MIN_SUPPORTED } from '../../src/kubernetes/version.js';
import { conform } from './builtin-schemas.js';
import { crdCauses } from './crd-validation.js';
import { EMULATED_MINORS, isEmulatedMinor, kubeOpenApi } from './kube-openapi.js';

/** The fields every validated object needs: which schema, and a name for the failure message. */
export interface SchemaObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
}

type ModelClass = new (data: unknown) => { validate(): void };

const ajv = new Ajv({ allErrors: true, strict: false });
const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const duration = { type: 'string', pattern: '^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$' };
const labelSelector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: stringMap,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        additionalProperties: false,
        properties: {
          key: { type: 'string' },
          operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};
const metadata = {
  type: 'object',
  required: ['name', 'namespace'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 253 },
    namespace: { type: 'string' },
    labels: stringMap,
    annotations: stringMap,
  },
};

const MONITORING_SCHEMAS: Record<string, object> = {
  ServiceMonitor: {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: 'monitoring.coreos.com/v1' },
      kind: { const: 'ServiceMonitor' },
      metadata,
      spec: {
        type: 'object',
        required: ['selector', 'endpoints'],
        additionalProperties: false,
        properties: {
          selector: labelSelector,
          namespaceSelector: {
            type: 'object',
            additionalProperties: false,
            properties: {
              any: { type: 'boolean' },
              matchNames: { type: 'array', items: { type: 'string' } },
            },
          },
          endpoints: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['port'],
              properties: {
                port: { type: 'string' },
                path: { type: 'string', pattern: '^/' },
                interval: duration,
                scrapeTimeout: duration,
                scheme: { enum: ['http', 'https'] },
              },
            },
          },
        },
      },
    },
  },
  PrometheusRule: {
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: 'monitoring.coreos.com/v1' },
      kind: { const: 'PrometheusRule' },
      metadata,
      spec: {
        type: 'object',
        additionalProperties: false,
        properties: {
          groups: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'rules'],
              additionalProperties: false,
              properties: {
                name: { type: 'string', minLength: 1 },
                interval: duration,
                rules: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['expr'],
                    additionalProperties: false,
                    properties: {
                      alert: { type: 'string' },
                      record: { type: 'string' },
                      expr: { type: 'string', minLength: 1 },
                      for: duration,
                      labels: stringMap,
                      annotations: stringMap,
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
const monitoringValidators = Object.fromEntries(
  Object.entries(MONITORING_SCHEMAS).map(([kind, schema]) => [kind, ajv.compile(schema)]),
);

async function modelFor(o: SchemaObject): Promise<ModelClass | string> {
  let mod: Record<string, ModelClass | undefined>;
  try {
    mod = (await import(`kubernetes-models/${o.apiVersion}`)) as Record<string, ModelClass | undefined>;
  } catch {
    return `no schema for apiVersion ${o.apiVersion}`;
  }
  return mod[o.kind] ?? `kubernetes-models has no ${o.apiVersion} ${o.kind}`;
}

export interface VersionOptions {
  /** Kubernetes minor, e.g. "1.28"; one of EMULATED_MINORS (default MIN_SUPPORTED). */
  kubernetesVersion?: string;
}

/**
 * Problems a server of the given minor has with one built-in object ([] when none), each with its path:
 * `.spec.template.spec.containers[name="pgbouncer"].lifecycle.preStop.sleep: field not declared in schema`.
 */
export function validateObject(obj: SchemaObject, options: VersionOptions = {}): string[] {
  const minor = options.kubernetesVersion ?? formatVersion(MIN_SUPPORTED);
  if (!isEmulatedMinor(minor))
    throw new Error(`no OpenAPI models for Kubernetes ${minor}; available: ${EMULATED_MINORS.join(', ')}`);
  if (obj.apiVersion === 'monitoring.coreos.com/v1') {
    const validate = monitoringValidators[obj.kind];
    if (!validate) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
    return validate(obj) ? [] : [ajv.errorsText(validate.errors)];
  }
  const api = kubeOpenApi(minor);
  const model = api.rootModel(obj.apiVersion, obj.kind);
  if (!model) return [`Kubernetes ${minor} has no ${obj.apiVersion} ${obj.kind}`];
  const c = conform(api, model, structuredClone(obj) as unknown as Record<string, unknown>);
  const problems = [
    ...c.unknown.map((u) => `${u.ssaPath}: field not declared in schema`),
    ...c.types.map((t) => `${t.ssaPath}: ${t.detail ?? `expected ${t.goType}, got ${t.got}`}`),
    ...c.required.map((r) => `${r.path}: Required value`),
  ];
  if (obj.kind === 'CustomResourceDefinition')
    for (const cause of crdCauses(obj as unknown as Record<string, unknown>, Number(minor.split('.')[1])))
      problems.push(`${cause.field}: ${cause.message}`);
  return problems;
}

/**
 * Validation failures ("Kind/name: message") of every object; [] when all pass. Without options the
 * kubernetes-models validators (one recent release) are used; with `kubernetesVersion`, validateObject.
 */
export async function schemaFailures(
  objects: readonly SchemaObject[],
  options?: VersionOptions,
): Promise<string[]> {
  const failures: string[] = [];
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata?.name}`;
    if (options) {
      for (const p of validateObject(o, options)) failures.push(`${where}: ${p}`);
      continue;
    }
    if (o.apiVersion === 'monitoring.coreos.com/v1') {
      const validate = monitoringValidators[o.kind];
      if (!validate) failures.push(`${where}: no schema for ${o.apiVersion} ${o.kind}`);
      else if (!validate(o)) failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
      continue;
    }
    const Model = await modelFor(o);
    if (typeof Model === 'string') {
      failures.push(`${where}: ${Model}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      failures.push(`${where}: ${(err as Error).message}`);
    }
  }
  return failures;
}
