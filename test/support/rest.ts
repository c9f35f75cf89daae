/** REST semantics of the API server: create, get, list, update, patch, delete, over the Store. */
import { randomUUID } from 'node:crypto';
import YAML from 'yaml';
import {
  ApiError,
  alreadyExists,
  badRequest,
  invalid,
  notFound,
  qualified,
  staleConflict,
} from './errors.js';
import type { RbacAdmission } from './rbac-admission.js';
import type { UserInfo } from './authn.js';
import type { Nav } from './fieldset.js';
import { BuiltinAdmission, fieldValidationOf } from './admission.js';
import { formatVersion, MIN_SUPPORTED } from '../../src/kubernetes/version.js';
import { isEmulatedMinor, type EmulatedMinor } from './kube-openapi.js';
import { jsonPatch, mergePatch, strategicMerge } from './patch.js';
import { builtinTypes, typesFromCrd, type ResourceType } from './resources.js';
import { CrdSchema } from './schema.js';
import { matches, type Selector } from './selectors.js';
import { serverSideApply, updateManagedFields } from './ssa.js';
import { grKey, grOf, Store } from './store.js';
import { coreToEventsV1, eventsV1ToCore } from './events.js';
import { clone, deepEqual, isObj, nowIso, splitApiVersion, type KObj } from './util.js';

export interface WriteOptions {
  fieldManager?: string;
  userAgent?: string;
  dryRun?: boolean;
  fieldValidation?: string;
  /** undefined when the request did not carry `force`. */
  force?: boolean;
  subresource?: string;
  /** Filled with the warnings of this write (sent as `Warning` response headers). */
  warnings?: string[];
  /** The authenticated requester; writes without one (the stand-in's own) skip admission. */
  user?: UserInfo;
}

export interface RegistryOptions {
  /** Emulated Kubernetes minor (default: the lowest the operator supports). */
  kubernetesVersion?: EmulatedMinor;
  /**
   * The StorageClass created at start (marked default, like kind's `standard`), or false for none.
   * `allowVolumeExpansion` defaults to false, as on kind.
   */
  storageClass?: { name?: string; allowVolumeExpansion?: boolean } | false;
}

const STORAGE_CLASSES = 'storage.k8s.io/storageclasses';
const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
/** The address the `kubernetes` EndpointSlice in `default` names (a kind control-plane node's, say). */
export const API_SERVER_ADDRESS = '172.18.0.2';

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export class Registry {
  readonly store: Store;
  private readonly schemas = new Map<string, CrdSchema>();
  /** Called after any deletion or ownership change so garbage collection can run. */
  onChange: () => void = () => {};
  /** Authorisation checks inside writes (rbac-admission.ts), set by the server. */
  rbacAdmission?: RbacAdmission;

  readonly admission: BuiltinAdmission;

  constructor(historySize: number, options: RegistryOptions = {}) {
    this.store = new Store(historySize);
    this.admission = new BuiltinAdmission(options.kubernetesVersion ?? lowestSupported(), {
      storageClass: (name) => this.store.get(STORAGE_CLASSES, undefined, name),
      defaultStorageClass: () =>
        this.store
          .list(STORAGE_CLASSES)
          .find((sc) => sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')?.metadata.name,
    });
    for (const t of builtinTypes()) this.addType(t);
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create(
        this.type('', 'v1', 'namespaces')!,
        undefined,
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
        { fieldManager: 'kube-apiserver' },
      );
    }
    // As kube-apiserver's endpoint reconciler keeps it: where the API server itself listens.
    this.create(
      this.type('discovery.k8s.io', 'v1', 'endpointslices')!,
      'default',
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name: 'kubernetes',
          namespace: 'default',
          labels: { 'kubernetes.io/service-name': 'kubernetes' },
        },
        addressType: 'IPv4',
        endpoints: [{ addresses: [API_SERVER_ADDRESS], conditions: { ready: true } }],
        ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
      },
      { fieldManager: 'kube-apiserver' },
    );
    if (options.storageClass !== false) {
      const sc = options.storageClass ?? {};
      this.create(
        this.type('storage.k8s.io', 'v1', 'storageclasses')!,
        undefined,
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: sc.name ?? 'standard', annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
          provisioner: 'rancher.io/local-path',
          reclaimPolicy: 'Delete',
          volumeBindingMode: 'WaitForFirstConsumer',
          ...(sc.allowVolumeExpansion ? { allowVolumeExpansion: true } : {}),
        },
        { fieldManager: 'kube-apiserver' },
      );
    }
  }

  private addType(t: ResourceType): void {
    this.store.types.set(`${t.group}/${t.version}/${t.plural}`, t);
    if (t.crd) this.schemas.set(`${t.group}/${t.version}/${t.plural}`, new CrdSchema(t.crd.schema));
  }

  /** CEL rules of installed CRDs that the CEL subset cannot evaluate (and so are not enforced). */
  skippedCelRules(): { resource: string; path: string; rule: string; error: string }[] {
    return [...this.schemas].flatMap(([resource, s]) => s.skippedRules.map((r) => ({ resource, ...r })));
  }

  type(group: string, version: string, plural: string): ResourceType | undefined {
    return this.store.types.get(`${group}/${version}/${plural}`);
  }

  types(): ResourceType[] {
    return [...this.store.types.values()];
  }

  typeForKind(apiVersion: string, kind: string): ResourceType | undefined {
    const { group, version } = splitApiVersion(apiVersion);
    return this.types().find((t) => t.group === group && t.version === version && t.kind === kind);
  }
  /** Whether every owner reference of `obj` names a live object with that uid (same namespace or cluster-scoped). */
  ownersExist(obj: KObj): boolean {
    return (obj.metadata.ownerReferences ?? []).every((r) => {
      const t = this.typeForKind(r.apiVersion, r.kind);
      if (!t) return false;
      const owner = this.store.peek(grOf(t), t.namespaced ? obj.metadata.namespace : undefined, r.name);
      return owner?.metadata.uid === r.uid;
    });
  }

  private nav(t: ResourceType): Nav {
    return t.crd ? { builtin: false, schema: t.crd.schema } : { builtin: true };
  }

  private warn(o: WriteOptions, warnings: string[]): void {
    if (warnings.length) (o.warnings ??= []).push(...warnings);
  }

  private manager(o: WriteOptions, fallback: string): string {
    if (o.fieldManager) return o.fieldManager;
    const ua = o.userAgent?.split('/')[0];
    return ua || fallback;
  }

  // ---- reads ----

  get(t: ResourceType, ns: string | undefined, name: string): KObj {
    const o = this.store.get(grOf(t), t.namespaced ? ns : undefined, name);
    if (!o) throw notFound(t.plural, t.group, name);
    return this.present(t, o);
  }

  /** The object as served in the requested version. */
  /** The object as served in the requested version (a new top-level object; nested values are shared). */
  present(t: ResourceType, o: KObj): KObj {
    if (t.group === 'events.k8s.io') return coreToEventsV1(o);
    return { ...o, apiVersion: t.group ? `${t.group}/${t.version}` : t.version };
  }

  list(t: ResourceType, ns: string | undefined, sel: Selector): { items: KObj[]; rv: number } {
    const items = this.store
      .list(grOf(t), t.namespaced ? ns : undefined)
      .filter((o) => matches(sel, o))
      .map((o) => this.present(t, o));
    return { items, rv: this.store.currentRv() };
  }

  // ---- helpers ----

  private checkIdentity(t: ResourceType, ns: string | undefined, body: KObj, name?: string): void {
    if (!isObj(body) || !isObj(body.metadata)) {
      if (isObj(body) && body.metadata === undefined) body.metadata = {};
      else throw badRequest('the body of the request must be a JSON or YAML object with metadata');
    }
    const want = t.group ? `${t.group}/${t.version}` : t.version;
    if (
      body.apiVersion !== undefined &&
      body.apiVersion !== want &&
      !(t.versions ?? []).some((v) => body.apiVersion === `${t.group}/${v}`)
    ) {
      throw badRequest(
        `the API version in the data (${body.apiVersion}) does not match the expected API version (${want})`,
      );
    }
    if (body.kind !== undefined && body.kind !== t.kind) {
      throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${t.kind})`);
    }
    body.apiVersion = want;
    body.kind = t.kind;
    if (t.namespaced) {
      if (
        body.metadata.namespace !== undefined &&
        body.metadata.namespace !== '' &&
        body.metadata.namespace !== ns
      ) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      body.metadata.namespace = ns;
    } else delete body.metadata.namespace;
    if (name !== undefined && body.metadata.name !== undefined && body.metadata.name !== name) {
      throw badRequest(
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    if (name !== undefined) body.metadata.name = name;
  }

  /** Prune, default and validate a custom resource; return field-validation warnings. */
  private admitCustom(t: ResourceType, obj: KObj, o: WriteOptions, old?: KObj): string[] {
    const schema = this.schemas.get(`${t.group}/${t.version}/${t.plural}`);
    if (!schema) return [];
    const removed = schema.prune(obj);
    const mode = fieldValidationOf(o.fieldValidation);
    if (removed.length && mode === 'Strict') {
      throw new ApiError(
        400,
        'BadRequest',
        `strict decoding error: ${removed.map((r) => `unknown field "${r}"`).join(', ')}`,
      );
    }
    schema.applyDefaults(obj);
    const issues = [...schema.validate(obj), ...schema.validateRules(obj, old)];
    if (issues.length) throw invalid(t.kind, t.group, obj.metadata.name ?? '', issues);
    return mode === 'Warn' ? removed.map((r) => `unknown field "${r}"`) : [];
  }

  private validateMeta(t: ResourceType, obj: KObj): void {
    const name = obj.metadata.name ?? '';
    if (t.group === 'rbac.authorization.k8s.io') {
      // RBAC names are only path segments (ValidateRBACName), so "system:discovery" is valid.
      const why = ['.', '..'].includes(name)
        ? `may not be '${name}'`
        : name.includes('/')
          ? "may not contain '/'"
          : name.includes('%')
            ? "may not contain '%'"
            : undefined;
      if (why)
        throw invalid(t.kind, t.group, name, [
          { field: 'metadata.name', message: `Invalid value: "${name}": ${why}` },
        ]);
    } else if (!DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
      throw invalid(t.kind, t.group, name, [
        {
          field: 'metadata.name',
          message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        },
      ]);
    }
    for (const [k, v] of Object.entries(obj.metadata.labels ?? {})) {
      if (
        typeof v !== 'string' ||
        v.length > 63 ||
        !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)
      ) {
        throw invalid(t.kind, t.group, name, [
          {
            field: `metadata.labels`,
            message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${k})`,
          },
        ]);
      }
    }
  }

  private ensureNamespace(t: ResourceType, ns: string | undefined): void {
    if (!t.namespaced) return;
    if (!ns) throw badRequest('namespace is required for a namespaced resource');
    const n = this.store.get('/namespaces', undefined, ns);
    if (!n) throw notFound('namespaces', '', ns);
    if (n.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${qualified(t.plural, t.group)} is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  private initialStatus(t: ResourceType, obj: KObj): void {
    if (!t.status) return;
    if (t.plural === 'namespaces') obj.status = { phase: 'Active' };
    else if (t.plural === 'pods') obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    else if (t.plural === 'services') obj.status = { loadBalancer: {} };
    else if (t.plural === 'persistentvolumeclaims') obj.status = { phase: 'Pending' };
    else if (t.plural === 'customresourcedefinitions') obj.status = {};
    else delete obj.status;
  }

  // ---- writes ----

  private coreEvents(): ResourceType {
    return this.type('', 'v1', 'events')!;
  }

  create(t: ResourceType, ns: string | undefined, body: KObj, o: WriteOptions): KObj {
    if (t.group === 'events.k8s.io') {
      this.checkIdentity(t, ns, body);
      return this.present(t, this.create(this.coreEvents(), ns, eventsV1ToCore(body), o));
    }
    const obj = clone(body);
    this.checkIdentity(t, ns, obj);
    if (o.subresource !== 'apply') this.warn(o, this.admission.decode(t, obj, o.fieldValidation));
    if (!obj.metadata.name) {
      if (obj.metadata.generateName)
        obj.metadata.name = obj.metadata.generateName + Math.random().toString(36).slice(2, 7);
      else
        throw invalid(t.kind, t.group, '', [
          {
            field: 'metadata.name',
            message: 'Required value: name or generateName is required',
            reason: 'FieldValueRequired',
          },
        ]);
    }
    this.ensureNamespace(t, obj.metadata.namespace);
    const gr = grOf(t);
    if (this.store.get(gr, obj.metadata.namespace, obj.metadata.name))
      throw alreadyExists(t.plural, t.group, obj.metadata.name);
    this.validateMeta(t, obj);
    const m = obj.metadata;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    m.uid = randomUUID();
    m.creationTimestamp = nowIso();
    if (t.generation) m.generation = 1;
    else delete m.generation;
    if (o.subresource !== 'status') this.initialStatus(t, obj);
    this.admission.defaults(t, obj, undefined);
    this.warn(o, this.admitCustom(t, obj, o));
    // Normalised first, so validation compares what is stored (as upstream compares decoded objects).
    this.admission.store(t, obj);
    this.admission.validate(t, obj, undefined, undefined);
    if (o.user) {
      const apply = o.subresource === 'apply';
      this.rbacAdmission?.validate({
        operation: 'create',
        type: t,
        obj,
        user: o.user,
        subresource: apply ? undefined : o.subresource,
        createdByApply: apply,
      });
    }
    if (o.subresource !== 'apply') {
      obj.metadata.managedFields = updateManagedFields(
        undefined,
        obj,
        this.manager(o, 'unknown'),
        undefined,
        this.nav(t),
        t.status,
      );
    }
    if (t.plural === 'customresourcedefinitions') this.crdAccepted(obj);
    if (o.dryRun) return this.present(t, obj);
    const stored = this.store.put(gr, obj);
    if (t.plural === 'customresourcedefinitions') this.serveCrd(stored);
    // The garbage collector deletes an object created with an owner that does not exist; a full pass is only
    // needed then (checking this object's owners is cheap, a pass over every object is not).
    if (obj.metadata.ownerReferences?.length && !this.ownersExist(obj)) this.onChange();
    return this.present(t, stored);
  }

  private crdAccepted(crd: KObj): void {
    const now = nowIso();
    crd.status = {
      acceptedNames: {
        ...crd.spec.names,
        singular: crd.spec.names.singular ?? String(crd.spec.names.kind).toLowerCase(),
      },
      conditions: [
        {
          type: 'NamesAccepted',
          status: 'True',
          reason: 'NoConflicts',
          message: 'no conflicts found',
          lastTransitionTime: now,
        },
        {
          type: 'Established',
          status: 'True',
          reason: 'InitialNamesAccepted',
          message: 'the initial names have been accepted',
          lastTransitionTime: now,
        },
      ],
      storedVersions: (crd.spec.versions ?? []).filter((v: any) => v.storage).map((v: any) => v.name),
    };
  }

  /** Serve (or re-serve after an update) the resource a CRD defines. */
  serveCrd(crd: KObj): void {
    for (const [k, t] of this.store.types)
      if (t.crd && `${t.plural}.${t.group}` === crd.metadata.name) this.store.types.delete(k);
    for (const t of typesFromCrd(crd)) this.addType(t);
  }

  private unserveCrd(crd: KObj): void {
    const s = crd.spec ?? {};
    for (const o of [...this.store.list(grKey(s.group, s.names?.plural))])
      this.store.remove(grKey(s.group, s.names.plural), o.metadata.namespace, o.metadata.name!);
    for (const [k, t] of this.store.types)
      if (t.crd && `${t.plural}.${t.group}` === crd.metadata.name) this.store.types.delete(k);
  }

  /**
   * Update (PUT) and the common tail of PATCH: preconditions, status subresource rules, generation,
   * finalizer rules, managedFields, no-op detection.
   */
  update(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    body: KObj,
    o: WriteOptions,
    preApplied?: KObj,
  ): KObj {
    const gr = grOf(t);
    const old = this.store.get(gr, t.namespaced ? ns : undefined, name);
    if (!old) throw notFound(t.plural, t.group, name);
    const obj = clone(body);
    this.checkIdentity(t, ns, obj, name);
    if (!preApplied) this.warn(o, this.admission.decode(t, obj, o.fieldValidation));
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion)
      throw staleConflict(t.plural, t.group, name);
    const sub = o.subresource === 'status' ? 'status' : undefined;
    let next: KObj;
    if (sub === 'status') {
      next = clone(old);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (t.status) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      const m: Record<string, unknown> = next.metadata;
      for (const k of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
      ] as const) {
        if (old.metadata[k] === undefined) delete m[k];
        else m[k] = old.metadata[k] as unknown;
      }
      if (!m.generateName && old.metadata.generateName) m.generateName = old.metadata.generateName;
    }
    // managedFields sent explicitly (changed from what is stored) replace the stored ones; [{}] strips them.
    const incomingMf = sub ? undefined : obj.metadata.managedFields;
    const explicitMf = incomingMf !== undefined && !deepEqual(incomingMf, old.metadata.managedFields);
    next.metadata.managedFields = old.metadata.managedFields;
    if (old.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter(
        (f: string) => !(old.metadata.finalizers ?? []).includes(f),
      );
      if (added.length) {
        throw invalid(t.kind, t.group, name, [
          {
            field: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f: string) => JSON.stringify(f)).join(', ')}}`,
            reason: 'FieldValueForbidden',
          },
        ]);
      }
    }
    this.validateMeta(t, next);
    if (!sub) this.admission.defaults(t, next, old);
    this.warn(o, this.admitCustom(t, next, o, old));
    this.admission.store(t, next);
    this.admission.validate(t, next, old, sub);
    if (o.user)
      this.rbacAdmission?.validate({
        operation: 'update',
        type: t,
        obj: next,
        old,
        user: o.user,
        subresource: sub,
      });
    if (t.generation && !sub && !deepEqual(specPart(old), specPart(next)))
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    if (preApplied) next.metadata.managedFields = preApplied.metadata.managedFields;
    else if (explicitMf) {
      next.metadata.managedFields = (Array.isArray(incomingMf) ? incomingMf : []).filter(
        (e) => isObj(e) && typeof e.manager === 'string',
      );
    } else
      next.metadata.managedFields = updateManagedFields(
        old,
        next,
        this.manager(o, 'unknown'),
        sub,
        this.nav(t),
        t.status,
      );
    if (!next.metadata.managedFields?.length) delete next.metadata.managedFields;
    if (t.plural === 'customresourcedefinitions' && !sub) this.crdAccepted(next);
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (deepEqual(withoutMfTimes(old), withoutMfTimes(next))) return this.present(t, old);
    if (o.dryRun) return this.present(t, next);
    if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length) {
      const gone = this.store.remove(gr, next.metadata.namespace, name)!;
      if (t.plural === 'customresourcedefinitions') this.unserveCrd(gone);
      this.onChange();
      return this.present(t, {
        ...next,
        metadata: { ...next.metadata, resourceVersion: gone.metadata.resourceVersion },
      });
    }
    const stored = this.store.put(gr, next);
    if (t.plural === 'customresourcedefinitions') this.serveCrd(stored);
    if (
      !deepEqual(old.metadata.ownerReferences, next.metadata.ownerReferences) ||
      !deepEqual(old.metadata.finalizers, next.metadata.finalizers)
    )
      this.onChange();
    return this.present(t, stored);
  }

  patch(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    contentType: string,
    raw: string,
    o: WriteOptions,
  ): { obj: KObj; created: boolean } {
    const ct = contentType.split(';')[0]!.trim();
    const gr = grOf(t);
    const existing = this.store.get(gr, t.namespaced ? ns : undefined, name);
    const parse = (): any => {
      try {
        return JSON.parse(raw);
      } catch {
        throw badRequest(`error decoding patch: invalid JSON: ${raw.slice(0, 80)}`);
      }
    };
    if (ct === 'application/apply-patch+yaml' || ct === 'application/apply-patch+json') {
      if (!o.fieldManager) {
        throw invalid('PatchOptions', 'meta.k8s.io', '', [
          {
            field: 'fieldManager',
            message: 'Required value: is required for apply patch',
            reason: 'FieldValueRequired',
          },
        ]);
      }
      let applied: KObj;
      try {
        // JSON is YAML; parse it as JSON when it looks like JSON (much faster than the YAML parser).
        const trimmed = raw.trimStart();
        applied = (trimmed.startsWith('{') ? tryJson(trimmed) : undefined) ?? (YAML.parse(raw) as KObj);
      } catch (e) {
        throw badRequest(`error decoding YAML: ${(e as Error).message}`);
      }
      if (!isObj(applied)) throw badRequest('apply patch must be a YAML or JSON object');
      if (!applied.apiVersion || !applied.kind)
        throw badRequest('apiVersion and kind must be set in an apply patch');
      applied.metadata ??= {};
      this.checkIdentity(t, ns, applied, name);
      this.admission.decodeApply(t, applied, ns, name);
      const sub = o.subresource === 'status' ? 'status' : undefined;
      if (!existing) {
        if (sub) throw notFound(t.plural, t.group, name);
        const merged = serverSideApply(
          undefined,
          applied,
          o.fieldManager,
          !!o.force,
          undefined,
          this.nav(t),
          t.status,
        );
        merged.metadata.name = name;
        merged.metadata.namespace = t.namespaced ? ns : undefined;
        if (applied.metadata.generateName) merged.metadata.generateName = applied.metadata.generateName;
        const created = this.create(t, ns, merged, { ...o, subresource: 'apply' });
        return { obj: created, created: true };
      }
      if (
        applied.metadata.resourceVersion &&
        applied.metadata.resourceVersion !== existing.metadata.resourceVersion
      ) {
        throw staleConflict(t.plural, t.group, name);
      }
      const merged = serverSideApply(
        existing,
        applied,
        o.fieldManager,
        !!o.force,
        sub,
        this.nav(t),
        t.status,
      );
      return { obj: this.update(t, ns, name, merged, o, merged), created: false };
    }
    if (o.force !== undefined) {
      throw invalid('PatchOptions', 'meta.k8s.io', '', [
        {
          field: 'force',
          message: 'Forbidden: may not be specified for non-apply patch',
          reason: 'FieldValueForbidden',
        },
      ]);
    }
    if (!existing) throw notFound(t.plural, t.group, name);
    const base = this.present(t, existing);
    let next: any;
    if (ct === 'application/merge-patch+json') next = mergePatch(base, parse());
    else if (ct === 'application/json-patch+json') next = jsonPatch(base, parse());
    else if (ct === 'application/strategic-merge-patch+json') {
      if (t.crd) {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      }
      next = strategicMerge(base, parse());
    } else {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
    }
    if (!isObj(next)) throw badRequest('patch result is not an object');
    // A patch that does not mention resourceVersion is unconditional.
    if (next.metadata?.resourceVersion === base.metadata.resourceVersion)
      delete next.metadata.resourceVersion;
    return { obj: this.update(t, ns, name, next as KObj, o), created: false };
  }

  delete(
    t: ResourceType,
    ns: string | undefined,
    name: string,
    d: DeleteOptions,
  ): { obj: KObj; deleted: boolean } {
    const gr = grOf(t);
    const old = this.store.get(gr, t.namespaced ? ns : undefined, name);
    if (!old) throw notFound(t.plural, t.group, name);
    const p = d.preconditions ?? {};
    if (p.uid && p.uid !== old.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualified(t.plural, t.group)} "${name}": Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${old.metadata.uid}`,
        { name, group: t.group, kind: t.plural },
      );
    }
    if (p.resourceVersion && p.resourceVersion !== old.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualified(t.plural, t.group)} "${name}": Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        { name, group: t.group, kind: t.plural },
      );
    }
    const next = clone(old);
    const fin = new Set<string>(next.metadata.finalizers ?? []);
    const policy = d.propagationPolicy ?? 'Background';
    if (!old.metadata.deletionTimestamp) {
      if (policy === 'Orphan') fin.add('orphan');
      if (policy === 'Foreground') fin.add('foregroundDeletion');
    }
    if (t.plural === 'namespaces') fin.add('kubernetes');
    if (fin.size === 0) {
      if (d.dryRun) return { obj: this.present(t, old), deleted: true };
      const gone = this.store.remove(gr, old.metadata.namespace, name)!;
      if (t.plural === 'customresourcedefinitions') this.unserveCrd(gone);
      this.onChange();
      return { obj: this.present(t, gone), deleted: true };
    }
    if (t.plural === 'namespaces' && old.metadata.deletionTimestamp)
      return { obj: this.present(t, old), deleted: false };
    if (
      old.metadata.deletionTimestamp &&
      deepEqual([...fin].sort(), [...(old.metadata.finalizers ?? [])].sort())
    ) {
      return { obj: this.present(t, old), deleted: false };
    }
    next.metadata.finalizers = [...fin];
    next.metadata.deletionTimestamp ??= nowIso();
    next.metadata.deletionGracePeriodSeconds ??= 0;
    if (t.plural === 'namespaces') {
      next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      next.metadata.finalizers = next.metadata.finalizers.filter((f: string) => f !== 'kubernetes');
      next.spec = { finalizers: ['kubernetes'] };
    }
    if (d.dryRun) return { obj: this.present(t, next), deleted: false };
    const stored = this.store.put(gr, next);
    this.onChange();
    return { obj: this.present(t, stored), deleted: false };
  }

  /** Internal write used by the garbage collector, the kubelet and test helpers (no admission, no RV check). */
  systemUpdate(gr: string, obj: KObj): KObj {
    if (
      obj.metadata.deletionTimestamp &&
      !(obj.metadata.finalizers ?? []).length &&
      !(gr === '/namespaces' && obj.spec?.finalizers?.length)
    ) {
      const gone = this.store.remove(gr, obj.metadata.namespace, obj.metadata.name!)!;
      this.onChange();
      return gone;
    }
    return this.store.put(gr, obj);
  }
}

function specPart(o: KObj): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  return rest;
}

function withoutMfTimes(o: KObj): KObj {
  const c = clone(o);
  c.metadata.managedFields = (c.metadata.managedFields ?? []).map((e) => ({ ...e, time: '' }));
  if (!c.metadata.managedFields.length) delete c.metadata.managedFields;
  return c;
}

function tryJson(s: string): KObj | undefined {
  try {
    return JSON.parse(s) as KObj;
  } catch {
    return undefined;
  }
}

function lowestSupported(): EmulatedMinor {
  const v = formatVersion(MIN_SUPPORTED);
  if (!isEmulatedMinor(v)) throw new Error(`fake-apiserver cannot emulate Kubernetes ${v} (MIN_SUPPORTED)`);
  return v;
}
