/**
 * Discovery (/version, /api, /api/v1, /apis, /apis/<g>/<v>) and a minimal /openapi/v3: one document per
 * group-version whose PATCH operations declare the `fieldValidation` parameter, which is what kubectl checks
 * before relying on server-side field validation. /openapi/v2 answers 404 (kubectl then uses its compiled-in
 * types for client-side strategic merge and JSON merge patch for custom resources). Aggregated discovery is
 * not served: clients that ask for it get the legacy documents as application/json and fall back.
 */
import { createHash } from 'node:crypto';
import type { KubernetesVersion } from '../../src/kubernetes/version.js';
import type { ResourceType } from './resources.js';

const VERBS_COLLECTION = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** The /version document of the emulated version (1.28 → gitVersion v1.28.0-fake). */
export function versionInfo(v: KubernetesVersion): Record<string, string> {
  return {
    major: String(v.major),
    minor: String(v.minor),
    gitVersion: `v${v.major}.${v.minor}.0-fake`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function groupsOf(types: ResourceType[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const t of types) {
    if (!t.group) continue;
    const vs = m.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    m.set(t.group, vs);
  }
  return m;
}

export function apiVersions(): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  };
}

export function apiGroupList(types: ResourceType[]): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupsOf(types)].map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroup(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: vs, preferredVersion: vs[0] };
}

export function resourceList(types: ResourceType[], group: string, version: string): Record<string, unknown> {
  const resources: Record<string, unknown>[] = [];
  for (const t of types.filter((x) => x.group === group && x.version === version)) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs ?? VERBS_COLLECTION,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
      storageVersionHash: createHash('sha256').update(`${group}/${t.plural}`).digest('base64').slice(0, 11),
    });
    if (t.status) {
      resources.push({
        name: `${t.plural}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (t.scale) {
      resources.push({
        name: `${t.plural}/scale`,
        singularName: '',
        namespaced: t.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openApiV3Index(types: ResourceType[], serverMinor: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const seen = new Set<string>();
  for (const t of types) {
    const p = gvPath(t.group, t.version);
    if (seen.has(p)) continue;
    seen.add(p);
    const hash = createHash('sha256')
      .update(JSON.stringify(openApiV3Doc(types, t.group, t.version, serverMinor)))
      .digest('hex')
      .slice(0, 32);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
  }
  return { paths };
}

export function openApiV3Doc(
  types: ResourceType[],
  group: string,
  version: string,
  serverMinor: string,
): Record<string, unknown> | undefined {
  const ts = types.filter((t) => t.group === group && t.version === version);
  if (!ts.length) return undefined;
  const paths: Record<string, unknown> = {};
  const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  for (const t of ts) {
    const base = `/${gvPath(group, version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}/{name}`;
    const gvk = { group, version, kind: t.kind };
    const op = (action: string) => ({
      operationId: `${action}${t.kind}`,
      parameters: [
        param('dryRun'),
        param('fieldManager'),
        param('fieldValidation'),
        ...(action === 'patch' ? [param('force')] : []),
      ],
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    });
    paths[base] = { get: op('get'), put: op('put'), patch: op('patch'), delete: op('delete') };
    paths[base.replace('/{name}', '')] = { post: op('post'), get: op('list') };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: `v${serverMinor}.0-fake` },
    paths,
    components: { schemas: {} },
  };
}
