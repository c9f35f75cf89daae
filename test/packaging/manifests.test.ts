/**
 * `kubectl kustomize` of manifests/ and its overlays: renders, every object validates against Kubernetes'
 * schemas (the CRD via the apiextensions model, the ServiceMonitor structurally), RBAC is exactly the
 * generated rules, and the operator Deployment is what the docs promise.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_IMAGES } from '../../src/api/images.js';
import { checkInstall } from './install-checks.js';
import {
  cleanupKubectl,
  find,
  kustomize,
  one,
  operatorPod,
  schemaFailures,
  type KObject,
} from './support.js';

afterAll(cleanupKubectl);

const base = {
  namespace: 'flash-sale-system',
  replicas: 2,
  leaderElection: true,
  image: DEFAULT_IMAGES.operator,
};

describe('kubectl kustomize manifests/', () => {
  const objects = kustomize('manifests');

  it('renders the cluster-wide install and passes every check', async () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'CustomResourceDefinition',
        'CustomResourceDefinition',
        'Deployment',
        'Namespace',
        'Role',
        'Role',
        'RoleBinding',
        'RoleBinding',
        'Service',
        'ServiceAccount',
      ].sort(),
    );
    await checkInstall(objects, { ...base, watchNamespaces: [], serviceMonitor: false });
  });

  it('creates the operator namespace with the restricted Pod Security Standard enforced', () => {
    const ns = one(objects, 'Namespace', 'flash-sale-system');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('includes the FlashSaleStack and FlashSale CRDs; every namespaced object lives in flash-sale-system but the endpoints reader', () => {
    one(objects, 'CustomResourceDefinition', 'flashsalestacks.flashsale.dev');
    one(objects, 'CustomResourceDefinition', 'flashsales.flashsale.dev');
    for (const o of objects) {
      if (['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))
        continue;
      // Reads the `kubernetes` EndpointSlice, which lives in `default`.
      const where =
        o.metadata.name === 'flash-sale-operator-apiserver-endpoints' ? 'default' : 'flash-sale-system';
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe(where);
    }
  });
});

describe('kubectl kustomize manifests/overlays/namespaced/', () => {
  const objects = kustomize('manifests/overlays/namespaced');

  it('replaces the ClusterRole by a Role in the watched namespace and passes --namespaces', async () => {
    await checkInstall(objects, { ...base, watchNamespaces: ['flash-sale'], serviceMonitor: false });
    expect(
      find(objects, 'Namespace')
        .map((n) => n.metadata.name)
        .sort(),
    ).toEqual(['flash-sale', 'flash-sale-system']);
  });
});

describe('kubectl kustomize manifests/overlays/servicemonitor/', () => {
  const objects = kustomize('manifests/overlays/servicemonitor');

  it('adds a ServiceMonitor for the operator metrics Service', async () => {
    await checkInstall(objects, { ...base, watchNamespaces: [], serviceMonitor: true });
  });
});

describe('the schema validation used above', () => {
  it('rejects a broken object, so a pass means something', async () => {
    const deploy = structuredClone(one(kustomize('manifests'), 'Deployment')) as KObject;
    operatorPod(deploy).container.ports[0].containerPort = 'eighty';
    delete (deploy as unknown as { spec: { selector?: unknown } }).spec.selector;
    const failures = await schemaFailures([deploy]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^Deployment\/flash-sale-operator: /);
    const monitor = structuredClone(one(kustomize('manifests/overlays/servicemonitor'), 'ServiceMonitor'));
    (monitor as unknown as { spec: Record<string, unknown> }).spec.endpoint = [];
    expect(await schemaFailures([monitor])).toHaveLength(1);
  });
});
