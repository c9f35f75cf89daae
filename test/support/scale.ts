/** The scale subresource (autoscaling/v1 Scale) of Deployments, StatefulSets, ReplicaSets and CRDs that declare it. */
import { badRequest } from './errors.js';
import { jsonPatch, mergePatch, strategicMerge } from './patch.js';
import type { ResourceType } from './resources.js';
import { labelSelectorString } from './selectors.js';
import type { Registry, WriteOptions } from './rest.js';
import { clone, isObj, type KObj } from './util.js';

function getPath(o: any, path: string): any {
  let cur = o;
  for (const p of path.replace(/^\./, '').split('.')) cur = isObj(cur) ? cur[p] : undefined;
  return cur;
}

function setPath(o: any, path: string, v: unknown): void {
  const parts = path.replace(/^\./, '').split('.');
  let cur = o;
  for (const p of parts.slice(0, -1)) cur = cur[p] ??= {};
  cur[parts[parts.length - 1]!] = v;
}

export function toScale(t: ResourceType, o: KObj): KObj {
  const s = t.scale!;
  const { name, namespace, uid, resourceVersion, creationTimestamp } = o.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name, namespace, uid, resourceVersion, creationTimestamp },
    spec: { replicas: getPath(o, s.specReplicasPath) ?? 0 },
    status: {
      replicas: getPath(o, s.statusReplicasPath) ?? 0,
      ...(s.labelSelectorPath ? { selector: labelSelectorString(getPath(o, s.labelSelectorPath)) } : {}),
    },
  };
}

/** PUT or PATCH of /scale: only spec.replicas of the parent object changes. */
export function writeScale(
  reg: Registry,
  t: ResourceType,
  ns: string | undefined,
  name: string,
  how: { put?: KObj; patch?: { contentType: string; raw: string } },
  o: WriteOptions,
): KObj {
  const cur = reg.get(t, ns, name);
  let scale = toScale(t, cur);
  if (how.put) scale = how.put;
  else if (how.patch) {
    const ct = how.patch.contentType.split(';')[0]!.trim();
    const body = JSON.parse(how.patch.raw);
    scale =
      ct === 'application/json-patch+json'
        ? jsonPatch(scale, body)
        : ct === 'application/strategic-merge-patch+json'
          ? strategicMerge(scale, body)
          : mergePatch(scale, body);
  }
  const replicas = scale.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0)
    throw badRequest(
      `spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`,
    );
  const next = clone(cur);
  setPath(next, t.scale!.specReplicasPath, replicas);
  if (scale.metadata?.resourceVersion && how.put)
    next.metadata.resourceVersion = scale.metadata.resourceVersion;
  else delete next.metadata.resourceVersion;
  return toScale(t, reg.update(t, ns, name, next, { ...o, subresource: undefined }));
}
