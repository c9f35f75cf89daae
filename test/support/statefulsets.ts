/**
 * The StatefulSet controller's bookkeeping, reduced to what the operator depends on: for every StatefulSet,
 * pods `<set>-<ordinal>` owned by it, created from its pod template — or, when a pod of that name exists without
 * a controller (its StatefulSet was deleted with propagationPolicy Orphan) and matches the selector, adopted
 * as it is, which is how a replaced StatefulSet takes over running pods — and one PersistentVolumeClaim
 * `<template>-<set>-<ordinal>` per volumeClaimTemplate (labels: the template's plus the selector's), created
 * once and never changed. Pods are never restarted, deleted or scaled down here.
 */
import type { Registry } from './rest.js';
import type { StoreEvent } from './store.js';
import { clone, isObj, type KObj } from './util.js';

const MANAGER = 'kube-controller-manager';

export class StatefulSetController {
  private readonly pending = new Set<string>();
  private readonly unsubscribe: () => void;
  private stopped = false;

  constructor(private readonly reg: Registry) {
    this.unsubscribe = reg.store.onEvent((e) => this.onEvent(e));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  private onEvent(e: StoreEvent): void {
    if (e.gr !== 'apps/statefulsets' || e.type === 'DELETED' || e.obj.metadata.deletionTimestamp) return;
    const key = `${e.obj.metadata.namespace}/${e.obj.metadata.name}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    setImmediate(() => {
      this.pending.delete(key);
      if (!this.stopped) this.sync(e.obj.metadata.namespace!, e.obj.metadata.name!);
    });
  }

  private sync(ns: string, name: string): void {
    const set = this.reg.store.get('apps/statefulsets', ns, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const replicas: number = set.spec?.replicas ?? 1;
    const selector: Record<string, string> = set.spec?.selector?.matchLabels ?? {};
    for (let i = 0; i < replicas; i++) {
      for (const tpl of (set.spec?.volumeClaimTemplates ?? []) as KObj[])
        this.ensureClaim(set, tpl, i, selector);
      this.ensurePod(set, i, selector);
    }
  }

  private ensureClaim(set: KObj, tpl: KObj, ordinal: number, selector: Record<string, string>): void {
    const ns = set.metadata.namespace!;
    const name = `${tpl.metadata.name}-${set.metadata.name}-${ordinal}`;
    if (this.reg.store.get('/persistentvolumeclaims', ns, name)) return;
    const t = this.reg.type('', 'v1', 'persistentvolumeclaims')!;
    this.reg.create(
      t,
      ns,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: ns, labels: { ...(tpl.metadata.labels ?? {}), ...selector } },
        spec: clone(tpl.spec ?? {}),
      } as KObj,
      { fieldManager: MANAGER },
    );
  }

  private ensurePod(set: KObj, ordinal: number, selector: Record<string, string>): void {
    const ns = set.metadata.namespace!;
    const name = `${set.metadata.name}-${ordinal}`;
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: set.metadata.name!,
      uid: set.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    const pod = this.reg.store.get('/pods', ns, name);
    if (pod) {
      const refs = pod.metadata.ownerReferences ?? [];
      const labels = pod.metadata.labels ?? {};
      const matches = Object.entries(selector).every(([k, v]) => labels[k] === v);
      if (!refs.some((r) => r.controller) && matches && !pod.metadata.deletionTimestamp) {
        const adopted = clone(pod);
        adopted.metadata.ownerReferences = [...refs, owner];
        this.reg.systemUpdate('/pods', adopted);
      }
      return;
    }
    const template = isObj(set.spec?.template) ? set.spec.template : {};
    const t = this.reg.type('', 'v1', 'pods')!;
    this.reg.create(
      t,
      ns,
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(template.metadata?.labels ?? {}), 'statefulset.kubernetes.io/pod-name': name },
          ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
          ownerReferences: [owner],
        },
        spec: { ...clone(template.spec ?? {}), hostname: name, subdomain: set.spec?.serviceName },
      } as KObj,
      { fieldManager: MANAGER },
    );
  }
}
