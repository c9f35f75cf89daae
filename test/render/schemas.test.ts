/**
 * Every rendered object of every valid example against Kubernetes' own OpenAPI schemas (kubernetes-models
 * validators), Prometheus Operator kinds structurally; plus the safety properties every object must have.
 */
import { describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import {
  SECRETS,
  containers,
  exampleNames,
  inputs,
  loadExample,
  podSpec,
  stackOf,
} from '../golden/fixtures.js';
import { schemaFailures } from '../support/kube-schemas.js';

const stacks = [
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
];

describe.each(stacks)('rendered objects of $label', ({ stack }) => {
  const { objects } = render(stack, inputs());

  it('validate against the Kubernetes OpenAPI schemas (or the Prometheus Operator CRD structure)', async () => {
    expect(await schemaFailures(objects)).toEqual([]);
  });

  it('carry labels, namespace and an owner reference', () => {
    for (const o of objects) {
      expect(o.metadata.namespace).toBe(stack.metadata.namespace);
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('flash-sale-operator');
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBeDefined();
      // The backup PVC is the one exception: under pvcRetentionPolicy Retain it has no owner reference, so
      // garbage collection cannot delete the dumps together with the stack (src/render/backup.ts).
      if (
        o.kind === 'PersistentVolumeClaim' &&
        o.metadata.labels?.['app.kubernetes.io/component'] === 'backup'
      ) {
        expect(o.metadata.ownerReferences).toBeUndefined();
        expect(stack.spec.pvcRetentionPolicy).toBe('Retain');
        continue;
      }
      expect(o.metadata.ownerReferences?.[0]?.uid).toBe(stack.metadata.uid);
    }
  });

  it('keep every password out of ConfigMaps and annotations', () => {
    for (const o of objects) {
      if (o.kind === 'Secret') continue;
      const text = JSON.stringify(o);
      for (const s of Object.values(SECRETS)) expect(text, `${o.kind}/${o.metadata.name}`).not.toContain(s);
    }
  });

  it('pin images, and give every container resources and a security context', () => {
    const workloads = objects.filter((o) => podSpec(o) !== undefined);
    expect(workloads.length).toBeGreaterThan(3);
    for (const w of workloads) {
      const pod = podSpec(w)!;
      expect(pod.securityContext, `${w.kind}/${w.metadata.name}`).toBeDefined();
      for (const c of containers(w)) {
        const where = `${w.kind}/${w.metadata.name}/${c.name}`;
        expect(c.image, where).toMatch(/[:@]/);
        expect(c.image, where).not.toMatch(/:latest$/);
        expect(c.resources?.requests?.cpu, where).toBeDefined();
        expect(c.resources?.requests?.memory, where).toBeDefined();
        expect(c.resources?.limits?.memory, where).toBeDefined();
        expect(c.securityContext, where).toBeDefined();
        expect(c.securityContext!.allowPrivilegeEscalation, where).toBe(false);
      }
    }
  });

  it('select pods that exist with every Service, PDB and NetworkPolicy', () => {
    const podLabels = objects
      .filter((o) => podSpec(o) !== undefined)
      .map((o) => {
        const spec = o.spec as {
          template?: { metadata?: { labels?: Record<string, string> } };
          jobTemplate?: { spec: { template?: { metadata?: { labels?: Record<string, string> } } } };
        };
        return (spec.template ?? spec.jobTemplate?.spec.template)?.metadata?.labels ?? {};
      });
    // renderBackup may not be wired in yet; once any CronJob is rendered the backup policies must match it.
    const backupRendered = objects.some((o) => o.kind === 'CronJob');
    const matches = (sel: Record<string, string>) =>
      podLabels.some((l) => Object.entries(sel).every(([k, v]) => l[k] === v));
    for (const o of objects) {
      let sel: Record<string, string> | undefined;
      if (o.kind === 'Service') sel = (o.spec as { selector?: Record<string, string> }).selector;
      if (o.kind === 'PodDisruptionBudget' || o.kind === 'NetworkPolicy') {
        const spec = o.spec as {
          selector?: { matchLabels: Record<string, string> };
          podSelector?: { matchLabels: Record<string, string> };
        };
        sel = (spec.selector ?? spec.podSelector)?.matchLabels;
      }
      if (!sel) continue;
      // Jobs that only exist when configured (maintenance/bootstrap) may be absent.
      if (/-(maintenance|bootstrap)-to-postgres$/.test(o.metadata.name)) continue;
      if (!backupRendered && /-backup-to-postgres$/.test(o.metadata.name)) continue;
      expect(matches(sel), `${o.kind}/${o.metadata.name} selects ${JSON.stringify(sel)}`).toBe(true);
    }
  });

  it('reference only Secrets and ConfigMaps that are rendered (or named by the user)', () => {
    const names = new Set(
      objects
        .filter((o) => o.kind === 'Secret' || o.kind === 'ConfigMap')
        .map((o) => `${o.kind}/${o.metadata.name}`),
    );
    const external = new Set<string>();
    if (stack.spec.nginx.tls) external.add(`Secret/${stack.spec.nginx.tls.secretName}`);
    if (stack.spec.postgres.credentialsSecret)
      external.add(`Secret/${stack.spec.postgres.credentialsSecret}`);
    const refs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (v && typeof v === 'object') {
        const r = v as Record<string, unknown>;
        const sk = r.secretKeyRef as { name?: string } | undefined;
        const ck = r.configMapKeyRef as { name?: string } | undefined;
        if (sk?.name) refs.push(`Secret/${sk.name}`);
        if (ck?.name) refs.push(`ConfigMap/${ck.name}`);
        if (typeof r.secretName === 'string') refs.push(`Secret/${r.secretName}`);
        const cm = r.configMap as { name?: string } | undefined;
        if (cm?.name) refs.push(`ConfigMap/${cm.name}`);
        Object.values(r).forEach(walk);
      }
    };
    objects.filter((o) => podSpec(o)).forEach((o) => walk(podSpec(o)));
    for (const r of refs) expect(names.has(r) || external.has(r), r).toBe(true);
  });
});
