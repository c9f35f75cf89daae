import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { FakeApiServer } from '../support/server.js';
import { http, start, widget } from './helpers.js';

let srv: FakeApiServer;
beforeAll(async () => {
  ({ srv } = await start());
});
afterAll(() => srv.stop());

const DEP = '/apis/apps/v1/namespaces/default/deployments';
const W = '/apis/example.test/v1/namespaces/default/widgets';
const MERGE = 'application/merge-patch+json';
const JSONP = 'application/json-patch+json';
const SMP = 'application/strategic-merge-patch+json';
const APPLY = 'application/apply-patch+yaml';

const dep = (name: string, containers: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers } },
    ...extra,
  },
});

describe('merge and JSON patch', () => {
  it('applies RFC 7386 merge patches (null deletes) and RFC 6902 JSON patches with test', async () => {
    await http(srv, 'POST', W, widget('mp', { size: 1, labels: { a: '1', b: '2' } }));
    const m = await http(srv, 'PATCH', `${W}/mp`, { spec: { size: 2, labels: { a: null, c: '3' } } }, MERGE);
    expect(m.status).toBe(200);
    expect(m.json.spec.labels).toEqual({ b: '2', c: '3' });
    expect(m.json.metadata.generation).toBe(2);
    const j = await http(
      srv,
      'PATCH',
      `${W}/mp`,
      [
        { op: 'test', path: '/spec/size', value: 2 },
        { op: 'replace', path: '/spec/size', value: 4 },
        { op: 'add', path: '/spec/tags', value: ['x'] },
      ],
      JSONP,
    );
    expect(j.status).toBe(200);
    expect(j.json.spec).toMatchObject({ size: 4, tags: ['x'] });
    const failed = await http(
      srv,
      'PATCH',
      `${W}/mp`,
      [
        { op: 'test', path: '/spec/size', value: 99 },
        { op: 'replace', path: '/spec/size', value: 5 },
      ],
      JSONP,
    );
    expect(failed.status).toBe(422);
    expect((await http(srv, 'GET', `${W}/mp`)).json.spec.size).toBe(4);
  });

  it('honours a resourceVersion precondition inside a patch', async () => {
    const c = await http(srv, 'POST', W, widget('rvp', { size: 1 }));
    await http(srv, 'PATCH', `${W}/rvp`, { spec: { size: 2 } }, MERGE);
    const stale = await http(
      srv,
      'PATCH',
      `${W}/rvp`,
      { metadata: { resourceVersion: c.json.metadata.resourceVersion }, spec: { size: 3 } },
      MERGE,
    );
    expect(stale.status).toBe(409);
  });

  it('answers 415 for strategic merge on custom resources', async () => {
    await http(srv, 'POST', W, widget('smp', { size: 1 }));
    const r = await http(srv, 'PATCH', `${W}/smp`, { spec: { size: 2 } }, SMP);
    expect(r.status).toBe(415);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
  });
});

describe('strategic merge patch (built-ins)', () => {
  it('merges containers and env by name, ports by containerPort, and honours $patch: delete', async () => {
    await http(
      srv,
      'POST',
      DEP,
      dep('smp', [
        {
          name: 'app',
          image: 'a:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
          ports: [{ containerPort: 80 }],
        },
        { name: 'side', image: 's:1' },
      ]),
    );
    const r = await http(
      srv,
      'PATCH',
      `${DEP}/smp`,
      {
        metadata: { labels: { added: 'yes' } },
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'a:2',
                  env: [
                    { name: 'B', value: '3' },
                    { name: 'C', value: '4' },
                  ],
                  ports: [{ containerPort: 443 }],
                },
                { name: 'side', $patch: 'delete' },
              ],
            },
          },
        },
      },
      SMP,
    );
    expect(r.status).toBe(200);
    const cs = r.json.spec.template.spec.containers;
    expect(cs.map((c: any) => c.name)).toEqual(['app']);
    expect(cs[0].image).toBe('a:2');
    expect(cs[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '3' },
      { name: 'C', value: '4' },
    ]);
    expect(cs[0].ports.map((p: any) => p.containerPort)).toEqual([80, 443]);
    expect(r.json.metadata.labels).toEqual({ added: 'yes' });
  });
});

describe('server-side apply', () => {
  const applyDep = (name: string, body: unknown, manager?: string, force = false) =>
    http(
      srv,
      'PATCH',
      `${DEP}/${name}?${manager ? `fieldManager=${manager}` : ''}${force ? '&force=true' : ''}`,
      YAML.stringify(body),
      APPLY,
    );

  it('requires a fieldManager (422 as PatchOptions validation), and force only on apply', async () => {
    const r = await applyDep('ssa0', dep('ssa0', [{ name: 'app', image: 'a:1' }]));
    expect(r.status).toBe(422);
    expect(r.json.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    await http(srv, 'POST', W, widget('forcemerge', { size: 1 }));
    const f = await http(srv, 'PATCH', `${W}/forcemerge?force=true`, { spec: { size: 2 } }, MERGE);
    expect(f.status).toBe(422);
    expect(f.json.message).toContain('force: Forbidden: may not be specified for non-apply patch');
  });

  it('creates a missing object, tracks fields per manager, and does not bump on a no-op apply', async () => {
    const body = dep('ssa1', [{ name: 'app', image: 'a:1', ports: [{ containerPort: 80 }] }]);
    const c = await applyDep('ssa1', body, 'op');
    expect(c.status).toBe(201);
    const mf = c.json.metadata.managedFields;
    expect(mf).toHaveLength(1);
    expect(mf[0]).toMatchObject({ manager: 'op', operation: 'Apply', fieldsType: 'FieldsV1' });
    expect(
      mf[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}']['f:ports'],
    ).toHaveProperty('k:{"containerPort":80,"protocol":"TCP"}');
    const again = await applyDep('ssa1', body, 'op');
    expect(again.json.metadata.resourceVersion).toBe(c.json.metadata.resourceVersion);
  });

  it('reports conflicts with another manager (409) unless forced, and shares equal values', async () => {
    await applyDep('ssa2', dep('ssa2', [{ name: 'app', image: 'a:1' }]), 'op');
    const same = await applyDep(
      'ssa2',
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa2' }, spec: { replicas: 1 } },
      'hpa',
    );
    expect(same.status).toBe(200);
    const conflict = await applyDep(
      'ssa2',
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa2' }, spec: { replicas: 5 } },
      'hpa',
    );
    expect(conflict.status).toBe(409);
    expect(conflict.json.reason).toBe('Conflict');
    expect(conflict.json.message).toContain('conflict with "op"');
    expect(conflict.json.details.causes[0]).toMatchObject({
      reason: 'FieldManagerConflict',
      field: '.spec.replicas',
    });
    const forced = await applyDep(
      'ssa2',
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ssa2' }, spec: { replicas: 5 } },
      'hpa',
      true,
    );
    expect(forced.status).toBe(200);
    expect(forced.json.spec.replicas).toBe(5);
    const op = forced.json.metadata.managedFields.find((e: any) => e.manager === 'op');
    expect(op.fieldsV1['f:spec']).not.toHaveProperty('f:replicas');
    // op applies again without replicas: the field stays (hpa owns it)
    const reapply = dep('ssa2', [{ name: 'app', image: 'a:1' }]);
    delete (reapply.spec as any).replicas;
    const r = await applyDep('ssa2', reapply, 'op');
    expect(r.json.spec.replicas).toBe(5);
  });

  it('merges listType=map lists by key and removes fields a manager stops applying', async () => {
    await applyDep(
      'ssa3',
      dep('ssa3', [
        {
          name: 'app',
          image: 'a:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
        },
      ]),
      'op',
    );
    await applyDep(
      'ssa3',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa3' },
        spec: { template: { spec: { containers: [{ name: 'sidecar', image: 's:1' }] } } },
      },
      'other',
    );
    const r = await applyDep(
      'ssa3',
      dep('ssa3', [{ name: 'app', image: 'a:1', env: [{ name: 'A', value: '1' }] }]),
      'op',
    );
    const cs = r.json.spec.template.spec.containers;
    expect(cs.map((c: any) => c.name).sort()).toEqual(['app', 'sidecar']);
    expect(cs.find((c: any) => c.name === 'app').env).toEqual([{ name: 'A', value: '1' }]);
  });

  it('keeps a list item another manager still owns part of when the applier drops it', async () => {
    await applyDep(
      'ssa4',
      dep('ssa4', [
        {
          name: 'app',
          image: 'a:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
        },
      ]),
      'op',
    );
    await applyDep(
      'ssa4',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa4' },
        spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'B', value: '2' }] }] } } },
      },
      'other',
    );
    const r = await applyDep(
      'ssa4',
      dep('ssa4', [{ name: 'app', image: 'a:1', env: [{ name: 'A', value: '1' }] }]),
      'op',
    );
    expect(r.json.spec.template.spec.containers[0].env).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
  });

  it('applies to custom resources using the schema list types, and to /status', async () => {
    const w = (spec: unknown) =>
      YAML.stringify({ apiVersion: 'example.test/v1', kind: 'Widget', metadata: { name: 'ssaw' }, spec });
    await http(
      srv,
      'PATCH',
      `${W}/ssaw?fieldManager=a`,
      w({ size: 1, tiers: [{ name: 'x', image: 'i' }], tags: ['t1'] }),
      APPLY,
    );
    const r = await http(
      srv,
      'PATCH',
      `${W}/ssaw?fieldManager=b`,
      w({ size: 1, tiers: [{ name: 'y' }], tags: ['t2'] }),
      APPLY,
    );
    expect(r.status).toBe(200);
    expect(r.json.spec.tiers.map((t: any) => t.name).sort()).toEqual(['x', 'y']);
    expect(r.json.spec.tags.sort()).toEqual(['t1', 't2']);
    const st = await http(
      srv,
      'PATCH',
      `${W}/ssaw/status?fieldManager=ctl`,
      YAML.stringify({
        apiVersion: 'example.test/v1',
        kind: 'Widget',
        metadata: { name: 'ssaw' },
        status: { phase: 'Ready' },
        spec: { size: 9 },
      }),
      APPLY,
    );
    expect(st.status).toBe(200);
    expect(st.json.status.phase).toBe('Ready');
    expect(st.json.spec.size).toBe(1);
  });
});
