/**
 * Who can reach what, for every example: the rendered NetworkPolicies are evaluated the way Kubernetes does
 * (test/render/network-evaluator.ts) over every stack pod plus the peers a cluster has around it (the
 * operator, Prometheus, a pod in another namespace, an unrelated pod in the stack's namespace, the cluster
 * DNS, the API server's host address, the internet), on every port a stack pod declares plus 53, 80, 443
 * and 6443, and the allowed (from, to, port) set is asserted exactly.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/render/common.js';
import { render } from '../../src/render/index.js';
import { exampleNames, inputs, loadExample } from '../golden/fixtures.js';
import {
  type ContainerPort,
  type Endpoint,
  PolicyEvaluator,
  cidrContains,
  selectorMatches,
} from './network-evaluator.js';

const OPERATOR_NS = 'flash-sale-operator';
const MONITORING_NS = 'monitoring';
const STACK_NS = 'shop-ns';
const API_SERVER_IP = '172.18.0.2';

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: { ports?: ContainerPort[] }[] };
}

/** One pod per workload (Deployment, StatefulSet, Job, CronJob), named after its component label. */
function stackPods(objects: KubeObject[]): Endpoint[] {
  const pods: Endpoint[] = [];
  for (const o of objects) {
    const spec = o.spec as
      { template?: PodTemplate; jobTemplate?: { spec: { template: PodTemplate } } } | undefined;
    const template = spec?.template ?? spec?.jobTemplate?.spec.template;
    if (!template || !['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind)) continue;
    const name = template.metadata.labels['app.kubernetes.io/name']!;
    if (pods.some((p) => p.name === name)) continue;
    pods.push({
      name,
      ip: `10.244.1.${pods.length + 10}`,
      pod: {
        namespace: o.metadata.namespace!,
        labels: template.metadata.labels,
        ports: template.spec.containers.flatMap((c) => c.ports ?? []),
      },
    });
  }
  return pods;
}

const outsiders: Endpoint[] = [
  {
    name: 'operator',
    ip: '10.244.2.2',
    pod: { namespace: OPERATOR_NS, labels: { app: 'flash-sale-operator' }, ports: [] },
  },
  {
    name: 'prometheus',
    ip: '10.244.2.3',
    pod: { namespace: MONITORING_NS, labels: { app: 'prometheus' }, ports: [] },
  },
  {
    name: 'other-namespace',
    ip: '10.244.2.4',
    pod: { namespace: 'elsewhere', labels: { app: 'x' }, ports: [] },
  },
  { name: 'same-namespace', ip: '10.244.2.5', pod: { namespace: STACK_NS, labels: { app: 'x' }, ports: [] } },
  {
    name: 'kube-dns',
    ip: '10.244.0.10',
    pod: {
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns' },
      ports: [{ containerPort: 53, protocol: 'UDP' }],
    },
  },
  { name: 'apiserver', ip: API_SERVER_IP },
  { name: 'internet', ip: '203.0.113.7' },
];

const namespaces = Object.fromEntries(
  [OPERATOR_NS, MONITORING_NS, STACK_NS, 'elsewhere', 'kube-system'].map((n) => [
    n,
    { 'kubernetes.io/metadata.name': n },
  ]),
);

/** Every allowed connection, as "from -> to:port/protocol", sorted. */
function allowedSet(objects: KubeObject[]): string[] {
  const evaluator = new PolicyEvaluator(
    objects.filter((o) => o.kind === 'NetworkPolicy'),
    namespaces,
  );
  const pods = stackPods(objects);
  const everyone = [...pods, ...outsiders];
  const candidates = (to: Endpoint): [number, 'TCP' | 'UDP'][] =>
    [...new Set([...(to.pod?.ports ?? []).map((p) => p.containerPort), 53, 80, 443, 6443])].flatMap(
      (port): [number, 'TCP' | 'UDP'][] => [
        [port, 'TCP'],
        ...(port === 53 ? [[53, 'UDP'] as [number, 'UDP']] : []),
      ],
    );
  const out: string[] = [];
  for (const from of everyone)
    for (const to of everyone) {
      // Traffic between two endpoints no stack policy selects says nothing about the stack.
      if (!pods.includes(from) && !pods.includes(to)) continue;
      for (const [port, protocol] of candidates(to))
        if (evaluator.allows({ from, to, port, protocol }))
          out.push(`${from.name} -> ${to.name}:${port}/${protocol}`);
    }
  return out.sort();
}

/** DNS (UDP and TCP 53) from every stack pod to any resolver outside the stack (node-local caches included). */
const DNS = (pods: string[]) =>
  pods.flatMap((p) => outsiders.flatMap((o) => [`${p} -> ${o.name}:53/TCP`, `${p} -> ${o.name}:53/UDP`]));
/** Nginx's listeners, open to every peer outside the stack (buyers come from anywhere). */
const BUYERS = (ports: number[]) =>
  outsiders.flatMap((o) => ports.map((port) => `${o.name} -> nginx:${port}/TCP`));
const PROBES = (pgbouncer: boolean) => [
  'operator -> api:8001/TCP',
  'operator -> api:9465/TCP',
  'operator -> nginx:8080/TCP',
  'operator -> postgres:5432/TCP',
  'operator -> rabbitmq:5672/TCP',
  'operator -> rabbitmq:15672/TCP',
  'operator -> redis:6379/TCP',
  ...(pgbouncer ? ['operator -> pgbouncer:6432/TCP'] : []),
];
// Prometheus reaches the metrics ports and nothing else: not the API's serving port (8001).
const SCRAPES = (pgbouncer: boolean) => [
  'prometheus -> api:9465/TCP',
  'prometheus -> consumer:9464/TCP',
  'prometheus -> postgres:9187/TCP',
  'prometheus -> rabbitmq:15692/TCP',
  'prometheus -> redis:9121/TCP',
  ...(pgbouncer ? ['prometheus -> pgbouncer:9127/TCP'] : []),
];
const APP_PATHS = [
  'nginx -> api:8001/TCP',
  'api -> pgbouncer:6432/TCP',
  'api -> redis:6379/TCP',
  'api -> rabbitmq:5672/TCP',
  'consumer -> pgbouncer:6432/TCP',
  'consumer -> rabbitmq:5672/TCP',
  'pgbouncer -> postgres:5432/TCP',
  'backup -> postgres:5432/TCP',
];

const EXPECTED: Record<string, string[]> = {
  // Defaults: PgBouncer, one RabbitMQ node, daily backups, monitoring on, no TLS.
  minimal: [
    ...DNS(['api', 'backup', 'consumer', 'nginx', 'pgbouncer', 'postgres', 'rabbitmq', 'redis']),
    ...BUYERS([8080]),
    ...APP_PATHS,
    ...PROBES(true),
    ...SCRAPES(true),
  ],
  // TLS on Nginx, a 3-node RabbitMQ (peers and peer discovery through the API server), maintenance CronJob.
  production: [
    ...DNS([
      'api',
      'backup',
      'consumer',
      'maintenance',
      'nginx',
      'pgbouncer',
      'postgres',
      'rabbitmq',
      'redis',
    ]),
    ...BUYERS([8080, 8443]),
    ...APP_PATHS,
    'maintenance -> postgres:5432/TCP',
    'rabbitmq -> rabbitmq:4369/TCP',
    'rabbitmq -> rabbitmq:25672/TCP',
    `rabbitmq -> apiserver:6443/TCP`,
    ...PROBES(true),
    ...SCRAPES(true),
  ],
  seed: [
    ...DNS(['api', 'backup', 'consumer', 'nginx', 'pgbouncer', 'postgres', 'rabbitmq', 'redis']),
    ...BUYERS([8080]),
    ...APP_PATHS,
    ...PROBES(true),
    ...SCRAPES(true),
  ],
};

describe('the rendered NetworkPolicies, evaluated as Kubernetes does', () => {
  it.each(exampleNames())('allow exactly the paths examples/%s.yaml needs', (name) => {
    const stack = loadExample(name);
    stack.metadata.namespace = STACK_NS;
    const { objects } = render(
      stack,
      inputs({ kubernetesApiServer: { addresses: [API_SERVER_IP], ports: [6443] } }),
    );
    expect(EXPECTED[name], `no expected paths written for examples/${name}.yaml`).toBeDefined();
    expect(allowedSet(objects)).toEqual([...new Set(EXPECTED[name])].sort());
  });

  it('opens the API serving port to Nginx and the operator only, its metrics port to monitoring and the operator', () => {
    const stack = loadExample('minimal');
    stack.metadata.namespace = STACK_NS;
    const reaches = allowedSet(render(stack, inputs()).objects).filter((c) => c.includes(' -> api:'));
    expect(reaches).toEqual([
      'nginx -> api:8001/TCP',
      'operator -> api:8001/TCP',
      'operator -> api:9465/TCP',
      'prometheus -> api:9465/TCP',
    ]);
  });

  it('admits the namespace spec.monitoring.namespace names to the metrics ports, and no other', () => {
    const stack = loadExample('minimal');
    stack.metadata.namespace = STACK_NS;
    stack.spec.monitoring.namespace = 'elsewhere';
    const scrapes = allowedSet(render(stack, inputs()).objects).filter(
      (c) => /:(9187|9121|9127|15692|9464|9465)\//.test(c) && !c.startsWith('operator '),
    );
    expect(scrapes).toEqual([
      'other-namespace -> api:9465/TCP',
      'other-namespace -> consumer:9464/TCP',
      'other-namespace -> pgbouncer:9127/TCP',
      'other-namespace -> postgres:9187/TCP',
      'other-namespace -> rabbitmq:15692/TCP',
      'other-namespace -> redis:9121/TCP',
    ]);
  });

  it('gives a clustered RabbitMQ no way out to the API server when its address is unknown', () => {
    const stack = loadExample('production');
    stack.metadata.namespace = STACK_NS;
    const out = allowedSet(render(stack, inputs()).objects).filter((c) => c.startsWith('rabbitmq -> '));
    expect(out.filter((c) => !c.includes(':53/'))).toEqual([
      'rabbitmq -> rabbitmq:25672/TCP',
      'rabbitmq -> rabbitmq:4369/TCP',
    ]);
  });
});

describe('the evaluator itself', () => {
  it('matches selectors and CIDRs as Kubernetes does', () => {
    expect(selectorMatches({}, { a: '1' })).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '1' } }, { a: '2' })).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' }),
    ).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {})).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {})).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, {})).toBe(true);
    expect(cidrContains('10.0.0.0/8', '10.255.1.2')).toBe(true);
    expect(cidrContains('172.18.0.2/32', '172.18.0.3')).toBe(false);
    expect(cidrContains('0.0.0.0/0', '203.0.113.7')).toBe(true);
  });

  it('treats a namespaceSelector {} as every namespace and an unselected pod as open', () => {
    const policy = (spec: Record<string, unknown>): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p', namespace: STACK_NS },
      spec,
    });
    const target: Endpoint = {
      name: 't',
      ip: '10.0.0.1',
      pod: { namespace: STACK_NS, labels: { app: 't' }, ports: [] },
    };
    const other: Endpoint = {
      name: 'o',
      ip: '10.0.0.2',
      pod: { namespace: 'elsewhere', labels: {}, ports: [] },
    };
    const open = new PolicyEvaluator(
      [
        policy({
          podSelector: { matchLabels: { app: 't' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 8001 }] }],
        }),
      ],
      namespaces,
    );
    expect(open.allows({ from: other, to: target, port: 8001, protocol: 'TCP' })).toBe(true);
    expect(open.allows({ from: other, to: target, port: 8002, protocol: 'TCP' })).toBe(false);
    expect(open.allows({ from: target, to: other, port: 1, protocol: 'TCP' })).toBe(true);
    const podOnly = new PolicyEvaluator(
      [
        policy({
          podSelector: {},
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: {} }] }],
        }),
      ],
      namespaces,
    );
    expect(podOnly.allows({ from: other, to: target, port: 1, protocol: 'TCP' })).toBe(false);
  });
});
