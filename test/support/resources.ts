/** The registry of served resource types: built-ins, optional Prometheus-operator kinds, and CRD-defined ones. */

export interface CrdVersionInfo {
  schema?: Record<string, any>;
  printerColumns: {
    name: string;
    type: string;
    jsonPath: string;
    description?: string;
    format?: string;
    priority?: number;
  }[];
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Has a /status subresource: the main endpoint ignores status, /status changes only status. */
  status: boolean;
  /** metadata.generation is maintained (bumped on non-metadata, non-status changes). */
  generation: boolean;
  /** Custom resource: strategic merge patch answers 415; schema from the CRD. */
  crd?: CrdVersionInfo;
  /** Other served versions of the same resource (CRDs); objects are stored once. */
  versions?: string[];
  /** Has a /scale subresource (autoscaling/v1 Scale). */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** Stored in another resource's storage (events.k8s.io Events are core/v1 Events). */
  storage?: { group: string; plural: string };
  /** The verbs discovery lists, when not the usual collection verbs (review APIs only take `create`). */
  verbs?: string[];
}

type Def = [
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[],
  status: boolean,
  generation: boolean,
];

const BUILTINS: Def[] = [
  ['', 'v1', 'Namespace', 'namespaces', false, ['ns'], true, false],
  ['', 'v1', 'Pod', 'pods', true, ['po'], true, true],
  ['', 'v1', 'Service', 'services', true, ['svc'], true, false],
  ['', 'v1', 'ConfigMap', 'configmaps', true, ['cm'], false, false],
  ['', 'v1', 'Secret', 'secrets', true, [], false, false],
  ['', 'v1', 'ServiceAccount', 'serviceaccounts', true, ['sa'], false, false],
  ['', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc'], true, false],
  ['', 'v1', 'Event', 'events', true, ['ev'], false, false],
  ['', 'v1', 'Endpoints', 'endpoints', true, ['ep'], false, false],
  ['discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true, [], false, false],
  ['apps', 'v1', 'Deployment', 'deployments', true, ['deploy'], true, true],
  ['apps', 'v1', 'StatefulSet', 'statefulsets', true, ['sts'], true, true],
  ['apps', 'v1', 'ReplicaSet', 'replicasets', true, ['rs'], true, true],
  ['apps', 'v1', 'DaemonSet', 'daemonsets', true, ['ds'], true, true],
  ['batch', 'v1', 'Job', 'jobs', true, [], true, true],
  ['batch', 'v1', 'CronJob', 'cronjobs', true, ['cj'], true, true],
  ['policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, ['pdb'], true, true],
  ['autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, ['hpa'], true, false],
  ['networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, ['netpol'], false, true],
  ['networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, ['ing'], true, true],
  ['coordination.k8s.io', 'v1', 'Lease', 'leases', true, [], false, false],
  ['storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, ['sc'], false, false],
  ['events.k8s.io', 'v1', 'Event', 'events', true, ['ev'], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true, [], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true, [], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false, [], false, false],
  ['rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false, [], false, false],
  [
    'apiextensions.k8s.io',
    'v1',
    'CustomResourceDefinition',
    'customresourcedefinitions',
    false,
    ['crd', 'crds'],
    true,
    true,
  ],
];

const CATEGORY_ALL = new Set([
  'pods',
  'services',
  'deployments',
  'statefulsets',
  'replicasets',
  'daemonsets',
  'jobs',
  'cronjobs',
  'horizontalpodautoscalers',
]);

/** SelfSubjectAccessReview (`kubectl auth can-i`): create-only, answered by access.ts, never stored. */
const ACCESS_REVIEW: ResourceType = {
  group: 'authorization.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectAccessReview',
  plural: 'selfsubjectaccessreviews',
  singular: 'selfsubjectaccessreview',
  namespaced: false,
  shortNames: [],
  categories: [],
  status: false,
  generation: false,
  verbs: ['create'],
};

export function builtinTypes(): ResourceType[] {
  return [
    ...BUILTINS.map(([group, version, kind, plural, namespaced, shortNames, status, generation]) => ({
      group,
      version,
      kind,
      plural,
      singular: kind.toLowerCase(),
      namespaced,
      shortNames,
      categories: CATEGORY_ALL.has(plural) ? ['all'] : [],
      status,
      generation,
      ...(group === 'events.k8s.io' ? { storage: { group: '', plural: 'events' } } : {}),
      ...(['deployments', 'statefulsets', 'replicasets'].includes(plural)
        ? {
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.spec.selector',
            },
          }
        : {}),
    })),
    ACCESS_REVIEW,
  ];
}

/** CRDs of the Prometheus operator, served when the server option `prometheusOperator` is on. */
export function prometheusOperatorCrds(): Record<string, any>[] {
  const mk = (kind: string, plural: string, short: string[]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: {
        kind,
        plural,
        singular: kind.toLowerCase(),
        listKind: `${kind}List`,
        shortNames: short,
        categories: ['prometheus-operator'],
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
              required: ['spec'],
            },
          },
        },
      ],
    },
  });
  return [
    mk('ServiceMonitor', 'servicemonitors', ['smon']),
    mk('PrometheusRule', 'prometheusrules', ['promrule']),
  ];
}

/** Build the served types of a CRD (one per served version). Throws a readable Error for a malformed CRD. */
export function typesFromCrd(crd: Record<string, any>): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = spec.names ?? {};
  const versions: any[] = spec.versions ?? [];
  const served = versions.filter((v) => v.served !== false);
  return served.map((v) => ({
    group: spec.group,
    version: v.name,
    kind: names.kind,
    plural: names.plural,
    singular: names.singular ?? String(names.kind).toLowerCase(),
    namespaced: spec.scope !== 'Cluster',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    status: Boolean(v.subresources?.status),
    ...(v.subresources?.scale ? { scale: v.subresources.scale } : {}),
    generation: true,
    crd: { schema: v.schema?.openAPIV3Schema, printerColumns: v.additionalPrinterColumns ?? [] },
    versions: served.map((x) => x.name),
  }));
}
