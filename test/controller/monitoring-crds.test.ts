/**
 * The Prometheus Operator installed after the operator started: its kinds get informers once the cluster
 * serves them, so ServiceMonitors/PrometheusRules are created once and then left alone (no apply, no
 * `Created` Event on every reconcile).
 */
import { describe, expect, it } from 'vitest';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { prometheusOperatorCrds } from '../support/resources.js';
import {
  condition,
  eventually,
  getStack,
  loadExample,
  useOperatorTestEnv,
  waitReady,
  writes,
} from './harness.js';

const SERVICE_MONITORS = resourceTypeByKind('ServiceMonitor');
const PROMETHEUS_RULES = resourceTypeByKind('PrometheusRule');
const EVENTS = resourceTypeByKind('Event');

describe('monitoring CRDs installed after the operator started', () => {
  const env = useOperatorTestEnv({ operator: { resyncMs: 1_000 } });

  it('get informers: the objects are created once, then resyncs write nothing', async () => {
    await env.c.create(loadExample('minimal.yaml'));
    const before = await waitReady(env.c);
    expect(condition(before, 'ConfigValid')).toMatchObject({ status: 'True', reason: 'ValidWithNotices' });
    expect(condition(before, 'ConfigValid')!.message).toMatch(
      /Notices: spec\.monitoring\.prometheusRule: the cluster does not serve monitoring\.coreos\.com\/v1/,
    );

    for (const crd of prometheusOperatorCrds()) env.srv.installCrd(crd);
    await eventually(
      async () => {
        const sm = await env.c.list(SERVICE_MONITORS, 'default', {
          labelSelector: 'flashsale.dev/stack=shop',
        });
        const pr = await env.c.list(PROMETHEUS_RULES, 'default', {
          labelSelector: 'flashsale.dev/stack=shop',
        });
        return sm.items.length > 0 && pr.items.length > 0;
      },
      'ServiceMonitors and a PrometheusRule',
      15_000,
    );
    await eventually(async () => {
      const s = await getStack(env.c, 'shop');
      return condition(s, 'ConfigValid')?.reason === 'Valid';
    }, 'the notice to go away');
    await env.op.waitIdle();
    await new Promise((r) => setTimeout(r, 300));
    await env.op.waitIdle();

    const created = async () =>
      (await env.c.list(EVENTS, 'default', {})).items.filter((e: any) => e.reason === 'Created').length;
    const createdBefore = await created();
    env.srv.resetRequests();
    await new Promise((r) => setTimeout(r, 3_500)); // three resyncs
    await env.op.waitIdle();
    expect(writes(env.srv)).toEqual([]);
    expect(await created()).toBe(createdBefore);
  });
});
