/**
 * The shipped examples reach Ready on the stand-in (with the StatefulSet controller's pods and claims), and
 * once converged cost no write and no Event over several resyncs.
 */
import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { loadExample, useOperatorTestEnv, waitReady, writes } from './harness.js';

const EVENTS = resourceTypeByKind('Event');

describe('the shipped examples', () => {
  const env = useOperatorTestEnv({ server: { statefulSetController: true }, operator: { resyncMs: 1_000 } });

  for (const example of ['minimal.yaml', 'production.yaml', 'seed.yaml']) {
    it(`${example} reaches Ready, then resyncs write nothing`, async () => {
      const stack = loadExample(example);
      await env.c.create(stack);
      const ready = await waitReady(env.c, stack.metadata.name, 60_000);
      expect((ready.status as { phase?: string }).phase).toBe('Ready');
      await env.op.waitIdle();
      await new Promise((r) => setTimeout(r, 300));
      await env.op.waitIdle();
      const events = (await env.c.list(EVENTS, 'default', {})).items.length;
      env.srv.resetRequests();
      await new Promise((r) => setTimeout(r, 3_500)); // three resyncs
      await env.op.waitIdle();
      expect(writes(env.srv)).toEqual([]);
      expect((await env.c.list(EVENTS, 'default', {})).items.length).toBe(events);
    }, 90_000);
  }
});
