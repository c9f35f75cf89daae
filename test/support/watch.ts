/** Watch streams: newline-delimited JSON events over a chunked HTTP response. */
import type { ServerResponse } from 'node:http';
import type { ResourceType } from './resources.js';
import type { Registry } from './rest.js';
import { matches, type Selector } from './selectors.js';
import { grOf, type StoreEvent } from './store.js';
import type { KObj } from './util.js';

export interface WatchOptions {
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks: boolean;
  bookmarkIntervalMs: number;
  /** Render each event's object differently (Table output for `kubectl get -w`). */
  transform?: (o: KObj) => unknown;
}

export class ActiveWatch {
  stalled = false;
  private closed = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    readonly res: ServerResponse,
    readonly resource: string,
  ) {}

  write(type: string, object: unknown): void {
    if (this.closed || this.stalled) return;
    this.res.write(JSON.stringify({ type, object }) + '\n');
  }

  onClose(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** End the stream cleanly (the client sees EOF). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.cleanups) c();
    this.res.end();
  }

  /** Drop the connection abruptly (the client sees a reset). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.cleanups) c();
    this.res.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

export function expiredStatus(rv: string, oldest: number): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `too old resource version: ${rv} (${oldest})`,
    reason: 'Expired',
    code: 410,
  };
}

export function startWatch(
  reg: Registry,
  t: ResourceType,
  ns: string | undefined,
  sel: Selector,
  o: WatchOptions,
  w: ActiveWatch,
): void {
  const gr = grOf(t);
  const scopeNs = t.namespaced ? ns : undefined;
  const inScope = (obj: KObj) => scopeNs === undefined || obj.metadata.namespace === scopeNs;
  const present = (obj: KObj) => {
    const p = reg.present(t, obj);
    return o.transform ? o.transform(p) : p;
  };
  w.res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  // flush headers so clients see the stream open
  w.res.write('');
  let lastRv = reg.store.currentRv();
  const emit = (e: StoreEvent) => {
    if (e.gr !== gr || !inScope(e.obj)) return;
    lastRv = e.rv;
    const now = matches(sel, e.obj);
    const before = e.old ? matches(sel, e.old) : false;
    if (e.type === 'ADDED') {
      if (now) w.write('ADDED', present(e.obj));
    } else if (e.type === 'DELETED') {
      if (before) w.write('DELETED', present(e.obj));
    } else if (now && before) w.write('MODIFIED', present(e.obj));
    else if (now && !before) w.write('ADDED', present(e.obj));
    else if (!now && before) w.write('DELETED', present(e.obj));
  };
  const rv = o.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    for (const obj of reg.store.list(gr, scopeNs)) if (matches(sel, obj)) w.write('ADDED', present(obj));
  } else {
    const n = Number(rv);
    const events = Number.isFinite(n) ? reg.store.since(n) : undefined;
    if (!events) {
      w.write('ERROR', expiredStatus(rv, reg.store.compactedRv + 1));
      w.end();
      return;
    }
    for (const e of events) emit(e);
    lastRv = Math.max(n, lastRv);
  }
  const unsubscribe = reg.store.onEvent(emit);
  w.onClose(unsubscribe);
  if (o.allowWatchBookmarks) {
    const iv = setInterval(() => {
      w.write('BOOKMARK', {
        kind: t.kind,
        apiVersion: t.group ? `${t.group}/${t.version}` : t.version,
        metadata: { resourceVersion: String(Math.max(lastRv, reg.store.currentRv())) },
      });
    }, o.bookmarkIntervalMs);
    w.onClose(() => clearInterval(iv));
  }
  if (o.timeoutSeconds !== undefined && o.timeoutSeconds > 0) {
    const to = setTimeout(() => w.end(), o.timeoutSeconds * 1000);
    w.onClose(() => clearTimeout(to));
  }
  w.res.on('close', () => w.end());
}
