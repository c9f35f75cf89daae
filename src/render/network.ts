/**
 * NetworkPolicies: default-deny (ingress and egress) for every pod of the stack, DNS egress allowed, then
 * only the paths the system needs:
 *   anywhere → nginx (its listeners) → API → PgBouncer / Redis / RabbitMQ;  consumer → PgBouncer / RabbitMQ;
 *   PgBouncer → PostgreSQL (API and consumer → PostgreSQL when PgBouncer is off);
 *   backup / maintenance / bootstrap Jobs → PostgreSQL;  RabbitMQ ↔ RabbitMQ (epmd, distribution) when clustered,
 *   and clustered RabbitMQ → the API server's own addresses (peer discovery);
 *   spec.monitoring.namespace → metrics ports only; the operator's namespace → data ports (health probes),
 *   the API's serving and metrics ports included (readiness, admin counters, request rate).
 * Policies are additive, so each allowed path is one small policy that names its peers. Pure.
 */
import { PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { API_METRICS_PORT, CONSUMER_METRICS_PORT } from './api.js';
import {
  STACK_LABEL,
  childName,
  objectMeta,
  selectorLabels,
  type ApiServerEndpoints,
  type Component,
  type KubeObject,
  type RenderInputs,
} from './common.js';

type Port = number | string;

interface Peer {
  podSelector?: Record<string, unknown>;
  namespaceSelector?: Record<string, unknown>;
  ipBlock?: Record<string, unknown>;
}

const tcp = (ports: Port[]): Record<string, unknown>[] => ports.map((port) => ({ protocol: 'TCP', port }));

function namespaceByName(name: string): Record<string, unknown> {
  return { matchLabels: { 'kubernetes.io/metadata.name': name } };
}

/** One host per ipBlock (/32, /128 for IPv6), sorted, so the same endpoints always render the same policy. */
function apiServerRule(endpoints: ApiServerEndpoints): Record<string, unknown> | undefined {
  const hosts = [...new Set(endpoints.addresses)].sort();
  const ports = [...new Set(endpoints.ports)].sort((a, b) => a - b);
  if (hosts.length === 0 || ports.length === 0) return undefined;
  return {
    to: hosts.map((ip) => ({ ipBlock: { cidr: `${ip}/${ip.includes(':') ? 128 : 32}` } })),
    ports: tcp(ports),
  };
}

export function renderNetworkPolicies(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const s = stack.spec;
  const pods = (c: Component): Peer => ({ podSelector: { matchLabels: selectorLabels(stack, c) } });
  const policy = (
    name: string,
    target: Component | 'all',
    spec: { ingress?: Record<string, unknown>[]; egress?: Record<string, unknown>[] },
  ): KubeObject => {
    const types = [...(spec.ingress ? ['Ingress'] : []), ...(spec.egress ? ['Egress'] : [])];
    // A policy type with no rules denies that direction. Its empty list is left out: the API server does
    // not store empty lists (omitempty), and an applied field that never comes back looks like drift.
    const rules = Object.fromEntries(Object.entries(spec).filter(([, list]) => list.length > 0));
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: objectMeta(stack, 'network', childName(stack, 'network', name)),
      spec: {
        podSelector:
          target === 'all'
            ? { matchLabels: { [STACK_LABEL]: stack.metadata.name } }
            : { matchLabels: selectorLabels(stack, target) },
        policyTypes: types,
        ...rules,
      },
    };
  };
  const out: KubeObject[] = [];

  // 1. Default deny for every pod of the stack; DNS (UDP+TCP 53, to any resolver incl. node-local caches).
  out.push(
    policy('default-deny', 'all', {
      ingress: [],
      egress: [
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
  );

  // 2. Buyers → nginx: from anywhere, on its listeners only.
  const nginxPorts: Port[] = [PORTS.nginx, ...(s.nginx.tls ? [PORTS.nginxTls] : [])];
  out.push(policy('nginx-ingress', 'nginx', { ingress: [{ ports: tcp(nginxPorts) }] }));

  // 3. nginx → API.
  out.push(policy('nginx-to-api', 'nginx', { egress: [{ to: [pods('api')], ports: tcp([s.api.port]) }] }));
  out.push(
    policy('api-from-nginx', 'api', { ingress: [{ from: [pods('nginx')], ports: tcp([s.api.port]) }] }),
  );

  // 4. API and consumer → database (through PgBouncer when enabled), Redis, RabbitMQ.
  const db: Component = s.pgbouncer.enabled ? 'pgbouncer' : 'postgres';
  const dbPort = s.pgbouncer.enabled ? PORTS.pgbouncer : PORTS.postgres;
  out.push(
    policy('api-egress', 'api', {
      egress: [
        { to: [pods(db)], ports: tcp([dbPort]) },
        { to: [pods('redis')], ports: tcp([PORTS.redis]) },
        { to: [pods('rabbitmq')], ports: tcp([PORTS.amqp]) },
      ],
    }),
    policy('consumer-egress', 'consumer', {
      egress: [
        { to: [pods(db)], ports: tcp([dbPort]) },
        { to: [pods('rabbitmq')], ports: tcp([PORTS.amqp]) },
      ],
    }),
    policy('redis-from-api', 'redis', { ingress: [{ from: [pods('api')], ports: tcp([PORTS.redis]) }] }),
    policy('rabbitmq-from-apps', 'rabbitmq', {
      ingress: [{ from: [pods('api'), pods('consumer')], ports: tcp([PORTS.amqp]) }],
    }),
  );
  // Jobs that run for this stack: backups (scheduled, and the final one on delete), maintenance, bootstrap.
  const jobs: Component[] = [];
  if (s.backup.enabled || s.backup.onDelete) jobs.push('backup');
  if (s.backup.pitr.enabled) jobs.push('basebackup');
  if (s.postgres.maintenance?.schedule) jobs.push('maintenance');
  if (s.postgres.bootstrap?.fromBackup?.file !== undefined) jobs.push('bootstrap');
  if (s.pgbouncer.enabled) {
    out.push(
      policy('pgbouncer-from-apps', 'pgbouncer', {
        ingress: [{ from: [pods('api'), pods('consumer')], ports: tcp([PORTS.pgbouncer]) }],
      }),
      policy('pgbouncer-to-postgres', 'pgbouncer', {
        egress: [{ to: [pods('postgres')], ports: tcp([PORTS.postgres]) }],
      }),
    );
  }
  // 5. PostgreSQL ← PgBouncer (or the apps directly) and the backup / maintenance / bootstrap Jobs.
  const pgClients: Component[] = s.pgbouncer.enabled ? ['pgbouncer'] : ['api', 'consumer'];
  out.push(
    policy('postgres-from-clients', 'postgres', {
      ingress: [{ from: [...pgClients, ...jobs].map((c) => pods(c)), ports: tcp([PORTS.postgres]) }],
    }),
  );
  for (const job of jobs) {
    out.push(
      policy(`${job}-to-postgres`, job, {
        egress: [{ to: [pods('postgres')], ports: tcp([PORTS.postgres]) }],
      }),
    );
  }

  // 6. RabbitMQ peers (epmd 4369, inter-node distribution 25672) when clustered.
  if (s.rabbitmq.replicas > 1) {
    const peerPorts = tcp([PORTS.rabbitmqEpmd, PORTS.rabbitmqDist]);
    out.push(
      policy('rabbitmq-peers', 'rabbitmq', {
        ingress: [{ from: [pods('rabbitmq')], ports: peerPorts }],
        egress: [{ to: [pods('rabbitmq')], ports: peerPorts }],
      }),
    );
    // rabbit_peer_discovery_k8s lists the headless Service's endpoints through kubernetes.default.svc. CNIs
    // judge egress after the Service address is translated, so the rule names the API server's own addresses
    // and ports (often 6443), never "443 to anywhere".
    const toApiServer = inputs.kubernetesApiServer && apiServerRule(inputs.kubernetesApiServer);
    if (toApiServer) out.push(policy('rabbitmq-to-apiserver', 'rabbitmq', { egress: [toApiServer] }));
  }

  // 7. Prometheus, from spec.monitoring.namespace only, scrapes the metrics ports (exporter sidecars, RabbitMQ's
  // plugin, API, consumer) and nothing else: the API's serving port stays closed to it.
  const scraper: Peer = { namespaceSelector: namespaceByName(s.monitoring.namespace) };
  if (s.monitoring.enabled) {
    const metrics: [Component, Port[]][] = [
      ['postgres', [PORTS.postgresExporter]],
      ['redis', [PORTS.redisExporter]],
      ['rabbitmq', [PORTS.rabbitmqPrometheus]],
      ['api', [API_METRICS_PORT]],
      ['consumer', [CONSUMER_METRICS_PORT]],
    ];
    if (s.pgbouncer.enabled) metrics.push(['pgbouncer', [PORTS.pgbouncerExporter]]);
    for (const [c, ports] of metrics) {
      out.push(policy(`${c}-metrics`, c, { ingress: [{ from: [scraper], ports: tcp(ports) }] }));
    }
  }

  // 8. The operator's health probes, from its namespace, to the data ports; on the API its serving port
  // (/readyz, /api/admin/counters) and its metrics port (the request rate, http_requests_total).
  const operator: Peer = { namespaceSelector: namespaceByName(inputs.operatorNamespace) };
  const probes: [Component, Port[]][] = [
    ['postgres', [PORTS.postgres]],
    ['redis', [PORTS.redis]],
    ['rabbitmq', [PORTS.amqp, PORTS.rabbitmqManagement]],
    ['api', [s.api.port, API_METRICS_PORT]],
    ['nginx', [PORTS.nginx]],
  ];
  if (s.pgbouncer.enabled) probes.push(['pgbouncer', [PORTS.pgbouncer]]);
  for (const [c, ports] of probes) {
    out.push(policy(`${c}-operator-probes`, c, { ingress: [{ from: [operator], ports: tcp(ports) }] }));
  }
  return out;
}
