/**
 * Turning on spec.api.autoscaling hands spec.replicas to the HPA without the reset server-side apply does to
 * a field nobody owns any more (Deployment replicas → 1): the running replica count never drops.
 */
import { describe, expect, it } from 'vitest';
import { FIELD_MANAGER } from '../../src/api/types.js';
import type { ApiObject } from '../../src/controller/kube-client.js';
import { HANDOVER_FIELD_MANAGER, weOwnReplicas } from '../../src/controller/replicas-handover.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { http } from '../fake-apiserver/helpers.js';
import { eventually, loadExample, STACKS, useOperatorTestEnv, waitReady } from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');
const HPAS = resourceTypeByKind('HorizontalPodAutoscaler');

function replicas(d: ApiObject): number | undefined {
  return (d.spec as { replicas?: number }).replicas;
}

function replicaOwners(d: ApiObject): string[] {
  return ((d.metadata.managedFields ?? []) as any[])
    .filter((e) => e.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined)
    .map((e) => `${e.manager}${e.subresource ? `/${e.subresource}` : ''}`)
    .sort();
}

describe('autoscaling hand-over', () => {
  const env = useOperatorTestEnv();

  async function settle(): Promise<void> {
    await env.op.waitIdle();
    await new Promise((r) => setTimeout(r, 200));
    await env.op.waitIdle();
  }

  it('the stand-in resets replicas to 1 when an apply drops a field only it owned (what a real server does)', async () => {
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    await settle();
    const api = await env.c.get(DEPLOYMENTS, 'default', 'shop-api');
    expect(replicas(api)).toBe(2);
    // The naive way: the same manager applies the object without replicas.
    const { managedFields: _m, resourceVersion: _rv, ...metadata } = api.metadata;
    const spec = { ...(api.spec as Record<string, unknown>) };
    delete spec.replicas;
    await env.op.stop(); // keep the operator from putting its own apply back in between
    await env.c.apply({ apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec } as ApiObject, true);
    expect(replicas(await env.c.get(DEPLOYMENTS, 'default', 'shop-api'))).toBe(1);
  });

  it('turning autoscaling on keeps the running replica count and hands replicas over', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { api: { replicas: 10 } };
    await env.c.create(stack);
    await waitReady(env.c);
    await settle();
    const before = await env.c.get(DEPLOYMENTS, 'default', 'shop-api');
    expect(replicas(before)).toBe(10);
    expect(weOwnReplicas(before)).toBe(true);

    env.srv.resetRequests();
    await env.c.mergePatch(STACKS, 'default', 'shop', {
      spec: { api: { autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 40 } } },
    });
    await eventually(() => env.c.getOrNull(HPAS, 'default', 'shop-api'), 'the HPA');
    await settle();
    const after = await env.c.get(DEPLOYMENTS, 'default', 'shop-api');
    expect(replicas(after)).toBe(10);
    expect(replicaOwners(after)).toEqual([HANDOVER_FIELD_MANAGER]);
    // The Deployment was never written with fewer replicas on the way.
    const deploymentWrites = env.srv
      .requests()
      .filter((r) => r.resource === 'deployments' && r.name === 'shop-api' && r.verb === 'patch');
    expect(deploymentWrites.map((r) => r.fieldManager)).toEqual([HANDOVER_FIELD_MANAGER, FIELD_MANAGER]);
  });

  it('a new stack with autoscaling on starts at the HPA minimum, and later changes keep what the HPA set', async () => {
    const stack = loadExample('minimal.yaml');
    stack.spec = { api: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 12 } } };
    await env.c.create(stack);
    await waitReady(env.c);
    await settle();
    expect(replicas(await env.c.get(DEPLOYMENTS, 'default', 'shop-api'))).toBe(3);

    // The HPA scales through the scale subresource, as the horizontal-pod-autoscaler controller does.
    const res = await http(
      env.srv,
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/shop-api/scale?fieldManager=horizontal-pod-autoscaler',
      { spec: { replicas: 9 } },
      'application/merge-patch+json',
    );
    expect(res.status).toBe(200);
    // A change that rewrites the API Deployment (a new image) must not touch replicas.
    await env.c.mergePatch(STACKS, 'default', 'shop', {
      spec: { api: { image: 'ghcr.io/flash-sale-operator/flash-sale-api:0.1.1' } },
    });
    await eventually(async () => {
      const d = await env.c.get(DEPLOYMENTS, 'default', 'shop-api');
      return (d.spec as any).template.spec.containers[0].image.endsWith(':0.1.1') ? d : undefined;
    }, 'the new API image');
    await settle();
    expect(replicas(await env.c.get(DEPLOYMENTS, 'default', 'shop-api'))).toBe(9);
  });
});
