import { CoreV1Api, makeInformer, Watch, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeApiServer } from '../support/server.js';
import { eventually, start } from './helpers.js';

let srv: FakeApiServer;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  ({ srv, kc } = await start({ watchHistory: 50, bookmarkIntervalMs: 100 }));
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'w' } } });
});
afterAll(() => srv.stop());

interface Seen {
  type: string;
  obj: any;
}

async function watchCms(query: Record<string, string | number | boolean | undefined>) {
  const events: Seen[] = [];
  let done: unknown = undefined;
  let ended = false;
  const ctrl = await new Watch(kc).watch(
    '/api/v1/namespaces/w/configmaps',
    query,
    (type, obj) => events.push({ type, obj }),
    (err) => {
      ended = true;
      done = err;
    },
  );
  return { events, ctrl, ended: () => ended, err: () => done };
}

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) => ({
  metadata: { name, labels },
  data,
});

describe('watch', () => {
  it('sends ADDED for existing objects when no resourceVersion is given, then live events', async () => {
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('pre-1') });
    const w = await watchCms({});
    await eventually(
      () => w.events.some((e) => e.type === 'ADDED' && e.obj.metadata.name === 'pre-1'),
      'initial ADDED',
    );
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('live-1') });
    await core.patchNamespacedConfigMap({
      name: 'live-1',
      namespace: 'w',
      body: [{ op: 'add', path: '/data', value: { x: '1' } }],
    });
    await core.deleteNamespacedConfigMap({ name: 'live-1', namespace: 'w' });
    await eventually(
      () => w.events.filter((e) => e.obj.metadata.name === 'live-1').length === 3,
      'three events',
    );
    expect(w.events.filter((e) => e.obj.metadata.name === 'live-1').map((e) => e.type)).toEqual([
      'ADDED',
      'MODIFIED',
      'DELETED',
    ]);
    w.ctrl.abort();
  });

  it('resumes from a resourceVersion and answers 410 Expired when it is too old', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'w', body: cm('resume-a') });
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('resume-b') });
    const w = await watchCms({ resourceVersion: a.metadata!.resourceVersion });
    await eventually(() => w.events.some((e) => e.obj.metadata.name === 'resume-b'), 'resume-b after resume');
    expect(w.events.some((e) => e.obj.metadata.name === 'resume-a')).toBe(false);
    w.ctrl.abort();
    srv.faults.compact();
    const old = await watchCms({ resourceVersion: a.metadata!.resourceVersion });
    await eventually(() => old.ended(), 'watch to end after ERROR');
    expect(old.events[0]!.type).toBe('ERROR');
    expect(old.events[0]!.obj).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('turns a MODIFIED that leaves the selector into DELETED and one that enters into ADDED', async () => {
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('sel-1', { role: 'x' }) });
    const w = await watchCms({ labelSelector: 'role=x' });
    await eventually(() => w.events.length >= 1, 'initial');
    await core.patchNamespacedConfigMap({
      name: 'sel-1',
      namespace: 'w',
      body: [{ op: 'replace', path: '/metadata/labels/role', value: 'y' }],
    });
    await core.patchNamespacedConfigMap({
      name: 'sel-1',
      namespace: 'w',
      body: [{ op: 'replace', path: '/metadata/labels/role', value: 'x' }],
    });
    await eventually(() => w.events.length >= 3, 'transitions');
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    w.ctrl.abort();
  });

  it('sends BOOKMARK events when asked and ends the stream after timeoutSeconds', async () => {
    const w = await watchCms({
      allowWatchBookmarks: true,
      timeoutSeconds: 1,
      resourceVersion: String(srv.registry.store.currentRv()),
    });
    await eventually(() => w.ended(), 'watch to end by timeout', 5000);
    const bm = w.events.filter((e) => e.type === 'BOOKMARK');
    expect(bm.length).toBeGreaterThan(0);
    expect(Number(bm[0]!.obj.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(w.err()).toBeNull();
  });

  it('dropWatches() cuts open streams; stallWatches() silences them', async () => {
    const w = await watchCms({});
    await eventually(() => srv.faults.dropWatches() > 0, 'a watch to drop');
    await eventually(() => w.ended(), 'the client to notice');
    const s = await watchCms({ resourceVersion: String(srv.registry.store.currentRv()) });
    await eventually(() => srv.faults.stallWatches() > 0, 'a watch to stall');
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('during-stall') });
    const fresh = await watchCms({ resourceVersion: String(Number(srv.registry.store.currentRv()) - 1) });
    await eventually(
      () => fresh.events.some((e) => e.obj.metadata.name === 'during-stall'),
      'fresh watch sees it',
    );
    expect(s.events).toHaveLength(0);
    s.ctrl.abort();
    fresh.ctrl.abort();
  });

  it('works with client-node informers (list then watch)', async () => {
    const informer = makeInformer<V1ConfigMap>(
      kc,
      '/api/v1/namespaces/w/configmaps',
      () => core.listNamespacedConfigMap({ namespace: 'w', labelSelector: 'inf=1' }),
      'inf=1',
    );
    const added: string[] = [];
    informer.on('add', (o) => added.push(o.metadata!.name!));
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('inf-before', { inf: '1' }) });
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('inf-after', { inf: '1' }) });
    await core.createNamespacedConfigMap({ namespace: 'w', body: cm('inf-other', { inf: '2' }) });
    await eventually(() => added.includes('inf-after'), 'informer add');
    expect(added).toEqual(['inf-before', 'inf-after']);
    expect(
      informer
        .list()
        .map((o) => o.metadata!.name)
        .sort(),
    ).toEqual(['inf-after', 'inf-before']);
    await informer.stop();
  });
});
