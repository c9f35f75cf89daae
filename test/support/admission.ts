/**
 * The strict path every write of a built-in object takes, in the order of a real kube-apiserver:
 * decode against the emulated version's schema (unknown fields per `fieldValidation`; server-side apply
 * refuses them), default, drop fields of features that version has off, validate (required fields, the
 * apiextensions rules for CRDs, immutable fields, PVC resize admission), and store in canonical form.
 * Registry (rest.ts) calls these hooks; the rules themselves live in builtin-schemas.ts, defaults.ts,
 * immutable.ts and crd-validation.ts.
 */
import { conform, storedForm, type Conformance } from './builtin-schemas.js';
import { crdCauses } from './crd-validation.js';
import { applyDefaults } from './defaults.js';
import { ApiError, badRequest, invalid } from './errors.js';
import { immutabilityCauses, resizeRefusal, type Cause } from './immutable.js';
import { kubeOpenApi, type EmulatedMinor, type KubeOpenApi, type Model } from './kube-openapi.js';
import type { ResourceType } from './resources.js';
import { isObj, type KObj } from './util.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What the admission needs from the registry: the StorageClasses it serves. */
export interface ClusterState {
  storageClass(name: string): KObj | undefined;
  defaultStorageClass(): string | undefined;
}

/** `fieldValidation` of a request; the server default is Warn. */
export function fieldValidationOf(v: string | undefined): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(
    `fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`,
  );
}

function gvk(t: ResourceType): string {
  return `${t.group ? `${t.group}/` : ''}${t.version}, Kind=${t.kind}`;
}

export class BuiltinAdmission {
  readonly api: KubeOpenApi;
  readonly minor: number;
  private nextIp = 10;
  private readonly usedNodePorts = new Set<number>();

  constructor(
    readonly version: EmulatedMinor,
    private readonly cluster: ClusterState,
  ) {
    this.api = kubeOpenApi(version);
    this.minor = Number(version.split('.')[1]);
  }

  private readonly models = new Map<ResourceType, Model | undefined>();

  private model(t: ResourceType): Model | undefined {
    if (t.crd) return undefined;
    if (!this.models.has(t))
      this.models.set(t, this.api.rootModel(t.group ? `${t.group}/${t.version}` : t.version, t.kind));
    return this.models.get(t);
  }

  /**
   * Decode a create/update body (POST, PUT, merge/JSON/strategic patches): unknown fields are refused
   * (Strict, 400), dropped with a warning (Warn) or dropped (Ignore); wrong JSON types are a 400.
   * Returns the warnings for the response's `Warning` headers.
   */
  decode(t: ResourceType, obj: KObj, fieldValidation: string | undefined): string[] {
    const model = this.model(t);
    if (!model) return [];
    const mode = fieldValidationOf(fieldValidation);
    const c = conform(this.api, model, obj, true);
    this.refuseTypes(t, c);
    const unknown = c.unknown.map((u) => `unknown field "${u.path}"`);
    if (unknown.length && mode === 'Strict') throw badRequest(`strict decoding error: ${unknown.join(', ')}`);
    return mode === 'Warn' ? unknown : [];
  }

  /** Server-side apply converts the patch to a typed object first: unknown fields and wrong types fail it. */
  decodeApply(t: ResourceType, applied: KObj, ns: string | undefined, name: string): void {
    const model = this.model(t);
    if (!model) return;
    const c = conform(this.api, model, applied);
    const problems = [
      ...c.unknown.map((u) => `${u.ssaPath}: field not declared in schema`),
      ...c.types.map((p) => `${p.ssaPath}: ${p.detail ?? `expected ${smdKind(p.goType)}, got ${p.got}`}`),
    ];
    if (!problems.length) return;
    const text = problems.length === 1 ? problems[0] : `errors:\n  ${problems.join('\n  ')}`;
    // Upstream returns this as a plain error, which the API server answers with 500 and no reason.
    throw new ApiError(
      500,
      '',
      `failed to create typed patch object (${ns ?? ''}/${name}; ${gvk(t)}): ${text}`,
    );
  }

  private refuseTypes(t: ResourceType, c: Conformance): void {
    const p = c.types[0];
    if (!p) return;
    const inner = p.detail
      ? p.detail
      : `json: cannot unmarshal ${p.got === 'null' ? 'null' : p.got === 'object' ? 'object' : p.got === 'array' ? 'array' : p.got} into Go struct field ${p.struct}.${p.path} of type ${p.goType}`;
    throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${inner}`);
  }

  /** Fill defaults (and what the registries allocate) for the object about to be stored. */
  defaults(t: ResourceType, obj: KObj, old: KObj | undefined): void {
    if (t.crd) return;
    applyDefaults(t.plural, obj, {
      minor: this.minor,
      old,
      defaultStorageClass: this.cluster.defaultStorageClass(),
      allocateClusterIP: () => {
        const n = this.nextIp++;
        return `10.96.${Math.floor(n / 256) % 256}.${n % 256}`;
      },
      allocateNodePort: () => {
        let port = 30000 + Math.floor(Math.random() * 2768);
        while (this.usedNodePorts.has(port)) port = 30000 + ((port - 30000 + 1) % 2768);
        this.usedNodePorts.add(port);
        return port;
      },
    });
    this.dropDisabledFields(obj);
  }

  /** Fields of features that are off by default at this minor are dropped on write, silently. */
  private dropDisabledFields(obj: KObj): void {
    // PodLifecycleSleepAction: alpha (off) in 1.29, in the schema but not stored; on from 1.30.
    if (this.minor !== 29) return;
    forEachContainer(obj, (c) => {
      for (const h of ['postStart', 'preStop']) if (isObj(c.lifecycle?.[h])) delete c.lifecycle[h].sleep;
    });
  }

  /** Validation after defaulting: required fields, CRD rules, immutable fields and resize admission. */
  validate(t: ResourceType, obj: KObj, old: KObj | undefined, subresource: string | undefined): void {
    const model = this.model(t);
    if (!model) return;
    const causes: Cause[] = conform(this.api, model, obj).required.map((r) => ({
      field: r.path,
      message: 'Required value',
      reason: 'FieldValueRequired',
    }));
    if (t.plural === 'customresourcedefinitions' && subresource !== 'status')
      causes.push(...crdCauses(obj, this.minor));
    const ctx = {
      minor: this.minor,
      storageClassExpands: (name: string) => {
        const sc = this.cluster.storageClass(name);
        return sc ? sc.allowVolumeExpansion === true : undefined;
      },
    };
    if (old && subresource !== 'status') causes.push(...immutabilityCauses(t.plural, old, obj, ctx));
    if (causes.length) throw invalid(t.kind, t.group, obj.metadata.name ?? '', causes);
    if (old && subresource !== 'status') {
      const refusal = resizeRefusal(t.plural, old, obj, ctx);
      if (refusal) throw refusal;
    }
  }

  /** Put the object in the form the real server stores (omitempty, canonical quantities). */
  store(t: ResourceType, obj: KObj): void {
    const model = this.model(t);
    if (model) storedForm(this.api, model, obj);
  }
}

/** How structured-merge-diff names the kind of value it expected. */
function smdKind(goType: string): string {
  if (/^(int|float)/.test(goType)) return 'numeric (int or float)';
  if (goType === 'bool') return 'boolean';
  if (goType.startsWith('[]')) return 'list';
  if (goType.startsWith('map') || goType.startsWith('v1.')) return 'map';
  return 'string';
}

function forEachContainer(obj: KObj, fn: (c: Record<string, any>) => void): void {
  const specs = [obj.spec, obj.spec?.template?.spec, obj.spec?.jobTemplate?.spec?.template?.spec].filter(
    isObj,
  );
  for (const s of specs)
    for (const k of ['containers', 'initContainers'])
      for (const c of Array.isArray(s[k]) ? s[k] : []) if (isObj(c)) fn(c);
}
