/**
 * Access control of the stand-in's request path, in the order kube-apiserver applies it: authenticate the
 * bearer token (authn.ts), derive the request's authorizer attributes as the apiserver's RequestInfoFactory
 * does, authorise them with RBAC (rbac-authorizer.ts), and answer SelfSubjectAccessReviews (`kubectl auth
 * can-i`). Checks inside writes live in rbac-admission.ts.
 */
import { RbacAdmission } from './rbac-admission.js';
import { Authenticator, type UserInfo } from './authn.js';
import { ApiError, badRequest, methodNotAllowed } from './errors.js';
import { bootstrapPolicy, forbiddenRequest, RbacAuthorizer } from './rbac-authorizer.js';
import type { RequestAttributes } from './rbac-rules.js';
import type { ResourceType } from './resources.js';
import type { Registry } from './rest.js';
import { isObj, nowIso, type KObj } from './util.js';

export interface AccessOptions {
  /** Requests without credentials are system:anonymous (the real default) instead of 401. */
  anonymous: boolean;
  /** The emulated server's minor version (1.x): some messages changed between releases. */
  minor: number;
}

/** What a resource request addresses (the parsed URL). */
export interface ResourceRoute {
  t: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export class AccessControl {
  readonly authn: Authenticator;
  readonly authz: RbacAuthorizer;

  constructor(
    private readonly reg: Registry,
    opts: AccessOptions,
  ) {
    this.authn = new Authenticator(reg.store, opts.anonymous);
    this.authz = new RbacAuthorizer(reg.store);
    reg.rbacAdmission = new RbacAdmission({
      authorizer: this.authz,
      typeForKind: (apiVersion, kind) => reg.typeForKind(apiVersion, kind),
      fullApplyCreateMessage: opts.minor >= 32,
    });
    for (const o of bootstrapPolicy()) {
      const t = reg.typeForKind(o.apiVersion, o.kind)!;
      reg.create(t, undefined, o, { fieldManager: 'kube-apiserver' });
    }
  }

  /** 403 unless the user may GET/POST/... this non-resource path (/version, /api, /apis/..., /openapi/...). */
  authorizePath(user: UserInfo, method: string, path: string): void {
    this.check(pathAttributes(user, method.toLowerCase(), path));
  }

  /** 403 unless the user may do `verb` on the route, with attributes derived as the real RequestInfo is. */
  authorizeResource(user: UserInfo, r: ResourceRoute, verb: string, q: URLSearchParams): void {
    this.check(resourceAttributes(user, r, verb, q));
  }

  private check(a: RequestAttributes): void {
    const d = this.authz.authorize(a);
    if (!d.allowed) throw forbiddenRequest(a, d.reason);
  }

  /** POST selfsubjectaccessreviews: whether the requester may do what the review's spec asks. */
  selfSubjectAccessReview(user: UserInfo, body: unknown): KObj {
    if (!isObj(body) || !isObj(body.spec)) throw badRequest('a SelfSubjectAccessReview needs a spec');
    const spec = body.spec as Record<string, any>;
    const ra = spec.resourceAttributes as Record<string, string> | undefined;
    const nra = spec.nonResourceAttributes as Record<string, string> | undefined;
    if (!ra === !nra) {
      throw new ApiError(
        422,
        'Invalid',
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
        {
          group: 'authorization.k8s.io',
          kind: 'SelfSubjectAccessReview',
        },
      );
    }
    const a: RequestAttributes = ra
      ? {
          user,
          verb: ra.verb ?? '',
          resourceRequest: true,
          apiGroup: ra.group ?? '',
          resource: ra.resource ?? '',
          subresource: ra.subresource ?? '',
          namespace: ra.namespace ?? '',
          name: ra.name ?? '',
          path: '',
        }
      : pathAttributes(user, nra!.verb ?? '', nra!.path ?? '');
    const d = this.authz.authorize(a);
    return {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: { creationTimestamp: nowIso() },
      spec,
      status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) },
    };
  }

  /** Only `create` exists for access reviews. */
  static reviewVerb(verb: string): void {
    if (verb !== 'create')
      throw methodNotAllowed('the server does not allow this method on the requested resource');
  }
}

/** The attributes of a non-resource request (discovery, /version, /openapi, /healthz…). */
function pathAttributes(user: UserInfo, verb: string, path: string): RequestAttributes {
  return {
    user,
    verb,
    resourceRequest: false,
    apiGroup: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path,
  };
}

/**
 * The attributes of a resource request (apiserver endpoints/request RequestInfoFactory): a namespace request
 * is in its own namespace (`/api/v1/namespaces/x` has namespace "x"), and a list or watch selecting one name
 * with `fieldSelector=metadata.name=<n>` is authorised for that name.
 */
export function resourceAttributes(
  user: UserInfo,
  r: ResourceRoute,
  verb: string,
  q: URLSearchParams,
): RequestAttributes {
  let name = r.name ?? '';
  if (!name && (verb === 'list' || verb === 'watch')) {
    const m = /^metadata\.name==?([^,]+)$/.exec(q.get('fieldSelector') ?? '');
    if (m) name = m[1]!;
  }
  const namespace = r.namespace ?? (r.t.group === '' && r.t.plural === 'namespaces' ? (r.name ?? '') : '');
  return {
    user,
    verb,
    resourceRequest: true,
    apiGroup: r.t.group,
    resource: r.t.plural,
    subresource: r.subresource ?? '',
    namespace,
    name,
    path: '',
  };
}
