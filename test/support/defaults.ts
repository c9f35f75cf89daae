/**
 * Defaults a real API server fills in built-in objects, per emulated minor: the defaulting functions of
 * pkg/apis/<group>/<version>/defaults.go (core, apps, batch, autoscaling, networking, rbac), the `+default` markers of k8s.io/api,
 * and what the registries add on create (Service cluster IPs and IP families, Job selectors and labels, the
 * namespace name label, the default StorageClass of a PVC). Defaults are applied on every write, so an
 * object applied again without them is unchanged, and a field no manager owns any more falls back to them.
 */
import { isObj, type KObj } from './util.js';

export interface DefaultsContext {
  /** Emulated server minor, e.g. 28 for 1.28. */
  minor: number;
  /** The object as stored before this write (undefined on create). */
  old?: KObj;
  /** Name of the StorageClass marked default, if any (DefaultStorageClass admission). */
  defaultStorageClass?: string;
  /** A free cluster IP for a new Service. */
  allocateClusterIP(): string;
  /** A free node port for a new NodePort/LoadBalancer Service port. */
  allocateNodePort(): number;
}

type Obj = Record<string, any>;

const set = <T>(o: Obj, k: string, v: T): void => {
  if (o[k] === undefined || o[k] === null) o[k] = v;
};

/** The tag of an image reference (`redis:7.2` → `7.2`; no tag → `latest`; digests have none). */
function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon < 0 ? 'latest' : image.slice(colon + 1);
}

function probe(p: unknown): void {
  if (!isObj(p)) return;
  set(p, 'timeoutSeconds', 1);
  set(p, 'periodSeconds', 10);
  set(p, 'successThreshold', 1);
  set(p, 'failureThreshold', 3);
  handler(p);
}

function handler(h: unknown): void {
  if (!isObj(h) || !isObj(h.httpGet)) return;
  set(h.httpGet, 'path', '/');
  set(h.httpGet, 'scheme', 'HTTP');
}

function container(c: unknown): void {
  if (!isObj(c)) return;
  if (!c.imagePullPolicy && typeof c.image === 'string')
    c.imagePullPolicy = imageTag(c.image) === 'latest' ? 'Always' : 'IfNotPresent';
  set(c, 'terminationMessagePath', '/dev/termination-log');
  set(c, 'terminationMessagePolicy', 'File');
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (isObj(p)) set(p, 'protocol', 'TCP');
  probe(c.livenessProbe);
  probe(c.readinessProbe);
  probe(c.startupProbe);
  if (isObj(c.lifecycle)) {
    handler(c.lifecycle.postStart);
    handler(c.lifecycle.preStop);
  }
  for (const e of Array.isArray(c.env) ? c.env : [])
    if (isObj(e?.valueFrom?.fieldRef)) set(e.valueFrom.fieldRef, 'apiVersion', 'v1');
}

function volume(v: unknown): void {
  if (!isObj(v)) return;
  const sources = Object.keys(v).filter((k) => k !== 'name');
  if (sources.length === 0) v.emptyDir = {};
  for (const k of ['secret', 'configMap', 'downwardAPI', 'projected'])
    if (isObj(v[k])) set(v[k], 'defaultMode', 420);
  for (const s of Array.isArray(v.projected?.sources) ? v.projected.sources : [])
    if (isObj(s?.serviceAccountToken)) set(s.serviceAccountToken, 'expirationSeconds', 3600);
}

/** SetDefaults_PodSpec and what it reaches: containers, probes, volumes. */
export function podSpec(s: unknown): void {
  if (!isObj(s)) return;
  set(s, 'dnsPolicy', 'ClusterFirst');
  set(s, 'restartPolicy', 'Always');
  set(s, 'securityContext', {});
  set(s, 'terminationGracePeriodSeconds', 30);
  set(s, 'schedulerName', 'default-scheduler');
  for (const k of ['containers', 'initContainers', 'ephemeralContainers'])
    for (const c of Array.isArray(s[k]) ? s[k] : []) container(c);
  for (const v of Array.isArray(s.volumes) ? s.volumes : []) volume(v);
}

function template(t: unknown): void {
  if (isObj(t)) podSpec(t.spec);
}

function deployment(o: Obj): void {
  const s = (o.spec ??= {});
  set(s, 'replicas', 1);
  const strategy = (s.strategy ??= {});
  set(strategy, 'type', 'RollingUpdate');
  if (strategy.type === 'RollingUpdate') {
    const ru = (strategy.rollingUpdate ??= {});
    set(ru, 'maxUnavailable', '25%');
    set(ru, 'maxSurge', '25%');
  }
  set(s, 'revisionHistoryLimit', 10);
  set(s, 'progressDeadlineSeconds', 600);
  template(s.template);
}

function statefulSet(o: Obj, ctx: DefaultsContext): void {
  const s = (o.spec ??= {});
  set(s, 'podManagementPolicy', 'OrderedReady');
  const us = (s.updateStrategy ??= {});
  if (!us.type) {
    us.type = 'RollingUpdate';
    us.rollingUpdate ??= {};
  }
  if (us.type === 'RollingUpdate' && isObj(us.rollingUpdate)) set(us.rollingUpdate, 'partition', 0);
  // StatefulSetAutoDeletePVC is on by default from 1.27.
  if (ctx.minor >= 27) {
    const p = (s.persistentVolumeClaimRetentionPolicy ??= {});
    set(p, 'whenDeleted', 'Retain');
    set(p, 'whenScaled', 'Retain');
  }
  set(s, 'replicas', 1);
  set(s, 'revisionHistoryLimit', 10);
  template(s.template);
  for (const pvc of Array.isArray(s.volumeClaimTemplates) ? s.volumeClaimTemplates : []) {
    if (!isObj(pvc)) continue;
    pvcSpec(pvc.spec);
    pvc.apiVersion ??= 'v1';
    pvc.kind ??= 'PersistentVolumeClaim';
    pvc.status ??= { phase: 'Pending' };
  }
}

function pvcSpec(s: unknown): void {
  if (isObj(s)) set(s, 'volumeMode', 'Filesystem');
}

function jobSpec(s: Obj, ctx: DefaultsContext): void {
  if (s.completions == null && s.parallelism == null) s.completions = 1;
  set(s, 'parallelism', 1);
  set(s, 'backoffLimit', 6);
  set(s, 'completionMode', 'NonIndexed');
  set(s, 'suspend', false);
  // JobPodReplacementPolicy is on by default from 1.29.
  if (ctx.minor >= 29) set(s, 'podReplacementPolicy', s.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed');
  template(s.template);
}

/** The selector and pod labels the Job registry generates on create (unless manualSelector is set). */
function jobSelector(o: Obj, ctx: DefaultsContext): void {
  const s = o.spec;
  if (s.manualSelector === true) return;
  if (ctx.old) {
    // Generated once, at create; an update that omits them keeps the stored ones.
    s.selector ??= ctx.old.spec?.selector;
    const oldLabels = ctx.old.spec?.template?.metadata?.labels ?? {};
    const labels = (((s.template ??= {}).metadata ??= {}).labels ??= {});
    for (const k of [
      'batch.kubernetes.io/controller-uid',
      'batch.kubernetes.io/job-name',
      'controller-uid',
      'job-name',
    ])
      if (oldLabels[k] !== undefined) labels[k] ??= oldLabels[k];
    return;
  }
  const uid = o.metadata.uid;
  const name = o.metadata.name;
  s.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  const labels = (((s.template ??= {}).metadata ??= {}).labels ??= {});
  Object.assign(labels, {
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': name,
    'controller-uid': uid,
    'job-name': name,
  });
}

function job(o: Obj, ctx: DefaultsContext): void {
  const s = (o.spec ??= {});
  jobSpec(s, ctx);
  jobSelector(o, ctx);
  const labels = s.template?.metadata?.labels;
  if (labels && !Object.keys(o.metadata.labels ?? {}).length) o.metadata.labels = { ...labels };
}

function cronJob(o: Obj, ctx: DefaultsContext): void {
  const s = (o.spec ??= {});
  set(s, 'concurrencyPolicy', 'Allow');
  set(s, 'suspend', false);
  set(s, 'successfulJobsHistoryLimit', 3);
  set(s, 'failedJobsHistoryLimit', 1);
  if (isObj(s.jobTemplate)) jobSpec((s.jobTemplate.spec ??= {}), ctx);
}

function service(o: Obj, ctx: DefaultsContext): void {
  const s = (o.spec ??= {});
  set(s, 'type', 'ClusterIP');
  set(s, 'sessionAffinity', 'None');
  if (s.sessionAffinity === 'None') delete s.sessionAffinityConfig;
  if (s.sessionAffinity === 'ClientIP') {
    const c = (s.sessionAffinityConfig ??= {});
    set((c.clientIP ??= {}), 'timeoutSeconds', 10800);
  }
  const external = s.type === 'NodePort' || s.type === 'LoadBalancer';
  for (const p of Array.isArray(s.ports) ? s.ports : []) {
    if (!isObj(p)) continue;
    set(p, 'protocol', 'TCP');
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    if (external && !p.nodePort) {
      const before = ctx.old?.spec?.ports?.find(
        (x: Obj) => x.port === p.port && (x.protocol ?? 'TCP') === p.protocol,
      );
      p.nodePort = before?.nodePort ?? ctx.allocateNodePort();
    }
  }
  if (external) set(s, 'externalTrafficPolicy', 'Cluster');
  if (s.type === 'LoadBalancer') set(s, 'allocateLoadBalancerNodePorts', true);
  if (s.type !== 'ExternalName') {
    set(s, 'internalTrafficPolicy', 'Cluster');
    if (s.clusterIP === undefined || s.clusterIP === '')
      s.clusterIP = ctx.old?.spec?.clusterIP ?? ctx.allocateClusterIP();
    if (!Array.isArray(s.clusterIPs) || !s.clusterIPs.length)
      s.clusterIPs = s.clusterIP === ctx.old?.spec?.clusterIP ? ctx.old?.spec?.clusterIPs : [s.clusterIP];
    set(s, 'ipFamilies', ctx.old?.spec?.ipFamilies ?? ['IPv4']);
    set(s, 'ipFamilyPolicy', ctx.old?.spec?.ipFamilyPolicy ?? 'SingleStack');
  }
}

function networkPolicy(o: Obj): void {
  const s = (o.spec ??= {});
  if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0) {
    s.policyTypes = ['Ingress'];
    if (Array.isArray(s.egress) && s.egress.length) s.policyTypes.push('Egress');
  }
  for (const rule of [...(s.ingress ?? []), ...(s.egress ?? [])])
    for (const p of Array.isArray(rule?.ports) ? rule.ports : []) if (isObj(p)) set(p, 'protocol', 'TCP');
}

function scalingRules(r: unknown, up: boolean): Obj {
  const rules: Obj = isObj(r) ? r : {};
  set(rules, 'selectPolicy', 'Max');
  if (up) set(rules, 'stabilizationWindowSeconds', 0);
  set(
    rules,
    'policies',
    up
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  );
  return rules;
}

function hpa(o: Obj): void {
  const s = (o.spec ??= {});
  set(s, 'minReplicas', 1);
  if (!Array.isArray(s.metrics) || s.metrics.length === 0)
    s.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ];
  if (isObj(s.behavior)) {
    s.behavior.scaleUp = scalingRules(s.behavior.scaleUp, true);
    s.behavior.scaleDown = scalingRules(s.behavior.scaleDown, false);
  }
}

function subjects(o: Obj): void {
  for (const sub of Array.isArray(o.subjects) ? o.subjects : []) {
    if (!isObj(sub) || sub.apiGroup !== undefined) continue;
    sub.apiGroup = sub.kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io';
  }
}

/** Fill the defaults of a built-in object (in place). `plural` names the resource, e.g. `deployments`. */
export function applyDefaults(plural: string, o: KObj, ctx: DefaultsContext): void {
  switch (plural) {
    case 'deployments':
      return deployment(o);
    case 'statefulsets':
      return statefulSet(o, ctx);
    case 'replicasets':
      set((o.spec ??= {}), 'replicas', 1);
      return template(o.spec.template);
    case 'daemonsets': {
      const s = (o.spec ??= {});
      const us = (s.updateStrategy ??= {});
      set(us, 'type', 'RollingUpdate');
      if (us.type === 'RollingUpdate') {
        const ru = (us.rollingUpdate ??= {});
        set(ru, 'maxUnavailable', 1);
        set(ru, 'maxSurge', 0);
      }
      set(s, 'revisionHistoryLimit', 10);
      return template(s.template);
    }
    case 'jobs':
      return job(o, ctx);
    case 'cronjobs':
      return cronJob(o, ctx);
    case 'pods':
      podSpec(o.spec);
      set(o.spec, 'enableServiceLinks', true);
      return;
    case 'services':
      return service(o, ctx);
    case 'persistentvolumeclaims': {
      const s = (o.spec ??= {});
      pvcSpec(s);
      // DefaultStorageClass admission: a claim without a class gets the default one (only on create).
      if (!ctx.old && s.storageClassName === undefined && ctx.defaultStorageClass)
        s.storageClassName = ctx.defaultStorageClass;
      return;
    }
    case 'networkpolicies':
      return networkPolicy(o);
    case 'horizontalpodautoscalers':
      return hpa(o);
    case 'secrets':
      set(o, 'type', 'Opaque');
      // stringData is write-only: merged into data (base64) and never stored, as the Secret strategy does.
      if (isObj(o.stringData)) {
        o.data = { ...(o.data ?? {}) };
        for (const [k, v] of Object.entries(o.stringData))
          o.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      }
      delete o.stringData;
      return;
    case 'namespaces':
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name! };
      return;
    case 'rolebindings':
    case 'clusterrolebindings':
      return subjects(o);
    case 'customresourcedefinitions': {
      const s = (o.spec ??= {});
      const names = (s.names ??= {});
      if (names.kind) {
        set(names, 'singular', String(names.kind).toLowerCase());
        set(names, 'listKind', `${names.kind}List`);
      }
      set((s.conversion ??= {}), 'strategy', 'None');
      return;
    }
    case 'storageclasses':
      set(o, 'reclaimPolicy', 'Delete');
      set(o, 'volumeBindingMode', 'Immediate');
      return;
  }
}
