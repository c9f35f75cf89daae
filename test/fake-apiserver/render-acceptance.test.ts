/**
 * Every object `flash-sale-operator render` produces for every example is accepted by the strict stand-in
 * at the lowest supported and the newest tested Kubernetes minor (a field the minor lacks, such as
 * `preStop.sleep` at 1.28, fails it), and applying the same objects again is a no-op on the server. Whether the
 * operator itself re-applies (a cache that never matches) is covered by the controller tests.
 */
import { describe, expect, it } from 'vitest';
import { render } from '../../src/render/index.js';
import { formatVersion, MAX_TESTED, MIN_SUPPORTED } from '../../src/kubernetes/version.js';
import { exampleNames, inputs, loadExample } from '../golden/fixtures.js';
import { http, start } from './helpers.js';

function pathOf(
  o: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } },
  plural: string,
) {
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}/${o.metadata.name}`;
}

describe.each([formatVersion(MIN_SUPPORTED), formatVersion(MAX_TESTED)])('Kubernetes %s', (version) => {
  it.each(exampleNames())(
    'accepts every rendered object of examples/%s.yaml and stores it unchanged on re-apply',
    async (name) => {
      const { srv } = await start({ kubernetesVersion: version, prometheusOperator: true });
      try {
        const { objects } = render(loadExample(name), inputs());
        const namespaces = new Set(objects.map((o) => o.metadata.namespace).filter(Boolean));
        for (const ns of namespaces)
          await http(srv, 'POST', '/api/v1/namespaces', {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: ns },
          });
        const refused: string[] = [];
        const applyAll = async () => {
          const rvs = new Map<string, string>();
          for (const o of objects) {
            // Owners are the FlashSaleStack, which this test does not create (GC would delete the children).
            const body = { ...o, metadata: { ...o.metadata, ownerReferences: undefined } };
            const t = srv.registry.typeForKind(o.apiVersion, o.kind);
            expect(t, `${o.apiVersion} ${o.kind} is served`).toBeDefined();
            const r = await http(
              srv,
              'PATCH',
              `${pathOf(o, t!.plural)}?fieldManager=flash-sale-operator&force=true`,
              body,
              'application/apply-patch+yaml',
            );
            if (r.status >= 300) refused.push(`${o.kind}/${o.metadata.name}: ${r.status} ${r.json.message}`);
            else rvs.set(`${o.kind}/${o.metadata.name}`, r.json.metadata.resourceVersion);
          }
          return rvs;
        };
        const first = await applyAll();
        expect(refused).toEqual([]);
        const second = await applyAll();
        expect(second).toEqual(first);
      } finally {
        await srv.stop();
      }
    },
  );
});
