/**
 * What every rendering of the operator install (kustomize base/overlays, helm with any values) must satisfy:
 * Kubernetes schemas, RBAC exactly from src/controller/rbac.ts, bindings that point at objects that exist, the
 * operator Deployment's flags/probes/security, and Service/ServiceMonitor selectors that match.
 */
import { expect } from 'vitest';
import {
  API_SERVER_ENDPOINTS_RULES,
  LEADER_ELECTION_RULES,
  GRANTED_RULES,
} from '../../src/controller/rbac.js';
import { find, one, operatorPod, schemaFailures, type KObject } from './support.js';

export interface Expected {
  namespace: string;
  replicas: number;
  leaderElection: boolean;
  /** [] = cluster-wide. */
  watchNamespaces: string[];
  image: string;
  serviceMonitor: boolean;
  /** The Role in `default` that reads the `kubernetes` EndpointSlice (default: installed). */
  apiServerEndpoints?: boolean;
}

export async function checkInstall(objects: KObject[], want: Expected): Promise<void> {
  expect(await schemaFailures(objects)).toEqual([]);

  // --- RBAC: exactly the generated rules, no wildcards, only where they belong.
  for (const o of objects.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
    for (const rule of (o as any).rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
      for (const list of [rule.apiGroups, rule.resources, rule.verbs])
        expect(list, `${o.kind}/${o.metadata.name} has a wildcard`).not.toContain('*');
    }
  }
  const plain = (rules: readonly unknown[]) => JSON.parse(JSON.stringify(rules));
  const clusterRoles = find(objects, 'ClusterRole');
  const operatorRoles = find(objects, 'Role').filter(
    (r) => !r.metadata.name.endsWith('-leader-election') && !r.metadata.name.endsWith('-apiserver-endpoints'),
  );
  // In every mode: one Role in `default` that reads the `kubernetes` EndpointSlice and nothing else.
  const endpointRoles = find(objects, 'Role').filter((r) => r.metadata.name.endsWith('-apiserver-endpoints'));
  if (want.apiServerEndpoints === false) {
    expect(endpointRoles).toEqual([]);
    expect(objects.filter((o) => o.metadata.namespace === 'default')).toEqual([]);
  } else {
    expect(endpointRoles.map((r) => r.metadata.namespace)).toEqual(['default']);
    expect((endpointRoles[0] as any).rules).toEqual(plain(API_SERVER_ENDPOINTS_RULES));
  }
  if (want.watchNamespaces.length === 0) {
    expect(clusterRoles).toHaveLength(1);
    expect((clusterRoles[0] as any).rules).toEqual(plain(GRANTED_RULES));
    expect(find(objects, 'ClusterRoleBinding')).toHaveLength(1);
    expect(operatorRoles).toEqual([]);
  } else {
    expect(clusterRoles).toEqual([]);
    expect(find(objects, 'ClusterRoleBinding')).toEqual([]);
    expect(operatorRoles.map((r) => r.metadata.namespace).sort()).toEqual([...want.watchNamespaces].sort());
    for (const r of operatorRoles) expect((r as any).rules).toEqual(plain(GRANTED_RULES));
  }
  const leaderRoles = find(objects, 'Role').filter((r) => r.metadata.name.endsWith('-leader-election'));
  if (want.leaderElection) {
    expect(leaderRoles).toHaveLength(1);
    expect(leaderRoles[0]!.metadata.namespace).toBe(want.namespace);
    expect((leaderRoles[0] as any).rules).toEqual(plain(LEADER_ELECTION_RULES));
  } else {
    expect(leaderRoles).toEqual([]);
  }

  // --- Bindings name a role and a ServiceAccount that are part of the install.
  const serviceAccount = one(objects, 'ServiceAccount');
  expect(serviceAccount.metadata.namespace).toBe(want.namespace);
  for (const b of objects.filter((x) => x.kind === 'RoleBinding' || x.kind === 'ClusterRoleBinding')) {
    const ref = (b as any).roleRef as { kind: string; name: string };
    const role = find(objects, ref.kind, ref.name, ref.kind === 'Role' ? b.metadata.namespace : undefined);
    expect(role, `${b.kind}/${b.metadata.name} → ${ref.kind}/${ref.name}`).toHaveLength(1);
    expect((b as any).subjects).toEqual([
      { kind: 'ServiceAccount', name: serviceAccount.metadata.name, namespace: want.namespace },
    ]);
  }

  // --- The operator Deployment.
  const deploy = one(objects, 'Deployment');
  expect(deploy.metadata.namespace).toBe(want.namespace);
  expect((deploy as any).spec.replicas).toBe(want.replicas);
  const { pod, container } = operatorPod(deploy);
  expect(pod.serviceAccountName).toBe(serviceAccount.metadata.name);
  expect(container.image).toBe(want.image);
  const args: string[] = container.args;
  expect(args[0]).toBe('run');
  expect(args.includes('--leader-elect')).toBe(want.leaderElection);
  const nsArg = args.find((a) => a.startsWith('--namespaces'));
  if (want.watchNamespaces.length) expect(nsArg).toBe(`--namespaces=${want.watchNamespaces.join(',')}`);
  else expect(nsArg).toBeUndefined();
  expect(args).toContain('--metrics-addr=:8080');
  expect(container.env).toContainEqual({
    name: 'POD_NAMESPACE',
    valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
  });
  expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 8080, protocol: 'TCP' });
  expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
  expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
  for (const k of ['cpu', 'memory']) {
    expect(container.resources.requests[k], `requests.${k}`).toBeDefined();
    expect(container.resources.limits[k], `limits.${k}`).toBeDefined();
  }
  // Restricted Pod Security Standard, plus a read-only root filesystem.
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
  expect(pod.hostNetwork ?? false).toBe(false);
  expect(container.securityContext).toMatchObject({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  });
  expect(container.securityContext.privileged ?? false).toBe(false);
  for (const v of pod.volumes ?? []) expect(v.hostPath, `volume ${v.name}`).toBeUndefined();

  // --- The metrics Service selects the operator pods; the ServiceMonitor selects the Service.
  const service = one(objects, 'Service');
  const podLabels = pod && (deploy as any).spec.template.metadata.labels;
  const selector = (service as any).spec.selector as Record<string, string>;
  expect(Object.keys(selector).length).toBeGreaterThan(0);
  for (const [k, v] of Object.entries(selector)) expect(podLabels[k], `pod label ${k}`).toBe(v);
  expect((deploy as any).spec.selector.matchLabels).toEqual(
    Object.fromEntries(Object.keys((deploy as any).spec.selector.matchLabels).map((k) => [k, podLabels[k]])),
  );
  expect((service as any).spec.ports).toContainEqual(
    expect.objectContaining({ name: 'metrics', port: 8080, targetPort: 'metrics' }),
  );
  const monitors = find(objects, 'ServiceMonitor');
  expect(monitors).toHaveLength(want.serviceMonitor ? 1 : 0);
  for (const m of monitors) {
    expect(m.metadata.namespace).toBe(want.namespace);
    for (const [k, v] of Object.entries((m as any).spec.selector.matchLabels as Record<string, string>))
      expect(service.metadata.labels?.[k], `Service label ${k}`).toBe(v);
    expect((m as any).spec.namespaceSelector.matchNames).toEqual([want.namespace]);
    expect((m as any).spec.endpoints[0].port).toBe('metrics');
  }
}
