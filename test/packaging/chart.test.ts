/**
 * The Helm chart with the real helm binary (extracted once for this file): `helm lint`, `helm template` with
 * default and non-default values, every object against Kubernetes' schemas, RBAC equal to the generated rules,
 * values.schema.json and the template guard refusing what cannot work.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGES } from '../../src/api/images.js';
import { CHART, ROOT, extractHelm, one, operatorPod, type Helm } from './support.js';
import { checkInstall } from './install-checks.js';

let helm: Helm;
beforeAll(() => {
  helm = extractHelm();
});
afterAll(() => helm?.cleanup());

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('charts/flash-sale-operator', () => {
  it('passes helm lint --strict, with default and with namespaced values', () => {
    const r = helm.run(['lint', '--strict', CHART]);
    expect(r.stderr + r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
    const r2 = helm.run([
      'lint',
      '--strict',
      CHART,
      '--set',
      'watchNamespaces={shop-a,shop-b}',
      '--set',
      'metrics.serviceMonitor.enabled=true',
    ]);
    expect(r2.status).toBe(0);
  });

  it('has the package version and pins the image to the operator default', () => {
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as {
      version: string;
      appVersion: string;
    };
    expect(chart.version).toBe(pkg.version);
    expect(chart.appVersion).toBe(pkg.version);
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
      image: { repository: string };
    };
    expect(`${values.image.repository}:${chart.appVersion}`).toBe(DEFAULT_IMAGES.operator);
  });

  it('renders the defaults: cluster-wide, 2 replicas with leader election, CRD included', async () => {
    const objects = helm.template({});
    await checkInstall(objects, {
      namespace: 'flash-sale-system',
      replicas: 2,
      leaderElection: true,
      watchNamespaces: [],
      image: DEFAULT_IMAGES.operator,
      serviceMonitor: false,
    });
    one(objects, 'CustomResourceDefinition', 'flashsalestacks.flashsale.dev');
    one(objects, 'CustomResourceDefinition', 'flashsales.flashsale.dev');
    expect(one(objects, 'Deployment').metadata.name).toBe('flash-sale-operator');
  });

  it('renders namespaced mode, ServiceMonitor on, 1 replica, leader election off, other release/namespace', async () => {
    const objects = helm.template(
      {
        replicas: 1,
        leaderElection: { enabled: false },
        watchNamespaces: ['shop-a', 'shop-b'],
        metrics: { serviceMonitor: { enabled: true, labels: { release: 'prom' } } },
        image: { repository: 'registry.example/fso', tag: '0.1.0-rc1', pullPolicy: 'Always' },
        logLevel: 'debug',
        health: { enabled: false },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ops', effect: 'NoSchedule' }],
        resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '192Mi' } },
      },
      { release: 'fso', namespace: 'ops' },
    );
    await checkInstall(objects, {
      namespace: 'ops',
      replicas: 1,
      leaderElection: false,
      watchNamespaces: ['shop-a', 'shop-b'],
      image: 'registry.example/fso:0.1.0-rc1',
      serviceMonitor: true,
    });
    const { pod, container } = operatorPod(one(objects, 'Deployment'));
    expect(container.args).toContain('--log-level=debug');
    expect(container.args).toContain('--no-health');
    expect(container.imagePullPolicy).toBe('Always');
    expect(container.resources.limits.memory).toBe('192Mi');
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(pod.tolerations).toHaveLength(1);
    expect(one(objects, 'ServiceMonitor').metadata.labels?.release).toBe('prom');
  });

  it('renders scope namespaced on its own: Roles and RoleBindings in the release namespace, no cluster-wide grant', async () => {
    const objects = helm.template({ scope: 'namespaced' }, { release: 'fso', namespace: 'shop' });
    await checkInstall(objects, {
      namespace: 'shop',
      replicas: 2,
      leaderElection: true,
      watchNamespaces: ['shop'],
      image: DEFAULT_IMAGES.operator,
      serviceMonitor: false,
    });
    expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    const roleNamespaces = objects
      .filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding')
      .map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)
      .sort();
    expect(roleNamespaces).toEqual([
      'Role/default/fso-flash-sale-operator-apiserver-endpoints',
      'Role/shop/fso-flash-sale-operator',
      'Role/shop/fso-flash-sale-operator-leader-election',
      'RoleBinding/default/fso-flash-sale-operator-apiserver-endpoints',
      'RoleBinding/shop/fso-flash-sale-operator',
      'RoleBinding/shop/fso-flash-sale-operator-leader-election',
    ]);
  });

  it('leaves `default` alone with apiServerEndpoints.read=false', async () => {
    const objects = helm.template(
      { scope: 'namespaced', apiServerEndpoints: { read: false } },
      { namespace: 'shop' },
    );
    await checkInstall(objects, {
      namespace: 'shop',
      replicas: 2,
      leaderElection: true,
      watchNamespaces: ['shop'],
      image: DEFAULT_IMAGES.operator,
      serviceMonitor: false,
      apiServerEndpoints: false,
    });
  });

  it('refuses several replicas without leader election, naming the fix', () => {
    const r = helm.run([
      'template',
      'x',
      CHART,
      '--set',
      'replicas=3',
      '--set',
      'leaderElection.enabled=false',
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set leaderElection.enabled=true or replicas=1');
  });

  it('refuses bad values through values.schema.json', () => {
    for (const [set, field] of [
      ['image.tag=latest', 'image.tag'],
      ['logLevel=verbose', 'logLevel'],
      ['replicas=0', 'replicas'],
      ['watchNamespaces={Bad_NS}', 'watchNamespaces.0'],
      ['scope=namespace', 'scope'],
      ['resync=ten', 'resync'],
    ] as const) {
      const r = helm.run(['template', 'x', CHART, '--set', set]);
      expect(r.status, set).not.toBe(0);
      expect(r.stderr, set).toContain(field);
    }
  });
});
