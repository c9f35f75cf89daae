/**
 * FlashSaleStack v1alpha1 — the contract every part of the operator codes against.
 *
 * `FlashSaleStackSpec` is what a user writes (everything with a default is optional);
 * `ResolvedSpec` is what `applyDefaults` returns and what render consumes (defaults filled in).
 * The CRD schema in crds/ is generated from the same source (npm run generate); a test keeps them equal.
 */

export const GROUP = 'flashsale.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'FlashSaleStack';
export const PLURAL = 'flashsalestacks';
export const SINGULAR = 'flashsalestack';
export const SHORT_NAME = 'fss';
export const FIELD_MANAGER = 'flash-sale-operator';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

// Spec and status types are generated from src/api/schema.ts (npm run generate) so they cannot drift from
// the CRD. Import them from here.
import type {
  ResourceRequirements,
  PostgresSpec,
  PgBouncerSpec,
  RedisSpec,
  RabbitMQSpec,
  ApiSpec,
  NginxSpec,
  BackupSpec,
  PitrSpec,
  MonitoringSpec,
  PvcRetentionPolicy,
  FlashSaleStackSpec,
  FlashSaleStackStatus,
} from './types.generated.js';

export type * from './types.generated.js';

export type ComponentName = 'postgres' | 'pgbouncer' | 'redis' | 'rabbitmq' | 'api' | 'consumer' | 'nginx';

// Compile-time check: the status schema's component keys are exactly ComponentName.
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const componentKeysMatch: Equal<keyof NonNullable<FlashSaleStackStatus['components']>, ComponentName> &
  Equal<keyof NonNullable<FlashSaleStackStatus['health']>, ComponentName> = true;
void componentKeysMatch;

export interface FlashSaleStack {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: FlashSaleStackSpec;
  status?: FlashSaleStackStatus;
}

/** Makes every optional property required, recursively. */
type Resolved<T> = T extends (infer U)[]
  ? Resolved<U>[]
  : T extends object
    ? { [K in keyof T]-?: Resolved<NonNullable<T[K]>> }
    : T;

/**
 * The spec after `applyDefaults`: every field with a default is present. Fields that have no default
 * stay optional (an existing Secret, TLS, a storage class, maxmemory, bootstrap, existingClaim...).
 */
export interface ResolvedSpec {
  paused: boolean;
  pvcRetentionPolicy: PvcRetentionPolicy;
  postgres: Omit<Resolved<PostgresSpec>, 'credentialsSecret' | 'bootstrap' | 'maintenance' | 'storage'> & {
    credentialsSecret?: string;
    bootstrap?: PostgresSpec['bootstrap'];
    maintenance?: PostgresSpec['maintenance'];
    storage: ResolvedStorage;
  };
  pgbouncer: Resolved<PgBouncerSpec>;
  redis: Omit<Resolved<RedisSpec>, 'maxmemory' | 'storage'> & {
    maxmemory?: string;
    storage: ResolvedStorage;
  };
  rabbitmq: Omit<Resolved<RabbitMQSpec>, 'storage'> & { storage: ResolvedStorage };
  api: Resolved<ApiSpec>;
  nginx: Omit<Resolved<NginxSpec>, 'tls'> & { tls?: { secretName: string } };
  backup: Omit<Resolved<BackupSpec>, 'storage' | 'existingClaim' | 'pitr'> & {
    storage: ResolvedStorage;
    existingClaim?: string;
    pitr: Omit<Resolved<PitrSpec>, 'storage' | 'existingClaim'> & {
      storage: ResolvedStorage;
      existingClaim?: string;
    };
  };
  monitoring: Resolved<MonitoringSpec>;
}

export interface ResolvedStorage {
  size: string;
  storageClassName?: string;
}

/** ResourceRequirements after defaulting: requests and limits for cpu and memory are all present. */
export type ResolvedResources = Resolved<ResourceRequirements>;

export interface ResolvedFlashSaleStack {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: ResolvedSpec;
  status?: FlashSaleStackStatus;
}

// ---------------------------------------------------------------- FlashSale

export const SALE_KIND = 'FlashSale';
export const SALE_PLURAL = 'flashsales';
export const SALE_SINGULAR = 'flashsale';
export const SALE_SHORT_NAME = 'fsale';

import type { FlashSaleSpec, FlashSaleStatus } from './types.generated.js';

export interface FlashSale {
  apiVersion: typeof API_VERSION;
  kind: typeof SALE_KIND;
  metadata: ObjectMeta & { name: string; namespace: string };
  spec: FlashSaleSpec;
  status?: FlashSaleStatus;
}
