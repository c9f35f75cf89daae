import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { eventually, http, start, widget } from './helpers.js';

let srv: FakeApiServer;
beforeAll(async () => {
  ({ srv } = await start());
});
afterAll(() => srv.stop());

const W = '/apis/example.test/v1/namespaces/default/widgets';
const CM = '/api/v1/namespaces/default/configmaps';
const MERGE = 'application/merge-patch+json';

const ownedCm = (name: string, owner: any, block = false) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name,
    ownerReferences: [
      {
        apiVersion: 'example.test/v1',
        kind: 'Widget',
        name: owner.metadata.name,
        uid: owner.metadata.uid,
        controller: true,
        blockOwnerDeletion: block,
      },
    ],
  },
});

describe('finalizers', () => {
  it('sets deletionTimestamp, forbids new finalizers, and deletes when the last one is removed', async () => {
    await http(srv, 'POST', W, widget('fin', { size: 1 }, { finalizers: ['example.test/cleanup'] }));
    const d = await http(srv, 'DELETE', `${W}/fin`);
    expect(d.status).toBe(202);
    expect(d.json.metadata.deletionTimestamp).toBeTruthy();
    const stillThere = await http(srv, 'GET', `${W}/fin`);
    expect(stillThere.json.metadata.deletionTimestamp).toBe(d.json.metadata.deletionTimestamp);
    const add = await http(
      srv,
      'PATCH',
      `${W}/fin`,
      { metadata: { finalizers: ['example.test/cleanup', 'another'] } },
      MERGE,
    );
    expect(add.status).toBe(422);
    expect(add.json.message).toContain('no new finalizers can be added if the object is being deleted');
    const spec = await http(srv, 'PATCH', `${W}/fin`, { spec: { size: 2 } }, MERGE);
    expect(spec.status).toBe(200);
    const rm = await http(srv, 'PATCH', `${W}/fin`, { metadata: { finalizers: null } }, MERGE);
    expect(rm.status).toBe(200);
    expect((await http(srv, 'GET', `${W}/fin`)).status).toBe(404);
  });

  it('checks delete preconditions', async () => {
    await http(srv, 'POST', CM, { metadata: { name: 'pre' } });
    const r = await http(srv, 'DELETE', `${CM}/pre`, {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      preconditions: { uid: 'not-it' },
    });
    expect(r.status).toBe(409);
    expect(r.json.message).toContain('Precondition failed: UID in precondition: not-it');
  });
});

describe('garbage collection', () => {
  it('background: dependents go after the owner', async () => {
    const o = (await http(srv, 'POST', W, widget('bg', { size: 1 }))).json;
    await http(srv, 'POST', CM, ownedCm('bg-dep', o));
    const d = await http(srv, 'DELETE', `${W}/bg`, { propagationPolicy: 'Background' });
    expect(d.status).toBe(200);
    await eventually(
      async () => (await http(srv, 'GET', `${CM}/bg-dep`)).status === 404,
      'dependent collected',
    );
  });

  it('foreground: owner keeps foregroundDeletion until blocking dependents are gone', async () => {
    const o = (await http(srv, 'POST', W, widget('fg', { size: 1 }))).json;
    await http(srv, 'POST', CM, {
      ...ownedCm('fg-dep', o, true),
      metadata: { ...ownedCm('fg-dep', o, true).metadata, finalizers: ['hold'] },
    });
    const d = await http(srv, 'DELETE', `${W}/fg`, { propagationPolicy: 'Foreground' });
    expect(d.status).toBe(202);
    expect(d.json.metadata.finalizers).toContain('foregroundDeletion');
    const dep = await eventually(async () => {
      const r = await http(srv, 'GET', `${CM}/fg-dep`);
      return r.json.metadata.deletionTimestamp ? r : undefined;
    }, 'dependent marked for deletion');
    expect(dep.json.metadata.finalizers).toEqual(['hold']);
    expect((await http(srv, 'GET', `${W}/fg`)).status).toBe(200);
    await http(srv, 'PATCH', `${CM}/fg-dep`, { metadata: { finalizers: null } }, MERGE);
    await eventually(
      async () => (await http(srv, 'GET', `${W}/fg`)).status === 404,
      'owner deleted after dependents',
    );
  });

  it('orphan: dependents survive without the owner reference', async () => {
    const o = (await http(srv, 'POST', W, widget('or', { size: 1 }))).json;
    await http(srv, 'POST', CM, ownedCm('or-dep', o));
    await http(srv, 'DELETE', `${W}/or`, { propagationPolicy: 'Orphan' });
    await eventually(async () => (await http(srv, 'GET', `${W}/or`)).status === 404, 'owner deleted');
    const dep = await http(srv, 'GET', `${CM}/or-dep`);
    expect(dep.status).toBe(200);
    expect(dep.json.metadata.ownerReferences).toBeUndefined();
  });

  it('a dependent whose owner never existed is collected; one with a live second owner keeps it', async () => {
    const live = (await http(srv, 'POST', W, widget('live', { size: 1 }))).json;
    await http(
      srv,
      'POST',
      CM,
      ownedCm('dangling', { metadata: { name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' } }),
    );
    const two = ownedCm('two-owners', live);
    two.metadata.ownerReferences.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'ghost',
      uid: '11111111-0000-0000-0000-000000000000',
      controller: false,
      blockOwnerDeletion: false,
    });
    await http(srv, 'POST', CM, two);
    await eventually(
      async () => (await http(srv, 'GET', `${CM}/dangling`)).status === 404,
      'dangling dependent collected',
    );
    const kept = await eventually(async () => {
      const r = await http(srv, 'GET', `${CM}/two-owners`);
      return r.json.metadata.ownerReferences?.length === 1 ? r : undefined;
    }, 'dangling reference removed');
    expect(kept.json.metadata.ownerReferences[0].uid).toBe(live.metadata.uid);
  });

  it('deleting a namespace empties it, then removes it', async () => {
    await http(srv, 'POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
    await http(srv, 'POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'c' } });
    const d = await http(srv, 'DELETE', '/api/v1/namespaces/doomed');
    expect(d.json.status.phase).toBe('Terminating');
    const refused = await http(srv, 'POST', '/api/v1/namespaces/doomed/configmaps', {
      metadata: { name: 'late' },
    });
    expect([403, 404]).toContain(refused.status);
    await eventually(
      async () => (await http(srv, 'GET', '/api/v1/namespaces/doomed')).status === 404,
      'namespace gone',
    );
    expect((await http(srv, 'GET', '/api/v1/namespaces/doomed/configmaps/c')).status).toBe(404);
  });
});
