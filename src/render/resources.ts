/**
 * Resource helpers for the data-tier render modules: resolve Kubernetes quantities in a component's
 * resources to plain bytes / cores so configs (postgresql.conf, redis.conf, rabbitmq.conf) can be tuned
 * from the container's limits, plus small builders shared by those modules. Pure.
 */
import { canonicalQuantity, parseMaxmemory, parseQuantity } from '../api/quantity.js';
import type { ResolvedFlashSaleStack, ResolvedResources } from '../api/types.js';
import { childName } from './common.js';

/** Thrown when a quantity in an already-validated spec does not parse (validation should have refused it). */
export class QuantityError extends Error {
  constructor(
    readonly path: string,
    readonly value: string,
  ) {
    super(`${path}: '${value}' is not a Kubernetes quantity (use e.g. 512Mi, 4Gi, 500m, 2)`);
    this.name = 'QuantityError';
  }
}

/** Bytes of a memory/storage quantity (rounded down). */
export function quantityBytes(value: string, path: string): number {
  const q = parseQuantity(value);
  if (q === undefined || q < 0) throw new QuantityError(path, value);
  return Math.floor(q);
}

/** Cores of a cpu quantity (`500m` → 0.5). */
export function quantityCores(value: string, path: string): number {
  const q = parseQuantity(value);
  if (q === undefined || q <= 0) throw new QuantityError(path, value);
  return q;
}

/** The container's memory limit in bytes. `path` is the spec path of the component (`spec.redis`). */
export function memoryLimitBytes(resources: ResolvedResources, path: string): number {
  return quantityBytes(resources.limits.memory, `${path}.resources.limits.memory`);
}

/** The container's CPU limit in cores. */
export function cpuLimitCores(resources: ResolvedResources, path: string): number {
  return quantityCores(resources.limits.cpu, `${path}.resources.limits.cpu`);
}

/** `spec.redis.maxmemory` (k8s quantity or Redis size) in bytes. */
export function maxmemoryBytes(value: string, path = 'spec.redis.maxmemory'): number {
  const b = parseMaxmemory(value);
  if (b === undefined) throw new QuantityError(path, value);
  return b;
}

/**
 * A quantity as the API server stores it (`0.5` → `500m`, `1024Mi` → `1Gi`). Every quantity render emits goes
 * through this: one written any other way comes back changed and would be re-applied on every reconcile.
 */
export function storedQuantity(value: string): string {
  return canonicalQuantity(value) ?? value;
}

/** Kubernetes container `resources` block from resolved resources (copied, never shared). */
export function containerResources(resources: ResolvedResources): Record<string, unknown> {
  return {
    requests: {
      cpu: storedQuantity(resources.requests.cpu),
      memory: storedQuantity(resources.requests.memory),
    },
    limits: { cpu: storedQuantity(resources.limits.cpu), memory: storedQuantity(resources.limits.memory) },
  };
}

/** Small fixed resources for exporter sidecars. */
export const EXPORTER_RESOURCES: ResolvedResources = {
  requests: { cpu: '10m', memory: '32Mi' },
  limits: { cpu: '200m', memory: '128Mi' },
};

/** Label on Services that expose a `metrics` port (monitoring selects on it). */
export const METRICS_LABEL = 'flashsale.dev/metrics';

/** Pod annotations for annotation-based Prometheus scraping. */
export function scrapeAnnotations(port: number, path = '/metrics'): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}

/** The spec of a ReadWriteOnce claim from a resolved storage spec (`storageClassName: ""` kept: no class). */
export function claimSpec(storage: { size: string; storageClassName?: string }): Record<string, unknown> {
  return {
    accessModes: ['ReadWriteOnce'],
    ...(storage.storageClassName !== undefined ? { storageClassName: storage.storageClassName } : {}),
    resources: { requests: { storage: storedQuantity(storage.size) } },
  };
}

/** A StatefulSet volumeClaimTemplate named `data` from a resolved storage spec. */
export function dataVolumeClaimTemplate(
  storage: { size: string; storageClassName?: string },
  labels: Record<string, string>,
): Record<string, unknown> {
  return { metadata: { name: 'data', labels }, spec: claimSpec(storage) };
}

/** StatefulSet PVC retention from spec.pvcRetentionPolicy (applies when the StatefulSet is deleted). */
export function pvcRetention(policy: 'Retain' | 'Delete'): Record<string, string> {
  return { whenDeleted: policy, whenScaled: 'Retain' };
}

/** env var read from a Secret key. */
export function secretEnv(name: string, secret: string, key: string): Record<string, unknown> {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/**
 * PostgreSQL role the stack's applications, PgBouncer, the exporter and backups log in as (the official
 * image's POSTGRES_USER). A user-named credentials Secret must use this username too.
 */
export const POSTGRES_USERNAME = 'postgres';

/** In-cluster DNS name of the PostgreSQL Service (`<stack>-postgres.<ns>.svc`). */
export function postgresServiceHost(stack: ResolvedFlashSaleStack): string {
  return `${childName(stack, 'postgres')}.${stack.metadata.namespace}.svc`;
}
