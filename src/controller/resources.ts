/**
 * The kinds the operator reads or writes, with their REST coordinates. A static table instead of discovery:
 * the operator only ever touches these, and RBAC (manifests/) is derived from the same list.
 */
import { GROUP, KIND, PLURAL, SALE_KIND, SALE_PLURAL, VERSION } from '../api/types.js';

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

function rt(group: string, version: string, kind: string, plural: string, namespaced = true): ResourceType {
  return { group, version, kind, plural, namespaced };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  rt(GROUP, VERSION, KIND, PLURAL),
  rt(GROUP, VERSION, SALE_KIND, SALE_PLURAL),
  rt('', 'v1', 'ServiceAccount', 'serviceaccounts'),
  rt('', 'v1', 'Secret', 'secrets'),
  rt('', 'v1', 'ConfigMap', 'configmaps'),
  rt('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims'),
  rt('', 'v1', 'Service', 'services'),
  rt('', 'v1', 'Pod', 'pods'),
  rt('', 'v1', 'Event', 'events'),
  rt('apps', 'v1', 'Deployment', 'deployments'),
  rt('apps', 'v1', 'StatefulSet', 'statefulsets'),
  rt('batch', 'v1', 'Job', 'jobs'),
  rt('batch', 'v1', 'CronJob', 'cronjobs'),
  rt('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
  rt('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  rt('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies'),
  rt('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  rt('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  rt('monitoring.coreos.com', 'v1', 'ServiceMonitor', 'servicemonitors'),
  rt('monitoring.coreos.com', 'v1', 'PrometheusRule', 'prometheusrules'),
  rt('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  // Only the `kubernetes` slice in `default`: where the API server listens (src/controller/apiserver-endpoints.ts).
  rt('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
  rt('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false),
  rt('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false),
];

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

export function resourceTypeFor(apiVersion: string, kind: string): ResourceType {
  const found = RESOURCE_TYPES.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  if (!found) throw new Error(`flash-sale-operator does not manage ${apiVersion} ${kind}`);
  return found;
}

export function resourceTypeByKind(kind: string): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.kind === kind);
  if (!found) throw new Error(`flash-sale-operator does not manage kind ${kind}`);
  return found;
}

/** `/api/v1/namespaces/ns/configmaps[/name][/sub]` — the REST path of a collection or object. */
export function resourcePath(
  type: ResourceType,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name ? `/${encodeURIComponent(name)}` : '';
  const sub = name && subresource ? `/${subresource}` : '';
  return `${base}${ns}/${type.plural}${obj}${sub}`;
}
