import { describe, expect, it } from 'vitest';
import {
  RABBITMQ_DLQ,
  RABBITMQ_DLX,
  rabbitmqPasswordHash,
  renderRabbitMQ,
} from '../../src/render/rabbitmq.js';
import {
  ALL_SECRETS,
  checksum,
  configData,
  find,
  inputs,
  podSpec,
  restrictedProblems,
  secretData,
  stack,
} from './daemons/helpers.js';

describe('renderRabbitMQ', () => {
  const objs = renderRabbitMQ(stack(), inputs());

  it('renders single-node objects', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-rabbitmq',
      'PodDisruptionBudget/shop-rabbitmq',
      'Secret/shop-rabbitmq-credentials',
      'Service/shop-rabbitmq',
      'Service/shop-rabbitmq-headless',
      'StatefulSet/shop-rabbitmq',
    ]);
  });

  it('config: absolute watermark, plugins, definitions path; no secrets', () => {
    const data = configData(objs);
    expect(data['rabbitmq.conf']).toMatch(
      new RegExp(`^vm_memory_high_watermark.absolute = ${Math.floor(2 ** 30 * 0.6)}$`, 'm'),
    );
    expect(data['rabbitmq.conf']).toMatch(/^load_definitions = \/etc\/rabbitmq\/definitions$/m);
    expect(data['rabbitmq.conf']).toMatch(/^prometheus.tcp.port = 15692$/m);
    expect(data.enabled_plugins).toBe('[rabbitmq_management,rabbitmq_prometheus].\n');
    const cm = JSON.stringify(find(objs, 'ConfigMap'));
    for (const s of ALL_SECRETS) expect(cm).not.toContain(s);
    expect(cm).not.toContain(rabbitmqPasswordHash('rabbitPassw0rd-Secret'));
    const defs = JSON.parse(data['definitions.json']!);
    expect(defs.users).toBeUndefined();
    expect(defs.queues.map((q: any) => q.name)).toEqual(['order_queue', 'payment_queue', RABBITMQ_DLQ]);
    expect(defs.queues[0]).toMatchObject({
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-dead-letter-exchange': RABBITMQ_DLX },
    });
    expect(defs.exchanges[0]).toMatchObject({ name: RABBITMQ_DLX, type: 'fanout', durable: true });
    expect(defs.bindings[0]).toMatchObject({ source: RABBITMQ_DLX, destination: RABBITMQ_DLQ });
  });

  it('secret carries credentials, cookie and users.json with a sha256 hash', () => {
    const sec = secretData(objs);
    expect(sec.username).toBe('flashsale');
    expect(sec.password).toBe('rabbitPassw0rd-Secret');
    expect(sec['erlang-cookie']).toBe('ERLANGCOOKIESECRETVALUE');
    const users = JSON.parse(sec['users.json']!);
    expect(users.users[0]).toMatchObject({
      name: 'flashsale',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
    });
    expect(users.users[0].password).toBeUndefined();
    expect(Buffer.from(users.users[0].password_hash, 'base64')).toHaveLength(36);
  });

  it('3 replicas: quorum queues, k8s peer discovery, RBAC, parallel pods', () => {
    const three = renderRabbitMQ(stack({ rabbitmq: { replicas: 3, queues: ['refund_queue'] } }), inputs());
    const data = configData(three);
    const defs = JSON.parse(data['definitions.json']!);
    expect(defs.queues.map((q: any) => q.name)).toEqual([
      'order_queue',
      'payment_queue',
      'refund_queue',
      RABBITMQ_DLQ,
    ]);
    expect(defs.queues[2].arguments).toMatchObject({ 'x-queue-type': 'quorum', 'x-delivery-limit': 10 });
    expect(data.enabled_plugins).toContain('rabbitmq_peer_discovery_k8s');
    expect(data['rabbitmq.conf']).toMatch(/^cluster_formation.k8s.service_name = shop-rabbitmq-headless$/m);
    expect(three.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['ServiceAccount', 'Role', 'RoleBinding']),
    );
    const sts = find(three, 'StatefulSet') as any;
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.podManagementPolicy).toBe('Parallel');
    expect(podSpec(sts).serviceAccountName).toBe('shop-rabbitmq');
  });

  it('pod is restricted with probes and metrics port', () => {
    const sts = find(objs, 'StatefulSet') as any;
    expect(restrictedProblems(podSpec(sts))).toEqual([]);
    const svc = find(objs, 'Service', 'shop-rabbitmq') as any;
    expect(svc.metadata.labels['flashsale.dev/metrics']).toBe('true');
    expect(svc.spec.ports.find((p: any) => p.name === 'metrics').port).toBe(15692);
    expect(find(objs, 'Service', 'shop-rabbitmq-headless').spec).toMatchObject({ clusterIP: 'None' });
  });

  it('checksum changes only with rabbitmq inputs', () => {
    const base = checksum(find(objs, 'StatefulSet'));
    expect(
      checksum(find(renderRabbitMQ(stack({ rabbitmq: { queues: ['x'] } }), inputs()), 'StatefulSet')),
    ).not.toBe(base);
    expect(
      checksum(find(renderRabbitMQ(stack({ redis: { appendonly: false } }), inputs()), 'StatefulSet')),
    ).toBe(base);
  });
});
