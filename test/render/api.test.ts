import { describe, expect, it } from 'vitest';
import { apiSecretValues, renderApi } from '../../src/render/api.js';
import { CONFIG_CHECKSUM_ANNOTATION } from '../../src/render/common.js';
import { SECRETS, containers, find, inputs, stackOf } from '../golden/fixtures.js';

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

describe('renderApi', () => {
  it('wires the server through PgBouncer, with every URL only in the <stack>-api Secret', () => {
    const objs = renderApi(stackOf(), inputs());
    const secret = find(objs, 'Secret', 'shop-api');
    const data = secret.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(['ADMIN_TOKEN', 'AMQP_URL', 'DATABASE_URL', 'REDIS_URL']);
    expect(decode(data.DATABASE_URL!)).toBe(
      `postgres://postgres:${SECRETS.postgresPassword}@shop-pgbouncer.prod.svc.cluster.local:6432/flash_sale_db`,
    );
    expect(decode(data.REDIS_URL!)).toBe(
      `redis://:${SECRETS.redisPassword}@shop-redis.prod.svc.cluster.local:6379/0`,
    );
    expect(decode(data.AMQP_URL!)).toContain(
      `:${SECRETS.rabbitmqPassword}@shop-rabbitmq.prod.svc.cluster.local:5672/`,
    );
    expect(decode(data.ADMIN_TOKEN!)).toBe(SECRETS.apiAdminToken);
    // No password anywhere outside the Secret.
    const others = JSON.stringify(objs.filter((o) => o.kind !== 'Secret'));
    for (const s of Object.values(SECRETS)) expect(others).not.toContain(s);
  });

  it('goes straight to PostgreSQL without PgBouncer, and percent-encodes passwords', () => {
    const v = apiSecretValues(
      stackOf({ pgbouncer: { enabled: false } }),
      inputs({ secrets: { ...SECRETS, postgresPassword: 'a@b/c:d' } }),
    );
    expect(v.DATABASE_URL).toBe(
      'postgres://postgres:a%40b%2Fc%3Ad@shop-postgres.prod.svc.cluster.local:5432/flash_sale_db',
    );
  });

  it('renders server and consumer Deployments with migrate initContainer, probes, env and prefetch', () => {
    const objs = renderApi(
      stackOf({
        api: {
          env: [
            { name: 'LOG_LEVEL', value: 'debug' },
            { name: 'PORT', value: '1' },
          ],
          consumer: { prefetch: 250, replicas: 3 },
        },
      }),
      inputs(),
    );
    const api = find(objs, 'Deployment', 'shop-api');
    const [migrate, server] = containers(api);
    expect(migrate!.name).toBe('migrate');
    expect(migrate!.args).toEqual(['migrate']);
    expect(server!.args).toEqual(['serve']);
    expect((server!.livenessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/healthz');
    expect((server!.readinessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/readyz');
    const env = Object.fromEntries(server!.env!.map((e) => [e.name, e]));
    expect(env.LOG_LEVEL!.value).toBe('debug');
    expect(env.PORT!.value).toBe('8001'); // user cannot shadow operator-set names
    expect(server!.env!.filter((e) => e.name === 'PORT')).toHaveLength(1);
    expect(env.DATABASE_URL!.valueFrom).toEqual({ secretKeyRef: { name: 'shop-api', key: 'DATABASE_URL' } });
    expect((api.spec as { replicas: number }).replicas).toBe(2);
    const tpl = (api.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;
    expect(tpl.metadata.annotations[CONFIG_CHECKSUM_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    expect(server!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });

    const consumer = find(objs, 'Deployment', 'shop-consumer');
    const [c] = containers(consumer);
    expect(c!.args).toEqual(['consume']);
    expect(c!.env!.find((e) => e.name === 'CONSUMER_PREFETCH')!.value).toBe('250');
    expect((consumer.spec as { replicas: number }).replicas).toBe(3);
  });

  it('leaves replicas to the HPA when autoscaling is on', () => {
    const objs = renderApi(
      stackOf({ api: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 12 } } }),
      inputs(),
    );
    const api = find(objs, 'Deployment', 'shop-api');
    expect(api.spec).not.toHaveProperty('replicas');
    const hpa = find(objs, 'HorizontalPodAutoscaler', 'shop-api');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({
      minReplicas: 3,
      maxReplicas: 12,
      scaleTargetRef: { kind: 'Deployment', name: 'shop-api' },
    });
    expect(renderApi(stackOf(), inputs()).some((o) => o.kind === 'HorizontalPodAutoscaler')).toBe(false);
  });

  it('exposes http and a separate metrics port on a Service labelled for scraping', () => {
    const objects = renderApi(stackOf(), inputs());
    const svc = find(objects, 'Service', 'shop-api');
    expect(svc.metadata.labels!['flashsale.dev/metrics']).toBe('true');
    const ports = (svc.spec as { ports: { name: string; port: number; targetPort: string }[] }).ports;
    expect(ports.find((p) => p.name === 'http')).toMatchObject({ port: 8001, targetPort: 'http' });
    expect(ports.find((p) => p.name === 'metrics')).toMatchObject({ port: 9465, targetPort: 'metrics' });
    const pod = (
      find(objects, 'Deployment', 'shop-api').spec as {
        template: {
          metadata: { annotations: Record<string, string> };
          spec: { containers: { ports: unknown[]; env: { name: string; value?: string }[] }[] };
        };
      }
    ).template;
    const api = pod.spec.containers[0]!;
    expect(api.ports).toEqual([
      { name: 'http', containerPort: 8001, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9465, protocol: 'TCP' },
    ]);
    expect(api.env.find((e) => e.name === 'METRICS_PORT')?.value).toBe('9465');
    expect(pod.metadata.annotations['prometheus.io/port']).toBe('9465');
  });

  it('rolls the pods when a password changes', () => {
    const sum = (pw: string) => {
      const d = find(
        renderApi(stackOf(), inputs({ secrets: { ...SECRETS, redisPassword: pw } })),
        'Deployment',
        'shop-api',
      );
      return (d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
        .annotations[CONFIG_CHECKSUM_ANNOTATION];
    };
    expect(sum('a')).not.toBe(sum('b'));
    expect(sum('a')).toBe(sum('a'));
  });
});
