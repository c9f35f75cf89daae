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

function podSpecReferences(pod: Json): string[] {
  const refs: string[] = [];
  const sa = str(pod.serviceAccountName);
  if (sa) refs.push(`ServiceAccount/${sa}`);
  for (const v of list(pod.volumes)) {
    const cm = isObj(v.configMap) ? str(v.configMap.name) : undefined;
    if (cm) refs.push(`ConfigMap/${cm}`);
    const secret = isObj(v.secret) ? str(v.secret.secretName) : undefined;
    if (secret) refs.push(`Secret/${secret}`);
    const claim = isObj(v.persistentVolumeClaim) ? str(v.persistentVolumeClaim.claimName) : undefined;
    if (claim) refs.push(`PersistentVolumeClaim/${claim}`);
    for (const source of list(isObj(v.projected) ? v.projected.sources : undefined)) {
      const pcm = isObj(source.configMap) ? str(source.configMap.name) : undefined;
      if (pcm) refs.push(`ConfigMap/${pcm}`);
      const ps = isObj(source.secret) ? str(source.secret.name) : undefined;
      if (ps) refs.push(`Secret/${ps}`);
    }
  }
  for (const c of [...list(pod.initContainers), ...list(pod.containers)]) {
    for (const e of list(c.env)) {
      const from = isObj(e.valueFrom) ? e.valueFrom : undefined;
      const sk = from && isObj(from.secretKeyRef) ? str(from.secretKeyRef.name) : undefined;
      if (sk) refs.push(`Secret/${sk}`);
      const ck = from && isObj(from.configMapKeyRef) ? str(from.configMapKeyRef.name) : undefined;
      if (ck) refs.push(`ConfigMap/${ck}`);
    }
    for (const e of list(c.envFrom)) {
      const s = isObj(e.secretRef) ? str(e.secretRef.name) : undefined;
      if (s) refs.push(`Secret/${s}`);
      const cm = isObj(e.configMapRef) ? str(e.configMapRef.name) : undefined;
      if (cm) refs.push(`ConfigMap/${cm}`);
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
