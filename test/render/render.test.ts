import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { formatVersion, MAX_TESTED } from '../../src/kubernetes/version.js';
import { KIND_ORDER, render, sortObjects } from '../../src/render/index.js';
import { runCli } from '../cli/run-cli.js';
import { EXAMPLES_DIR, SECRETS, exampleNames, inputs, loadExample, stackOf } from '../golden/fixtures.js';

const run = runCli;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fss-render-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('render()', () => {
  it('renders every component and sorts by kind order, then name', () => {
    const { objects } = render(loadExample('production'), inputs());
    const ranks = objects.map((o) => {
      const i = KIND_ORDER.indexOf(o.kind);
      return i < 0 ? KIND_ORDER.length : i;
    });
    expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
    for (let i = 1; i < objects.length; i++) {
      const [a, b] = [objects[i - 1]!, objects[i]!];
      if (a.kind === b.kind) expect(a.metadata.name < b.metadata.name).toBe(true);
    }
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of [
      'ServiceAccount',
      'Secret',
      'ConfigMap',
      'Service',
      'Deployment',
      'StatefulSet',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ServiceMonitor',
      'PrometheusRule',
      'HorizontalPodAutoscaler',
    ])
      expect(kinds).toContain(k);
    expect(sortObjects([...objects].reverse())).toEqual(objects);
  });

  it('skips disabled components: PgBouncer, monitoring', () => {
    const { objects } = render(
      stackOf({ pgbouncer: { enabled: false }, monitoring: { enabled: false } }),
      inputs(),
    );
    expect(objects.some((o) => o.metadata.name.startsWith('shop-pgbouncer'))).toBe(false);
    expect(objects.some((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule')).toBe(false);
    expect(objects.some((o) => o.metadata.name === 'shop-monitoring-dashboard')).toBe(false);
  });

  it('gives a notice, not a budget warning, when a PrometheusRule is wanted but the Prometheus Operator is absent', () => {
    const { objects, warnings, notices } = render(stackOf(), inputs({ prometheusOperatorAvailable: false }));
    expect(objects.some((o) => o.kind === 'PrometheusRule' || o.kind === 'ServiceMonitor')).toBe(false);
    expect(notices.map((w) => w.path)).toEqual(['spec.monitoring.prometheusRule']);
    expect(warnings.map((w) => w.path)).not.toContain('spec.monitoring.prometheusRule');
  });

  it('is deterministic', () => {
    for (const name of exampleNames()) {
      const a = JSON.stringify(render(loadExample(name), inputs()));
      const b = JSON.stringify(render(loadExample(name), inputs()));
      expect(a).toBe(b);
    }
  });
});

describe('flash-sale-operator render', () => {
  it('prints the same YAML twice for every example, without Secrets or passwords by default', async () => {
    for (const name of exampleNames()) {
      const file = join(EXAMPLES_DIR, `${name}.yaml`);
      const a = await run('render', '-f', file);
      const b = await run('render', '-f', file);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      const docs = parseAllDocuments(a.stdout).map(
        (d) => d.toJS() as { kind: string; metadata: { namespace: string; ownerReferences?: unknown } },
      );
      expect(docs.length).toBeGreaterThan(20);
      expect(docs.some((d) => d.kind === 'Secret')).toBe(false);
      // No ownerReferences with an empty uid (the document has no uid).
      expect(docs.every((d) => d.metadata.ownerReferences === undefined)).toBe(true);
      expect(a.stdout).toMatch(/# Secrets omitted: the operator generates \S+-operator-secrets/);
    }
  });

  it('--include-secrets prints Secrets with passwords derived from --secrets-seed', async () => {
    const file = join(EXAMPLES_DIR, 'minimal.yaml');
    const a = await run('render', '-f', file, '--include-secrets', '--secrets-seed', 's1');
    const b = await run('render', '-f', file, '--include-secrets', '--secrets-seed', 's1');
    const c = await run('render', '-f', file, '--include-secrets', '--secrets-seed', 's2');
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).not.toBe(c.stdout);
    const kinds = parseAllDocuments(a.stdout).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds).toContain('Secret');
    const noSeed = await run('render', '-f', file, '--include-secrets');
    expect(noSeed.code).toBe(2);
    expect(noSeed.stderr).toMatch(/--secrets-seed/);
  });

  it('--prometheus-operator adds ServiceMonitors and the PrometheusRule', async () => {
    const file = join(EXAMPLES_DIR, 'minimal.yaml');
    const without = await run('render', '-f', file);
    const withOp = await run('render', '-f', file, '--prometheus-operator');
    expect(without.stdout).not.toMatch(/^kind: ServiceMonitor$/m);
    expect(withOp.stdout).toMatch(/^kind: ServiceMonitor$/m);
    expect(withOp.stdout).toMatch(/^kind: PrometheusRule$/m);
  });

  it('refuses invalid stacks with the same messages as validate, printing nothing on stdout', async () => {
    const invalidDir = join(EXAMPLES_DIR, 'invalid');
    const { readdirSync } = await import('node:fs');
    for (const f of readdirSync(invalidDir).filter((x) => x.endsWith('.yaml'))) {
      const file = join(invalidDir, f);
      const r = await run('render', '-f', file);
      const v = await run('validate', '-f', file);
      expect(r.code, f).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(v.stderr);
    }
  });

  it('refuses what only the PostgreSQL catalog or the budgets catch, as validate does (no stack trace)', async () => {
    const file = join(dir, 'catalog.yaml');
    writeFileSync(
      file,
      'apiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: a}\n' +
        'spec: {postgres: {parameters: {work_mem: lots}}, redis: {maxmemory: 8Gi}}\n',
    );
    const r = await run('render', '-f', file);
    const v = await run('validate', '-f', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/spec\.postgres\.parameters\.work_mem/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toBe(v.stderr);
  });

  it('refuses a namespace that contradicts the document', async () => {
    const file = join(dir, 'ns.yaml');
    writeFileSync(
      file,
      'apiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: a, namespace: x}\nspec: {}\n',
    );
    const r = await run('render', '-f', file, '-n', 'y');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/metadata\.namespace: is 'x' but --namespace is 'y'/);
  });

  it('never prints the real secrets (render uses placeholders when not including)', async () => {
    const r = await run('render', '-f', join(EXAMPLES_DIR, 'production.yaml'));
    for (const s of Object.values(SECRETS)) expect(r.stdout).not.toContain(s);
    expect(r.stdout).not.toContain('placeholder-');
  });

  it('--kubernetes-version renders for that minor: preStop sleep from 1.30, an exec sleep before', async () => {
    const file = join(EXAMPLES_DIR, 'minimal.yaml');
    const preStops = (stdout: string) =>
      parseAllDocuments(stdout)
        .map((d) => d.toJS() as { kind: string; spec?: { template?: { spec?: { containers: unknown[] } } } })
        .filter((d) => d.kind === 'Deployment')
        .flatMap((d) => d.spec?.template?.spec?.containers ?? [])
        .map((c) => (c as { lifecycle?: { preStop?: unknown } }).lifecycle?.preStop)
        .filter((p) => p !== undefined);
    const byDefault = await run('render', '-f', file);
    const at128 = await run('render', '-f', file, '--kubernetes-version', '1.28');
    const at130 = await run('render', '-f', file, '--kubernetes-version', 'v1.30.4');
    expect(byDefault.stdout).toBe(at128.stdout);
    expect(byDefault.stdout).toMatch(/rendered by flash-sale-operator render for Kubernetes 1\.28\./);
    expect(preStops(at128.stdout).length).toBeGreaterThan(0);
    for (const p of preStops(at128.stdout)) expect(p).toEqual({ exec: { command: ['/bin/sleep', '5'] } });
    expect(preStops(at130.stdout).length).toBe(preStops(at128.stdout).length);
    for (const p of preStops(at130.stdout)) expect(p).toEqual({ sleep: { seconds: 5 } });
  });

  it('refuses a --kubernetes-version below the supported range, or not a version, in one line (exit 2)', async () => {
    const file = join(EXAMPLES_DIR, 'minimal.yaml');
    const old = await run('render', '-f', file, '--kubernetes-version', '1.27');
    expect(old.code).toBe(2);
    expect(old.stdout).toBe('');
    expect(old.stderr).toBe(
      'flash-sale-operator render: --kubernetes-version 1.27 is not supported: flash-sale-operator supports Kubernetes 1.28 or newer (tested up to ' +
        formatVersion(MAX_TESTED) +
        ')\n',
    );
    const junk = await run('render', '-f', file, '--kubernetes-version', 'latest');
    expect(junk.code).toBe(2);
    expect(junk.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(junk.stderr).toMatch(/'latest' is not a Kubernetes version: give a minor such as 1\.28/);
  });
});
