/**
 * Immutable storage fields on a server that enforces them: what cannot be done is refused (at admission, or by
 * the operator against the live volumes) with the field and the fix and changes nothing; growing a volume
 * patches each claim, then replaces the StatefulSet with orphan deletion so its pods keep running; Jobs are
 * never re-applied with another template.
 */
import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../../src/controller/kube-client.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import {
  condition,
  eventually,
  getStack,
  loadExample,
  STACKS,
  useOperatorTestEnv,
  waitReady,
  writes,
} from './harness.js';

const PVCS = resourceTypeByKind('PersistentVolumeClaim');
const STATEFULSETS = resourceTypeByKind('StatefulSet');
const PODS = resourceTypeByKind('Pod');
const CONFIGMAPS = resourceTypeByKind('ConfigMap');
const EVENTS = resourceTypeByKind('Event');
const JOBS = resourceTypeByKind('Job');

const request = (o: ApiObject) => (o.spec as any).resources.requests.storage as string;
const template = (o: ApiObject) =>
  (o.spec as any).volumeClaimTemplates[0].spec.resources.requests.storage as string;
const maxWal = (cm: ApiObject) => /^max_wal_size = (\S+)$/m.exec((cm.data as any)['postgresql.conf'])?.[1];

describe('storage changes', () => {
  const env = useOperatorTestEnv({ server: { statefulSetController: true }, operator: false });

  async function storageClasses(): Promise<void> {
    for (const [name, allowVolumeExpansion] of [
      ['expandable', true],
      ['fixed', false],
    ] as const) {
      await env.c.create({
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name },
        provisioner: 'csi.example.com',
        allowVolumeExpansion,
      } as ApiObject);
    }
  }

  async function readyStack(storage: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    await storageClasses();
    await env.startOperator();
    const stack = loadExample('minimal.yaml');
    stack.spec = { postgres: { storage }, ...extra };
    await env.c.create(stack);
    const s = await waitReady(env.c);
    await env.op.waitIdle();
    return s;
  }

  function waitConfigInvalid(reason: string): Promise<ApiObject> {
    return eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'ConfigValid')?.reason === reason ? s : undefined;
    }, `ConfigValid reason ${reason}`);
  }

  /** Writes the operator made to the stack's objects (the test's own stack patch and status/Events aside). */
  function childWrites() {
    return writes(env.srv).filter(
      (w) => !w.resource.startsWith('flashsalestacks') && w.resource !== 'events',
    );
  }

  async function eventsWith(reason: string): Promise<any[]> {
    return (await env.c.list(EVENTS, 'default', {})).items.filter((e: any) => e.reason === reason);
  }

  it('growing a volume patches each claim, then replaces the StatefulSet; its pods are untouched', async () => {
    const before = await readyStack({ size: '20Gi', storageClassName: 'expandable' });
    const pod = await env.c.get(PODS, 'default', 'shop-postgres-0');
    const oldSet = await env.c.get(STATEFULSETS, 'default', 'shop-postgres');
    expect(request(await env.c.get(PVCS, 'default', 'data-shop-postgres-0'))).toBe('20Gi');
    expect(maxWal(await env.c.get(CONFIGMAPS, 'default', 'shop-postgres'))).toBe('5GB');

    env.srv.resetRequests();
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { postgres: { storage: { size: '40Gi' } } } });
    const newSet = await eventually(async () => {
      const s = await env.c.getOrNull(STATEFULSETS, 'default', 'shop-postgres');
      return s && s.metadata.uid !== oldSet.metadata.uid ? s : undefined;
    }, 'the replaced StatefulSet');
    expect(template(newSet)).toBe('40Gi');
    expect(request(await env.c.get(PVCS, 'default', 'data-shop-postgres-0'))).toBe('40Gi');
    // The pods serve throughout (Ready may stay True); the new spec counts as applied only once the new
    // StatefulSet exists: observedGeneration reaches the new generation then.
    const applied = await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return (s.status as any)?.observedGeneration === before.metadata.generation! + 1 ? s : undefined;
    }, 'observedGeneration at the new generation');
    expect(condition(applied, 'Progressing')?.reason).not.toBe('ApplyFailed');
    await waitReady(env.c);

    // The same pod, now owned by the new StatefulSet.
    const after = await eventually(async () => {
      const p = await env.c.get(PODS, 'default', 'shop-postgres-0');
      return p.metadata.ownerReferences?.some((r) => r.uid === newSet.metadata.uid) ? p : undefined;
    }, 'the pod adopted by the new StatefulSet');
    expect(after.metadata.uid).toBe(pod.metadata.uid);
    expect(after.metadata.creationTimestamp).toBe(pod.metadata.creationTimestamp);

    // The order on the wire: claim patch, orphan delete, then the new StatefulSet.
    const steps = env.srv
      .requests()
      .filter((r) => r.verb !== 'get' && r.code < 300)
      .filter((r) => ['persistentvolumeclaims', 'statefulsets'].includes(r.resource))
      .filter((r) => r.name === 'data-shop-postgres-0' || r.name === 'shop-postgres')
      .map((r) => `${r.verb} ${r.resource}/${r.name}`);
    expect(steps).toEqual([
      'patch persistentvolumeclaims/data-shop-postgres-0',
      'delete statefulsets/shop-postgres',
      'patch statefulsets/shop-postgres',
    ]);
    const orphan = env.srv.requests().find((r) => r.verb === 'delete' && r.resource === 'statefulsets');
    expect(orphan).toBeDefined();
    expect(await eventsWith('VolumeExpansion')).toHaveLength(1);
    expect((await eventsWith('StatefulSetReplaced'))[0].message).toMatch(
      /propagationPolicy Orphan.*pods keep running/,
    );

    // max_wal_size follows the disk once the claim reports the new capacity (a quarter of 40Gi, capped at 8GB).
    await eventually(
      async () => maxWal(await env.c.get(CONFIGMAPS, 'default', 'shop-postgres')) === '8GB',
      'max_wal_size to follow the grown volume',
    );
    const order = env.srv.requests().filter((r) => r.verb === 'patch' && r.code < 300);
    const claimAt = order.findIndex((r) => r.name === 'data-shop-postgres-0');
    const configAt = order.findIndex((r) => r.resource === 'configmaps' && r.name === 'shop-postgres');
    expect(claimAt).toBeGreaterThanOrEqual(0);
    expect(configAt).toBeGreaterThan(claimAt);
  });

  it('a shrink or a storage-class change is refused at admission, naming the field', async () => {
    await readyStack({ size: '20Gi', storageClassName: 'expandable' });
    await expect(
      env.c.mergePatch(STACKS, 'default', 'shop', { spec: { postgres: { storage: { size: '10Gi' } } } }),
    ).rejects.toThrow(/spec\.postgres\.storage\.size cannot shrink/);
    await expect(
      env.c.mergePatch(STACKS, 'default', 'shop', {
        spec: { postgres: { storage: { storageClassName: 'fixed' } } },
      }),
    ).rejects.toThrow(/spec\.postgres\.storage\.storageClassName cannot be set, changed or removed/);
  });

  it('a shrink admission cannot judge is refused by the operator against the live volumes, and nothing changes', async () => {
    await readyStack({ size: '20Gi', storageClassName: 'expandable' });
    env.srv.resetRequests();
    // 1e10 bytes (~9.3Gi) in exponent notation: the CEL rule leaves it to the operator (which quotes it in
    // the canonical form the API server stores, 10e9).
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { postgres: { storage: { size: '1e10' } } } });
    const refused = await waitConfigInvalid('StorageChangeRefused');
    expect(condition(refused, 'ConfigValid')?.status).toBe('False');
    expect(condition(refused, 'ConfigValid')!.message).toBe(
      'spec.postgres.storage.size: is 10e9 but the existing volumes have 20Gi; a volume can only grow: set at least 20Gi',
    );
    expect((refused.status as any).phase).toBe('Failed');
    await env.op.waitIdle();
    expect(childWrites()).toEqual([]);
    expect(await eventsWith('StorageChangeRefused')).toHaveLength(1);
  });

  it('growth the StorageClass does not allow is refused with the class named, and nothing changes', async () => {
    await readyStack({ size: '20Gi', storageClassName: 'fixed' });
    const set = await env.c.get(STATEFULSETS, 'default', 'shop-postgres');
    env.srv.resetRequests();
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { postgres: { storage: { size: '40Gi' } } } });
    const refused = await waitConfigInvalid('VolumeExpansionNotSupported');
    expect(condition(refused, 'ConfigValid')?.status).toBe('False');
    expect(condition(refused, 'ConfigValid')!.message).toMatch(
      /^spec\.postgres\.storage\.size: cannot grow the volumes to 40Gi: StorageClass "fixed" does not allow volume expansion/,
    );
    await env.op.waitIdle();
    expect(childWrites()).toEqual([]);
    expect((await env.c.get(STATEFULSETS, 'default', 'shop-postgres')).metadata.uid).toBe(set.metadata.uid);
    expect(request(await env.c.get(PVCS, 'default', 'data-shop-postgres-0'))).toBe('20Gi');
  });

  it('the backup claim grows only when its class allows it', async () => {
    await readyStack(
      { size: '20Gi', storageClassName: 'expandable' },
      { backup: { storage: { size: '20Gi', storageClassName: 'fixed' } } },
    );
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { backup: { storage: { size: '30Gi' } } } });
    const refused = await waitConfigInvalid('VolumeExpansionNotSupported');
    expect(condition(refused, 'ConfigValid')!.message).toMatch(/^spec\.backup\.storage\.size: cannot grow/);
    expect(request(await env.c.get(PVCS, 'default', 'shop-backup'))).toBe('20Gi');
  });

  it('the backup claim grows through the normal apply when its class allows it', async () => {
    await readyStack(
      { size: '20Gi', storageClassName: 'expandable' },
      { backup: { storage: { size: '20Gi', storageClassName: 'expandable' } } },
    );
    await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { backup: { storage: { size: '30Gi' } } } });
    await eventually(
      async () => request(await env.c.get(PVCS, 'default', 'shop-backup')) === '30Gi',
      'the backup claim at 30Gi',
    );
    expect(condition(await waitReady(env.c), 'ConfigValid')?.status).toBe('True');
  });

  it('a Job whose template changed is not re-applied: the existing one stays as the record', async () => {
    await readyStack({ size: '20Gi', storageClassName: 'expandable' });
    await env.c.mergePatch(STACKS, 'default', 'shop', {
      metadata: { annotations: { 'flashsale.dev/backup-now': 'before-upgrade' } },
    });
    const job = await eventually(async () => {
      const jobs = await env.c.list(JOBS, 'default', { labelSelector: 'flashsale.dev/stack=shop' });
      return jobs.items.find(
        (j) => j.metadata.annotations?.['flashsale.dev/backup-now'] === 'before-upgrade',
      );
    }, 'the backup-now Job');
    await waitReady(env.c);
    await env.op.waitIdle();
    env.srv.resetRequests();
    await env.c.mergePatch(STACKS, 'default', 'shop', {
      spec: { postgres: { image: 'postgres:18.0-bookworm' } },
    });
    await eventually(async () => {
      const s = await env.c.get(STATEFULSETS, 'default', 'shop-postgres');
      return (s.spec as any).template.spec.containers[0].image === 'postgres:18.0-bookworm';
    }, 'the new PostgreSQL image');
    await waitReady(env.c);
    await env.op.waitIdle();
    expect(writes(env.srv).filter((w) => w.resource === 'jobs')).toEqual([]);
    const kept = await env.c.get(JOBS, 'default', job.metadata.name);
    expect(kept.metadata.uid).toBe(job.metadata.uid);
    expect(condition(await getStack(env.c, 'shop'), 'Progressing')?.reason).not.toBe('ApplyFailed');
  });
});
