/**
 * Which rendered objects need which others to be applied first, so that one object the API server refuses
 * holds back only what depends on it and everything else is still applied.
 *
 * The model is deliberately small and explicit:
 * - a pod-owning workload (Deployment, StatefulSet, Job, CronJob) depends on the ServiceAccount, ConfigMaps,
 *   Secrets and PersistentVolumeClaims its pod template names (volumes, env, envFrom, serviceAccountName);
 * - a HorizontalPodAutoscaler depends on its scale target;
 * - a RoleBinding depends on its Role and on the ServiceAccounts it binds.
 * Everything else (Services, PodDisruptionBudgets, NetworkPolicies, monitoring objects) stands alone. Only
 * references to other desired objects count: a Secret the user created is not ours to hold anything back for.
 */
import type { KubeObject } from '../render/common.js';

/** `Kind/name`: how objects of one stack (one namespace) are named in apply results and messages. */
export function objectRef(obj: { kind: string; metadata: { name: string } }): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function podSpecOf(obj: KubeObject): Json | undefined {
  const spec = isObj(obj.spec) ? obj.spec : undefined;
  if (!spec) return undefined;
  if (obj.kind === 'CronJob') {
    const job = isObj(spec.jobTemplate) ? spec.jobTemplate : undefined;
    const template = job && isObj(job.spec) && isObj(job.spec.template) ? job.spec.template : undefined;
    return template && isObj(template.spec) ? template.spec : undefined;
  }
  const template = isObj(spec.template) ? spec.template : undefined;
  return template && isObj(template.spec) ? template.spec : undefined;
}

/** `Kind/<holder[holderKey][nameKey]>` when that name is set. */
function named(kind: string, holder: Json, holderKey: string, nameKey: string): string[] {
  const inner = holder[holderKey];
  const name = isObj(inner) ? str(inner[nameKey]) : undefined;
  return name ? [`${kind}/${name}`] : [];
}

function podSpecReferences(pod: Json): string[] {
  const sa = str(pod.serviceAccountName);
  const refs: string[] = sa ? [`ServiceAccount/${sa}`] : [];
  for (const v of list(pod.volumes)) {
    refs.push(
      ...named('ConfigMap', v, 'configMap', 'name'),
      ...named('Secret', v, 'secret', 'secretName'),
      ...named('PersistentVolumeClaim', v, 'persistentVolumeClaim', 'claimName'),
    );
    for (const source of list(isObj(v.projected) ? v.projected.sources : undefined)) {
      refs.push(
        ...named('ConfigMap', source, 'configMap', 'name'),
        ...named('Secret', source, 'secret', 'name'),
      );
    }
  }
  for (const c of [...list(pod.initContainers), ...list(pod.containers)]) {
    for (const e of list(c.env)) {
      const from = isObj(e.valueFrom) ? e.valueFrom : {};
      refs.push(
        ...named('Secret', from, 'secretKeyRef', 'name'),
        ...named('ConfigMap', from, 'configMapKeyRef', 'name'),
      );
    }
    for (const e of list(c.envFrom)) {
      refs.push(...named('Secret', e, 'secretRef', 'name'), ...named('ConfigMap', e, 'configMapRef', 'name'));
    }
  }
  return refs;
}

/** Every object (as `Kind/name`) that `obj` refers to, whether or not it is rendered. */
export function referencesOf(obj: KubeObject): string[] {
  const spec = isObj(obj.spec) ? obj.spec : {};
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'Job':
    case 'CronJob': {
      const pod = podSpecOf(obj);
      return pod ? podSpecReferences(pod) : [];
    }
    case 'HorizontalPodAutoscaler': {
      const target = isObj(spec.scaleTargetRef) ? spec.scaleTargetRef : {};
      const kind = str(target.kind);
      const name = str(target.name);
      return kind && name ? [`${kind}/${name}`] : [];
    }
    case 'RoleBinding': {
      const role = isObj(obj.roleRef) ? obj.roleRef : {};
      const refs = str(role.kind) === 'Role' && str(role.name) ? [`Role/${str(role.name)}`] : [];
      for (const s of list(obj.subjects)) {
        const name = str(s.name);
        if (str(s.kind) === 'ServiceAccount' && name) refs.push(`ServiceAccount/${name}`);
      }
      return refs;
    }
    default:
      return [];
  }
}

/** The desired objects `obj` must wait for: its references that are themselves in `desired`, deduplicated. */
export function dependenciesOf(obj: KubeObject, desired: ReadonlySet<string>): string[] {
  return [...new Set(referencesOf(obj))].filter((ref) => ref !== objectRef(obj) && desired.has(ref));
}
