/**
 * A thin Kubernetes REST client: list, watch, get, server-side apply, merge patch, create, delete.
 * Authentication, TLS and in-cluster config come from @kubernetes/client-node's KubeConfig; requests go
 * through the undici dispatcher it builds, so every auth method it supports works here too.
 */
import { STATUS_CODES } from 'node:http';
import { createInterface } from 'node:readline';
import { type KubeConfig, RequestContext, HttpMethod } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { FIELD_MANAGER, type ObjectMeta } from '../api/types.js';
import { type ResourceType, resourcePath, resourceTypeFor } from './resources.js';

/** Metadata as the API server returns it: always named, with owner references and managed fields. */
export interface ObjectMetadata extends ObjectMeta {
  name: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  managedFields?: unknown[];
}

export interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMetadata;
  [field: string]: unknown;
}

export interface ObjectList {
  metadata: { resourceVersion?: string; continue?: string };
  items: ApiObject[];
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: ApiObject | StatusObject;
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusObject {
  kind: 'Status';
  code?: number;
  reason?: string;
  message?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
}

/**
 * A Kubernetes API error (`kind: Status`), or a transport failure (code 0). `message` is
 * "<verb> <resource>: <the server's Status.message, whole>"; `serverMessage` is the server's text alone.
 */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly retryAfterSeconds?: number,
    readonly serverMessage: string = message,
    readonly causes: readonly StatusCause[] = [],
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Longest non-Status error body kept (a proxy's HTML error page is not worth more). */
const MAX_RAW_ERROR_BODY = 4096;

/**
 * The error an API server answer carries. A `kind: Status` body gives reason, message and causes whole; any
 * other body (a proxy, a webhook gone wrong) is kept as text, collapsed to one line.
 */
export function decodeErrorBody(
  code: number,
  statusText: string,
  body: string,
): { reason: string; message: string; causes: StatusCause[] } {
  let status: Partial<StatusObject> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) status = parsed as StatusObject;
  } catch {
    status = undefined;
  }
  const causes = Array.isArray(status?.details?.causes) ? status.details.causes : [];
  if (typeof status?.message === 'string' && status.message !== '') {
    return { reason: status.reason || statusText || String(code), message: status.message, causes };
  }
  const causeText = causes
    .map((c) => [c.field, c.message].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
  const text = body.replace(/\s+/g, ' ').trim();
  const raw = text.length > MAX_RAW_ERROR_BODY ? `${text.slice(0, MAX_RAW_ERROR_BODY)}...` : text;
  return {
    reason: status?.reason || statusText || String(code),
    message: causeText || raw || `HTTP ${code} ${statusText}`.trim(),
    causes,
  };
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 409;
}

export interface RequestObserver {
  (verb: string, resource: string, code: number): void;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
}

/** An answer of the API server, as `send` hands it on (its body must be read or destroyed). */
interface Response {
  status: number;
  retryAfter: string | string[] | undefined;
  body: Dispatcher.ResponseData['body'];
  json(): Promise<unknown>;
  text(): Promise<string>;
}

/** How long derived authentication headers are reused (see KubeClient.auth). */
const AUTH_REFRESH_MS = 10_000;

export class KubeClient {
  /** Called after every request, for metrics. */
  observer: RequestObserver | undefined;
  /**
   * One connection pool for all requests. client-node 2.x builds a new undici Agent (TLS settings) for every
   * request context; using each would open a new connection per request and keep its pool alive until GC.
   * Headers (tokens that may refresh) are still applied per request.
   */
  private dispatcher: Dispatcher | undefined;
  /**
   * Authentication headers, re-derived from the kubeconfig at most every AUTH_REFRESH_MS (and after a 401):
   * deriving them builds a new undici Agent and may read token files, which per request was a large share of
   * the operator's CPU and garbage at hundreds of stacks. Rotated tokens are still picked up within seconds.
   */
  private auth: { headers: Record<string, string>; until: number } | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly requestTimeoutMs = 30_000,
    /** Sent as User-Agent, so API server audit logs (and tests) can tell replicas apart. */
    private readonly userAgent = 'flash-sale-operator',
  ) {}

  private server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster)
      throw new Error('kubeconfig has no current cluster: set a current-context or run in-cluster');
    return cluster.server.replace(/\/+$/, '');
  }

  private async send(
    verb: string,
    /** The resource (plural) or path the request is about, for metrics and error messages. */
    resource: string,
    method: HttpMethod,
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    body?: { contentType: string; data: unknown },
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = new URL(this.server() + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      ...(await this.authHeaders(url, method)),
      accept: 'application/json',
      'user-agent': this.userAgent,
    };
    if (body) headers['content-type'] = body.contentType;
    let response: Response;
    try {
      // undici's request rather than fetch: a fraction of fetch's per-request work (no WHATWG Request,
      // Headers and web streams), which at hundreds of stacks was a large share of the operator's CPU.
      const res = await request(url, {
        method,
        headers,
        body: body ? JSON.stringify(body.data) : undefined,
        dispatcher: this.dispatcher,
        signal: signal ?? AbortSignal.timeout(this.requestTimeoutMs),
      });
      response = {
        status: res.statusCode,
        retryAfter: res.headers['retry-after'],
        body: res.body,
        json: () => res.body.json(),
        text: () => res.body.text(),
      };
    } catch (err) {
      this.observer?.(verb, resource, 0);
      const cause =
        err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new KubeApiError(0, 'ConnectionFailed', `${verb} ${resource}: ${cause}`, undefined, cause);
    }
    this.observer?.(verb, resource, response.status);
    if (response.status === 401) this.auth = undefined;
    if (response.status >= 400) {
      const statusText = STATUS_CODES[response.status] ?? '';
      const decoded = decodeErrorBody(response.status, statusText, await response.text());
      const retryAfter = Number(response.retryAfter);
      throw new KubeApiError(
        response.status,
        decoded.reason,
        `${verb} ${resource}: ${decoded.message}`,
        Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
        decoded.message,
        decoded.causes,
      );
    }
    return response;
  }

  private async authHeaders(url: URL, method: HttpMethod): Promise<Record<string, string>> {
    const now = Date.now();
    if (this.auth && now < this.auth.until) return this.auth.headers;
    const ctx = new RequestContext(url.toString(), method);
    await this.kc.applySecurityAuthentication(ctx);
    this.dispatcher ??= ctx.getDispatcher();
    this.auth = { headers: ctx.getHeaders(), until: now + AUTH_REFRESH_MS };
    return this.auth.headers;
  }

  private async json<T>(response: Response): Promise<T> {
    return (await response.json()) as T;
  }

  /** The server's `/version` document (gitVersion, major, minor, ...). */
  async version(): Promise<{ major?: string; minor?: string; gitVersion?: string }> {
    const res = await this.send('get', '/version', HttpMethod.GET, '/version', {});
    return this.json(res);
  }

  async get(type: ResourceType, namespace: string | undefined, name: string): Promise<ApiObject> {
    const res = await this.send('get', type.plural, HttpMethod.GET, resourcePath(type, namespace, name), {});
    return this.json<ApiObject>(res);
  }

  async getOrNull(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<ApiObject | null> {
    try {
      return await this.get(type, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async list(type: ResourceType, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList> {
    const items: ApiObject[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const res = await this.send('list', type.plural, HttpMethod.GET, resourcePath(type, namespace), {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit ?? 500,
        continue: cont,
        resourceVersion: cont ? undefined : opts.resourceVersion,
      });
      const page = await this.json<ObjectList & { kind?: string }>(res);
      const itemKind = type.kind;
      const apiVersion = type.group === '' ? type.version : `${type.group}/${type.version}`;
      // Items in a list response carry no apiVersion/kind; fill them in so objects are self-describing.
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind: itemKind });
      cont = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion;
    } while (cont);
    return { metadata: { resourceVersion }, items };
  }

  /**
   * Opens a watch and calls `onEvent` for each event. Resolves when the stream ends (server timeout,
   * connection drop, abort); rejects when the request itself fails. An inactivity watchdog aborts a stream
   * that stays silent for `idleTimeoutMs` (bookmarks keep a healthy stream talking).
   */
  async watch(
    type: ResourceType,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
    idleTimeoutMs: number,
  ): Promise<void> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    // One timer per stream, re-armed only when it fires early: re-creating a timer for every line was a
    // measurable cost with 70 busy watches.
    let lastActivity = performance.now();
    const touch = () => {
      lastActivity = performance.now();
    };
    let idle: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      idle = setTimeout(() => {
        const silentFor = performance.now() - lastActivity;
        if (silentFor >= idleTimeoutMs) controller.abort();
        else arm(idleTimeoutMs - silentFor);
      }, ms);
      idle.unref();
    };
    try {
      arm(idleTimeoutMs);
      const res = await this.send(
        'watch',
        type.plural,
        HttpMethod.GET,
        resourcePath(type, namespace),
        {
          watch: true,
          labelSelector: opts.labelSelector,
          resourceVersion: opts.resourceVersion,
          timeoutSeconds: opts.timeoutSeconds,
          allowWatchBookmarks: opts.allowWatchBookmarks,
        },
        undefined,
        controller.signal,
      );
      touch();
      const body = res.body;
      const lines = createInterface({ input: body, crlfDelay: Infinity });
      try {
        for await (const line of lines) {
          touch();
          if (line.trim() === '') continue;
          onEvent(JSON.parse(line) as WatchEvent);
        }
      } catch (err) {
        if (!controller.signal.aborted) throw err;
      } finally {
        body.destroy();
      }
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof KubeApiError && err.code !== 0)) return;
      throw err;
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', abort);
    }
  }

  /**
   * Server-side apply, by default as our field manager. `force` takes ownership of conflicting fields; another
   * `fieldManager` applies as a separate owner (used to hand a field over without resetting it).
   */
  async apply(obj: ApiObject, force = true, fieldManager = FIELD_MANAGER): Promise<ApiObject> {
    const type = resourceTypeFor(obj.apiVersion, obj.kind);
    const res = await this.send(
      'patch',
      type.plural,
      HttpMethod.PATCH,
      resourcePath(type, obj.metadata.namespace, obj.metadata.name),
      { fieldManager, force },
      { contentType: 'application/apply-patch+yaml', data: obj },
    );
    return this.json<ApiObject>(res);
  }

  async mergePatch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: 'status',
  ): Promise<ApiObject> {
    const res = await this.send(
      'patch',
      type.plural,
      HttpMethod.PATCH,
      resourcePath(type, namespace, name, subresource),
      { fieldManager: FIELD_MANAGER },
      { contentType: 'application/merge-patch+json', data: patch },
    );
    return this.json<ApiObject>(res);
  }

  async jsonPatch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    ops: unknown[],
  ): Promise<ApiObject> {
    const res = await this.send(
      'patch',
      type.plural,
      HttpMethod.PATCH,
      resourcePath(type, namespace, name),
      { fieldManager: FIELD_MANAGER },
      { contentType: 'application/json-patch+json', data: ops },
    );
    return this.json<ApiObject>(res);
  }

  async create(obj: ApiObject): Promise<ApiObject> {
    const type = resourceTypeFor(obj.apiVersion, obj.kind);
    const res = await this.send(
      'create',
      type.plural,
      HttpMethod.POST,
      resourcePath(type, obj.metadata.namespace),
      { fieldManager: FIELD_MANAGER },
      { contentType: 'application/json', data: obj },
    );
    return this.json<ApiObject>(res);
  }

  async update(obj: ApiObject): Promise<ApiObject> {
    const type = resourceTypeFor(obj.apiVersion, obj.kind);
    const res = await this.send(
      'update',
      type.plural,
      HttpMethod.PUT,
      resourcePath(type, obj.metadata.namespace, obj.metadata.name),
      { fieldManager: FIELD_MANAGER },
      { contentType: 'application/json', data: obj },
    );
    return this.json<ApiObject>(res);
  }

  /** Closes the connection pool (idle keep-alive connections would otherwise hold the process open). */
  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    // The dispatcher carries the kubeconfig's TLS settings and comes with the auth headers: forget both, so a
    // request after close() builds them again instead of going out through undici's global dispatcher.
    this.auth = undefined;
    await d?.close();
  }

  /** Deletes an object; a 404 counts as success (it is gone, which is what we wanted). */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background',
    /** Delete only this incarnation of the object (a re-created one with another uid is left alone). */
    uid?: string,
  ): Promise<void> {
    try {
      const res = await this.send(
        'delete',
        type.plural,
        HttpMethod.DELETE,
        resourcePath(type, namespace, name),
        {},
        {
          contentType: 'application/json',
          data: {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            propagationPolicy,
            ...(uid ? { preconditions: { uid } } : {}),
          },
        },
      );
      await res.text(); // drain, so the connection goes back to the pool
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
