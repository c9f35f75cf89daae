/**
 * Shared pieces of the pure render layer: object metadata, labels, owner references, checksums and the
 * "restricted" Pod Security Standard contexts. No IO, no clock, no randomness.
 */
import { createHash } from 'node:crypto';
import { API_VERSION, FIELD_MANAGER, KIND, type ResolvedFlashSaleStack } from '../api/types.js';
import { atLeast, FIELD_SINCE, type KubernetesVersion } from '../kubernetes/version.js';

/** A Kubernetes object as render emits it. Concrete shapes are validated against Kubernetes' schemas in tests. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

/** Everything render needs that is not in the spec. Generated secrets are inputs so render stays pure. */
export interface RenderInputs {
  /** Passwords etc. Rendered only into Secrets, never into ConfigMaps, annotations or logs. */
  secrets: StackSecrets;
  /** Whether the cluster serves monitoring.coreos.com/v1 (ServiceMonitor, PrometheusRule). */
  prometheusOperatorAvailable: boolean;
  /** Namespace the operator runs in (NetworkPolicy lets its health probes in). */
  operatorNamespace: string;
  /**
   * Version of the API server the objects are for: render emits only fields that version serves and stores
   * (src/kubernetes/version.ts FIELD_SINCE). The operator reads it from `/version`; `render` takes
   * `--kubernetes-version` and defaults to the lowest supported minor.
   */
  kubernetesVersion: KubernetesVersion;
  /**
   * The capacity the PostgreSQL data volumes actually have (the smallest, once their claims exist). Config
   * that follows the volume (max_wal_size) is sized from it, so it changes only after the volume grew.
   */
  postgresVolumeSize?: string;
  /**
   * Where the Kubernetes API server really listens: the addresses and ports of the `kubernetes` EndpointSlice
   * in `default`, which the operator reads (src/controller/apiserver-endpoints.ts). A clustered RabbitMQ's
   * peer discovery may reach only these. Absent (`render` without a cluster): no egress to the API server.
   */
  kubernetesApiServer?: ApiServerEndpoints;
  /**
   * The replicas FlashSales holding capacity on this stack need (src/sales/capacity.ts): API (through the
   * HPA's minReplicas when autoscaling is on), consumers and Nginx never go below it. Absent: no sale holds any.
   */
  capacityFloor?: { apiReplicas: number; consumerReplicas: number; nginxReplicas: number };
}

/** Addresses (IPv4 or IPv6) and TCP ports the API server serves on, behind the `kubernetes` Service. */
export interface ApiServerEndpoints {
  addresses: string[];
  ports: number[];
}

export interface StackSecrets {
  postgresPassword: string;
  pgbouncerAdminPassword: string;
  redisPassword: string;
  rabbitmqPassword: string;
  erlangCookie: string;
  apiAdminToken: string;
}

/** Every key of StackSecrets, in a fixed order (the operator generates them; `render` derives them). */
export const STACK_SECRET_KEYS: readonly (keyof StackSecrets)[] = [
  'postgresPassword',
  'pgbouncerAdminPassword',
  'redisPassword',
  'rabbitmqPassword',
  'erlangCookie',
  'apiAdminToken',
];

export const STACK_LABEL = 'flashsale.dev/stack';
export const PART_OF = 'flash-sale-stack';
export const CONFIG_CHECKSUM_ANNOTATION = 'flashsale.dev/config-checksum';

export type Component =
  | 'postgres'
  | 'pgbouncer'
  | 'redis'
  | 'rabbitmq'
  | 'api'
  | 'consumer'
  | 'nginx'
  | 'backup'
  | 'basebackup'
  | 'monitoring'
  | 'maintenance'
  | 'bootstrap'
  | 'network';

/** Name of a child object: `<stack>-<component>[-<suffix>]`. */
export function childName(stack: ResolvedFlashSaleStack, component: Component, suffix?: string): string {
  return suffix ? `${stack.metadata.name}-${component}-${suffix}` : `${stack.metadata.name}-${component}`;
}

/** Labels that select the pods of one component of one stack (stable: used in selectors, never change them). */
export function selectorLabels(stack: ResolvedFlashSaleStack, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': stack.metadata.name,
  };
}

export function labels(stack: ResolvedFlashSaleStack, component: Component): Record<string, string> {
  return {
    ...selectorLabels(stack, component),
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    [STACK_LABEL]: stack.metadata.name,
  };
}

export function ownerReference(stack: ResolvedFlashSaleStack): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: stack.metadata.name,
    uid: stack.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function objectMeta(
  stack: ResolvedFlashSaleStack,
  component: Component,
  name: string,
  annotations?: Record<string, string>,
): KubeObject['metadata'] {
  return {
    name,
    namespace: stack.metadata.namespace,
    labels: labels(stack, component),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
    ownerReferences: [ownerReference(stack)],
  };
}

/**
 * Stable JSON: object keys sorted, so a checksum depends on content only. (The operator hashes every
 * desired object on every reconcile, so this builds one string without intermediate arrays.)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (canonicalJson(value[i]) ?? '');
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Checksum of the config data a pod template mounts; goes into CONFIG_CHECKSUM_ANNOTATION. */
export function configChecksum(...data: unknown[]): string {
  return sha256(canonicalJson(data));
}

/** Pod-level security context meeting the "restricted" Pod Security Standard. */
export function restrictedPodSecurityContext(uid: number, gid: number = uid): Record<string, unknown> {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context meeting the "restricted" Pod Security Standard. */
export function restrictedContainerSecurityContext(readOnlyRootFilesystem = true): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/**
 * A preStop hook that holds a container for `seconds` before it gets SIGTERM (so the Service drops the pod
 * first): the built-in sleep action where the server has it, otherwise `/bin/sleep` from the image.
 */
export function preStopDelay(seconds: number, inputs: RenderInputs): Record<string, unknown> {
  return atLeast(inputs.kubernetesVersion, FIELD_SINCE.preStopSleep)
    ? { preStop: { sleep: { seconds } } }
    : { preStop: { exec: { command: ['/bin/sleep', String(seconds)] } } };
}
