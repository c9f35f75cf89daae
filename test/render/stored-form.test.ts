/**
 * No write loops against a real API server. A real kube-apiserver does not echo what was applied: it drops
 * empty `omitempty` lists and strings, stores quantities canonically and fills in defaults. So render emits
 * only what the server stores back, and the operator's "already applied?" check (cache-shape.ts upToDate,
 * as the reconciler calls it) must still say "nothing to do" for what the server stores, while an edit made
 * to a live object is still drift.
 */
import { describe, expect, it } from 'vitest';
import { canonicalQuantity } from '../../src/api/quantity.js';
import { comparable, upToDate } from '../../src/controller/cache-shape.js';
import type { ApiObject } from '../../src/controller/kube-client.js';
import { APPLIED_HASH_ANNOTATION, normalizeForApply } from '../../src/controller/reconciler.js';
import { formatVersion, testedMinors } from '../../src/kubernetes/version.js';
import { canonicalJson, sha256, type KubeObject } from '../../src/render/common.js';
import { render } from '../../src/render/index.js';
import { find, inputs, renderCases } from '../golden/fixtures.js';
import { storedByServer } from './server-store.js';

/** Empty objects the server keeps (pointer-to-struct fields), where `{}` means something. */
const MEANINGFUL_EMPTY_OBJECTS = new Set([
  'namespaceSelector', // NetworkPolicy peer: every namespace
  'emptyDir', // a volume source with no options
]);
/** Empty strings the server keeps (`*string` fields), where `""` means something. */
const MEANINGFUL_EMPTY_STRINGS = new Set([
  'storageClassName', // a claim with no class (bind a pre-provisioned volume), not the default class
]);

/** Where render puts an empty list, an empty string or an empty map the server would not store. */
function emptiesServerDrops(value: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (v !== null && typeof v === 'object') emptiesServerDrops(v, `${path}[${i}]`, out);
    });
    return out;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const where = `${path}.${k}`;
      if ((v === '' && !MEANINGFUL_EMPTY_STRINGS.has(k)) || (Array.isArray(v) && v.length === 0)) {
        out.push(`${where}: ${JSON.stringify(v)}`);
      } else if (
        v !== null &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.keys(v).length === 0 &&
        !MEANINGFUL_EMPTY_OBJECTS.has(k)
      ) {
        out.push(`${where}: {}`);
      } else emptiesServerDrops(v, where, out);
    }
  }
  return out;
}

/** Every quantity render emits (resources, claim sizes, emptyDir limits), with its path. */
function quantities(value: unknown, path: string[] = [], out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v, i) => quantities(v, [...path, String(i)], out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) quantities(v, [...path, k], out);
  } else if (typeof value === 'string') {
    const [a, b] = path.slice(-3);
    const last = path.at(-1);
    if ((a === 'resources' && (b === 'requests' || b === 'limits')) || last === 'sizeLimit') {
      out.push([path.join('.'), value]);
    }
  }
  return out;
}

/** What the reconciler applies for a rendered object (stringData as data, the applied-hash annotation). */
function applied(o: KubeObject): ApiObject {
  const obj = normalizeForApply(o);
  const hash = sha256(canonicalJson(obj));
  obj.metadata.annotations = { ...obj.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash };
  return obj as ApiObject;
}

/** The informer cache entry for what the server stored. */
const cachedAfterApply = (o: KubeObject): ApiObject => comparable(storedByServer(applied(o)) as ApiObject);

const cases = renderCases();
const versions = testedMinors();

describe.each(cases)('every object rendered for $label', ({ stack }) => {
  it('has no empty list, string or map the API server would drop', () => {
    for (const v of versions) {
      const { objects } = render(stack, inputs({ kubernetesVersion: v }));
      const empties = objects.flatMap((o) => emptiesServerDrops(o, `${o.kind}/${o.metadata.name}`, []));
      expect(empties, `Kubernetes ${formatVersion(v)}`).toEqual([]);
    }
  });

  it('writes every quantity in the canonical form the API server stores', () => {
    const { objects } = render(stack, inputs());
    const found = objects.flatMap((o) => quantities(o, [`${o.kind}/${o.metadata.name}`]));
    expect(found.length).toBeGreaterThan(10);
    for (const [path, q] of found) expect(q, path).toBe(canonicalQuantity(q));
  });

  it('is not re-applied once the API server has stored it, on every tested Kubernetes minor', () => {
    for (const v of versions) {
      const { objects } = render(stack, inputs({ kubernetesVersion: v }));
      const reapplied = objects
        .filter((o) => !upToDate(normalizeForApply(o) as ApiObject, cachedAfterApply(o)))
        .map((o) => `${o.kind}/${o.metadata.name}`);
      expect(reapplied, `Kubernetes ${formatVersion(v)}`).toEqual([]);
    }
  });
});

describe('the already-applied check against what the server stores', () => {
  const { objects } = render(
    cases.find((c) => c.label === 'user-quantities')!.stack,
    inputs({ prometheusOperatorAvailable: true }),
  );

  it('is exercised: the stored objects differ from the applied ones (defaults, dropped empties)', () => {
    const differing = objects.filter(
      (o) => canonicalJson(storedByServer(applied(o))) !== canonicalJson(applied(o)),
    );
    expect(differing.length).toBeGreaterThan(objects.length / 2);
  });

  it('renders the default-deny NetworkPolicy without the `ingress: []` the server drops', () => {
    const deny = find(objects, 'NetworkPolicy', 'shop-network-default-deny');
    expect(deny.spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'] });
    expect(deny.spec as object).not.toHaveProperty('ingress');
  });

  it('renders the quantities users write as the server stores them (0.5 → 500m, 1024Mi → 1Gi)', () => {
    const pg = find(objects, 'StatefulSet', 'shop-postgres');
    const text = JSON.stringify(pg);
    expect(text).toContain('"requests":{"cpu":"500m","memory":"1Gi"}');
    expect(text).toContain('"limits":{"cpu":"2","memory":"4Gi"}');
    expect(text).toContain('"storage":"1536Mi"');
    expect(JSON.stringify(find(objects, 'PersistentVolumeClaim', 'shop-backup'))).toContain(
      '"storage":"512Gi"',
    );
  });

  it('renders an empty env value as the server stores it: the name alone', () => {
    const api = find(objects, 'Deployment', 'shop-api');
    const env = (api.spec as { template: { spec: { containers: { name: string; env: unknown[] }[] } } })
      .template.spec.containers[0]!.env;
    expect(env).toContainEqual({ name: 'EMPTY' });
    expect(env).toContainEqual({ name: 'FEATURE', value: 'on' });
  });

  it('stays correct for a quantity render left non-canonical (compared as the server would store it)', () => {
    const pg = structuredClone(find(objects, 'StatefulSet', 'shop-postgres'));
    const container = (pg.spec as { template: { spec: { containers: { resources: { requests: Obj } }[] } } })
      .template.spec.containers[0]!;
    container.resources.requests.cpu = '0.5';
    expect(upToDate(normalizeForApply(pg) as ApiObject, cachedAfterApply(pg))).toBe(true);
  });

  type Obj = Record<string, unknown>;
  const edited = (kind: string, name: string, edit: (stored: Obj) => void): boolean => {
    const o = find(objects, kind, name);
    const stored = storedByServer(applied(o));
    edit(stored);
    return upToDate(normalizeForApply(o) as ApiObject, comparable(stored as ApiObject));
  };
  const podSpecOf = (o: Obj) => ((o.spec as Obj).template as Obj).spec as Obj;
  const firstContainer = (o: Obj) => (podSpecOf(o).containers as Obj[])[0]!;

  it('still sees an edit of a live object as drift', () => {
    expect(edited('Deployment', 'shop-api', () => undefined)).toBe(true);
    expect(
      edited('Deployment', 'shop-api', (o) => {
        firstContainer(o).image = 'example.com/other:1';
      }),
    ).toBe(false);
    expect(
      edited('Deployment', 'shop-api', (o) => {
        ((firstContainer(o).resources as Obj).limits as Obj).memory = '1Gi';
      }),
    ).toBe(false);
    expect(
      edited('Deployment', 'shop-api', (o) => {
        podSpecOf(o).automountServiceAccountToken = true;
      }),
    ).toBe(false);
    expect(
      edited('Deployment', 'shop-api', (o) => {
        delete podSpecOf(o).automountServiceAccountToken;
      }),
    ).toBe(false);
    // An empty object the server keeps, removed by hand: every namespace → only the policy's own.
    expect(
      edited('NetworkPolicy', 'shop-network-api-metrics', (o) => {
        const rule = ((o.spec as Obj).ingress as Obj[])[0]!;
        delete ((rule.from as Obj[])[0] as Obj).namespaceSelector;
      }),
    ).toBe(false);
    expect(
      edited('NetworkPolicy', 'shop-network-default-deny', (o) => {
        (o.spec as Obj).ingress = [{ from: [{ podSelector: {} }] }];
      }),
    ).toBe(true); // an extra rule someone else added is theirs (server-side apply keeps it apart)
  });
});
