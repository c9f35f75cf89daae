/**
 * The operator's identity on the in-memory API server, as `kubectl apply -k manifests/` installs it: its
 * namespace, its ServiceAccount and exactly the generated RBAC of manifests/rbac. Used by the controller test
 * harness and by bench:operator, so both run the operator with the permissions it ships with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import type { ApiObject } from '../../src/controller/kube-client.js';
import type { FakeApiServer } from './server.js';
import type { KObj } from './util.js';

/** The repository's manifests/rbac/, from test/support/ or from its build in dist/test/support/. */
function rbacDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'manifests', 'rbac');
}
const RBAC_DIR = `${rbacDir()}/`;

/** Where manifests/ installs the operator (its ServiceAccount, leader-election Role and Lease). */
export const OPERATOR_NAMESPACE = 'flash-sale-system';
export const OPERATOR_SERVICE_ACCOUNT = 'flash-sale-operator';
/** The user the operator's requests are made as. */
export const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SERVICE_ACCOUNT}`;

/** The objects of manifests/rbac/kustomization.yaml, in order. */
function operatorRbacObjects(): ApiObject[] {
  const kustomization = YAML.parse(readFileSync(`${RBAC_DIR}kustomization.yaml`, 'utf8')) as {
    resources: string[];
  };
  return kustomization.resources.flatMap((f) =>
    YAML.parseAllDocuments(readFileSync(`${RBAC_DIR}${f}`, 'utf8')).map((d) => d.toJSON() as ApiObject),
  );
}

/** Installs the operator's namespace, ServiceAccount and generated RBAC; returns a kubeconfig of the ServiceAccount. */
export function installOperatorRbac(srv: FakeApiServer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(installOperatorRbacKubeconfig(srv));
  return kc;
}

/** As installOperatorRbac; returns the path of the ServiceAccount's kubeconfig file. */
export function installOperatorRbacKubeconfig(srv: FakeApiServer): string {
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: OPERATOR_NAMESPACE } },
    ...operatorRbacObjects(),
  ];
  for (const o of objects) {
    const t = srv.registry.typeForKind(o.apiVersion, o.kind)!;
    srv.registry.create(t, o.metadata.namespace, o as KObj, { fieldManager: 'kubectl' });
  }
  return srv.writeKubeconfig({
    serviceAccount: { namespace: OPERATOR_NAMESPACE, name: OPERATOR_SERVICE_ACCOUNT },
  });
}
