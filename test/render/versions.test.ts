/**
 * Render is valid on every supported Kubernetes minor: every built-in object of every example (and the render
 * variants) decodes against that minor's published OpenAPI, the way server-side apply decodes it, and so
 * does the CRD. A field newer than the server is refused by server-side apply ("field not declared in
 * schema"), so render emits such a field only for servers that have it (src/kubernetes/version.ts).
 */
import { describe, expect, it } from 'vitest';
import { crdObject } from '../../src/api/generate.js';
import { formatVersion, MIN_SUPPORTED, testedMinors } from '../../src/kubernetes/version.js';
import { render } from '../../src/render/index.js';
import { inputs, renderCases } from '../golden/fixtures.js';
import { decodeFailures, exactMinors } from './openapi-fields.js';

const versions = testedMinors();
const v = (minor: number) => ({ major: 1, minor });

describe('the per-minor OpenAPI the checks use', () => {
  it('comes from the releases it names, starting at the lowest supported minor', async () => {
    const minors = await exactMinors();
    expect(minors[0]).toBe(MIN_SUPPORTED.minor);
    expect(minors).toEqual(expect.arrayContaining([28, 29, 30]));
    expect(minors.at(-1)!).toBeGreaterThanOrEqual(versions.at(-1)!.minor);
  });

  it('refuses what a server of that minor refuses: a newer field, a value of the wrong type', async () => {
    const deployment = (lifecycle: object, port: unknown) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: {
            containers: [{ name: 'pgbouncer', image: 'i:1', lifecycle, ports: [{ containerPort: port }] }],
          },
        },
      },
    });
    const sleep = deployment({ preStop: { sleep: { seconds: 5 } } }, 6432);
    expect(await decodeFailures(sleep, v(28))).toEqual([
      'Deployment/x: .spec.template.spec.containers[name="pgbouncer"].lifecycle.preStop.sleep: field not declared in schema',
    ]);
    expect(await decodeFailures(sleep, v(30))).toEqual([]);
    expect(await decodeFailures(sleep, v(31))).toEqual([]); // between sources: what both neighbours declare
    const exec = deployment({ preStop: { exec: { command: ['/bin/sleep', '5'] } } }, '6432');
    expect(await decodeFailures(exec, v(28))).toEqual([
      'Deployment/x: .spec.template.spec.containers[name="pgbouncer"].ports[0].containerPort: expected number, got "6432"',
    ]);
  });
});

describe.each(renderCases())('objects rendered for $label', ({ stack }) => {
  it.each(versions.map((version) => ({ version, label: formatVersion(version) })))(
    'decode on Kubernetes $label',
    async ({ version }) => {
      const { objects } = render(stack, inputs({ kubernetesVersion: version }));
      const builtIn = objects.filter((o) => !o.apiVersion.startsWith('monitoring.coreos.com/'));
      expect(builtIn.length).toBeGreaterThan(20);
      const failures = (await Promise.all(builtIn.map((o) => decodeFailures(o, version)))).flat();
      expect(failures).toEqual([]);
    },
  );
});

describe('the CustomResourceDefinition', () => {
  it.each(versions.map((version) => ({ version, label: formatVersion(version) })))(
    'uses only CRD features Kubernetes $label declares',
    async ({ version }) => {
      const crd = crdObject() as { apiVersion: string; kind: string };
      expect(await decodeFailures(crd, version)).toEqual([]);
    },
  );
});
