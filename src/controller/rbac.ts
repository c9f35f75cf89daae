/**
 * The operator's RBAC needs, in one place: the ClusterRole/Role in manifests/ and the Helm chart are
 * generated from this list (npm run generate), and a test checks it against the requests the controller
 * actually makes during the controller test suite: nothing missing, nothing granted that is never used.
 *
 * Objects are written with server-side apply, and an apply that creates the object is authorised as
 * `create` as well as `patch` (kube-apiserver endpoints/handlers/patch.go), so every applied kind needs both.
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/** Rules for the objects the operator manages in the namespaces it watches. */
export const OPERATOR_RULES: readonly PolicyRule[] = [
  { apiGroups: ['flashsale.dev'], resources: ['flashsalestacks'], verbs: ['list', 'watch', 'patch'] },
  { apiGroups: ['flashsale.dev'], resources: ['flashsalestacks/status'], verbs: ['patch'] },
  // Owned objects carry `blockOwnerDeletion: true` owner references to their stack; with the
  // OwnerReferencesPermissionEnforcement admission plugin (on in OpenShift) that needs update on the owner's
  // finalizers subresource.
  { apiGroups: ['flashsale.dev'], resources: ['flashsalestacks/finalizers'], verbs: ['update'] },
  // FlashSales are read and driven through their status only (src/sales/controller.ts): the spec is the user's.
  { apiGroups: ['flashsale.dev'], resources: ['flashsales'], verbs: ['list', 'watch'] },
  { apiGroups: ['flashsale.dev'], resources: ['flashsales/status'], verbs: ['patch'] },
  {
    apiGroups: [''],
    resources: ['configmaps', 'serviceaccounts', 'services'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  // No `update`: the generated Secret is completed with a resourceVersion-checked merge patch. list/watch are
  // made with the managed-by label selector (RBAC cannot scope a grant by label); get is by name, for the
  // generated Secret before the cache has it and the user's spec.postgres.credentialsSecret.
  {
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    apiGroups: [''],
    resources: ['persistentvolumeclaims'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  // Pods of finished backup Jobs: their termination message names the dump file and its size.
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  // get: the live managedFields decide whether spec.replicas must be handed over to the HPA first.
  {
    apiGroups: ['apps'],
    resources: ['deployments'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  // delete: growing a volume replaces the StatefulSet (propagationPolicy Orphan, so its pods keep running).
  { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  // Whether a claim's StorageClass allows volume expansion (cluster-scoped: ClusterRole installs only).
  { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get'] },
  { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  {
    apiGroups: ['autoscaling'],
    resources: ['horizontalpodautoscalers'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    apiGroups: ['policy'],
    resources: ['poddisruptionbudgets'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    apiGroups: ['networking.k8s.io'],
    resources: ['networkpolicies'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
  {
    apiGroups: ['monitoring.coreos.com'],
    resources: ['servicemonitors', 'prometheusrules'],
    verbs: ['list', 'watch', 'create', 'patch', 'delete'],
  },
];

/**
 * Permissions the operator never uses itself but must hold to grant them: Kubernetes refuses to let anyone
 * create a Role with rights they lack (RBAC escalation prevention), and a 3-node RabbitMQ's Role lets its
 * peer discovery read its Endpoints.
 */
export const DELEGATED_RULES: readonly PolicyRule[] = [
  { apiGroups: [''], resources: ['endpoints'], verbs: ['get'] },
];

/** What the operator's ClusterRole (or namespaced Role) grants: what it calls, plus what it delegates. */
export const GRANTED_RULES: readonly PolicyRule[] = [...OPERATOR_RULES, ...DELEGATED_RULES];

/** Rules for leader election, granted in the operator's own namespace only. */
export const LEADER_ELECTION_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
];

/**
 * Granted by a Role in `default` only, for one object: the `kubernetes` EndpointSlice says where the API server
 * listens, which the NetworkPolicy of a clustered RabbitMQ's peer discovery names (apiserver-endpoints.ts).
 */
export const API_SERVER_ENDPOINTS_NAMESPACE = 'default';
export const API_SERVER_ENDPOINTS_RULES: readonly PolicyRule[] = [
  {
    apiGroups: ['discovery.k8s.io'],
    resources: ['endpointslices'],
    resourceNames: ['kubernetes'],
    verbs: ['get'],
  },
];

/** Every (group, resource, verb) triple the rules grant, as "group/resource:verb" ("" group → "core"). */
export function grantedTriples(rules: readonly PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules)
    for (const g of r.apiGroups)
      for (const res of r.resources) for (const v of r.verbs) out.add(`${g || 'core'}/${res}:${v}`);
  return out;
}
