/**
 * Garbage collection as kube-controller-manager's garbage collector and namespace controller do it:
 * dependents whose owners are all gone are deleted (background); `orphan` removes owner references;
 * `foregroundDeletion` deletes dependents and releases the owner once no blocking dependent remains;
 * a terminating namespace is emptied and then removed.
 */
import type { Registry } from './rest.js';
import { clone, type KObj } from './util.js';

export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly reg: Registry,
    private readonly delayMs: number,
  ) {}

  schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweep();
    }, this.delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One pass; schedules another if it changed anything (cascades settle over a few passes). */
  sweep(): void {
    const store = this.reg.store;
    const all: { gr: string; obj: KObj }[] = [];
    for (const gr of store.allResources()) for (const obj of store.list(gr)) all.push({ gr, obj });
    const byUid = new Map(all.map((e) => [e.obj.metadata.uid!, e]));
    let changed = false;
    const dependentsOf = (uid: string) =>
      all.filter((e) => e.obj.metadata.ownerReferences?.some((r) => r.uid === uid));
    // Reads use peek (no copy): a sweep runs after most writes and must stay cheap with thousands of objects.
    const isLive = (gr: string, o: KObj) =>
      store.peek(gr, o.metadata.namespace, o.metadata.name!) !== undefined;
    const deleteBackground = (gr: string, o: KObj) => {
      if (!isLive(gr, o)) return;
      const cur = store.get(gr, o.metadata.namespace, o.metadata.name!)!;
      if (cur.metadata.deletionTimestamp) return;
      if ((cur.metadata.finalizers ?? []).length) {
        cur.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
        cur.metadata.deletionGracePeriodSeconds = 0;
        this.reg.systemUpdate(gr, cur);
      } else store.remove(gr, cur.metadata.namespace, cur.metadata.name!);
      changed = true;
    };

    for (const { gr, obj } of all) {
      const fins = obj.metadata.finalizers ?? [];
      if (!obj.metadata.deletionTimestamp) continue;
      if (fins.includes('orphan')) {
        for (const dep of dependentsOf(obj.metadata.uid!)) {
          const cur = store.get(dep.gr, dep.obj.metadata.namespace, dep.obj.metadata.name!);
          if (!cur) continue;
          cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter(
            (r) => r.uid !== obj.metadata.uid,
          );
          if (!cur.metadata.ownerReferences.length) delete cur.metadata.ownerReferences;
          this.reg.systemUpdate(dep.gr, cur);
        }
        this.removeFinalizer(gr, obj, 'orphan');
        changed = true;
      } else if (fins.includes('foregroundDeletion')) {
        const deps = dependentsOf(obj.metadata.uid!);
        for (const dep of deps) deleteBackground(dep.gr, dep.obj);
        const blocking = deps.filter(
          (d) =>
            isLive(d.gr, d.obj) &&
            d.obj.metadata.ownerReferences?.some((r) => r.uid === obj.metadata.uid && r.blockOwnerDeletion),
        );
        if (blocking.length === 0) {
          this.removeFinalizer(gr, obj, 'foregroundDeletion');
          changed = true;
        }
      }
      if (gr === '/namespaces' && obj.spec?.finalizers?.includes('kubernetes')) {
        const ns = obj.metadata.name!;
        const contents = all.filter((e) => e.obj.metadata.namespace === ns && isLive(e.gr, e.obj));
        for (const c of contents) deleteBackground(c.gr, c.obj);
        if (contents.every((c) => !isLive(c.gr, c.obj))) {
          const cur = store.get(gr, undefined, ns);
          if (cur) {
            cur.spec = { ...(cur.spec ?? {}), finalizers: [] };
            this.reg.systemUpdate(gr, cur);
            changed = true;
          }
        }
      }
    }

    for (const { gr, obj: snapshot } of all) {
      // re-read: the passes above may have changed it (e.g. orphaning removed references)
      const obj = store.peek(gr, snapshot.metadata.namespace, snapshot.metadata.name!);
      const refs = obj?.metadata.ownerReferences ?? [];
      if (!obj || !refs.length) continue;
      const dangling = refs.filter(
        (r) => !byUid.has(r.uid) || !isLive(byUid.get(r.uid)!.gr, byUid.get(r.uid)!.obj),
      );
      if (!dangling.length) continue;
      if (dangling.length === refs.length) deleteBackground(gr, obj);
      else {
        const cur = store.get(gr, obj.metadata.namespace, obj.metadata.name!)!;
        cur.metadata.ownerReferences = refs.filter((r) => !dangling.includes(r));
        this.reg.systemUpdate(gr, cur);
        changed = true;
      }
    }
    if (changed) this.schedule();
  }

  private removeFinalizer(gr: string, obj: KObj, f: string): void {
    const cur = this.reg.store.get(gr, obj.metadata.namespace, obj.metadata.name!);
    if (!cur) return;
    const next = clone(cur);
    next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((x) => x !== f);
    if (!next.metadata.finalizers.length) delete next.metadata.finalizers;
    this.reg.systemUpdate(gr, next);
  }
}
