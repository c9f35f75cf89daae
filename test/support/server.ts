/**
 * In-memory Kubernetes API server for tests — the project's single test double. A real HTTPS server on
 * 127.0.0.1 (test CA in tls.ts; kubectl sends no credentials over plain HTTP) that @kubernetes/client-node
 * and kubectl talk to through a kubeconfig.
 *
 * Who may do what, as on a cluster with RBAC (access.ts, authn.ts, rbac-authorizer.ts, rbac-admission.ts):
 * - `kubeconfigPath` is the admin (`kubernetes-admin` in system:masters: never refused). Raw requests need
 *   `Authorization: Bearer <adminToken>`; a missing or unknown token gets the real 401 (`anonymous: true`
 *   makes token-less requests system:anonymous instead).
 * - `writeKubeconfig({ serviceAccount: { namespace, name } })` writes a kubeconfig for an existing
 *   ServiceAccount (user system:serviceaccount:<ns>:<name>, groups system:serviceaccounts[:<ns>],
 *   system:authenticated), `serviceAccountToken()` mints just the token, `addUser(token, user)` adds a static
 *   token user. Bind them with Roles/ClusterRoles/RoleBindings/ClusterRoleBindings like on a cluster.
 * - Every request is authorised by RBAC from the stored objects, with attributes derived as the real
 *   RequestInfo does (get/list/watch/create/update/patch/delete/deletecollection, subresources, names,
 *   non-resource paths); the bootstrap roles system:discovery, system:basic-user and
 *   system:public-info-viewer are bound as on a real cluster, so any authenticated user can use discovery,
 *   /version and /openapi. Aggregated ClusterRoles are evaluated from their selectors.
 * - Inside writes: a server-side apply that creates is authorised as `create` too; Role/ClusterRole rules
 *   the writer does not hold are refused unless it may `escalate`, bindings unless it may `bind` the role;
 *   OwnerReferencesPermissionEnforcement (`blockOwnerDeletion: true` needs update on the owner's
 *   `finalizers`). Messages are the real ones; `kubernetesVersion` picks the pre-1.32 create-on-apply text.
 * - `authorizations()` lists every decision (requests' and admission's) and the request log names the user
 *   of each request, so tests can check which rights were exercised.
 * - `kubectl auth can-i` works (SelfSubjectAccessReview); protobuf request bodies (kubectl 1.31+ imperative
 *   creates) are decoded for Namespace, ConfigMap, Secret, ServiceAccount and SelfSubjectAccessReview.
 *
 * Implemented: discovery (+ /openapi/v3 and a protobuf /openapi/v2 whose operations declare the
 * `fieldValidation` parameter, which is what kubectl checks before relying on server-side field validation),
 * CRUD for core/apps/batch/policy/autoscaling/networking/coordination/events/rbac/storage/apiextensions and
 * CRD-defined kinds (monitoring.coreos.com served when `prometheusOperator` is set), a global resourceVersion
 * (no bump on no-op writes), 409 on stale resourceVersion / duplicate create, generation, uid,
 * creationTimestamp, managedFields; list with label/field selectors, limit/continue; watch with resume, 410
 * Expired, bookmarks, timeoutSeconds, selector transitions; merge / JSON / strategic-merge (built-ins; 415 for
 * custom resources) / server-side apply patches; status subresource; finalizers, deletionTimestamp,
 * propagationPolicy and owner-reference garbage collection, namespace termination; CRD pruning, defaulting and
 * schema validation (ajv) plus a CEL subset for x-kubernetes-validations; the scale subresource;
 * events.k8s.io/v1 as a view of core/v1 Events; Table output with printer columns (also on watches); fault
 * injection, request log and a simulated kubelet.
 *
 * Strict like a real server of the emulated minor (`kubernetesVersion`, default MIN_SUPPORTED; /version and
 * the OpenAPI documents report it), see admission.ts:
 * - built-in objects decoded against that release's OpenAPI models (kube-openapi.ts): server-side apply
 *   refuses unknown fields and wrong types (500 `failed to create typed patch object …: field not declared in
 *   schema`), create/update honour `fieldValidation` (Strict 400, Warn — the default — drops with a `Warning`
 *   header, Ignore); missing required spec fields 422; fields of features off by default at that minor are
 *   dropped (preStop.sleep at 1.29);
 * - CRDs validated with the apiextensions rules of that minor (crd-validation.ts), unknown CRD fields (e.g.
 *   `fieldPath` before 1.28) handled as above;
 * - defaults of the kinds we render, Service IP / node port allocation, Job selectors, the default StorageClass
 *   (defaults.ts; `storageClass` option);
 * - immutable fields (StatefulSet, Job, PVC with resize admission, selectors, Service clusterIP, immutable
 *   ConfigMaps/Secrets, roleRef) with upstream's messages (immutable.ts);
 * - objects stored as Go encodes them: empty omitempty lists/maps/strings dropped, quantities canonical,
 *   absent non-pointer structs present (builtin-schemas.ts, quantity.ts).
 *
 * NOT implemented (differences from a real kube-apiserver):
 * - authentication other than bearer tokens (client certificates, OIDC, webhooks), impersonation, the Node
 *   authorizer, SubjectAccessReview/SelfSubjectRulesReview/TokenReview/TokenRequest APIs (tokens are minted
 *   by the test helper, opaque, without expiry or audiences), the clusterrole-aggregation controller writing
 *   rules into aggregated roles (they are evaluated, not stored), the default user-facing roles
 *   (admin/edit/view, system:controller:*), admission webhooks, quotas, LimitRanges;
 * - CEL beyond the subset in cel.ts (rules outside it are skipped and reported on stderr and by
 *   `registry.skippedCelRules()`), `messageExpression`, CEL cost limits and validation ratcheting; at CRD
 *   create, CEL is checked for syntax, undeclared names and undeclared fields only, and syntax errors carry
 *   our parser's wording after upstream's `compilation failed: ERROR: <input>:…` prefix; CEL types are not
 *   taken from the schema: a `format: date-time` field is compared as a string (a real server makes it a
 *   timestamp, so `self.endsAt > self.startsAt` is right there for any offset; here only for UTC `Z` times of
 *   one precision), a `format: duration` field likewise;
 *   CRD conversion webhooks/version conversion (all served versions of a CRD share one stored object);
 *   CRD field selectors (selectableFields);
 * - emulated minors are those with an OpenAPI models package (EMULATED_MINORS: 1.27–1.30, 1.32–1.34, 1.36);
 *   enum values, formats and most hand-written validation of built-ins (pkg/apis/…/validation) beyond required
 *   fields and the immutable-field rules are not checked; `omitempty`/pointer-ness is approximated (optional
 *   lists, maps and strings are dropped when empty; scalars only where listed in kube-openapi.ts); feature
 *   gates other than the defaults per minor named in defaults.ts/admission.ts;
 * - protobuf and CBOR request/response bodies (only /openapi/v2 is served as protobuf), aggregated discovery
 *   (clients fall back to the legacy documents), schema definitions in /openapi/v2 and /openapi/v3 (so
 *   `kubectl explain` does not work);
 * - watch-list (`sendInitialEvents`), list at an exact past resourceVersion, consistent pagination snapshots
 *   (continue tokens read the current state); Tables for every built-in kind use a few sensible columns, not
 *   the exact kube-apiserver printers;
 * - pods, ReplicaSets, endpoints, PersistentVolumes and scheduling are not simulated (the kubelet only writes
 *   workload status and binds claims), except, with `statefulSetController`, StatefulSet pods and claims
 *   (created, adopted; never restarted, deleted or scaled down; no pod status); graceful pod termination;
 *   server-side apply on /scale; `kubectl exec/logs/port-forward`;
 * - server-side apply: conflicts are checked per field value; type-aware schema for built-ins is reduced
 *   to the common associative lists (containers, ports, env, volumes, volumeMounts, conditions, …);
 *   managedFields of non-apply writes are approximations of the real "Update" bookkeeping;
 * - strategic merge patch: the common directives only ($patch replace/delete, $setElementOrder,
 *   $retainKeys, $deleteFromPrimitiveList) and merge keys by field name.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseKubernetesVersion } from '../../src/kubernetes/version.js';
import { AccessControl } from './access.js';
import { ADMIN, type UserInfo } from './authn.js';
import type { AuthorizationRecord } from './rbac-authorizer.js';
import {
  apiGroup,
  apiGroupList,
  apiVersions,
  groupsOf,
  openApiV3Doc,
  openApiV3Index,
  resourceList,
  versionInfo,
} from './discovery.js';
import { ApiError, badRequest, methodNotAllowed } from './errors.js';
import { coreEventField } from './events.js';
import { Faults, type FailRule, type LatencyRule, type RequestCounts, type RequestRecord } from './faults.js';
import { GarbageCollector } from './gc.js';
import { Kubelet, type KubeletControl } from './kubelet.js';
import { OPENAPI_V2_PROTOBUF, openApiV2Json, openApiV2Protobuf } from './openapi-v2.js';
import { EMULATED_MINORS, isEmulatedMinor } from './kube-openapi.js';
import { decodeProtobufObject, isProtobuf } from './protobuf.js';
import { prometheusOperatorCrds, type ResourceType } from './resources.js';
import { Registry, type DeleteOptions, type WriteOptions } from './rest.js';
import { parseFieldSelector, parseLabelSelector, type Selector } from './selectors.js';
import { toScale, writeScale } from './scale.js';
import { StatefulSetController } from './statefulsets.js';
import { toTable } from './table.js';
import { TLS } from './tls.js';
import { clone, isObj, sleep, type KObj } from './util.js';
import { ActiveWatch, startWatch } from './watch.js';

export interface FakeApiServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  host?: string;
  /** Where to write the kubeconfig (default: a file in the OS temp dir). */
  kubeconfigPath?: string;
  /** Namespace of the kubeconfig context (default "default"). */
  namespace?: string;
  /** Run the simulated kubelet (default false); delayMs before workloads become ready (default 200). */
  kubelet?: boolean | { delayMs?: number };
  /** Serve monitoring.coreos.com/v1 ServiceMonitor and PrometheusRule (their CRDs "installed"). */
  prometheusOperator?: boolean;
  /** CRD manifests (YAML, may hold several documents) to install at start. */
  crdFiles?: string[];
  /** CRD objects to install at start. */
  crds?: Record<string, unknown>[];
  /** Events kept for watch resume (default 10000); older resourceVersions get 410 Expired. */
  watchHistory?: number;
  /** Interval of BOOKMARK events for watches with allowWatchBookmarks (default 5000 ms). */
  bookmarkIntervalMs?: number;
  /** Delay before a garbage-collection pass after a deletion (default 10 ms). */
  gcDelayMs?: number;
  /**
   * Kubernetes minor to emulate (default: MIN_SUPPORTED of src/kubernetes/version.ts). Built-in objects are
   * validated against that release's OpenAPI models, CRDs against its apiextensions API, defaults and
   * immutable-field rules follow it, and /version reports it. One of EMULATED_MINORS (kube-openapi.ts).
   */
  kubernetesVersion?: string;
  /**
   * The default StorageClass served at start (storage.k8s.io/v1, annotated as the default, like kind's
   * `standard`): name and whether PVCs of that class may grow. `false`: no StorageClass at all.
   */
  storageClass?: { name?: string; allowVolumeExpansion?: boolean } | false;
  /** Requests without a bearer token are `system:anonymous` (kube-apiserver's default) instead of 401. */
  anonymous?: boolean;
  /**
   * Run the StatefulSet controller's pod and claim bookkeeping (test/support/statefulsets.ts): pods owned by
   * each StatefulSet, orphans adopted, PersistentVolumeClaims from volumeClaimTemplates. Default false.
   */
  statefulSetController?: boolean;
}

export interface FaultControls {
  /** Fail the next `count` requests matching verb/resource with `code` (429 carries Retry-After). */
  failNext(rule: FailRule): void;
  /** Delay matching requests by `ms`. */
  addLatency(rule: LatencyRule): void;
  /** Remove all pending failures and latency. */
  clear(): void;
  /** Abruptly close every open watch stream; returns how many. */
  dropWatches(): number;
  /** Keep open watch streams open but send nothing more on them (new watches are unaffected). */
  stallWatches(): number;
  /** Close the listener and all connections (connection refused) for `seconds`, then listen again. Resolves when back up. */
  down(seconds: number): Promise<void>;
  /** Forget the watch history, so resuming from any earlier resourceVersion gets 410 Expired. */
  compact(): void;
}

export interface FakeApiServer {
  url: string;
  port: number;
  /** The admin kubeconfig (user `kubernetes-admin` in system:masters, so RBAC never refuses it). */
  kubeconfigPath: string;
  /** The bearer token of the admin kubeconfig, for raw HTTP requests. */
  adminToken: string;
  /** Accept `token` as the given user (like kube-apiserver's --token-auth-file); system:authenticated is added. */
  addUser(token: string, user: { name: string; uid?: string; groups?: string[] }): void;
  /** Mint a token for an existing ServiceAccount (user system:serviceaccount:<ns>:<name>). */
  serviceAccountToken(namespace: string, name: string): string;
  /**
   * Write a kubeconfig that authenticates with `token` (or a new token of `serviceAccount`, which must exist);
   * returns its path (default: a new file in the OS temp dir).
   */
  writeKubeconfig(
    who: { token: string } | { serviceAccount: { namespace: string; name: string } },
    path?: string,
  ): string;
  registry: Registry;
  faults: FaultControls;
  kubelet: KubeletControl;
  /** Every authorisation decision on a resource since the last resetRequests(), requests' and admission's. */
  authorizations(): AuthorizationRecord[];
  /** The request log (debug endpoints excluded). */
  requests(): RequestRecord[];
  requestCounts(): RequestCounts;
  resetRequests(): void;
  /** Install a CRD (object or YAML text). */
  installCrd(crd: Record<string, unknown> | string): void;
  /** Read an object straight from storage (undefined if absent), bypassing HTTP and faults. */
  object(apiVersion: string, kind: string, namespace: string | undefined, name: string): KObj | undefined;
  stop(): Promise<void>;
}

interface Route {
  t: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function parseResourcePath(
  reg: Registry,
  segs: string[],
): { route?: Route; discovery?: { group: string; version: string } } | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length < 2) return undefined;
    group = '';
    version = segs[1]!;
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length < 3) return undefined;
    group = segs[1]!;
    version = segs[2]!;
    rest = segs.slice(3);
  } else return undefined;
  if (rest.length === 0) return { discovery: { group, version } };
  if (rest[0] === 'watch') rest = rest.slice(1);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const nt = reg.type(group, version, rest[2]!);
    if (nt && nt.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const t = reg.type(group, version, rest[0]!);
  if (!t)
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {
      group,
      kind: rest[0],
    });
  return { route: { t, namespace, name: rest[1], subresource: rest[2] } };
}

/** /api/<v>/... and /apis/<g>/<v>/...: resource requests; everything else (discovery, /version, /openapi) is a path. */
/** The Status reason of an injected failure, by code (as the real server would give it). */
const FAULT_REASONS: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  422: 'Invalid',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function isResourcePath(path: string): boolean {
  const segs = path.split('/').filter((s) => s !== '');
  return (segs[0] === 'api' && segs.length >= 3) || (segs[0] === 'apis' && segs.length >= 4);
}

function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

/** The request's object: JSON, YAML, or (what kubectl 1.31+ sends for imperative creates) protobuf. */
async function readObject(req: IncomingMessage, contentType: string): Promise<any> {
  if (!isProtobuf(contentType)) return parseObject(await readBody(req), contentType);
  const body = await readBodyBytes(req);
  return body.length ? decodeProtobufObject(body) : undefined;
}

function parseObject(raw: string, contentType: string): any {
  if (raw.trim() === '') return undefined;
  try {
    return contentType.includes('yaml') ? YAML.parse(raw) : JSON.parse(raw);
  } catch (e) {
    throw badRequest(`the body of the request could not be decoded: ${(e as Error).message}`);
  }
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
    'Content-Length': Buffer.byteLength(data),
    ...headers,
  });
  res.end(data);
}

function writeKubeconfig(path: string, url: string, namespace: string, token: string): void {
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'fake', cluster: { server: url, 'certificate-authority-data': TLS.ca.toString('base64') } },
    ],
    users: [{ name: 'fake', user: { token } }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace } }],
    'current-context': 'fake',
    preferences: {},
  };
  writeFileSync(path, YAML.stringify(kc));
}

function crdObjects(text: string): Record<string, unknown>[] {
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJSON() as Record<string, unknown>)
    .filter((d) => isObj(d) && d.kind === 'CustomResourceDefinition');
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const host = options.host ?? '127.0.0.1';
  const version = options.kubernetesVersion;
  if (version !== undefined && !isEmulatedMinor(version))
    throw new Error(
      `fake-apiserver: kubernetesVersion ${version} is not emulated; choose one of ${EMULATED_MINORS.join(', ')}`,
    );
  const reg = new Registry(options.watchHistory ?? 10_000, {
    kubernetesVersion: version,
    storageClass: options.storageClass,
  });
  const gc = new GarbageCollector(reg, options.gcDelayMs ?? 10);
  reg.onChange = () => gc.schedule();
  const kubeletOpt = options.kubelet;
  const kubelet = new Kubelet(
    reg,
    Boolean(kubeletOpt),
    (typeof kubeletOpt === 'object' ? kubeletOpt.delayMs : undefined) ?? 200,
  );
  const statefulSets = options.statefulSetController ? new StatefulSetController(reg) : undefined;
  const faults = new Faults();
  const watches = new Set<ActiveWatch>();
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 5000;
  const crdType = reg.type('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
  // One emulated version for everything: schemas, defaults, /version and the version-dependent messages.
  const emulated = parseKubernetesVersion(reg.admission.version)!;
  const access = new AccessControl(reg, { anonymous: options.anonymous ?? false, minor: emulated.minor });
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  access.authn.addUser(adminToken, ADMIN);

  const installCrd = (crd: Record<string, unknown> | string) => {
    const list = typeof crd === 'string' ? crdObjects(crd) : [crd];
    if (!list.length) throw new Error('installCrd: no CustomResourceDefinition found in the given YAML');
    for (const c of list)
      reg.create(crdType, undefined, clone(c) as KObj, { fieldManager: 'fake-apiserver-preload' });
  };
  if (options.prometheusOperator) for (const c of prometheusOperatorCrds()) installCrd(c);
  for (const f of options.crdFiles ?? []) installCrd(readFileSync(f, 'utf8'));
  for (const c of options.crds ?? []) installCrd(c);

  async function handleDebug(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = await readBody(req);
    const body = raw.trim() ? (JSON.parse(raw) as Record<string, any>) : {};
    const p = url.pathname;
    const m = req.method;
    if (p === '/debug/requests' && m === 'GET')
      return send(res, 200, { counts: faults.counts(), requests: faults.log });
    if (p === '/debug/requests' && (m === 'DELETE' || m === 'POST')) {
      faults.reset();
      return send(res, 200, { ok: true });
    }
    if (p === '/debug/fail' && m === 'POST') {
      faults.failNext(body as FailRule);
      return send(res, 200, { ok: true });
    }
    if (p === '/debug/latency' && m === 'POST') {
      if (typeof body.ms !== 'number') return send(res, 400, { error: 'body.ms (number) is required' });
      faults.latency.push(body as LatencyRule);
      return send(res, 200, { ok: true });
    }
    if (p === '/debug/faults' && m === 'DELETE') {
      faults.clear();
      return send(res, 200, { ok: true });
    }
    if (p === '/debug/watches/drop' && m === 'POST')
      return send(res, 200, { dropped: controls.dropWatches() });
    if (p === '/debug/watches/stall' && m === 'POST')
      return send(res, 200, { stalled: controls.stallWatches() });
    if (p === '/debug/compact' && m === 'POST') {
      reg.store.compact();
      return send(res, 200, { ok: true, resourceVersion: String(reg.store.currentRv()) });
    }
    if (p === '/debug/down' && m === 'POST') {
      const seconds = Number(body.seconds ?? 1);
      send(res, 200, { ok: true, seconds });
      setTimeout(() => void controls.down(seconds), 10);
      return;
    }
    if (p === '/debug/kubelet' && m === 'POST') {
      if (typeof body.enabled === 'boolean') kubelet.enabled = body.enabled;
      if (typeof body.delayMs === 'number') kubelet.delayMs = body.delayMs;
      return send(res, 200, { enabled: kubelet.enabled, delayMs: kubelet.delayMs });
    }
    if ((p === '/debug/kubelet/fail' || p === '/debug/kubelet/heal') && m === 'POST') {
      try {
        if (p.endsWith('fail')) kubelet.fail(body.kind, body.namespace, body.name, body.message);
        else kubelet.heal(body.kind, body.namespace, body.name);
      } catch (e) {
        return send(res, 400, { error: (e as Error).message });
      }
      return send(res, 200, { ok: true });
    }
    send(res, 404, { error: `unknown debug endpoint ${m} ${p}` });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path.startsWith('/debug/')) return handleDebug(req, res, url);
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const record: RequestRecord = {
      time: new Date().toISOString(),
      method,
      verb: '',
      resource: '',
      group: '',
      code: 0,
      path: url.pathname + url.search,
      userAgent: req.headers['user-agent'],
      fieldManager: q.get('fieldManager') ?? undefined,
    };
    res.on('finish', () => {
      record.code = res.statusCode;
    });
    faults.record(record);
    try {
      const user = access.authn.authenticate(req.headers.authorization);
      record.user = user.name;
      if (!isResourcePath(path)) access.authorizePath(user, method, url.pathname);
      if (path === '/version') return send(res, 200, versionInfo(emulated));
      if (path === '/healthz' || path === '/readyz' || path === '/livez') return send(res, 200, 'ok');
      if (path === '/api') return send(res, 200, apiVersions());
      if (path === '/apis') return send(res, 200, apiGroupList(reg.types()));
      if (path === '/openapi/v2') {
        if (
          /json/.test(String(req.headers.accept ?? '')) &&
          !/protobuf/.test(String(req.headers.accept ?? ''))
        )
          return send(res, 200, openApiV2Json(reg.types(), reg.admission.version));
        const doc = openApiV2Protobuf(reg.types(), reg.admission.version);
        res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF, 'Content-Length': doc.length });
        return void res.end(doc);
      }
      if (path === '/openapi/v3') return send(res, 200, openApiV3Index(reg.types(), reg.admission.version));
      if (path.startsWith('/openapi/v3/')) {
        const segs = path.slice('/openapi/v3/'.length).split('/');
        const [g, v] = segs[0] === 'api' ? ['', segs[1]!] : [segs[1] ?? '', segs[2] ?? ''];
        const doc = openApiV3Doc(reg.types(), g, v, reg.admission.version);
        if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return send(res, 200, doc);
      }
      const segs = path.split('/').filter((s) => s !== '');
      if (segs[0] === 'apis' && segs.length === 2) {
        const vs = groupsOf(reg.types()).get(segs[1]!);
        if (!vs) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return send(res, 200, apiGroup(segs[1]!, vs));
      }
      const parsed = parseResourcePath(reg, segs);
      if (!parsed) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (parsed.discovery) {
        const { group, version } = parsed.discovery;
        if (!reg.types().some((t) => t.group === group && t.version === version)) {
          throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        }
        return send(res, 200, resourceList(reg.types(), group, version));
      }
      const r = parsed.route!;
      const isWatch = q.get('watch') === 'true' || q.get('watch') === '1' || segs.includes('watch');
      const verb =
        method === 'GET'
          ? r.name
            ? isWatch
              ? 'watch'
              : 'get'
            : isWatch
              ? 'watch'
              : 'list'
          : method === 'POST'
            ? 'create'
            : method === 'PUT'
              ? 'update'
              : method === 'PATCH'
                ? 'patch'
                : method === 'DELETE'
                  ? r.name
                    ? 'delete'
                    : 'deletecollection'
                  : method.toLowerCase();
      record.verb = verb;
      record.resource = r.subresource ? `${r.t.plural}/${r.subresource}` : r.t.plural;
      record.group = r.t.group;
      record.namespace = r.namespace;
      record.name = r.name;
      access.authorizeResource(user, r, verb, q);
      const delay = faults.delayFor({ verb, resource: record.resource });
      if (delay > 0) await sleep(delay);
      const fail = faults.take({ verb, resource: record.resource, namespace: r.namespace, name: r.name });
      if (fail) {
        const code = fail.code ?? 500;
        const reason = FAULT_REASONS[code] ?? 'InternalError';
        const msg =
          fail.message ??
          (code === 429
            ? 'the server has received too many requests and has asked us to try again later'
            : code === 409
              ? `Operation cannot be fulfilled on ${r.t.plural} "${r.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`
              : 'an error on the server ("injected fault") has prevented the request from succeeding');
        const retry = code === 429 ? (fail.retryAfterSeconds ?? 1) : undefined;
        throw new ApiError(
          code,
          reason,
          msg,
          {
            name: r.name,
            group: r.t.group,
            kind: r.t.plural,
            ...(retry !== undefined ? { retryAfterSeconds: retry } : {}),
          },
          retry !== undefined ? { 'Retry-After': String(retry) } : {},
        );
      }
      if (r.t.plural === 'selfsubjectaccessreviews') {
        AccessControl.reviewVerb(verb);
        const body = await readObject(req, String(req.headers['content-type'] ?? 'application/json'));
        return send(res, 201, access.selfSubjectAccessReview(user, body));
      }
      if (r.subresource === 'scale' && r.t.scale) return await serveScale(req, res, r, verb, q, user);
      if (r.subresource && r.subresource !== 'status')
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (r.subresource === 'status' && !r.t.status)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      await serveResource(req, res, r, verb, q, user);
    } catch (e) {
      if (e instanceof ApiError) return send(res, e.code, e.toStatus(), e.headers);
      const err = e as Error;
      send(
        res,
        500,
        new ApiError(500, 'InternalError', `fake-apiserver internal error: ${err.message}`).toStatus(),
      );
      console.error('fake-apiserver internal error', err);
    }
  }

  function selectorOf(r: Route, q: URLSearchParams): Selector {
    const fields = parseFieldSelector(q.get('fieldSelector'), r.t.plural);
    if (r.t.group === 'events.k8s.io') for (const f of fields) f.field = coreEventField(f.field);
    return { labels: parseLabelSelector(q.get('labelSelector')), fields };
  }

  async function serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    r: Route,
    verb: string,
    q: URLSearchParams,
    user: UserInfo,
  ): Promise<void> {
    const t = r.t;
    const ns = t.namespaced ? r.namespace : undefined;
    const accept = String(req.headers.accept ?? '');
    const wantsTable = /as=Table/.test(accept);
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    const warnings: string[] = [];
    const wopts = (): WriteOptions => ({
      warnings,
      fieldManager: q.get('fieldManager') ?? undefined,
      userAgent: req.headers['user-agent'],
      dryRun: q.getAll('dryRun').includes('All'),
      fieldValidation: q.get('fieldValidation') ?? undefined,
      force: q.has('force') ? q.get('force') === 'true' : undefined,
      subresource: r.subresource,
      user,
    });
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    const single = (obj: KObj, code = 200) => {
      // Warnings as the real server sends them: one `Warning: 299 - "<text>"` header each.
      if (warnings.length && !res.headersSent)
        res.setHeader(
          'Warning',
          warnings.map((w) => `299 - ${JSON.stringify(w)}`),
        );
      send(
        res,
        code,
        wantsTable
          ? toTable(
              t,
              [obj],
              { resourceVersion: obj.metadata.resourceVersion },
              q.get('includeObject') ?? 'Metadata',
            )
          : obj,
      );
    };
    switch (verb) {
      case 'get':
        return single(reg.get(t, ns, r.name!));
      case 'list': {
        const sel = selectorOf(r, q);
        const rvParam = q.get('resourceVersion');
        if (rvParam && rvParam !== '0') {
          const n = Number(rvParam);
          if (!Number.isFinite(n)) throw badRequest(`invalid resource version "${rvParam}"`);
          if (n > reg.store.currentRv())
            throw new ApiError(
              504,
              'Timeout',
              `Too large resource version: ${n}, current: ${reg.store.currentRv()}`,
              { retryAfterSeconds: 1 },
            );
          if (q.get('resourceVersionMatch') === 'Exact' && n !== reg.store.currentRv()) {
            throw new ApiError(410, 'Expired', `The resourceVersion for the provided list is too old.`);
          }
        }
        let { items } = reg.list(t, ns, sel);
        let rv = String(reg.store.currentRv());
        const limit = Number(q.get('limit') ?? 0);
        const cont = q.get('continue');
        if (cont) {
          let tok: { rv: string; after: string };
          try {
            tok = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as {
              rv: string;
              after: string;
            };
          } catch {
            throw badRequest('continue key is not valid: illegal base64 data');
          }
          rv = tok.rv;
          items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > tok.after);
        }
        const meta: Record<string, unknown> = { resourceVersion: rv };
        if (limit > 0 && items.length > limit) {
          const last = items[limit - 1]!;
          meta.remainingItemCount = items.length - limit;
          meta.continue = Buffer.from(
            JSON.stringify({ rv, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}` }),
          ).toString('base64url');
          items = items.slice(0, limit);
        }
        if (wantsTable) return send(res, 200, toTable(t, items, meta, q.get('includeObject') ?? 'Metadata'));
        return send(res, 200, { kind: `${t.kind}List`, apiVersion, metadata: meta, items });
      }
      case 'watch': {
        const sel = selectorOf(r, q);
        if (r.name) sel.fields.push({ field: 'metadata.name', op: '=', value: r.name });
        const w = new ActiveWatch(res, t.plural);
        watches.add(w);
        w.onClose(() => watches.delete(w));
        const to = q.get('timeoutSeconds');
        startWatch(
          reg,
          t,
          ns,
          sel,
          {
            resourceVersion: q.get('resourceVersion') ?? undefined,
            timeoutSeconds: to ? Number(to) : undefined,
            allowWatchBookmarks: q.get('allowWatchBookmarks') === 'true',
            bookmarkIntervalMs,
            transform: wantsTable
              ? (o: KObj) =>
                  toTable(
                    t,
                    [o],
                    { resourceVersion: o.metadata.resourceVersion },
                    q.get('includeObject') ?? 'Metadata',
                  )
              : undefined,
          },
          w,
        );
        return;
      }
      case 'create': {
        if (r.name) throw methodNotAllowed(`the server does not allow this method on the requested resource`);
        const body = await readObject(req, contentType);
        if (!isObj(body)) throw badRequest('the body of a create request must be an object');
        const obj = reg.create(t, ns, body as KObj, wopts());
        return single(obj, 201);
      }
      case 'update': {
        const body = await readObject(req, contentType);
        if (!isObj(body)) throw badRequest('the body of an update request must be an object');
        return single(reg.update(t, ns, r.name!, body as KObj, wopts()));
      }
      case 'patch': {
        const raw = await readBody(req);
        const out = reg.patch(t, ns, r.name!, contentType, raw, wopts());
        return single(out.obj, out.created ? 201 : 200);
      }
      case 'delete': {
        const d = deleteOptions(parseObject(await readBody(req), contentType), q);
        const out = reg.delete(t, ns, r.name!, d);
        return single(out.obj, out.deleted ? 200 : 202);
      }
      case 'deletecollection': {
        const d = deleteOptions(parseObject(await readBody(req), contentType), q);
        const { items } = reg.list(t, ns, selectorOf(r, q));
        for (const o of items) {
          try {
            reg.delete(t, o.metadata.namespace, o.metadata.name!, d);
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
        return send(res, 200, {
          kind: `${t.kind}List`,
          apiVersion,
          metadata: { resourceVersion: String(reg.store.currentRv()) },
          items,
        });
      }
      default:
        throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
  }

  async function serveScale(
    req: IncomingMessage,
    res: ServerResponse,
    r: Route,
    verb: string,
    q: URLSearchParams,
    user: UserInfo,
  ): Promise<void> {
    const ns = r.t.namespaced ? r.namespace : undefined;
    const o: WriteOptions = {
      fieldManager: q.get('fieldManager') ?? undefined,
      userAgent: req.headers['user-agent'],
      user,
    };
    const ct = String(req.headers['content-type'] ?? 'application/json');
    if (verb === 'get') return send(res, 200, toScale(r.t, reg.get(r.t, ns, r.name!)));
    if (verb === 'update') {
      const body = parseObject(await readBody(req), ct);
      if (!isObj(body)) throw badRequest('the body of an update request must be a Scale object');
      return send(res, 200, writeScale(reg, r.t, ns, r.name!, { put: body as KObj }, o));
    }
    if (verb === 'patch') {
      if (ct.startsWith('application/apply-patch'))
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'apply patches of the scale subresource are not implemented by the fake API server',
        );
      return send(
        res,
        200,
        writeScale(reg, r.t, ns, r.name!, { patch: { contentType: ct, raw: await readBody(req) } }, o),
      );
    }
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  }

  function deleteOptions(body: any, q: URLSearchParams): DeleteOptions {
    const d: DeleteOptions = {};
    const pp = (isObj(body) ? body.propagationPolicy : undefined) ?? q.get('propagationPolicy') ?? undefined;
    if (pp !== undefined && pp !== null) {
      if (!['Background', 'Foreground', 'Orphan'].includes(pp)) {
        throw badRequest(
          `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${pp}": supported values: "Foreground", "Background", "Orphan"`,
        );
      }
      d.propagationPolicy = pp;
    }
    const orphan = isObj(body)
      ? body.orphanDependents
      : q.get('orphanDependents') === 'true'
        ? true
        : undefined;
    if (orphan === true && !d.propagationPolicy) d.propagationPolicy = 'Orphan';
    if (isObj(body) && isObj(body.preconditions)) d.preconditions = body.preconditions;
    if (
      (isObj(body) && Array.isArray(body.dryRun) && body.dryRun.includes('All')) ||
      q.getAll('dryRun').includes('All')
    )
      d.dryRun = true;
    return d;
  }

  // ---- listener lifecycle ----
  const sockets = new Set<Socket>();
  let server: Server;
  const makeServer = () => {
    const s = createServer({ key: TLS.key, cert: TLS.cert }, (req, res) => void handle(req, res));
    s.keepAliveTimeout = 5000;
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    return s;
  };
  const listen = (s: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        const a = s.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  const closeAll = () =>
    new Promise<void>((resolve) => {
      for (const w of [...watches]) w.destroy();
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });

  server = makeServer();
  const port = await listen(server, options.port ?? 0);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const kubeconfigPath =
    options.kubeconfigPath ?? join(tmpdir(), `fake-apiserver-${port}-${process.pid}.kubeconfig`);
  writeKubeconfig(kubeconfigPath, url, options.namespace ?? 'default', adminToken);
  let downUntil: Promise<void> | undefined;
  let kubeconfigs = 0;
  let stopped = false;

  const controls: FaultControls = {
    failNext: (rule) => faults.failNext(rule),
    addLatency: (rule) => {
      faults.latency.push(rule);
    },
    clear: () => faults.clear(),
    dropWatches: () => {
      const n = watches.size;
      for (const w of [...watches]) w.destroy();
      return n;
    },
    stallWatches: () => {
      let n = 0;
      for (const w of watches) {
        w.stalled = true;
        n++;
      }
      return n;
    },
    down: async (seconds: number) => {
      if (downUntil) return downUntil;
      downUntil = (async () => {
        await closeAll();
        await sleep(seconds * 1000);
        if (stopped) return;
        server = makeServer();
        // The port may briefly be in TIME_WAIT; retry a few times.
        for (let i = 0; ; i++) {
          try {
            await listen(server, port);
            break;
          } catch (e) {
            if (i > 50) throw e;
            await sleep(100);
          }
        }
      })();
      try {
        await downUntil;
      } finally {
        downUntil = undefined;
      }
    },
    compact: () => reg.store.compact(),
  };

  return {
    url,
    port,
    kubeconfigPath,
    adminToken,
    addUser: (token, user) => access.authn.addUser(token, user),
    serviceAccountToken: (namespace, name) => access.authn.mintServiceAccountToken(namespace, name),
    writeKubeconfig: (who, path) => {
      const token =
        'token' in who
          ? who.token
          : access.authn.mintServiceAccountToken(who.serviceAccount.namespace, who.serviceAccount.name);
      const file =
        path ?? join(tmpdir(), `fake-apiserver-${port}-${process.pid}-${++kubeconfigs}.kubeconfig`);
      writeKubeconfig(file, url, options.namespace ?? 'default', token);
      return file;
    },
    registry: reg,
    faults: controls,
    kubelet,
    requests: () => [...faults.log],
    requestCounts: () => faults.counts(),
    resetRequests: () => {
      faults.reset();
      access.authz.log = [];
    },
    authorizations: () => [...access.authz.log],
    installCrd,
    object: (apiVersion, kind, namespace, name) => {
      const t = reg.typeForKind(apiVersion, kind);
      if (!t) return undefined;
      try {
        return reg.get(t, namespace, name);
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return undefined;
        throw e;
      }
    },
    stop: async () => {
      stopped = true;
      kubelet.stop();
      statefulSets?.stop();
      gc.stop();
      await closeAll();
    },
  };
}
