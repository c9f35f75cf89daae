/**
 * What a real kube-apiserver stores (and an informer then hands back) for an applied object, for the kinds
 * render emits: written from upstream, to check that the operator's "already applied?" comparison holds
 * against a real server and not just against an echo.
 *
 * - Empty lists and strings are not stored: every list field of the built-in types, and every optional string
 *   field, is `omitempty` (the types.go files of kubernetes/api); `storageClassName` is a `*string`, kept
 *   when "". Elements of lists are kept as they are.
 * - Quantities are stored canonically (apimachinery pkg/api/resource, see canonicalQuantity).
 * - Defaults are filled in (kubernetes pkg/apis/{core,apps,batch,autoscaling}/v1/defaults.go): the usual
 *   ones for pod templates, containers, probes, volumes, Services, Deployments, StatefulSets, Jobs, CronJobs,
 *   PVCs; plus the metadata the server owns (uid, resourceVersion, managedFields...).
 * - Secrets are stored with `data` only (normalizeForApply already turned `stringData` into `data`).
 *
 * Once the stand-in API server stores objects this way itself (test/support, `standin-schema`), tests should
 * use its normalisation instead and this file goes.
 */
import { canonicalQuantity } from '../../src/api/quantity.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Sets `key` to `value` when absent (a default). */
function def(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined) o[key] = structuredClone(value);
}

function dropEmpties(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropEmpties);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if ((x === '' && k !== 'storageClassName') || (Array.isArray(x) && x.length === 0)) continue;
    out[k] = dropEmpties(x);
  }
  return out;
}

function canonicalResources(resources: unknown): void {
  if (!isObj(resources)) return;
  for (const list of [resources.requests, resources.limits]) {
    if (!isObj(list)) continue;
    for (const [k, q] of Object.entries(list)) if (typeof q === 'string') list[k] = canonicalQuantity(q) ?? q;
  }
}

function probeDefaults(probe: unknown): void {
  if (!isObj(probe)) return;
  def(probe, 'timeoutSeconds', 1);
  def(probe, 'periodSeconds', 10);
  def(probe, 'successThreshold', 1);
  def(probe, 'failureThreshold', 3);
  if (isObj(probe.httpGet)) def(probe.httpGet, 'scheme', 'HTTP');
}

function containerDefaults(c: Obj): void {
  def(c, 'terminationMessagePath', '/dev/termination-log');
  def(c, 'terminationMessagePolicy', 'File');
  def(c, 'imagePullPolicy', String(c.image).endsWith(':latest') ? 'Always' : 'IfNotPresent');
  for (const p of (c.ports as Obj[] | undefined) ?? []) def(p, 'protocol', 'TCP');
  for (const e of (c.env as Obj[] | undefined) ?? []) {
    const ref = isObj(e.valueFrom) ? e.valueFrom.fieldRef : undefined;
    if (isObj(ref)) def(ref, 'apiVersion', 'v1');
  }
  canonicalResources(c.resources);
  probeDefaults(c.readinessProbe);
  probeDefaults(c.livenessProbe);
  probeDefaults(c.startupProbe);
}

function podTemplateDefaults(template: unknown, restartPolicy = 'Always'): void {
  if (!isObj(template)) return;
  const meta = (template.metadata ??= {}) as Obj;
  def(meta, 'creationTimestamp', null);
  const spec = template.spec as Obj;
  def(spec, 'restartPolicy', restartPolicy);
  def(spec, 'dnsPolicy', 'ClusterFirst');
  def(spec, 'schedulerName', 'default-scheduler');
  def(spec, 'terminationGracePeriodSeconds', 30);
  def(spec, 'securityContext', {});
  if (spec.serviceAccountName !== undefined) def(spec, 'serviceAccount', spec.serviceAccountName);
  for (const c of [...((spec.initContainers as Obj[]) ?? []), ...((spec.containers as Obj[]) ?? [])]) {
    containerDefaults(c);
  }
  for (const v of (spec.volumes as Obj[] | undefined) ?? []) {
    if (isObj(v.configMap)) def(v.configMap, 'defaultMode', 0o644);
    if (isObj(v.secret)) def(v.secret, 'defaultMode', 0o644);
    if (isObj(v.emptyDir) && typeof v.emptyDir.sizeLimit === 'string') {
      v.emptyDir.sizeLimit = canonicalQuantity(v.emptyDir.sizeLimit) ?? v.emptyDir.sizeLimit;
    }
  }
}

function claimDefaults(claim: Obj): void {
  const spec = claim.spec as Obj;
  def(spec, 'volumeMode', 'Filesystem');
  canonicalResources(spec.resources);
}

function jobSpecDefaults(spec: Obj, uid: string): void {
  def(spec, 'parallelism', 1);
  def(spec, 'completions', 1);
  def(spec, 'backoffLimit', 6);
  def(spec, 'completionMode', 'NonIndexed');
  def(spec, 'suspend', false);
  podTemplateDefaults(spec.template, 'Never');
  if (uid) {
    const labels = { 'batch.kubernetes.io/controller-uid': uid, 'controller-uid': uid };
    def(spec, 'selector', { matchLabels: labels });
    const meta = (spec.template as Obj).metadata as Obj;
    meta.labels = { ...(meta.labels as Obj | undefined), ...labels };
  }
}

const KIND_DEFAULTS: Record<string, (spec: Obj, o: Obj) => void> = {
  Deployment: (spec) => {
    def(spec, 'replicas', 1);
    def(spec, 'revisionHistoryLimit', 10);
    def(spec, 'progressDeadlineSeconds', 600);
    def(spec, 'strategy', { type: 'RollingUpdate' });
    const strategy = spec.strategy as Obj;
    if (strategy.type === 'RollingUpdate') def(strategy, 'rollingUpdate', {});
    if (isObj(strategy.rollingUpdate)) {
      def(strategy.rollingUpdate, 'maxSurge', '25%');
      def(strategy.rollingUpdate, 'maxUnavailable', '25%');
    }
    podTemplateDefaults(spec.template);
  },
  StatefulSet: (spec) => {
    def(spec, 'replicas', 1);
    def(spec, 'podManagementPolicy', 'OrderedReady');
    def(spec, 'revisionHistoryLimit', 10);
    def(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
    def(spec, 'persistentVolumeClaimRetentionPolicy', { whenDeleted: 'Retain', whenScaled: 'Retain' });
    podTemplateDefaults(spec.template);
    for (const claim of (spec.volumeClaimTemplates as Obj[] | undefined) ?? []) {
      def(claim, 'apiVersion', 'v1');
      def(claim, 'kind', 'PersistentVolumeClaim');
      def(claim, 'status', { phase: 'Pending' });
      claimDefaults(claim);
    }
  },
  Job: (spec, o) => jobSpecDefaults(spec, String((o.metadata as Obj).uid ?? '')),
  CronJob: (spec) => {
    def(spec, 'concurrencyPolicy', 'Allow');
    def(spec, 'suspend', false);
    def(spec, 'successfulJobsHistoryLimit', 3);
    def(spec, 'failedJobsHistoryLimit', 1);
    podTemplateDefaults(((spec.jobTemplate as Obj).spec as Obj).template, 'Never');
  },
  Service: (spec) => {
    def(spec, 'type', 'ClusterIP');
    if (spec.clusterIP !== 'None') def(spec, 'clusterIP', '10.96.12.34');
    def(spec, 'clusterIPs', [spec.clusterIP]);
    def(spec, 'ipFamilies', ['IPv4']);
    def(spec, 'ipFamilyPolicy', 'SingleStack');
    def(spec, 'sessionAffinity', 'None');
    def(spec, 'internalTrafficPolicy', 'Cluster');
    const external = spec.type === 'LoadBalancer' || spec.type === 'NodePort';
    if (external) def(spec, 'externalTrafficPolicy', 'Cluster');
    if (spec.type === 'LoadBalancer') def(spec, 'allocateLoadBalancerNodePorts', true);
    ((spec.ports as Obj[] | undefined) ?? []).forEach((p, i) => {
      def(p, 'protocol', 'TCP');
      def(p, 'targetPort', p.port);
      if (external) def(p, 'nodePort', 30000 + i);
    });
  },
  PersistentVolumeClaim: (_spec, o) => claimDefaults(o),
  HorizontalPodAutoscaler: (spec) => {
    const behavior = (spec.behavior ??= {}) as Obj;
    def(behavior, 'scaleUp', {});
    def(behavior, 'scaleDown', {});
    def(behavior.scaleUp as Obj, 'selectPolicy', 'Max');
    def(behavior.scaleUp as Obj, 'policies', [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ]);
    def(behavior.scaleDown as Obj, 'selectPolicy', 'Max');
    def(behavior.scaleDown as Obj, 'policies', [{ type: 'Percent', value: 100, periodSeconds: 15 }]);
  },
};

/** The object a real API server would store (and list/watch return) for `applied`. */
export function storedByServer(applied: Obj): Obj {
  const o = dropEmpties(structuredClone(applied)) as Obj;
  const meta = o.metadata as Obj;
  meta.uid = '6b7c7d4e-0000-4000-8000-00000000beef';
  meta.resourceVersion = '4711';
  meta.creationTimestamp = '2025-01-01T00:00:00Z';
  meta.managedFields = [{ manager: 'flash-sale-operator', operation: 'Apply', fieldsType: 'FieldsV1' }];
  if (o.kind === 'Secret') def(o, 'type', 'Opaque');
  if (isObj(o.spec)) {
    if (['Deployment', 'StatefulSet', 'Job', 'CronJob', 'HorizontalPodAutoscaler'].includes(String(o.kind))) {
      meta.generation = 1;
    }
    KIND_DEFAULTS[String(o.kind)]?.(o.spec, o);
  }
  return o;
}
