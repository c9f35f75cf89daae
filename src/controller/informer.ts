/**
 * List-then-watch cache of one resource type (in one namespace or cluster-wide), client-go style:
 * list → replace the cache → watch from the list's resourceVersion → on 410 Gone relist, on a dropped
 * stream resume from the last seen resourceVersion, on errors back off exponentially. A watchdog aborts a
 * stream that stays silent longer than `idleTimeoutMs` (bookmarks keep a healthy stream talking).
 */
import type { ApiObject, KubeClient, StatusObject } from './kube-client.js';
import { KubeApiError } from './kube-client.js';
import type { ResourceType } from './resources.js';
import type { Logger } from './logger.js';

export type InformerEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerOptions {
  namespace?: string;
  /** What the cache keeps of each object (default: all of it). */
  transform?: (obj: ApiObject) => ApiObject;
  /**
   * Keep objects serialized (a compact JSON string each) and parse them on read. A cached object then costs
   * about its JSON size instead of several times that as a live object graph. The objects read or received
   * last stay decoded in `decoded` (a reconcile reads each of its stack's objects more than once, and the
   * ones a watch just delivered are read next).
   */
  compact?: boolean;
  /**
   * Where a compact informer keeps its decoded objects. Informers of one operator share one, so the number
   * of decoded objects is bounded as a whole, not per kind (default: one of DECODED_KEPT for this informer).
   */
  decoded?: DecodedObjects;
  /** Secondary index: objects are also found by this key (e.g. "<namespace>/<stack>"), as client-go's Indexers. */
  indexBy?: (obj: ApiObject) => string | undefined;
  labelSelector?: string;
  idleTimeoutMs?: number;
  /** Server-side watch timeout; randomised ±25% like client-go so watches do not all restart together. */
  watchTimeoutSeconds?: number;
  maxBackoffMs?: number;
}

export function objectKey(obj: { metadata: { namespace?: string; name: string } }): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

interface Entry {
  resourceVersion: string | undefined;
  indexKey: string | undefined;
  obj?: ApiObject;
  json?: string;
}

/** How many decoded objects a compact informer keeps (most recently used) when not given a shared budget. */
export const DECODED_KEPT = 512;

/**
 * Decoded objects of compact informers, most recently used last, within one budget. A budget per informer
 * grows with the number of kinds: with 14 owned kinds and 512 each, every cached object of up to 512
 * stacks was kept decoded as well as serialized, so the heap grew with the stacks by both. Entries are keyed
 * by the informer's store entry, so informers can share one budget without key clashes.
 */
export class DecodedObjects {
  private readonly kept = new Map<object, ApiObject>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.kept.size;
  }

  get(entry: object): ApiObject | undefined {
    const obj = this.kept.get(entry);
    if (obj) {
      this.kept.delete(entry); // move to the most recently used end
      this.kept.set(entry, obj);
    }
    return obj;
  }

  keep(entry: object, obj: ApiObject): ApiObject {
    this.kept.delete(entry);
    this.kept.set(entry, deepFreeze(obj));
    if (this.kept.size > this.capacity) this.kept.delete(this.kept.keys().next().value!);
    return obj;
  }

  drop(entry: object): void {
    this.kept.delete(entry);
  }
}

/** Objects from the cache are shared between readers (as client-go's): frozen, so a change throws. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class Informer {
  private readonly store = new Map<string, Entry>();
  /** Compact caches: recently used objects, decoded. */
  private readonly decoded: DecodedObjects;
  private readonly index = new Map<string, Set<string>>();
  private readonly abort = new AbortController();
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private running: Promise<void> | undefined;
  /** Number of list calls and watch (re)starts, for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, errors: 0 };

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly opts: InformerOptions,
    private readonly onEvent: (event: InformerEvent, obj: ApiObject, old?: ApiObject) => void,
    private readonly log: Logger,
  ) {
    this.decoded = opts.decoded ?? new DecodedObjects(DECODED_KEPT);
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): ApiObject | undefined {
    const key = namespace ? `${namespace}/${name}` : name;
    const e = this.store.get(key);
    return e ? this.read(e) : undefined;
  }

  list(): ApiObject[] {
    return [...this.store.values()].map((e) => this.read(e));
  }

  get size(): number {
    return this.store.size;
  }

  /** Objects whose `indexBy` key is `key` (empty without an index). */
  byIndex(key: string): ApiObject[] {
    const found = this.index.get(key);
    return found ? [...found].map((k) => this.read(this.store.get(k)!)) : [];
  }

  private async loop(): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    while (!this.abort.signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.relist();
        }
        const base = this.opts.watchTimeoutSeconds ?? 300;
        const timeoutSeconds = Math.round(base * (0.75 + Math.random() * 0.5));
        this.stats.watches++;
        let gone = false;
        await this.client.watch(
          this.type,
          this.opts.namespace,
          {
            labelSelector: this.opts.labelSelector,
            resourceVersion,
            timeoutSeconds,
            allowWatchBookmarks: true,
          },
          (event) => {
            if (event.type === 'ERROR') {
              const status = event.object as StatusObject;
              if (status.code === 410) gone = true;
              else
                throw new KubeApiError(
                  status.code ?? 500,
                  status.reason ?? 'WatchError',
                  status.message ?? '',
                );
              return;
            }
            const obj = event.object as ApiObject;
            if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
            if (event.type === 'BOOKMARK') return;
            this.apply(event.type, obj);
          },
          this.abort.signal,
          this.opts.idleTimeoutMs ?? 90_000,
        );
        failures = 0;
        if (gone) {
          this.log.info('watch resourceVersion expired; relisting', { resource: this.type.plural });
          resourceVersion = undefined;
        }
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.stats.errors++;
        if (err instanceof KubeApiError && err.code === 410) resourceVersion = undefined;
        const delay = Math.min(maxBackoff, 250 * 2 ** failures) * (0.8 + Math.random() * 0.4);
        failures++;
        this.log.warn('list/watch failed; retrying', {
          resource: this.type.plural,
          error: err instanceof Error ? err.message : String(err),
          retryInMs: Math.round(delay),
        });
        await sleep(delay, this.abort.signal);
      }
    }
  }

  private async relist(): Promise<string | undefined> {
    this.stats.lists++;
    const list = await this.client.list(this.type, this.opts.namespace, {
      labelSelector: this.opts.labelSelector,
    });
    const seen = new Set<string>();
    for (const obj of list.items) {
      seen.add(objectKey(obj));
      const old = this.store.get(objectKey(obj));
      if (!old || old.resourceVersion !== obj.metadata.resourceVersion) {
        this.apply(old ? 'MODIFIED' : 'ADDED', obj);
      }
    }
    for (const [key, old] of [...this.store]) {
      if (!seen.has(key)) this.apply('DELETED', this.read(old));
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
    return list.metadata.resourceVersion;
  }

  private read(e: Entry): ApiObject {
    if (e.obj) return e.obj;
    return this.decoded.get(e) ?? this.decoded.keep(e, JSON.parse(e.json!) as ApiObject);
  }

  private apply(type: InformerEvent, raw: ApiObject): void {
    const obj = this.opts.transform ? this.opts.transform(raw) : raw;
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (old?.indexKey !== undefined) this.unindex(key, old.indexKey);
    if (old) this.decoded.drop(old);
    if (type === 'DELETED') {
      this.store.delete(key);
    } else {
      const indexKey = this.opts.indexBy?.(obj);
      const entry: Entry = {
        resourceVersion: obj.metadata.resourceVersion,
        indexKey,
        ...(this.opts.compact ? { json: JSON.stringify(obj) } : { obj }),
      };
      this.store.set(key, entry);
      if (this.opts.compact) this.decoded.keep(entry, obj);
      if (indexKey !== undefined) {
        let bucket = this.index.get(indexKey);
        if (!bucket) this.index.set(indexKey, (bucket = new Set()));
        bucket.add(key);
      }
    }
    // The previous version is handed out only where it is kept as an object (compact caches skip the parse).
    this.onEvent(type, obj, old?.obj);
  }

  private unindex(key: string, indexKey: string): void {
    const bucket = this.index.get(indexKey);
    bucket?.delete(key);
    if (bucket?.size === 0) this.index.delete(indexKey);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
