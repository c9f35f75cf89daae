import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { eventually, getStack, loadExample, STACKS, useOperatorTestEnv, waitReady } from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');
const CONFIGMAPS = resourceTypeByKind('ConfigMap');

describe('drift and deletion', () => {
  const env = useOperatorTestEnv();

  async function ready(name = 'shop') {
    await waitReady(env.c, name);
    await env.op.waitIdle();
  }

  it('restores a deleted Deployment', async () => {
    await env.c.create(loadExample('minimal.yaml'));
    await ready();
    const before = await env.c.get(DEPLOYMENTS, 'default', 'shop-nginx');
    await env.c.delete(DEPLOYMENTS, 'default', 'shop-nginx');
    const after = await eventually(async () => {
      const d = await env.c.getOrNull(DEPLOYMENTS, 'default', 'shop-nginx');
      return d && d.metadata.uid !== before.metadata.uid ? d : undefined;
    }, 'shop-nginx to be recreated');
    expect((after.spec as any).template.spec.containers[0].image).toBe(
      (before.spec as any).template.spec.containers[0].image,
    );
  });

  it('puts back a managed field someone edited, and leaves alone a label a person added', async () => {
    await env.c.create(loadExample('minimal.yaml'));
    await ready();
    const original = await env.c.get(DEPLOYMENTS, 'default', 'shop-nginx');
    const image = (original.spec as any).template.spec.containers[0].image as string;
    // A person edits with their own field manager (as kubectl edit/patch would).
    await env.c.jsonPatch(DEPLOYMENTS, 'default', 'shop-nginx', [
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1.0-hacked' },
      { op: 'add', path: '/metadata/labels/team', value: 'checkout' },
    ]);
    const restored = await eventually(async () => {
      const d = await env.c.get(DEPLOYMENTS, 'default', 'shop-nginx');
      return (d.spec as any).template.spec.containers[0].image === image ? d : undefined;
    }, 'the image to be restored');
    expect(restored.metadata.labels?.team).toBe('checkout');
  });

  it('does not fight the HPA over replicas when autoscaling is on', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { api: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8 } } };
    await env.c.create(stack);
    await ready();
    const d = await env.c.get(DEPLOYMENTS, 'default', 'shop-api');
    // The HPA controller scales the Deployment (its own field manager, through the scale of spec.replicas).
    await env.c.mergePatch(DEPLOYMENTS, 'default', 'shop-api', { spec: { replicas: 6 } });
    expect(d.metadata.name).toBe('shop-api');
    await env.c.mergePatch(STACKS, 'default', 'shop', { metadata: { annotations: { nudge: '1' } } });
    await env.op.waitIdle();
    await new Promise((r) => setTimeout(r, 300));
    await env.op.waitIdle();
    const after = await env.c.get(DEPLOYMENTS, 'default', 'shop-api');
    expect((after.spec as any).replicas).toBe(6);
  });

  it('deleting the stack runs the finalizer and garbage-collects every child', async () => {
    await env.c.create(loadExample('minimal.yaml'));
    await ready();
    const uid = (await getStack(env.c, 'shop')).metadata.uid;
    expect(
      (await env.c.list(CONFIGMAPS, 'default', { labelSelector: 'flashsale.dev/stack=shop' })).items.length,
    ).toBeGreaterThan(0);
    await env.c.delete(STACKS, 'default', 'shop');
    await eventually(
      async () => (await env.c.getOrNull(STACKS, 'default', 'shop')) === null,
      'the stack to be gone',
    );
    await eventually(async () => {
      for (const kind of ['ConfigMap', 'Deployment', 'StatefulSet', 'Service', 'Secret']) {
        const left = await env.c.list(resourceTypeByKind(kind), 'default', {
          labelSelector: 'flashsale.dev/stack=shop',
        });
        const owned = left.items.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid));
        if (owned.length > 0) return false;
      }
      return true;
    }, 'children to be garbage-collected');
  });
});
