import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { apiError, http, start, widget } from './helpers.js';

let srv: FakeApiServer;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let custom: CustomObjectsApi;

beforeAll(async () => {
  ({ srv, kc } = await start({ prometheusOperator: true }));
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
});
afterAll(() => srv.stop());

const deployment = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: 'nginx:1' }] },
    },
  },
});

describe('discovery', () => {
  it('serves /version, groups, resources with status subresources and short names', async () => {
    expect((await http(srv, 'GET', '/version')).json.gitVersion).toMatch(/^v1\./);
    const groups = (await http(srv, 'GET', '/apis')).json.groups.map((g: any) => g.name);
    for (const g of [
      'apps',
      'batch',
      'policy',
      'autoscaling',
      'networking.k8s.io',
      'coordination.k8s.io',
      'events.k8s.io',
      'monitoring.coreos.com',
      'example.test',
    ]) {
      expect(groups).toContain(g);
    }
    const res = (await http(srv, 'GET', '/apis/apps/v1')).json.resources;
    const dep = res.find((r: any) => r.name === 'deployments');
    expect(dep).toMatchObject({ namespaced: true, kind: 'Deployment', shortNames: ['deploy'] });
    expect(dep.verbs).toEqual(
      expect.arrayContaining(['create', 'get', 'list', 'watch', 'patch', 'update', 'delete']),
    );
    expect(res.some((r: any) => r.name === 'deployments/status')).toBe(true);
    const w = (await http(srv, 'GET', '/apis/example.test/v1')).json.resources;
    expect(w.map((r: any) => r.name)).toEqual(['widgets', 'widgets/status']);
    expect((await http(srv, 'GET', '/apis/nope.example/v1')).status).toBe(404);
  });

  it('serves monitoring.coreos.com only when its CRDs are installed', async () => {
    const { srv: bare } = await start();
    try {
      expect((await http(bare, 'GET', '/apis/monitoring.coreos.com/v1')).status).toBe(404);
      expect(
        (await http(srv, 'GET', '/apis/monitoring.coreos.com/v1')).json.resources.map((r: any) => r.name),
      ).toEqual(['servicemonitors', 'prometheusrules']);
    } finally {
      await bare.stop();
    }
  });
});

describe('create / get / update', () => {
  it('assigns uid, creationTimestamp, generation and a global increasing resourceVersion', async () => {
    const a = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'rv-a' }, data: { k: 'v' } },
    });
    const b = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('rv-b') });
    expect(a.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(Number(b.metadata!.resourceVersion)).toBeGreaterThan(Number(a.metadata!.resourceVersion));
    expect(b.metadata?.generation).toBe(1);
    expect(a.metadata?.managedFields?.[0]?.operation).toBe('Update');
  });

  it('answers 409 AlreadyExists on duplicate create and 404 NotFound as kind: Status', async () => {
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } });
    const s = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } }),
      409,
    );
    expect(s).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'AlreadyExists',
      code: 409,
      message: 'configmaps "dup" already exists',
    });
    const nf = await apiError(apps.readNamespacedDeployment({ name: 'missing', namespace: 'default' }), 404);
    expect(nf).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'deployments.apps "missing" not found',
      details: { name: 'missing', group: 'apps', kind: 'deployments' },
    });
    const ns = await apiError(
      core.createNamespacedConfigMap({ namespace: 'no-such-ns', body: { metadata: { name: 'x' } } }),
      404,
    );
    expect(ns.message).toBe('namespaces "no-such-ns" not found');
  });

  it('rejects a stale resourceVersion with 409 Conflict and bumps nothing on a no-op update', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'stale' }, data: { a: '1' } },
    });
    const updated = await core.replaceNamespacedConfigMap({
      name: 'stale',
      namespace: 'default',
      body: { ...cm, data: { a: '2' } },
    });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(cm.metadata!.resourceVersion));
    const s = await apiError(
      core.replaceNamespacedConfigMap({
        name: 'stale',
        namespace: 'default',
        body: { ...cm, data: { a: '3' } },
      }),
      409,
    );
    expect(s.reason).toBe('Conflict');
    expect(s.message).toContain('the object has been modified');
    const same = await core.replaceNamespacedConfigMap({
      name: 'stale',
      namespace: 'default',
      body: updated,
    });
    expect(same.metadata!.resourceVersion).toBe(updated.metadata!.resourceVersion);
  });

  it('changes generation on spec changes only', async () => {
    const d = await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('gen') });
    const labelled = await apps.replaceNamespacedDeployment({
      name: 'gen',
      namespace: 'default',
      body: { ...d, metadata: { ...d.metadata, labels: { app: 'gen', x: 'y' } } },
    });
    expect(labelled.metadata!.generation).toBe(1);
    const scaled = await apps.replaceNamespacedDeployment({
      name: 'gen',
      namespace: 'default',
      body: { ...labelled, spec: { ...labelled.spec!, replicas: 3 } },
    });
    expect(scaled.metadata!.generation).toBe(2);
  });

  it('main endpoint ignores status; /status changes only status', async () => {
    const d = await apps.createNamespacedDeployment({
      namespace: 'default',
      body: { ...deployment('st'), status: { replicas: 9 } } as any,
    });
    expect(d.status?.replicas).toBeUndefined();
    const withStatus = await apps.replaceNamespacedDeploymentStatus({
      name: 'st',
      namespace: 'default',
      body: { ...d, spec: { ...d.spec!, replicas: 5 }, status: { replicas: 1, readyReplicas: 1 } },
    });
    expect(withStatus.status?.readyReplicas).toBe(1);
    expect(withStatus.spec?.replicas).toBe(1);
    expect(withStatus.metadata!.generation).toBe(1);
    const main = await apps.replaceNamespacedDeployment({
      name: 'st',
      namespace: 'default',
      body: { ...withStatus, status: { replicas: 0 } },
    });
    expect(main.status?.readyReplicas).toBe(1);
    expect(main.metadata!.resourceVersion).toBe(withStatus.metadata!.resourceVersion);
  });

  it('stores Secret stringData as base64 data', async () => {
    const s = await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'sd' }, data: { a: 'YQ==' }, stringData: { b: 'bee' } },
    });
    expect(s.data).toEqual({ a: 'YQ==', b: Buffer.from('bee').toString('base64') });
    expect(s.stringData).toBeUndefined();
    expect(s.type).toBe('Opaque');
  });

  it('rejects invalid names with 422 naming the field', async () => {
    const s = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'Bad_Name' } } }),
      422,
    );
    expect(s.reason).toBe('Invalid');
    expect(s.details.causes[0].field).toBe('metadata.name');
  });
});

describe('list', () => {
  beforeAll(async () => {
    for (const [name, labels] of [
      ['sel-a', { tier: 'web', env: 'prod' }],
      ['sel-b', { tier: 'db', env: 'prod' }],
      ['sel-c', { tier: 'web' }],
    ] as const) {
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { name, labels: { ...labels, suite: 'sel' } } },
      });
    }
  });
  const names = async (labelSelector?: string, fieldSelector?: string) =>
    (await core.listNamespacedConfigMap({ namespace: 'default', labelSelector, fieldSelector })).items
      .map((i) => i.metadata!.name)
      .filter((n) => n!.startsWith('sel-'));

  it('filters by label selectors', async () => {
    expect(await names('suite=sel,tier=web')).toEqual(['sel-a', 'sel-c']);
    expect(await names('suite==sel,tier!=web')).toEqual(['sel-b']);
    expect(await names('tier in (db, web),env')).toEqual(['sel-a', 'sel-b']);
    expect(await names('suite=sel,env notin (prod)')).toEqual(['sel-c']);
    expect(await names('suite=sel,!env')).toEqual(['sel-c']);
  });

  it('filters by field selectors and rejects unsupported ones', async () => {
    expect(await names(undefined, 'metadata.name=sel-b')).toEqual(['sel-b']);
    expect(await names('suite=sel', 'metadata.name!=sel-b')).toEqual(['sel-a', 'sel-c']);
    const s = await apiError(
      core.listNamespacedConfigMap({ namespace: 'default', fieldSelector: 'data.x=1' }),
      400,
    );
    expect(s.message).toContain('field label not supported: data.x');
  });

  it('returns the list resourceVersion and paginates with limit/continue', async () => {
    const first = await core.listNamespacedConfigMap({
      namespace: 'default',
      labelSelector: 'suite=sel',
      limit: 2,
    });
    expect(first.items).toHaveLength(2);
    expect(first.metadata?._continue).toBeTruthy();
    const second = await core.listNamespacedConfigMap({
      namespace: 'default',
      labelSelector: 'suite=sel',
      limit: 2,
      _continue: first.metadata!._continue,
    });
    expect(second.items.map((i) => i.metadata!.name)).toEqual(['sel-c']);
    expect(Number(first.metadata!.resourceVersion)).toBeGreaterThan(0);
    const tooNew = await http(
      srv,
      'GET',
      `/api/v1/namespaces/default/configmaps?resourceVersion=${Number(first.metadata!.resourceVersion) + 1_000_000}`,
    );
    expect(tooNew.status).toBe(504);
  });

  it('lists across namespaces and selects Events by involvedObject', async () => {
    await core.createNamespace({ body: { metadata: { name: 'other' } } });
    await core.createNamespacedEvent({
      namespace: 'other',
      body: {
        metadata: { name: 'e1' },
        involvedObject: { kind: 'Widget', name: 'w', namespace: 'other', uid: 'u1' },
        reason: 'Made',
        message: 'm',
        type: 'Normal',
      },
    });
    await core.createNamespacedEvent({
      namespace: 'other',
      body: {
        metadata: { name: 'e2' },
        involvedObject: { kind: 'Widget', name: 'v', namespace: 'other', uid: 'u2' },
        reason: 'Made',
        message: 'm',
        type: 'Normal',
      },
    });
    const ev = await core.listEventForAllNamespaces({
      fieldSelector: 'involvedObject.name=w,involvedObject.kind=Widget,involvedObject.uid=u1',
    });
    expect(ev.items.map((e) => e.metadata!.name)).toEqual(['e1']);
  });
});

describe('custom resources', () => {
  it('defaults, prunes unknown fields and validates against the CRD schema', async () => {
    const w: any = await custom.createNamespacedCustomObject({
      group: 'example.test',
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      body: widget('cr1', {
        size: 2,
        port: 'http',
        tiers: [{ name: 'a' }],
        bogus: 1,
        extra: { anything: { goes: true } },
      }),
    });
    expect(w.spec).toEqual({
      size: 2,
      port: 'http',
      color: 'red',
      tiers: [{ name: 'a', replicas: 1 }],
      extra: { anything: { goes: true } },
    });
    const bad = await apiError(
      custom.createNamespacedCustomObject({
        group: 'example.test',
        version: 'v1',
        namespace: 'default',
        plural: 'widgets',
        body: widget('cr2', { size: 20, color: 'pink' }),
      }),
      422,
    );
    expect(bad.reason).toBe('Invalid');
    const fields = bad.details.causes.map((c: any) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['spec.size', 'spec.color']));
    expect(bad.message).toContain('spec.color: Unsupported value: "pink"');
    const missing = await apiError(
      custom.createNamespacedCustomObject({
        group: 'example.test',
        version: 'v1',
        namespace: 'default',
        plural: 'widgets',
        body: widget('cr3', {}),
      }),
      422,
    );
    expect(missing.details.causes[0]).toMatchObject({ field: 'spec.size', message: 'Required value' });
    const intPort = await http(
      srv,
      'POST',
      '/apis/example.test/v1/namespaces/default/widgets',
      widget('cr4', { size: 1, port: 8080 }),
    );
    expect(intPort.status).toBe(201);
    const boolPort = await http(
      srv,
      'POST',
      '/apis/example.test/v1/namespaces/default/widgets',
      widget('cr5', { size: 1, port: true }),
    );
    expect(boolPort.status).toBe(422);
  });

  it('rejects unknown fields under fieldValidation=Strict', async () => {
    const r = await http(
      srv,
      'POST',
      '/apis/example.test/v1/namespaces/default/widgets?fieldValidation=Strict',
      widget('strict', { size: 1, nope: 1 }),
    );
    expect(r.status).toBe(400);
    expect(r.json.message).toContain('unknown field "spec.nope"');
  });

  it('serves a CRD created through the API and stops serving it when deleted', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'gadgets.example.test' },
      spec: {
        group: 'example.test',
        scope: 'Cluster',
        names: { kind: 'Gadget', plural: 'gadgets' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        ],
      },
    };
    const created = await http(srv, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect(created.status).toBe(201);
    expect(created.json.status.conditions.find((c: any) => c.type === 'Established').status).toBe('True');
    const g = await http(srv, 'POST', '/apis/example.test/v1/gadgets', {
      apiVersion: 'example.test/v1',
      kind: 'Gadget',
      metadata: { name: 'g1' },
      anything: 1,
    });
    expect(g.status).toBe(201);
    expect(g.json.anything).toBe(1);
    expect(
      (
        await http(
          srv,
          'DELETE',
          '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.test',
        )
      ).status,
    ).toBe(200);
    expect((await http(srv, 'GET', '/apis/example.test/v1/gadgets/g1')).status).toBe(404);
  });
});

describe('more API surface', () => {
  it('serves events.k8s.io/v1 Events as a view of core/v1 Events', async () => {
    const r = await http(srv, 'POST', '/apis/events.k8s.io/v1/namespaces/default/events', {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'ev-v1' },
      regarding: {
        apiVersion: 'example.test/v1',
        kind: 'Widget',
        name: 'wx',
        namespace: 'default',
        uid: 'uid-wx',
      },
      note: 'it happened',
      reason: 'Happened',
      type: 'Warning',
      action: 'Reconcile',
      reportingController: 'example.test/widget-operator',
      reportingInstance: 'pod-1',
      eventTime: '2026-01-01T00:00:00.000000Z',
    });
    expect(r.status).toBe(201);
    expect(r.json.apiVersion).toBe('events.k8s.io/v1');
    const core = await http(
      srv,
      'GET',
      '/api/v1/namespaces/default/events?fieldSelector=involvedObject.uid%3Duid-wx',
    );
    expect(core.json.items).toHaveLength(1);
    expect(core.json.items[0]).toMatchObject({
      apiVersion: 'v1',
      message: 'it happened',
      reportingComponent: 'example.test/widget-operator',
      involvedObject: { name: 'wx' },
    });
    const v1 = await http(
      srv,
      'GET',
      '/apis/events.k8s.io/v1/namespaces/default/events?fieldSelector=regarding.name%3Dwx',
    );
    expect(v1.json.items[0]).toMatchObject({ note: 'it happened', regarding: { uid: 'uid-wx' } });
  });

  it('serves the scale subresource of Deployments', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('scaled', 2) });
    const s = await apps.readNamespacedDeploymentScale({ name: 'scaled', namespace: 'default' });
    expect(s.spec?.replicas).toBe(2);
    expect(s.status?.selector).toBe('app=scaled');
    const p = await http(
      srv,
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/scaled/scale',
      { spec: { replicas: 5 } },
      'application/merge-patch+json',
    );
    expect(p.json).toMatchObject({ kind: 'Scale', spec: { replicas: 5 } });
    const d = await apps.readNamespacedDeployment({ name: 'scaled', namespace: 'default' });
    expect(d.spec?.replicas).toBe(5);
    expect(d.metadata?.generation).toBe(2);
  });

  it('renders Tables with printer columns and the object metadata', async () => {
    await custom.createNamespacedCustomObject({
      group: 'example.test',
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      body: widget('tbl', { size: 7 }),
    });
    const t = await http(
      srv,
      'GET',
      '/apis/example.test/v1/namespaces/default/widgets/tbl',
      undefined,
      'application/json',
      {
        Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
      },
    );
    expect(t.json.kind).toBe('Table');
    expect(t.json.columnDefinitions.map((c: any) => c.name)).toEqual([
      'Name',
      'Size',
      'Phase',
      'Ready',
      'Age',
    ]);
    expect(t.json.rows[0].cells.slice(0, 3)).toEqual(['tbl', 7, null]);
    expect(t.json.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'tbl' } });
  });
});

describe('CEL validation rules (x-kubernetes-validations subset)', () => {
  const W = '/apis/example.test/v1/namespaces/default/widgets';
  it('evaluates rules on create, including macros, and transition rules on update only', async () => {
    const blue = await http(srv, 'POST', W, widget('cel-blue', { size: 2, color: 'blue' }));
    expect(blue.status).toBe(422);
    expect(blue.json.details.causes[0]).toMatchObject({
      field: 'spec',
      message: 'Invalid value: "object": blue widgets need size >= 5',
    });
    expect((await http(srv, 'POST', W, widget('cel-blue-ok', { size: 5, color: 'blue' }))).status).toBe(201);
    const args = await http(
      srv,
      'POST',
      W,
      widget('cel-args', { size: 1, args: ['short', 'much-too-long-argument'] }),
    );
    expect(args.status).toBe(422);
    expect(args.json.message).toContain(
      'spec.args: Invalid value: "array": args must be at most 10 characters',
    );
    expect((await http(srv, 'POST', W, widget('cel-zone', { size: 1, zone: 'a' }))).status).toBe(201);
    const moved = await http(
      srv,
      'PATCH',
      `${W}/cel-zone`,
      { spec: { zone: 'b' } },
      'application/merge-patch+json',
    );
    expect(moved.status).toBe(422);
    expect(moved.json.message).toContain('spec.zone: Invalid value: "string": zone is immutable');
    expect(
      (await http(srv, 'PATCH', `${W}/cel-zone`, { spec: { size: 2 } }, 'application/merge-patch+json'))
        .status,
    ).toBe(200);
  });
});

describe('the project CRD (crds/flashsale.dev_flashsalestacks.yaml)', () => {
  it('loads with every CEL rule evaluable, defaults and accepts examples/minimal.yaml, rejects a bad name', async () => {
    const { readFileSync } = await import('node:fs');
    const YAML = (await import('yaml')).default;
    const crdPath = new URL('../../crds/flashsale.dev_flashsalestacks.yaml', import.meta.url);
    const { srv: s2 } = await start({ crdFiles: [crdPath.pathname] });
    try {
      const crd = YAML.parse(readFileSync(crdPath, 'utf8'));
      const version = crd.spec.versions.find((v: any) => v.storage).name;
      const t = s2.registry.type('flashsale.dev', version, 'flashsalestacks')!;
      expect(t.shortNames).toContain('fss');
      expect(s2.registry.skippedCelRules()).toEqual([]);
      const minimal = YAML.parse(
        readFileSync(new URL('../../examples/minimal.yaml', import.meta.url), 'utf8'),
      );
      const base = `/apis/flashsale.dev/${version}/namespaces/default/flashsalestacks`;
      const ok = await http(s2, 'POST', base, minimal);
      expect(ok.status).toBe(201);
      expect(Object.keys(ok.json.spec).length).toBeGreaterThan(0);
      const bad = await http(s2, 'POST', base, { ...minimal, metadata: { name: 'x'.repeat(41) } });
      expect(bad.status).toBe(422);
    } finally {
      await s2.stop();
    }
  });
});

describe('CEL subset evaluator', () => {
  it('skips and reports rules it cannot evaluate instead of pretending', async () => {
    const { CrdSchema } = await import('../support/schema.js');
    const warn = console.warn;
    console.warn = () => {};
    try {
      const s = new CrdSchema({
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            'x-kubernetes-validations': [
              { rule: "quantity(self.mem).isGreaterThan(quantity('1Gi'))" },
              { rule: 'self.a + 1 == 3' },
            ],
          },
        },
      });
      expect(s.skippedRules).toHaveLength(1);
      expect(s.skippedRules[0]).toMatchObject({ path: 'spec', error: 'unsupported CEL function quantity()' });
      expect(s.validateRules({ spec: { a: 2 } }, undefined)).toEqual([]);
      expect(s.validateRules({ spec: { a: 3 } }, undefined)).toHaveLength(1);
      const err = s.validateRules({ spec: {} }, undefined);
      expect(err[0]!.message).toContain('evaluation error: no such key: a');
    } finally {
      console.warn = warn;
    }
  });
});
