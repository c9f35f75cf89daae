/**
 * Authentication as kube-apiserver does it with bearer tokens: static tokens (like --token-auth-file) map to
 * users, minted ServiceAccount tokens map to `system:serviceaccount:<ns>:<name>` and are checked against the
 * ServiceAccount still existing (--service-account-lookup). Every authenticated user is also in
 * `system:authenticated`. A request without credentials is anonymous only when `anonymous` is on (the real
 * default; off here unless asked, like --anonymous-auth=false); a token that matches nothing is always 401.
 */
import { randomBytes } from 'node:crypto';
import { ApiError } from './errors.js';
import type { Store } from './store.js';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
}

/** The kube-apiserver's privileged group: it bypasses authorisation and RBAC escalation checks. */
export const SYSTEM_MASTERS = 'system:masters';
export const SYSTEM_AUTHENTICATED = 'system:authenticated';
export const SYSTEM_UNAUTHENTICATED = 'system:unauthenticated';

/** The user of the kubeconfig the server writes at start (kubeadm's admin.conf is a system:masters user too). */
export const ADMIN: UserInfo = { name: 'kubernetes-admin', groups: [SYSTEM_MASTERS, SYSTEM_AUTHENTICATED] };
export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: [SYSTEM_UNAUTHENTICATED] };

export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    ...(uid ? { uid } : {}),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, SYSTEM_AUTHENTICATED],
  };
}

/** The 401 every failed authentication gets (apiserver filters.Unauthorized → apierrors.NewUnauthorized). */
export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized', undefined, {
    'Cache-Control': 'no-cache, private',
  });
}

type Credential =
  { kind: 'user'; user: UserInfo } | { kind: 'serviceaccount'; namespace: string; name: string; uid: string };

export class Authenticator {
  private readonly credentials = new Map<string, Credential>();

  constructor(
    private readonly store: Store,
    readonly anonymous: boolean,
  ) {}

  /** A static token for a user; `system:authenticated` is added to its groups. */
  addUser(token: string, user: { name: string; uid?: string; groups?: string[] }): void {
    const groups = [...(user.groups ?? [])];
    if (!groups.includes(SYSTEM_AUTHENTICATED)) groups.push(SYSTEM_AUTHENTICATED);
    this.credentials.set(token, { kind: 'user', user: { ...user, groups } });
  }

  /** A new token for an existing ServiceAccount (as the TokenRequest API would mint); it stops working when the ServiceAccount is deleted. */
  mintServiceAccountToken(namespace: string, name: string): string {
    const sa = this.store.peek('/serviceaccounts', namespace, name);
    if (!sa)
      throw new Error(`serviceaccounts "${name}" not found in namespace "${namespace}": create it first`);
    const token = `sa-${randomBytes(24).toString('base64url')}`;
    this.credentials.set(token, { kind: 'serviceaccount', namespace, name, uid: sa.metadata.uid! });
    return token;
  }

  /** The user of a request's Authorization header; throws the real 401 when it names nobody. */
  authenticate(authorization: string | undefined): UserInfo {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!authorization) {
      if (this.anonymous) return ANONYMOUS;
      throw unauthorized();
    }
    const cred = m ? this.credentials.get(m[1]!) : undefined;
    if (!cred) throw unauthorized();
    if (cred.kind === 'user') return cred.user;
    const sa = this.store.peek('/serviceaccounts', cred.namespace, cred.name);
    if (!sa || sa.metadata.uid !== cred.uid) throw unauthorized();
    return serviceAccountUser(cred.namespace, cred.name, cred.uid);
  }
}
