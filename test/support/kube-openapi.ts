/**
 * Kubernetes' published OpenAPI models of built-in kinds, one set per emulated server minor.
 *
 * Source: @kubernetes/client-node is generated from the upstream OpenAPI document of one Kubernetes release,
 * and its releases are installed side by side under npm aliases (`kubernetes-openapi-<minor>` in
 * package.json). Each model file carries the definition's fields (JSON name, type, format) and its .d.ts the
 * required ones, which is what this module reads. Which release a package was generated from is written in
 * its headers ("The version of the OpenAPI document: release-1.28" / "OpenAPI spec version: v1.33.0"); the
 * minors below were checked that way and by fields that appear per version (SleepAction from 1.29, etc.).
 *
 * What OpenAPI does not say is added here from the Go types (pkg/apis/core, apps, …): which string fields
 * hold quantities, and which scalars are non-pointer `omitempty` (so the server drops their zero value) or
 * pointer strings (so the server keeps "").
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The server minors the stand-in can emulate (one @kubernetes/client-node release each). */
export const EMULATED_MINORS = ['1.27', '1.28', '1.29', '1.30', '1.32', '1.33', '1.34', '1.36'] as const;
export type EmulatedMinor = (typeof EMULATED_MINORS)[number];

export type FieldType =
  | { t: 'string' | 'boolean' | 'integer' | 'number' | 'int-or-string' | 'quantity' | 'date-time' | 'any' }
  /** `loose`: JSON-schema-or-bool/array fields; only object values are checked against the model. */
  | { t: 'ref'; ref: string; loose?: true }
  | { t: 'array'; of: FieldType }
  | { t: 'map'; of: FieldType };

export interface ModelField {
  name: string;
  type: FieldType;
  required: boolean;
}

export interface Model {
  name: string;
  fields: Map<string, ModelField>;
}

export interface KubeOpenApi {
  minor: EmulatedMinor;
  models: Map<string, Model>;
  /** The model of a kind (`V1Deployment` for apps/v1 Deployment), or undefined if this version has none. */
  rootModel(apiVersion: string, kind: string): Model | undefined;
}

/** String fields that hold resource.Quantity values (map values for the `{ [k]: string }` ones). */
const QUANTITY_FIELDS = new Set([
  'V1ResourceRequirements.limits',
  'V1ResourceRequirements.requests',
  'V1VolumeResourceRequirements.limits',
  'V1VolumeResourceRequirements.requests',
  'V1EmptyDirVolumeSource.sizeLimit',
  'V1ResourceFieldSelector.divisor',
  'V1PersistentVolumeClaimStatus.capacity',
  'V1PersistentVolumeClaimStatus.allocatedResources',
  'V1PersistentVolumeSpec.capacity',
  'V1PodSpec.overhead',
  'V1ContainerStatus.allocatedResources',
  'V1ResourceQuotaSpec.hard',
  'V1ResourceQuotaStatus.hard',
  'V1ResourceQuotaStatus.used',
  'V1LimitRangeItem.default',
  'V1LimitRangeItem.defaultRequest',
  'V1LimitRangeItem.max',
  'V1LimitRangeItem.min',
  'V1LimitRangeItem.maxLimitRequestRatio',
  'V2MetricTarget.value',
  'V2MetricTarget.averageValue',
  'V2MetricValueStatus.value',
  'V2MetricValueStatus.averageValue',
]);

/** JSONSchemaProps fields typed `object` in the models: a nested schema (or a bool / a list of schemas). */
const SCHEMA_OR_OTHER = new Set([
  'V1JSONSchemaProps.items',
  'V1JSONSchemaProps.additionalProperties',
  'V1JSONSchemaProps.additionalItems',
]);

/**
 * Non-pointer `omitempty` integers and booleans of the kinds we serve: their zero value is not stored.
 * (Optional lists, maps and non-pointer strings are dropped when empty by the general rule; pointer scalars
 * such as `replicas` keep 0/false.)
 */
export const ZERO_DROPPED_SCALARS = new Set([
  'V1Probe.initialDelaySeconds',
  'V1Probe.timeoutSeconds',
  'V1Probe.periodSeconds',
  'V1Probe.successThreshold',
  'V1Probe.failureThreshold',
  'V1ContainerPort.hostPort',
  'V1ServicePort.nodePort',
  'V1ServiceSpec.healthCheckNodePort',
  'V1ServiceSpec.publishNotReadyAddresses',
  'V1VolumeMount.readOnly',
  'V1Container.stdin',
  'V1Container.stdinOnce',
  'V1Container.tty',
  'V1PodSpec.hostNetwork',
  'V1PodSpec.hostPID',
  'V1PodSpec.hostIPC',
  'V1DeploymentSpec.minReadySeconds',
  'V1DeploymentSpec.paused',
  'V1StatefulSetSpec.minReadySeconds',
  'V1ReplicaSetSpec.minReadySeconds',
  'V1DaemonSetSpec.minReadySeconds',
  'V1PersistentVolumeClaimVolumeSource.readOnly',
  'V1NFSVolumeSource.readOnly',
  'V1ServiceBackendPort.number',
  'V1DeploymentStatus.observedGeneration',
  'V1DeploymentStatus.replicas',
  'V1DeploymentStatus.updatedReplicas',
  'V1DeploymentStatus.readyReplicas',
  'V1DeploymentStatus.availableReplicas',
  'V1DeploymentStatus.unavailableReplicas',
  'V1StatefulSetStatus.observedGeneration',
  'V1StatefulSetStatus.readyReplicas',
  'V1StatefulSetStatus.currentReplicas',
  'V1StatefulSetStatus.updatedReplicas',
  'V1JobStatus.active',
  'V1JobStatus.succeeded',
  'V1JobStatus.failed',
  'V1PodDisruptionBudgetStatus.observedGeneration',
  'V2HorizontalPodAutoscalerStatus.currentReplicas',
]);

/** Pointer strings (`*string`): "" is a value the server keeps (e.g. a PVC without a storage class). */
export const KEPT_EMPTY_STRINGS = new Set([
  'V1PersistentVolumeClaimSpec.storageClassName',
  'V1IngressSpec.ingressClassName',
  'V1ServiceSpec.loadBalancerClass',
  'V1ServicePort.appProtocol',
  'V1PodSpec.runtimeClassName',
  'V1CronJobSpec.timeZone',
  'V1SeccompProfile.localhostProfile',
  'V1LeaseSpec.holderIdentity',
  'V1GRPCAction.service',
  'V1TypedLocalObjectReference.apiGroup',
  'V1TypedObjectReference.apiGroup',
  'V1TypedObjectReference.namespace',
  'V1PodDNSConfigOption.value',
]);

function findPackageDir(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir)
      throw new Error(
        `fake-apiserver: the OpenAPI models of Kubernetes ${name.replace('kubernetes-openapi-', '')} are not installed (devDependency "${name}"); run npm ci`,
      );
    dir = up;
  }
}

interface RawAttribute {
  name: string;
  baseName: string;
  type: string;
  format?: string;
}

function parseType(type: string, format: string | undefined, classes: Set<string>): FieldType {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { t: 'array', of: parseType(array[1]!, format, classes) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { t: 'map', of: parseType(map[1]!, format, classes) };
  switch (type) {
    case 'string':
      return { t: format === 'date-time' ? 'date-time' : 'string' };
    case 'number':
      return { t: format === 'double' || format === 'float' ? 'number' : 'integer' };
    case 'boolean':
      return { t: 'boolean' };
    case 'Date':
      return { t: 'date-time' };
    case 'IntOrString':
      return { t: 'int-or-string' };
    case 'object':
    case 'any':
      return { t: 'any' };
    default:
      return classes.has(type) ? { t: 'ref', ref: type } : { t: 'any' };
  }
}

function asQuantity(type: FieldType): FieldType {
  if (type.t === 'map') return { t: 'map', of: { t: 'quantity' } };
  return { t: 'quantity' };
}

function loadModels(minor: EmulatedMinor): Map<string, Model> {
  const pkg = findPackageDir(`kubernetes-openapi-${minor}`);
  const dir = ['dist/gen/models', 'dist/gen/model'].map((d) => join(pkg, d)).find((d) => existsSync(d));
  if (!dir) throw new Error(`fake-apiserver: ${pkg} has no generated models`);
  const raw = new Map<string, { attrs: RawAttribute[]; required: Set<string> }>();
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.js')) continue;
    const js = readFileSync(join(dir, file), 'utf8');
    const m = /(\w+)\.attributeTypeMap = (\[[\s\S]*?\]);/.exec(js);
    if (!m) continue;
    const dts = readFileSync(join(dir, file.replace(/\.js$/, '.d.ts')), 'utf8');
    const required = new Set<string>();
    for (const r of dts.matchAll(/^\s+'([^']+)':/gm)) required.add(r[1]!);
    raw.set(m[1]!, { attrs: JSON.parse(m[2]!) as RawAttribute[], required });
  }
  const classes = new Set(raw.keys());
  const models = new Map<string, Model>();
  for (const [name, { attrs, required }] of raw) {
    const fields = new Map<string, ModelField>();
    for (const a of attrs) {
      let type = parseType(a.type, a.format, classes);
      if (QUANTITY_FIELDS.has(`${name}.${a.baseName}`)) type = asQuantity(type);
      if (SCHEMA_OR_OTHER.has(`${name}.${a.baseName}`)) type = { t: 'ref', ref: name, loose: true };
      fields.set(a.baseName, { name: a.baseName, type, required: required.has(a.name) });
    }
    models.set(name, { name, fields });
  }
  return models;
}

const GROUP_PREFIX: Record<string, string> = { '': 'Core', 'events.k8s.io': 'Events' };

const cache = new Map<EmulatedMinor, KubeOpenApi>();

export function isEmulatedMinor(v: string): v is EmulatedMinor {
  return (EMULATED_MINORS as readonly string[]).includes(v);
}

/** The models of one emulated minor (loaded once per process). */
export function kubeOpenApi(minor: EmulatedMinor): KubeOpenApi {
  let api = cache.get(minor);
  if (api) return api;
  const models = loadModels(minor);
  api = {
    minor,
    models,
    rootModel(apiVersion: string, kind: string) {
      const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
      const v = version!.charAt(0).toUpperCase() + version!.slice(1);
      const prefix = GROUP_PREFIX[group!] ?? '';
      return models.get(`${prefix}${v}${kind}`) ?? models.get(`${v}${kind}`);
    },
  };
  cache.set(minor, api);
  return api;
}
