/** Object storage with one global, monotonically increasing resourceVersion and a bounded event history. */
import type { ResourceType } from './resources.js';
import { clone, type KObj } from './util.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  gr: string;
  type: EventType;
  obj: KObj;
  /** The object before this change (MODIFIED/DELETED), to decide selector transitions. */
  old?: KObj;
}

export function grKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

/** The storage key of a resource type. */
export function grOf(t: ResourceType): string {
  return t.storage ? grKey(t.storage.group, t.storage.plural) : grKey(t.group, t.plural);
}

export function objKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class Store {
  private rv: number;
  /** Stored objects are immutable once stored; events share them. */
  private readonly data = new Map<string, Map<string, KObj>>();
  private readonly history: StoreEvent[] = [];
  /** Events with rv <= compactedRv are no longer in history: watches from older versions get 410. */
  compactedRv: number;
  private readonly listeners = new Set<(e: StoreEvent) => void>();
  readonly types = new Map<string, ResourceType>();

  constructor(private readonly historySize: number) {
    this.rv = 1000;
    this.compactedRv = this.rv;
  }

  currentRv(): number {
    return this.rv;
  }

  /** Drop history up to now, as etcd compaction would (for tests of 410 Gone). */
  compact(): void {
    this.history.length = 0;
    this.compactedRv = this.rv;
  }

  onEvent(fn: (e: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private bucket(gr: string): Map<string, KObj> {
    let b = this.data.get(gr);
    if (!b) this.data.set(gr, (b = new Map()));
    return b;
  }

  /** A private (deep-copied) copy of the object, free to mutate. */
  get(gr: string, ns: string | undefined, name: string): KObj | undefined {
    const o = this.data.get(gr)?.get(objKey(ns, name));
    return o ? clone(o) : undefined;
  }

  /** The stored object itself (read-only, never mutate it): for hot paths that only read. */
  peek(gr: string, ns: string | undefined, name: string): KObj | undefined {
    return this.data.get(gr)?.get(objKey(ns, name));
  }

  /** Read-only: stored objects are never mutated in place (writes replace them). Live (not cloned) iteration over a resource's objects, sorted by namespace/name like etcd keys. */
  list(gr: string, ns?: string): KObj[] {
    const b = this.data.get(gr);
    if (!b) return [];
    const keys = [...b.keys()].sort();
    const out: KObj[] = [];
    for (const k of keys) {
      const o = b.get(k)!;
      if (ns === undefined || o.metadata.namespace === ns) out.push(o);
    }
    return out;
  }

  allResources(): string[] {
    return [...this.data.keys()];
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    while (this.history.length > this.historySize) {
      const dropped = this.history.shift()!;
      this.compactedRv = dropped.rv;
    }
    for (const l of [...this.listeners]) l(e);
  }

  /**
   * Store a created or updated object under a new resourceVersion. The store takes ownership of `obj`
   * (it must not be mutated afterwards); the returned object is the stored one and is read-only too.
   */
  put(gr: string, obj: KObj): KObj {
    const b = this.bucket(gr);
    const key = objKey(obj.metadata.namespace, obj.metadata.name!);
    const old = b.get(key);
    this.rv += 1;
    const stored: KObj = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } };
    b.set(key, stored);
    this.emit({ rv: this.rv, gr, type: old ? 'MODIFIED' : 'ADDED', obj: stored, old });
    return stored;
  }

  remove(gr: string, ns: string | undefined, name: string): KObj | undefined {
    const b = this.data.get(gr);
    const key = objKey(ns, name);
    const old = b?.get(key);
    if (!b || !old) return undefined;
    b.delete(key);
    this.rv += 1;
    const gone: KObj = { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } };
    this.emit({ rv: this.rv, gr, type: 'DELETED', obj: gone, old });
    return gone;
  }

  /** Events after `rv`, or undefined if some of them were compacted away (→ 410 Expired). */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  findByUid(uid: string): { gr: string; obj: KObj } | undefined {
    for (const [gr, b] of this.data)
      for (const o of b.values()) if (o.metadata.uid === uid) return { gr, obj: o };
    return undefined;
  }

  count(): number {
    let n = 0;
    for (const b of this.data.values()) n += b.size;
    return n;
  }
}
