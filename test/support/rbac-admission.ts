/**
 * The authorisation checks kube-apiserver makes inside a write, after the request itself was authorised:
 * - a server-side apply that creates the object is authorised as `create` too (endpoints/handlers/patch.go);
 * - RBAC escalation prevention: a Role/ClusterRole may only grant what the writer holds, unless it may
 *   `escalate`; a binding only to a role whose rights the writer holds, unless it may `bind` that role
 *   (pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased);
 * - OwnerReferencesPermissionEnforcement (plugin/pkg/admission/gc): changing ownerReferences of an existing
 *   object needs `delete` on it, and setting `blockOwnerDeletion: true` needs `update` on the owner's
 *   `finalizers` subresource.
 * Writes without a user (the stand-in's own: preloaded CRDs, bootstrap RBAC, kubelet, GC) are not checked.
 */
import { SYSTEM_MASTERS, type UserInfo } from './authn.js';
import { ApiError } from './errors.js';
import { forbidden, forbiddenRequest, type RbacAuthorizer } from './rbac-authorizer.js';
import { escalationMessage, uncovered, type RequestAttributes, type Rule } from './rbac-rules.js';
import type { ResourceType } from './resources.js';
import { deepEqual, type KObj, type OwnerRef } from './util.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

export interface RbacAdmissionRequest {
  operation: 'create' | 'update';
  type: ResourceType;
  obj: KObj;
  old?: KObj;
  user: UserInfo;
  /** The request's subresource ('status'…); undefined for the main resource. */
  subresource?: string;
  /** A server-side apply PATCH that creates the object. */
  createdByApply?: boolean;
}

export interface RbacAdmissionOptions {
  authorizer: RbacAuthorizer;
  typeForKind(apiVersion: string, kind: string): ResourceType | undefined;
  /**
   * Before 1.32 a refused create-on-apply said only `<resource> "<name>" is forbidden: ` (the reason, empty
   * for RBAC); from 1.32 it carries the full "User ... cannot create resource ..." text.
   */
  fullApplyCreateMessage: boolean;
}

export class RbacAdmission {
  constructor(private readonly o: RbacAdmissionOptions) {}

  validate(r: RbacAdmissionRequest): void {
    if (r.createdByApply) this.authorizeApplyCreate(r);
    if (r.type.group === RBAC_GROUP) this.preventEscalation(r);
    this.enforceOwnerReferences(r);
  }

  private attrs(
    r: RbacAdmissionRequest,
    verb: string,
    over: Partial<RequestAttributes> = {},
  ): RequestAttributes {
    return {
      user: r.user,
      verb,
      resourceRequest: true,
      apiGroup: r.type.group,
      resource: r.type.plural,
      subresource: r.subresource ?? '',
      namespace: r.obj.metadata.namespace ?? '',
      name: r.obj.metadata.name ?? '',
      path: '',
      ...over,
    };
  }

  private authorizeApplyCreate(r: RbacAdmissionRequest): void {
    const a = this.attrs(r, 'create', { subresource: '' });
    const d = this.o.authorizer.authorize(a, 'admission');
    if (d.allowed) return;
    if (this.o.fullApplyCreateMessage) throw forbiddenRequest(a, d.reason);
    throw forbidden(a.apiGroup, a.resource, a.name, d.reason);
  }

  private preventEscalation(r: RbacAdmissionRequest): void {
    if (r.user.groups.includes(SYSTEM_MASTERS)) return;
    const { plural } = r.type;
    const namespace = r.obj.metadata.namespace ?? '';
    const name = r.obj.metadata.name ?? '';
    let wanted: Rule[];
    if (plural === 'roles' || plural === 'clusterroles') {
      if (this.o.authorizer.authorize(this.attrs(r, 'escalate', { subresource: '' }), 'admission').allowed)
        return;
      wanted = (r.obj.rules ?? []) as Rule[];
    } else if (plural === 'rolebindings' || plural === 'clusterrolebindings') {
      if (r.old && onlyGcFieldsChanged(r.obj, r.old)) return;
      const ref = (r.obj.roleRef ?? {}) as { kind: string; name: string; apiGroup?: string };
      const bind = this.attrs(r, 'bind', {
        apiGroup: ref.apiGroup ?? RBAC_GROUP,
        resource: ref.kind === 'Role' ? 'roles' : 'clusterroles',
        subresource: '',
        name: ref.name,
      });
      if (
        (ref.kind === 'Role' || ref.kind === 'ClusterRole') &&
        this.o.authorizer.authorize(bind, 'admission').allowed
      )
        return;
      const rules = this.o.authorizer.roleRefRules(ref, namespace);
      if (typeof rules === 'string') {
        throw new ApiError(404, 'NotFound', rules, {
          name: ref.name,
          group: RBAC_GROUP,
          kind: ref.kind === 'Role' ? 'role' : 'clusterrole',
        });
      }
      wanted = rules;
    } else return;
    const owned = this.o.authorizer.rulesFor(r.user, namespace);
    const missing = uncovered(owned.rules, wanted);
    if (!missing.length) return;
    let why = escalationMessage(r.user, missing);
    if (owned.errors.length) why += `; resolution errors: [${owned.errors.join(' ')}]`;
    throw forbidden(RBAC_GROUP, plural, name, why);
  }

  private enforceOwnerReferences(r: RbacAdmissionRequest): void {
    if (r.type.group === '' && r.type.plural === 'pods' && r.subresource === 'status') return;
    const refs: OwnerRef[] = r.obj.metadata.ownerReferences ?? [];
    const oldRefs: OwnerRef[] = r.old?.metadata.ownerReferences ?? [];
    const changing = r.old ? !deepEqual(refs, oldRefs) : refs.length > 0;
    if (!changing) return;
    const refused = (why: string) => forbidden(r.type.group, r.type.plural, r.obj.metadata.name ?? '', why);
    if (r.operation !== 'create') {
      const d = this.o.authorizer.authorize(this.attrs(r, 'delete'), 'admission');
      if (!d.allowed)
        throw refused(`cannot set an ownerRef on a resource you can't delete: ${d.reason}, <nil>`);
    }
    const wasBlocking = new Map(oldRefs.map((o) => [o.uid, o.blockOwnerDeletion === true]));
    for (const ref of refs) {
      if (ref.blockOwnerDeletion !== true || wasBlocking.get(ref.uid) === true) continue;
      const owner = this.o.typeForKind(ref.apiVersion, ref.kind);
      if (!owner) {
        throw refused(
          `cannot set blockOwnerDeletion in this case because cannot find RESTMapping for APIVersion ${ref.apiVersion} Kind ${ref.kind}: no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`,
        );
      }
      const d = this.o.authorizer.authorize(
        this.attrs(r, 'update', {
          apiGroup: owner.group,
          resource: owner.plural,
          subresource: 'finalizers',
          name: ref.name,
          namespace: owner.namespaced ? (r.obj.metadata.namespace ?? '') : '',
        }),
        'admission',
      );
      if (!d.allowed) {
        throw refused(
          `cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: ${d.reason}, <nil>`,
        );
      }
    }
  }
}

/** A binding update that only touches what garbage collection needs (ownerReferences, finalizers). */
function onlyGcFieldsChanged(obj: KObj, old: KObj): boolean {
  const strip = (o: KObj) => {
    const {
      ownerReferences: _o,
      finalizers: _f,
      managedFields: _m,
      resourceVersion: _r,
      ...meta
    } = o.metadata;
    return { ...o, metadata: meta };
  };
  return deepEqual(strip(obj), strip(old));
}
