/**
 * The stand-in authenticates and authorises like a kube-apiserver with --authorization-mode=RBAC: bearer
 * tokens name users and ServiceAccounts, RBAC is evaluated from the stored roles and bindings, and the checks
 * a real server makes inside writes (create-on-apply, escalation, bind, OwnerReferencesPermissionEnforcement)
 * refuse with the real messages.
 */
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { request } from '../support/tls.js';
import { apiError, http, start } from './helpers.js';

let srv: FakeApiServer;

beforeAll(async () => {
  // 1.32+ messages (a refused create-on-apply names the user and verb); 1.28's is tested on its own below.
  ({ srv } = await start({ kubernetesVersion: '1.33' }));
});
afterAll(() => srv.stop());

const SA_GROUPS = (ns: string) => [
  'system:serviceaccounts',
  `system:serviceaccounts:${ns}`,
  'system:authenticated',
];

/** A new ServiceAccount in `default` bound to a Role with `rules` (none: no Role); returns its client config. */
async function serviceAccount(name: string, rules: Record<string, unknown>[] = []): Promise<KubeConfig> {
  expect(
    (await http(srv, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name } })).status,
  ).toBe(201);
  if (rules.length) await grant(name, rules);
  const kc = new KubeConfig();
  kc.loadFromFile(srv.writeKubeconfig({ serviceAccount: { namespace: 'default', name } }));
  return kc;
}

/** A Role with `rules` in `default`, bound to the ServiceAccount (as the admin). */
async function grant(sa: string, rules: Record<string, unknown>[], name = `${sa}-role`): Promise<void> {
  const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces/default';
  expect((await http(srv, 'POST', `${rbac}/roles`, { metadata: { name }, rules })).status).toBe(201);
  const binding = {
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'default' }],
  };
  expect((await http(srv, 'POST', `${rbac}/rolebindings`, binding)).status).toBe(201);
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, Accept: 'application/json' });

describe('authentication', () => {
  it('answers 401 Unauthorized, as a real server does, without a token and with an unknown one', async () => {
    for (const headers of [{ Accept: 'application/json' }, bearer('not-a-token')]) {
      const r = await request(`${srv.url}/api/v1/namespaces`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers['content-type']).toBe('application/json');
      expect(JSON.parse(r.body.toString())).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    expect((await request(`${srv.url}/version`)).status).toBe(401);
  });

  it('names a ServiceAccount token system:serviceaccount:<ns>:<name>, and stops accepting it once the ServiceAccount is gone', async () => {
    await serviceAccount('whoami');
    const token = srv.serviceAccountToken('default', 'whoami');
    const r = await request(`${srv.url}/api/v1/namespaces/default/pods`, { headers: bearer(token) });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body.toString()).message).toContain('User "system:serviceaccount:default:whoami"');
    await http(srv, 'DELETE', '/api/v1/namespaces/default/serviceaccounts/whoami');
    expect(
      (await request(`${srv.url}/api/v1/namespaces/default/pods`, { headers: bearer(token) })).status,
    ).toBe(401);
    expect(() => srv.serviceAccountToken('default', 'nobody')).toThrow(/serviceaccounts "nobody" not found/);
  });

  it('lets any authenticated user use discovery, /version and /openapi, but nothing else', async () => {
    srv.addUser('plain-user-token', { name: 'jane', groups: ['developers'] });
    for (const p of ['/version', '/api', '/api/v1', '/apis', '/apis/apps/v1', '/openapi/v3', '/healthz']) {
      expect((await request(`${srv.url}${p}`, { headers: bearer('plain-user-token') })).status, p).toBe(200);
    }
    const r = await request(`${srv.url}/apis/apps/v1/deployments`, { headers: bearer('plain-user-token') });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body.toString()).message).toBe(
      'deployments.apps is forbidden: User "jane" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
    const path = await request(`${srv.url}/metrics`, { headers: bearer('plain-user-token') });
    expect(JSON.parse(path.body.toString()).message).toBe(
      'forbidden: User "jane" cannot get path "/metrics"',
    );
  });

  it('serves anonymous requests as system:anonymous when asked to, like --anonymous-auth=true', async () => {
    const { srv: anon } = await start({ anonymous: true });
    try {
      expect((await request(`${anon.url}/version`)).status).toBe(200); // system:public-info-viewer
      const r = await request(`${anon.url}/api`);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body.toString()).message).toBe(
        'forbidden: User "system:anonymous" cannot get path "/api"',
      );
    } finally {
      await anon.stop();
    }
  });
});

describe('RBAC authorisation', () => {
  it('refuses a ServiceAccount without rights with the full Forbidden Status', async () => {
    const kc = await serviceAccount('norights');
    const body = await apiError(
      kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({
        namespace: 'default',
        body: { metadata: { name: 'shop-api' } },
      }),
      403,
    );
    expect(body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'serviceaccounts is forbidden: User "system:serviceaccount:default:norights" cannot create resource "serviceaccounts" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { group: '', kind: 'serviceaccounts' },
      code: 403,
    });
  });

  it('derives verbs as the real server does: get, list, watch, subresources and resource names', async () => {
    await serviceAccount('reader', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['allowed'] },
      { apiGroups: ['apps'], resources: ['deployments/status'], verbs: ['get'] },
    ]);
    await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'allowed' } });
    await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'other' } });
    const token = srv.serviceAccountToken('default', 'reader');
    const get = (p: string) => request(`${srv.url}${p}`, { headers: bearer(token) });
    expect((await get('/api/v1/namespaces/default/configmaps/allowed')).status).toBe(200);
    const other = await get('/api/v1/namespaces/default/configmaps/other');
    expect(JSON.parse(other.body.toString()).message).toBe(
      'configmaps "other" is forbidden: User "system:serviceaccount:default:reader" cannot get resource "configmaps" in API group "" in the namespace "default"',
    );
    expect(
      JSON.parse((await get('/api/v1/namespaces/default/configmaps')).body.toString()).message,
    ).toContain('cannot list resource "configmaps"');
    expect(
      JSON.parse((await get('/api/v1/namespaces/default/configmaps?watch=true')).body.toString()).message,
    ).toContain('cannot watch resource "configmaps"');
    const status = await get('/apis/apps/v1/namespaces/default/deployments/web/status');
    expect(status.status).toBe(404); // allowed, and then not found
    expect(
      JSON.parse((await get('/apis/apps/v1/namespaces/default/deployments/web')).body.toString()).message,
    ).toContain('cannot get resource "deployments" in API group "apps"');
  });

  it('authorises a server-side apply that creates the object as create as well as patch', async () => {
    const kc = await serviceAccount('applier', [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['patch'] },
    ]);
    const core = kc.makeApiClient(CoreV1Api);
    const apply = (name: string) =>
      core.patchNamespacedConfigMap(
        {
          name,
          namespace: 'default',
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } },
          fieldManager: 'test',
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    const refused = await apiError(apply('new-cm'), 403);
    expect(refused.message).toBe(
      'configmaps "new-cm" is forbidden: User "system:serviceaccount:default:applier" cannot create resource "configmaps" in API group "" in the namespace "default"',
    );
    expect(srv.object('v1', 'ConfigMap', 'default', 'new-cm')).toBeUndefined();
    // An existing object is only patched: patch suffices.
    await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'existing-cm' } });
    await apply('existing-cm');
    expect(srv.object('v1', 'ConfigMap', 'default', 'existing-cm')?.data).toEqual({ a: '1' });
    await grant(
      'applier',
      [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }],
      'applier-create',
    );
    await apply('new-cm');
    expect(srv.object('v1', 'ConfigMap', 'default', 'new-cm')).toBeDefined();
  });

  it('before 1.32 a refused create-on-apply says only "is forbidden: " (what the operator logged on a 1.28 cluster)', async () => {
    const { srv: old } = await start({ kubernetesVersion: '1.28' });
    try {
      await http(old, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'op' } });
      const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces/default';
      await http(old, 'POST', `${rbac}/roles`, {
        metadata: { name: 'patch-only' },
        rules: [{ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['patch'] }],
      });
      await http(old, 'POST', `${rbac}/rolebindings`, {
        metadata: { name: 'patch-only' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'patch-only' },
        subjects: [{ kind: 'ServiceAccount', name: 'op', namespace: 'default' }],
      });
      const r = await request(
        `${old.url}/api/v1/namespaces/default/serviceaccounts/shop-api?fieldManager=op`,
        {
          method: 'PATCH',
          headers: {
            ...bearer(old.serviceAccountToken('default', 'op')),
            'Content-Type': 'application/apply-patch+yaml',
          },
          body: JSON.stringify({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'shop-api' } }),
        },
      );
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body.toString()).message).toBe('serviceaccounts "shop-api" is forbidden: ');
    } finally {
      await old.stop();
    }
  });

  it('evaluates aggregated ClusterRoles from the roles their selectors match', async () => {
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    await http(srv, 'POST', `${rbac}/clusterroles`, {
      metadata: { name: 'aggregate' },
      aggregationRule: {
        clusterRoleSelectors: [{ matchLabels: { 'example.test/aggregate-to': 'aggregate' } }],
      },
    });
    const kc = await serviceAccount('aggregated');
    await http(srv, 'POST', `${rbac}/namespaces/default/rolebindings`, {
      metadata: { name: 'aggregated' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aggregate' },
      subjects: [{ kind: 'ServiceAccount', name: 'aggregated' }],
    });
    const core = kc.makeApiClient(CoreV1Api);
    await apiError(core.listNamespacedSecret({ namespace: 'default' }), 403);
    await http(srv, 'POST', `${rbac}/clusterroles`, {
      metadata: { name: 'secret-reader', labels: { 'example.test/aggregate-to': 'aggregate' } },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list'] }],
    });
    expect((await core.listNamespacedSecret({ namespace: 'default' })).items).toBeDefined();
  });
});

describe('RBAC escalation prevention', () => {
  const rolesPath = '/apis/rbac.authorization.k8s.io/v1/namespaces/default';

  it('refuses a Role that grants what its creator does not hold, naming the missing rights', async () => {
    const kc = await serviceAccount('role-writer', [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['create'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
    ]);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const role = (name: string, rules: Record<string, unknown>[]) =>
      rbac.createNamespacedRole({
        namespace: 'default',
        body: { metadata: { name }, rules: rules as never },
      });
    await role('within', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]);
    const body = await apiError(
      role('beyond', [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
        { apiGroups: [''], resources: ['endpoints'], verbs: ['get', 'list'] },
      ]),
      403,
    );
    expect(body.message).toBe(
      `roles.rbac.authorization.k8s.io "beyond" is forbidden: user "system:serviceaccount:default:role-writer" (groups=${JSON.stringify(SA_GROUPS('default')).replaceAll(',', ' ')}) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["endpoints"], Verbs:["get" "list"]}`,
    );
    await grant(
      'role-writer',
      [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] }],
      'escalate',
    );
    await role('beyond', [{ apiGroups: [''], resources: ['endpoints'], verbs: ['get', 'list'] }]);
  });

  it('refuses a binding to a role with rights the binder lacks, unless it may bind that role', async () => {
    await http(srv, 'POST', `${rolesPath}/roles`, {
      metadata: { name: 'powerful' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }],
    });
    const kc = await serviceAccount('binder', [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
    ]);
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    const bind = (name: string) =>
      rbac.createNamespacedRoleBinding({
        namespace: 'default',
        body: {
          metadata: { name },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'powerful' },
          subjects: [{ kind: 'User', name: 'someone', apiGroup: 'rbac.authorization.k8s.io' }],
        },
      });
    expect((await apiError(bind('b1'), 403)).message).toMatch(
      /^rolebindings.rbac.authorization.k8s.io "b1" is forbidden: user "system:serviceaccount:default:binder" .* is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["secrets"\], Verbs:\["get"\]\}$/,
    );
    await grant(
      'binder',
      [
        {
          apiGroups: ['rbac.authorization.k8s.io'],
          resources: ['roles'],
          verbs: ['bind'],
          resourceNames: ['powerful'],
        },
      ],
      'may-bind',
    );
    await bind('b1');
  });
});

describe('OwnerReferencesPermissionEnforcement', () => {
  it('refuses blockOwnerDeletion on an owner whose finalizers the writer cannot update', async () => {
    const owner = await http(srv, 'POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'owner' },
    });
    const kc = await serviceAccount('child-writer', [
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    const core = kc.makeApiClient(CoreV1Api);
    const child = (name: string, blockOwnerDeletion: boolean) =>
      core.createNamespacedSecret({
        namespace: 'default',
        body: {
          metadata: {
            name,
            ownerReferences: [
              {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                name: 'owner',
                uid: owner.json.metadata.uid,
                blockOwnerDeletion,
              },
            ],
          },
        },
      });
    await child('not-blocking', false);
    expect((await apiError(child('blocking', true), 403)).message).toBe(
      `secrets "blocking" is forbidden: cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on: , <nil>`,
    );
    await grant(
      'child-writer',
      [{ apiGroups: [''], resources: ['configmaps/finalizers'], verbs: ['update'] }],
      'finalizers',
    );
    await child('blocking', true);
  });
});
