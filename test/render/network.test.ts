import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/render/common.js';
import { render } from '../../src/render/index.js';
import { renderNetworkPolicies } from '../../src/render/network.js';
import { renderServiceAccounts } from '../../src/render/serviceaccounts.js';
import { inputs, podSpec, stackOf } from '../golden/fixtures.js';

type Rule = { from?: Peer[]; to?: Peer[]; ports?: { port: number; protocol: string }[] };
type Peer = {
  podSelector?: { matchLabels: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
};
type Spec = {
  podSelector: { matchLabels: Record<string, string> };
  ingress?: Rule[];
  egress?: Rule[];
  policyTypes: string[];
};

const NAME = 'app.kubernetes.io/name';

/** Is traffic from component `from` to component `to` on `port` allowed by both sides' policies? */
function allowed(policies: KubeObject[], from: string, to: string, port: number): boolean {
  const specs = policies.map((p) => p.spec as Spec);
  const targets = (s: Spec, c: string) =>
    s.podSelector.matchLabels[NAME] === c || s.podSelector.matchLabels['flashsale.dev/stack'] !== undefined;
  const peerIs = (peer: Peer, c: string) =>
    peer.podSelector?.matchLabels[NAME] === c && peer.namespaceSelector === undefined;
  const portOk = (r: Rule) => !r.ports || r.ports.some((p) => p.port === port);
  const egress = specs.some(
    (s) =>
      targets(s, from) &&
      (s.egress ?? []).some((r) => portOk(r) && (!r.to || r.to.some((p) => peerIs(p, to)))),
  );
  const ingress = specs.some(
    (s) =>
      targets(s, to) &&
      (s.ingress ?? []).some((r) => portOk(r) && (!r.from || r.from.some((p) => peerIs(p, from)))),
  );
  return egress && ingress;
}

describe('renderNetworkPolicies', () => {
  const stack = stackOf({ rabbitmq: { replicas: 3 } });
  const pols = renderNetworkPolicies(stack, inputs());

  it('starts from default deny with DNS egress for every pod of the stack', () => {
    const deny = pols.find((p) => p.metadata.name === 'shop-network-default-deny')!;
    const spec = deny.spec as Spec;
    expect(spec.podSelector.matchLabels).toEqual({ 'flashsale.dev/stack': 'shop' });
    // Ingress listed with no rules denies all ingress; the rule list is absent, as the API server stores it.
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(spec.ingress).toBeUndefined();
    expect(spec.egress).toEqual([
      {
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
  });

  it('allows exactly the paths the system needs', () => {
    expect(allowed(pols, 'nginx', 'api', 8001)).toBe(true);
    expect(allowed(pols, 'api', 'pgbouncer', 6432)).toBe(true);
    expect(allowed(pols, 'api', 'redis', 6379)).toBe(true);
    expect(allowed(pols, 'api', 'rabbitmq', 5672)).toBe(true);
    expect(allowed(pols, 'consumer', 'pgbouncer', 6432)).toBe(true);
    expect(allowed(pols, 'consumer', 'rabbitmq', 5672)).toBe(true);
    expect(allowed(pols, 'pgbouncer', 'postgres', 5432)).toBe(true);
    expect(allowed(pols, 'backup', 'postgres', 5432)).toBe(true);
    expect(allowed(pols, 'rabbitmq', 'rabbitmq', 25672)).toBe(true);
    // …and nothing else.
    expect(allowed(pols, 'nginx', 'postgres', 5432)).toBe(false);
    expect(allowed(pols, 'nginx', 'redis', 6379)).toBe(false);
    expect(allowed(pols, 'api', 'postgres', 5432)).toBe(false);
    expect(allowed(pols, 'consumer', 'redis', 6379)).toBe(false);
    expect(allowed(pols, 'redis', 'postgres', 5432)).toBe(false);
  });

  it('sends the apps straight to PostgreSQL without PgBouncer', () => {
    const p = renderNetworkPolicies(stackOf({ pgbouncer: { enabled: false } }), inputs());
    expect(allowed(p, 'api', 'postgres', 5432)).toBe(true);
    expect(p.some((x) => x.metadata.name.includes('pgbouncer'))).toBe(false);
  });

  it('lets the operator probe and Prometheus scrape, from the right namespaces', () => {
    const probe = pols.find((p) => p.metadata.name === 'shop-network-postgres-operator-probes')!.spec as Spec;
    expect(probe.ingress![0]!.from![0]!.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'flash-sale-operator' },
    });
    const scrape = pols.find((p) => p.metadata.name === 'shop-network-redis-metrics')!.spec as Spec;
    expect(scrape.ingress![0]!.ports).toEqual([{ protocol: 'TCP', port: 9121 }]);
    expect(scrape.ingress![0]!.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
    ]);
    const scoped = renderNetworkPolicies(stackOf({ monitoring: { namespace: 'observability' } }), inputs());
    const s2 = scoped.find((p) => p.metadata.name === 'shop-network-redis-metrics')!.spec as Spec;
    expect(s2.ingress![0]!.from![0]!.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'observability' },
    });
  });

  it('never admits every namespace: no peer is a bare namespaceSelector {}', () => {
    for (const p of renderNetworkPolicies(stack, inputs())) {
      const rules = [...((p.spec as Spec).ingress ?? []), ...((p.spec as Spec).egress ?? [])];
      for (const peer of rules.flatMap((r) => [...(r.from ?? []), ...(r.to ?? [])]))
        expect(peer.namespaceSelector, p.metadata.name).not.toEqual({});
    }
  });

  it('sends a clustered RabbitMQ to the API server only at its own addresses and ports', () => {
    const apiServer = { addresses: ['172.18.0.3', '172.18.0.2', 'fd00::1'], ports: [6443] };
    const rendered = renderNetworkPolicies(stack, inputs({ kubernetesApiServer: apiServer }));
    const egress = rendered.find((p) => p.metadata.name === 'shop-network-rabbitmq-to-apiserver')!
      .spec as Spec;
    expect(egress.policyTypes).toEqual(['Egress']);
    expect(egress.egress).toEqual([
      {
        to: [
          { ipBlock: { cidr: '172.18.0.2/32' } },
          { ipBlock: { cidr: '172.18.0.3/32' } },
          { ipBlock: { cidr: 'fd00::1/128' } },
        ],
        ports: [{ protocol: 'TCP', port: 6443 }],
      },
    ]);
    // Only DNS may leave for any destination; nothing else has a destination-less egress rule.
    for (const p of rendered)
      for (const r of (p.spec as Spec).egress ?? [])
        if (!r.to)
          expect(
            r.ports!.map((x) => x.port),
            p.metadata.name,
          ).toEqual([53, 53]);
    // A single node does not discover peers.
    const single = renderNetworkPolicies(stackOf(), inputs({ kubernetesApiServer: apiServer }));
    expect(single.some((p) => p.metadata.name.endsWith('rabbitmq-to-apiserver'))).toBe(false);
  });

  it('opens RabbitMQ peer ports only when clustered', () => {
    expect(
      renderNetworkPolicies(stackOf(), inputs()).some((p) => p.metadata.name.endsWith('rabbitmq-peers')),
    ).toBe(false);
  });

  it('covers every pod the stack runs (each carries the stack label the default deny selects)', () => {
    for (const o of render(stack, inputs()).objects) {
      const pod = podSpec(o);
      if (!pod) continue;
      const spec = o.spec as {
        template?: { metadata: { labels: Record<string, string> } };
        jobTemplate?: { spec: { template: { metadata: { labels: Record<string, string> } } } };
      };
      const lbl = (spec.template ?? spec.jobTemplate!.spec.template).metadata.labels;
      expect(lbl['flashsale.dev/stack'], `${o.kind}/${o.metadata.name}`).toBe('shop');
    }
  });
});

describe('renderServiceAccounts', () => {
  it('one account per workload, no token automount; clustered RabbitMQ brings its own', () => {
    const sas = renderServiceAccounts(stackOf());
    expect(sas.map((s) => s.metadata.name)).toEqual([
      'shop-postgres',
      'shop-pgbouncer',
      'shop-redis',
      'shop-rabbitmq',
      'shop-api',
      'shop-consumer',
      'shop-nginx',
      'shop-backup',
    ]);
    expect(sas.every((s) => s.automountServiceAccountToken === false)).toBe(true);
    expect(
      renderServiceAccounts(stackOf({ rabbitmq: { replicas: 3 } })).some(
        (s) => s.metadata.name === 'shop-rabbitmq',
      ),
    ).toBe(false);
  });
});
