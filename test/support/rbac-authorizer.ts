/**
 * The RBAC authorizer, evaluated from the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings in the
 * store, as kube-apiserver's `--authorization-mode=RBAC` does (plugin/pkg/auth/authorizer/rbac and the rule
 * resolver of pkg/registry/rbac/validation), behind the privileged-group authorizer that lets system:masters
 * do anything. ClusterRoles with an aggregationRule get the rules of the ClusterRoles their selectors match
 * (what the clusterrole-aggregation controller writes into them). The resolved rules are cached per user and
 * namespace and dropped whenever an RBAC object changes.
 */
import { SYSTEM_AUTHENTICATED, SYSTEM_MASTERS, SYSTEM_UNAUTHENTICATED, type UserInfo } from './authn.js';
import { ApiError } from './errors.js';
import { ruleAllows, type RequestAttributes, type Rule } from './rbac-rules.js';
import { labelSelectorOf, matchLabels } from './selectors.js';
import type { Store } from './store.js';
import type { KObj } from './util.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const ROLES = `${RBAC_GROUP}/roles`;
const CLUSTER_ROLES = `${RBAC_GROUP}/clusterroles`;
const ROLE_BINDINGS = `${RBAC_GROUP}/rolebindings`;
const CLUSTER_ROLE_BINDINGS = `${RBAC_GROUP}/clusterrolebindings`;
const RBAC_STORAGE = new Set([ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS]);

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}
interface RoleRef {
  kind: string;
  name: string;
  apiGroup?: string;
}
interface Binding {
  subjects: Subject[];
  roleRef: RoleRef;
}

/** Rules a user holds in one namespace ('' = cluster-wide only), and the role references that did not resolve. */
export interface ResolvedRules {
  rules: Rule[];
  errors: string[];
}

/** One authorisation decision, kept so tests can tell which rights were exercised. */
export interface AuthorizationRecord {
  user: string;
  verb: string;
  apiGroup: string;
  /** With the subresource: `flashsalestacks/finalizers`. */
  resource: string;
  namespace: string;
  name: string;
  /** For the request itself, or for a check inside a write (create-on-apply, owner finalizers, escalation). */
  during: 'request' | 'admission';
  allowed: boolean;
}

export interface Decision {
  allowed: boolean;
  /** Why not, when an RBAC object could not be resolved ("RBAC: clusterrole... not found"), else ''. */
  reason: string;
}

function appliesTo(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  if (s.kind === 'User') return s.name === user.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount') {
    const ns = s.namespace || bindingNamespace;
    return ns !== '' && user.name === `system:serviceaccount:${ns}:${s.name}`;
  }
  return false;
}

function bindingOf(o: KObj): Binding {
  return { subjects: (o.subjects ?? []) as Subject[], roleRef: (o.roleRef ?? {}) as RoleRef };
}

export class RbacAuthorizer {
  private cache = new Map<string, ResolvedRules>();
  private clusterRoleRules?: Map<string, Rule[]>;
  /** Every decision on a resource, in order (bounded like the request log). */
  log: AuthorizationRecord[] = [];

  constructor(private readonly store: Store) {
    store.onEvent((e) => {
      if (!RBAC_STORAGE.has(e.gr)) return;
      this.cache.clear();
      this.clusterRoleRules = undefined;
    });
  }

  authorize(a: RequestAttributes, during: AuthorizationRecord['during'] = 'request'): Decision {
    const d = this.decide(a);
    if (a.resourceRequest) {
      this.log.push({
        user: a.user.name,
        verb: a.verb,
        apiGroup: a.apiGroup,
        resource: a.subresource ? `${a.resource}/${a.subresource}` : a.resource,
        namespace: a.namespace,
        name: a.name,
        during,
        allowed: d.allowed,
      });
      if (this.log.length > 200_000) this.log.splice(0, this.log.length - 100_000);
    }
    return d;
  }

  private decide(a: RequestAttributes): Decision {
    if (a.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
    const { rules, errors } = this.rulesFor(a.user, a.namespace);
    if (rules.some((r) => ruleAllows(r, a))) return { allowed: true, reason: '' };
    const reason =
      errors.length === 0 ? '' : `RBAC: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`;
    return { allowed: false, reason };
  }

  /** The rules of the ClusterRoleBindings and (in `namespace`) the RoleBindings that name this user. */
  rulesFor(user: UserInfo, namespace: string): ResolvedRules {
    const key = `${user.name}\u0000${user.groups.join('\u0000')}\u0000${namespace}`;
    let hit = this.cache.get(key);
    if (hit) return hit;
    hit = { rules: [], errors: [] };
    const visit = (b: Binding, bindingNamespace: string) => {
      if (!b.subjects.some((s) => appliesTo(user, s, bindingNamespace))) return;
      const r = this.roleRefRules(b.roleRef, bindingNamespace);
      if (typeof r === 'string') hit!.errors.push(r);
      else hit!.rules.push(...r);
    };
    for (const crb of this.store.list(CLUSTER_ROLE_BINDINGS)) visit(bindingOf(crb), '');
    if (namespace)
      for (const rb of this.store.list(ROLE_BINDINGS, namespace)) visit(bindingOf(rb), namespace);
    this.cache.set(key, hit);
    return hit;
  }

  /** The rules a role reference grants, or the lister's NotFound text when the role does not exist. */
  roleRefRules(ref: RoleRef, bindingNamespace: string): Rule[] | string {
    if (ref.kind === 'ClusterRole') {
      return this.clusterRoles().get(ref.name) ?? `clusterrole.${RBAC_GROUP} "${ref.name}" not found`;
    }
    if (ref.kind === 'Role') {
      const role = this.store.peek(ROLES, bindingNamespace, ref.name);
      return role ? ((role.rules ?? []) as Rule[]) : `role.${RBAC_GROUP} "${ref.name}" not found`;
    }
    return `unsupported role reference kind: "${ref.kind}"`;
  }

  private clusterRoles(): Map<string, Rule[]> {
    if (this.clusterRoleRules) return this.clusterRoleRules;
    const all = this.store.list(CLUSTER_ROLES);
    const m = new Map<string, Rule[]>();
    for (const cr of all) {
      const selectors = (cr.aggregationRule?.clusterRoleSelectors ?? []) as Record<string, unknown>[];
      if (!selectors.length) {
        m.set(cr.metadata.name!, (cr.rules ?? []) as Rule[]);
        continue;
      }
      const parsed = selectors.map(labelSelectorOf);
      const rules = all
        .filter((o) => o !== cr && parsed.some((s) => matchLabels(s, o.metadata.labels)))
        .flatMap((o) => (o.rules ?? []) as Rule[]);
      m.set(cr.metadata.name!, rules);
    }
    return (this.clusterRoleRules = m);
  }
}

/** kube-apiserver's 403 for a request the authorizer refused (endpoints/handlers/responsewriters). */
export function forbiddenMessage(a: RequestAttributes): string {
  if (!a.resourceRequest) return `User "${a.user.name}" cannot ${a.verb} path "${a.path}"`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `User "${a.user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${where}`;
}

/** apierrors.NewForbidden: "<resource>[.<group>] ["<name>" ]is forbidden: <why>" (plain "forbidden: " without a resource). */
export function forbidden(group: string, resource: string, name: string, why: string): ApiError {
  const qualified = group ? `${resource}.${group}` : resource;
  const message = !resource
    ? `forbidden: ${why}`
    : name
      ? `${qualified} "${name}" is forbidden: ${why}`
      : `${qualified} is forbidden: ${why}`;
  return new ApiError(
    403,
    'Forbidden',
    message,
    { ...(name ? { name } : {}), group, kind: resource },
    {
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache, private',
    },
  );
}

/** The 403 of the authorization filter (ForbiddenStatusError). */
export function forbiddenRequest(a: RequestAttributes, reason: string): ApiError {
  const msg = forbiddenMessage(a);
  const why = reason ? `${msg}: ${reason}` : msg;
  if (!a.resourceRequest) return forbidden('', '', '', why);
  return forbidden(a.apiGroup, a.resource, a.name, why);
}

const BOOTSTRAP_META = {
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
};

/** The default ClusterRoles and ClusterRoleBindings every cluster starts with that clients rely on (bootstrappolicy). */
export function bootstrapPolicy(): KObj[] {
  const role = (name: string, rules: Rule[]): KObj => ({
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: { name, ...structuredClone(BOOTSTRAP_META) },
    rules,
  });
  const binding = (name: string, groups: string[]): KObj => ({
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, ...structuredClone(BOOTSTRAP_META) },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
    subjects: groups.map((g) => ({ apiGroup: RBAC_GROUP, kind: 'Group', name: g })),
  });
  const health = ['/livez', '/readyz', '/healthz', '/version', '/version/'];
  return [
    role('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    role('system:discovery', [
      {
        nonResourceURLs: [...health, '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'],
        verbs: ['get'],
      },
    ]),
    role('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
    ]),
    role('system:public-info-viewer', [{ nonResourceURLs: health, verbs: ['get'] }]),
    binding('cluster-admin', [SYSTEM_MASTERS]),
    binding('system:discovery', [SYSTEM_AUTHENTICATED]),
    binding('system:basic-user', [SYSTEM_AUTHENTICATED]),
    binding('system:public-info-viewer', [SYSTEM_AUTHENTICATED, SYSTEM_UNAUTHENTICATED]),
  ];
}
