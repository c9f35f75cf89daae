/**
 * What on-call sees when the API server refuses an object: ApplyFailed in Ready and Progressing with the
 * object and the server's whole message, one Warning Event per distinct refusal (not per retry), the objects
 * that do not depend on it still applied, and observedGeneration left at the last spec that was fully applied.
 */
import { describe, expect, it } from 'vitest';
import type { ApiObject } from '../../src/controller/kube-client.js';
import { createLogger } from '../../src/controller/logger.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { decodeSecretData } from '../../src/controller/secrets.js';
import {
  condition,
  eventually,
  getStack,
  loadExample,
  STACKS,
  startOperator,
  testParts,
  useOperatorTestEnv,
  waitReady,
} from './harness.js';

const DEPLOYMENTS = resourceTypeByKind('Deployment');
const EVENTS = resourceTypeByKind('Event');
const SECRETS = resourceTypeByKind('Secret');

/** What a real kube-apiserver answers when a StatefulSet update touches an immutable field. */
const STATEFULSET_FORBIDDEN =
  `StatefulSet.apps "shop-redis" is invalid: spec: Forbidden: updates to statefulset spec for fields other ` +
  `than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and ` +
  `'minReadySeconds' are forbidden`;

/** What RBAC answers when the operator's role lacks a verb (the part after "is forbidden: " is the point). */
const CONFIGMAP_FORBIDDEN =
  `configmaps "shop-redis" is forbidden: User "system:serviceaccount:flash-sale-system:flash-sale-operator" ` +
  `cannot patch resource "configmaps" in API group "" in the namespace "default"`;

async function eventsOf(
  env: { c: { list: (...a: any[]) => Promise<{ items: ApiObject[] }> } },
  reason: string,
) {
  const list = await env.c.list(EVENTS, 'default', {});
  return list.items.filter((e: any) => e.reason === reason && e.involvedObject?.name === 'shop') as any[];
}

describe('an object the API server refuses', () => {
  const env = useOperatorTestEnv({ operator: false });

  /** An operator whose log lines the test reads (stopped by the test). */
  function loggedOperator(lines: string[]) {
    return startOperator(
      env.operatorKc,
      {},
      testParts(),
      createLogger('info', (l) => lines.push(l)),
    );
  }

  /** From now on the API server refuses every patch of StatefulSet/shop-redis with `message`. */
  function refuseRedisStatefulSet(message: string): void {
    env.srv.faults.failNext({
      verb: 'patch',
      resource: 'statefulsets',
      name: 'shop-redis',
      code: 422,
      count: 1_000,
      message,
    });
  }

  function waitApplyFailed(): Promise<ApiObject> {
    return eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'Progressing')?.reason === 'ApplyFailed' ? s : undefined;
    }, 'Progressing=ApplyFailed');
  }

  it('is ApplyFailed in status with the server message, one Event, the rest applied, observedGeneration kept', async () => {
    const lines: string[] = [];
    const op = await loggedOperator(lines);
    try {
      await env.c.create(loadExample('minimal.yaml'));
      const ready = await waitReady(env.c);
      await op.waitIdle();
      const generation = ready.metadata.generation!;

      refuseRedisStatefulSet(STATEFULSET_FORBIDDEN);
      // One edit that changes Redis (refused) and Nginx (independent of Redis).
      await env.c.mergePatch(STACKS, 'default', 'shop', {
        spec: { redis: { appendonly: false }, nginx: { replicas: 3 } },
      });

      const failed = await waitApplyFailed();
      const progressing = condition(failed, 'Progressing')!;
      expect(progressing.status).toBe('False');
      expect(progressing.message).toContain('StatefulSet/shop-redis');
      expect(progressing.message).toContain(STATEFULSET_FORBIDDEN);
      expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
      expect((failed.status as any).phase).toBe('Failed');
      expect((failed.status as any).observedGeneration).toBe(generation);
      expect(failed.metadata.generation).toBe(generation + 1);

      // Nginx does not depend on Redis: it was applied in the same reconcile.
      const nginx = await env.c.get(DEPLOYMENTS, 'default', 'shop-nginx');
      expect((nginx.spec as any).replicas).toBe(3);

      // Retries (with backoff) hit the same refusal: still one Warning Event for it.
      const attempts = () =>
        env.srv.requests().filter((r) => r.verb === 'patch' && r.name === 'shop-redis' && r.code === 422)
          .length;
      await eventually(() => attempts() >= 4, 'four refused attempts');
      const warnings = await eventsOf(env, 'ApplyFailed');
      expect(warnings).toHaveLength(1);
      expect(warnings[0].type).toBe('Warning');
      expect(warnings[0].message).toContain(STATEFULSET_FORBIDDEN);
      // The operator's log carries the server's message whole too.
      expect(lines.some((l) => l.includes(JSON.stringify(STATEFULSET_FORBIDDEN).slice(1, -1)))).toBe(true);

      // Once the server accepts it, the stack converges and observedGeneration catches up.
      env.srv.faults.clear();
      const again = await eventually(async () => {
        const s = await getStack(env.c, 'shop');
        return condition(s, 'Ready')?.status === 'True' ? s : undefined;
      }, 'Ready after the refusal stops');
      expect((again.status as any).observedGeneration).toBe(generation + 1);
      expect(await eventsOf(env, 'Applied')).toHaveLength(1);
    } finally {
      await op.stop();
    }
  });

  it('holds back only what depends on the refused object, and names it', async () => {
    await env.startOperator();
    await env.c.create(loadExample('minimal.yaml'));
    await waitReady(env.c);
    await env.op.waitIdle();
    env.srv.faults.failNext({
      verb: 'patch',
      resource: 'configmaps',
      name: 'shop-redis',
      code: 403,
      count: 1_000,
      message: CONFIGMAP_FORBIDDEN,
    });
    env.srv.resetRequests();
    await env.c.mergePatch(STACKS, 'default', 'shop', {
      spec: { redis: { appendonly: false }, nginx: { replicas: 4 } },
    });
    const failed = await waitApplyFailed();
    const message = condition(failed, 'Progressing')!.message;
    // The whole RBAC message, not cut after "is forbidden: ".
    expect(message).toContain(CONFIGMAP_FORBIDDEN);
    expect(message).toMatch(/ConfigMap\/shop-redis was refused by the API server \(403 Forbidden\)/);
    expect(message).toMatch(/Not applied until that is fixed \(they depend on it\): StatefulSet\/shop-redis/);
    await env.op.waitIdle();
    const patched = env.srv
      .requests()
      .filter((r) => r.verb === 'patch' && r.code < 300)
      .map((r) => `${r.resource}/${r.name}`);
    expect(patched).not.toContain('statefulsets/shop-redis');
    expect(patched).toContain('deployments/shop-nginx');
  });

  it('never puts a secret value the server echoes into status, Events or logs', async () => {
    const lines: string[] = [];
    const op = await loggedOperator(lines);
    try {
      await env.c.create(loadExample('minimal.yaml'));
      await waitReady(env.c);
      await op.waitIdle();
      const generated = decodeSecretData((await env.c.get(SECRETS, 'default', 'shop-operator-secrets')).data);
      const password = generated.redisPassword!;
      refuseRedisStatefulSet(
        `StatefulSet.apps "shop-redis" is invalid: spec.template.spec.containers[0].args[1]: Invalid value: "--requirepass ${password}": too long`,
      );
      await env.c.mergePatch(STACKS, 'default', 'shop', { spec: { redis: { appendonly: false } } });
      const failed = await waitApplyFailed();
      await eventually(
        async () => (await eventsOf(env, 'ApplyFailed')).length === 1,
        'the ApplyFailed Event',
      );
      expect(condition(failed, 'Progressing')!.message).toContain('--requirepass [redacted]');
      expect(JSON.stringify(failed.status)).not.toContain(password);
      expect(JSON.stringify(await eventsOf(env, 'ApplyFailed'))).not.toContain(password);
      expect(lines.join('')).not.toContain(password);
    } finally {
      await op.stop();
    }
  });
});
