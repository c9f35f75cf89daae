/** Shared inputs for render tests: the examples (resolved with applyDefaults) and fixed secrets. */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { applyDefaults } from '../../src/api/defaults.js';
import type { FlashSaleStack, ResolvedFlashSaleStack } from '../../src/api/types.js';
import { MIN_SUPPORTED } from '../../src/kubernetes/version.js';
import type { KubeObject, RenderInputs } from '../../src/render/common.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXAMPLES_DIR = join(ROOT, 'examples');
export const GOLDEN_DIR = join(ROOT, 'test', 'golden');

/** Recognisable, distinct fake secrets: tests grep rendered output for them. */
export const SECRETS = {
  postgresPassword: 'pg-Secret-7f3a9c',
  pgbouncerAdminPassword: 'pgb-Admin-2b8d41',
  redisPassword: 'redis-Secret-5e1c77',
  rabbitmqPassword: 'mq-Secret-9a4f20',
  erlangCookie: 'ERLANGCOOKIEABCDEFGHIJKLMNOPQRSTU',
  apiAdminToken: 'api-Token-0c6e93',
} as const;

export function inputs(overrides: Partial<RenderInputs> = {}): RenderInputs {
  return {
    secrets: { ...SECRETS },
    prometheusOperatorAvailable: true,
    operatorNamespace: 'flash-sale-operator',
    kubernetesVersion: MIN_SUPPORTED,
    ...overrides,
  };
}

/** Names of the valid examples (examples/*.yaml), without extension. */
export function exampleNames(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function loadExample(name: string): ResolvedFlashSaleStack {
  const doc = parse(readFileSync(join(EXAMPLES_DIR, `${name}.yaml`), 'utf8'), { version: '1.1' }) as FlashSaleStack;
  doc.metadata = { ...doc.metadata, uid: '00000000-0000-4000-8000-000000000001' };
  return applyDefaults(doc);
}

/** A resolved stack from a spec fragment (defaults applied). */
export function stackOf(spec: FlashSaleStack['spec'] = {}, name = 'shop', namespace = 'prod'): ResolvedFlashSaleStack {
  return applyDefaults({
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name, namespace, uid: '00000000-0000-4000-8000-000000000001' },
    spec,
  });
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** Pod spec of a Deployment/StatefulSet/Job/CronJob. */
export function podSpec(o: KubeObject): Record<string, unknown> | undefined {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (!spec) return undefined;
  if (o.kind === 'CronJob') {
    const jt = spec.jobTemplate as { spec: { template: { spec: Record<string, unknown> } } };
    return jt.spec.template.spec;
  }
  const t = spec.template as { spec?: Record<string, unknown> } | undefined;
  return t?.spec;
}

export type Container = {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  [k: string]: unknown;
};

export function containers(o: KubeObject): Container[] {
  const p = podSpec(o);
  if (!p) return [];
  return [...((p.initContainers as Container[]) ?? []), ...((p.containers as Container[]) ?? [])];
}

/**
 * Stacks render tests check every object of: the examples, plus variants that reach the code paths the
 * examples do not (no PgBouncer + autoscaling, TLS, clustered RabbitMQ with every Job, quantities written
 * the way users write them, an empty env value, monitoring off).
 */
export function renderCases(): { label: string; stack: ResolvedFlashSaleStack }[] {
  return [
    ...exampleNames().map((n) => ({ label: n, stack: loadExample(n) })),
    {
      label: 'no-pgbouncer',
      stack: stackOf({ pgbouncer: { enabled: false }, api: { autoscaling: { enabled: true } } }),
    },
    {
      label: 'pitr',
      stack: stackOf({ backup: { pitr: { enabled: true, retentionDays: 3 } } }),
    },
    {
      label: 'pitr-bootstrap',
      stack: stackOf({
        backup: { pitr: { enabled: true, existingClaim: 'shop-pitr-archive' } },
        postgres: {
          bootstrap: { fromBackup: { claimName: 'old-shop-pitr', targetTime: '2025-11-11T00:00:05Z' } },
        },
      }),
    },
    {
      label: 'tls+proxies',
      stack: stackOf({
        nginx: { tls: { secretName: 'x-tls' }, trustedProxies: ['10.0.0.0/8'], serviceType: 'NodePort' },
      }),
    },
    {
      label: 'clustered+jobs',
      stack: stackOf({
        rabbitmq: { replicas: 3 },
        postgres: {
          maintenance: { schedule: '0 3 * * *' },
          bootstrap: { fromBackup: { claimName: 'old-dumps', file: 'shop.dump' } },
        },
        backup: { onDelete: true, storage: { size: '50Gi', storageClassName: '' } },
        pvcRetentionPolicy: 'Delete',
      }),
    },
    {
      label: 'user-quantities',
      stack: stackOf({
        postgres: {
          resources: { requests: { cpu: '0.5', memory: '1024Mi' }, limits: { cpu: '2000m', memory: '4096Mi' } },
          storage: { size: '1.5Gi' },
        },
        redis: { resources: { limits: { cpu: '1.5', memory: '1.5Gi' } }, storage: { size: '1024Mi' } },
        api: {
          resources: { requests: { cpu: '0.25' } },
          env: [
            { name: 'EMPTY', value: '' },
            { name: 'FEATURE', value: 'on' },
          ],
        },
        backup: { storage: { size: '0.5Ti' } },
      }),
    },
    { label: 'monitoring-off', stack: stackOf({ monitoring: { enabled: false } }) },
  ];
}
