import { describe, expect, it } from 'vitest';
import { validateStack } from '../../src/api/validate.js';
import { parseStackDocuments } from '../../src/api/parse.js';
import { checkCidr, checkCron, checkImage, parseDuration } from '../../src/api/formats.js';
import { parseMaxmemory, parseQuantity } from '../../src/api/quantity.js';

const base = (spec: unknown, name = 'shop') => ({
  apiVersion: 'flashsale.dev/v1alpha1',
  kind: 'FlashSaleStack',
  metadata: { name },
  spec,
});
const paths = (doc: unknown) => validateStack(doc).map((p) => p.path);

describe('validateStack', () => {
  it('accepts an empty spec and a missing spec', () => {
    expect(validateStack(base({}))).toEqual([]);
    expect(
      validateStack({
        apiVersion: 'flashsale.dev/v1alpha1',
        kind: 'FlashSaleStack',
        metadata: { name: 'a' },
      }),
    ).toEqual([]);
  });

  it('reports all problems at once with paths', () => {
    const problems = validateStack({
      apiVersion: 'flashsale.dev/v1',
      kind: 'FlashSale',
      metadata: { name: 'Shop_1' },
      spec: {
        pgbouncer: { replicas: -1, poolMode: 'pooled' },
        redis: { maxmemoryPolicy: 'allkeys-lfu', appendonly: 'yes' },
        rabbitmq: { replicas: 2 },
        nginx: {
          trustedProxies: ['10.0.0.1/8', '300.0.0.0/8', '2001:db8::/32'],
          timeouts: { read: '10 seconds' },
        },
        api: {
          port: 9465,
          autoscaling: { minReplicas: 5, maxReplicas: 3 },
          env: [{ name: 'DATABASE_URL', value: 'x' }],
        },
        backup: { storage: { size: '1Gi' }, existingClaim: 'claim' },
        monitoring: { probeInterval: '5s', probeTimeout: '10s', serviceMonitor: true },
        postgres: { parameters: { listen_addresses: '*', max_connections: 100, work_mem: 'a\nport = 1' } },
        surprise: 1,
      },
    });
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath.apiVersion).toMatch(/must be flashsale.dev\/v1alpha1/);
    expect(byPath.kind).toMatch(/must be FlashSaleStack/);
    expect(byPath['metadata.name']).toMatch(/lowercase/);
    expect(byPath['spec.pgbouncer.replicas']).toMatch(/at least 0/);
    expect(byPath['spec.pgbouncer.poolMode']).toMatch(/one of: session, transaction, statement/);
    expect(byPath['spec.redis.maxmemoryPolicy']).toMatch(/role: cache/);
    expect(byPath['spec.redis.appendonly']).toMatch(/true or false/);
    expect(byPath['spec.rabbitmq.replicas']).toMatch(/one of: 1, 3/);
    expect(byPath['spec.nginx.trustedProxies[0]']).toMatch(/host bits set; the network is 10.0.0.0\/8/);
    expect(byPath['spec.nginx.trustedProxies[1]']).toMatch(/not an IPv4 or IPv6 address/);
    expect(byPath['spec.nginx.trustedProxies[2]']).toBeUndefined();
    expect(byPath['spec.nginx.timeouts.read']).toMatch(/not a duration/);
    expect(byPath['spec.api.autoscaling.minReplicas']).toMatch(/greater than maxReplicas/);
    expect(byPath['spec.api.port']).toMatch(/9465 is the API's metrics port .*choose another port/);
    expect(byPath['spec.api.env[0].name']).toMatch(/set by the operator/);
    expect(byPath['spec.backup.existingClaim']).toMatch(/not both/);
    expect(byPath['spec.monitoring.probeTimeout']).toMatch(/probeInterval/);
    expect(byPath['spec.monitoring.serviceMonitor']).toMatch(/quote/);
    expect(byPath['spec.postgres.parameters.listen_addresses']).toMatch(/set by the operator/);
    expect(byPath['spec.postgres.parameters.max_connections']).toMatch(/quote it: "100"/);
    expect(byPath['spec.postgres.parameters.work_mem']).toMatch(/single line/);
    expect(byPath['spec.surprise']).toMatch(/unknown field/);
  });

  it('refuses a spec.monitoring.namespace that is no namespace name, saying what one looks like', () => {
    expect(validateStack(base({ monitoring: { namespace: 'observability' } }))).toEqual([]);
    expect(validateStack(base({ monitoring: { namespace: 'Monitoring_NS' } }))).toEqual([
      {
        path: 'spec.monitoring.namespace',
        message:
          'string "Monitoring_NS" must be a DNS label such as a namespace name: lower-case letters, digits and "-", starting and ending with a letter or digit',
      },
    ]);
    expect(paths(base({ monitoring: { namespace: '' } }))).toEqual(['spec.monitoring.namespace']);
  });

  it('suggests the right name for a misspelt field', () => {
    const p = validateStack(base({ redis: { maxMemoryPolicy: 'noeviction' } }));
    expect(p).toHaveLength(1);
    expect(p[0]!.message).toMatch(/did you mean "maxmemoryPolicy"/);
  });

  it('accepts allkeys-* on a cache Redis, volatile-* on inventory', () => {
    expect(validateStack(base({ redis: { role: 'cache', maxmemoryPolicy: 'allkeys-lru' } }))).toEqual([]);
    expect(validateStack(base({ redis: { maxmemoryPolicy: 'volatile-lru' } }))).toEqual([]);
  });

  it("accepts Redis' own notation for maxmemory only, and refuses it where a quantity is needed", () => {
    expect(validateStack(base({ redis: { maxmemory: '3gb' } }))).toEqual([]);
    expect(validateStack(base({ redis: { maxmemory: '3Gi' } }))).toEqual([]);
    expect(paths(base({ redis: { maxmemory: 'lots' } }))).toEqual(['spec.redis.maxmemory']);
    expect(paths(base({ redis: { resources: { limits: { memory: '3gb' } } } }))).toEqual([
      'spec.redis.resources.limits.memory',
    ]);
    const p = validateStack(base({ redis: { maxmemory: '4gb', resources: { limits: { memory: '4Gi' } } } }));
    expect(p[0]!.message).toMatch(/OOM/);
  });

  it('refuses requests above limits and cpu written as a bare number', () => {
    const p = validateStack(base({ api: { resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } } }));
    expect(p.map((x) => x.path)).toEqual(['spec.api.resources.requests.cpu']);
    expect(paths(base({ api: { resources: { limits: { cpu: 2 } } } }))).toEqual([
      'spec.api.resources.limits.cpu',
    ]);
  });

  it('deduplicates built-in and catalog parameter problems by path', () => {
    const calls: unknown[] = [];
    const problems = validateStack(
      base({ postgres: { version: 17, parameters: { io_direct: 'data', shared_bufers: '1GB' } } }),
      {
        checkPostgresParameters: (version, params, path) => {
          calls.push([version, params, path]);
          return Object.keys(params).map((k) => ({
            path: `${path}.${k}`,
            message: `unknown parameter ${k}`,
          }));
        },
      },
    );
    expect(calls).toEqual([[17, { io_direct: 'data', shared_bufers: '1GB' }, 'spec.postgres.parameters']]);
    expect(problems.map((p) => p.path).sort()).toEqual([
      'spec.postgres.parameters.io_direct',
      'spec.postgres.parameters.shared_bufers',
    ]);
    expect(problems.find((p) => p.path.endsWith('io_direct'))!.message).toMatch(/debug_io_direct/);
    expect(problems.find((p) => p.path.endsWith('io_direct'))!.message).not.toMatch(/io_method/);
  });

  it('refuses stack names that cannot prefix child objects', () => {
    expect(paths(base({}, 'a'.repeat(41)))).toEqual(['metadata.name']);
    expect(paths(base({}, '1shop'))).toEqual(['metadata.name']);
    expect(paths({ apiVersion: 'flashsale.dev/v1alpha1', kind: 'FlashSaleStack', spec: {} })).toEqual([
      'metadata',
    ]);
    expect(validateStack('text')[0]!.message).toMatch(/must be a FlashSaleStack object/);
  });
});

describe('formats', () => {
  it('cron', () => {
    for (const ok of [
      '0 2 * * *',
      '*/15 * * * *',
      '0 0-6/2 1,15 jan-jun mon-fri',
      '@daily',
      '@hourly',
      '0 2 * * SUN',
      '5 4 ? * *',
    ]) {
      expect(checkCron(ok), ok).toBeUndefined();
    }
    expect(checkCron('0 24 * * *')).toMatch(/hour value "24" is out of range 0-23/);
    expect(checkCron('60 * * * *')).toMatch(/minute/);
    expect(checkCron('0 0 0 * *')).toMatch(/day of month/);
    expect(checkCron('0 0 * 13 *')).toMatch(/month/);
    expect(checkCron('*/0 * * * *')).toMatch(/positive/);
    expect(checkCron('0 5-1 * * *')).toMatch(/backwards/);
    expect(checkCron('@sometimes')).toMatch(/unknown descriptor/);
    expect(checkCron('TZ=UTC 0 2 * * *')).toMatch(/time zones/);
    expect(checkCron('0 2 * * * *')).toMatch(/6 field/);
  });
  it('CIDR', () => {
    for (const ok of ['10.0.0.0/8', '0.0.0.0/0', '192.168.1.7/32', 'fd00::/8', '2001:db8::/32', '::1/128']) {
      expect(checkCidr(ok), ok).toBeUndefined();
    }
    expect(checkCidr('10.0.0.1')).toMatch(/10.0.0.1\/32/);
    expect(checkCidr('10.0.0.0/33')).toMatch(/too long/);
    expect(checkCidr('fd00::1/8')).toMatch(/host bits/);
    expect(checkCidr('nope')).toMatch(/not a CIDR/);
  });
  it('image references', () => {
    for (const ok of [
      'postgres:18.1-bookworm',
      'ghcr.io/a/b:1.0',
      'localhost:5000/x/y:v1',
      `redis@sha256:${'a'.repeat(64)}`,
    ]) {
      expect(checkImage(ok), ok).toBeUndefined();
    }
    expect(checkImage('redis')).toMatch(/no tag/);
    expect(checkImage('redis:latest')).toMatch(/:latest/);
    expect(checkImage('Redis:7')).toMatch(/not a valid image reference/);
  });
  it('quantities and durations', () => {
    expect(parseQuantity('500m')).toBe(0.5);
    expect(parseQuantity('2Gi')).toBe(2 * 2 ** 30);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('1.5G')).toBe(1.5e9);
    expect(parseQuantity('20GB')).toBeUndefined();
    expect(parseQuantity(' 1Gi')).toBeUndefined();
    expect(parseMaxmemory('16gb')).toBe(16 * 2 ** 30);
    expect(parseMaxmemory('1k')).toBe(1000);
    expect(parseMaxmemory('3Gi')).toBe(3 * 2 ** 30);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5')).toBeUndefined();
  });
});

describe('parseStackDocuments', () => {
  it('reads multi-document YAML and names non-FlashSaleStack documents', () => {
    const r = parseStackDocuments(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: a}\n---\n',
    );
    expect(r.stacks.map((s) => s.index)).toEqual([2]);
    expect(r.problems).toEqual([
      { path: 'document 1', message: expect.stringMatching(/is a ConfigMap \(v1\), not a FlashSaleStack/) },
    ]);
  });
  it('reports unparsable YAML with a position, not a stack trace', () => {
    const r = parseStackDocuments('kind: FlashSaleStack\nspec: [unclosed\n');
    expect(r.stacks).toEqual([]);
    expect(r.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
    expect(r.problems[0]!.message).toMatch(/^unparsable YAML: /);
    expect(r.problems[0]!.message).not.toMatch(/\n|at .*\.js/);
  });
  it('reads YAML like Kubernetes (1.1 booleans), so validate sees what the API server sees', () => {
    const r = parseStackDocuments(
      'apiVersion: flashsale.dev/v1alpha1\nkind: FlashSaleStack\nmetadata: {name: a}\nspec:\n  postgres:\n    parameters:\n      track_io_timing: on\n',
    );
    const p = validateStack(r.stacks[0]!.doc);
    expect(p).toEqual([
      { path: 'spec.postgres.parameters.track_io_timing', message: expect.stringMatching(/quote the value/) },
    ]);
  });
  it('reports an empty file', () => {
    expect(parseStackDocuments('# nothing\n').problems[0]!.message).toMatch(/empty/);
  });
});
