import { describe, expect, it } from 'vitest';
import { nginxConf, renderNginx } from '../../src/render/nginx.js';
import { containers, find, inputs, stackOf } from '../golden/fixtures.js';

describe('nginxConf', () => {
  it('puts limit_req_zone in http {}, limits per client with spec rate and burst, answers 429', () => {
    const conf = nginxConf(
      stackOf({ nginx: { rateLimit: { requestsPerSecond: 300, burst: 50, nodelay: false } } }),
    );
    const http = conf.indexOf('http {');
    const server = conf.search(/^\s+server \{$/m);
    const zone = conf.indexOf('limit_req_zone $binary_remote_addr zone=');
    expect(http).toBeGreaterThan(0);
    expect(zone).toBeGreaterThan(http);
    expect(zone).toBeLessThan(server);
    expect(conf).toMatch(/rate=300r\/s;/);
    expect(conf).toMatch(/limit_req zone=\S+ burst=50;/);
    expect(conf).toMatch(/limit_req_status 429;/);
  });

  it('uses least_conn with max_fails/fail_timeout, keepalive, timeouts from the spec, and /health', () => {
    const conf = nginxConf(
      stackOf({
        nginx: {
          timeouts: { connect: '2s', send: '7s', read: '1m' },
          upstream: { maxFails: 4, failTimeout: '15s' },
        },
      }),
    );
    expect(conf).toMatch(
      /upstream flashsale_api \{\n\s+least_conn;\n\s+server shop-api\.prod\.svc\.cluster\.local:8001 max_fails=4 fail_timeout=15s;\n\s+keepalive \d+;/,
    );
    expect(conf).toMatch(/proxy_connect_timeout 2s;/);
    expect(conf).toMatch(/proxy_send_timeout 7s;/);
    expect(conf).toMatch(/proxy_read_timeout 1m;/);
    expect(conf).toMatch(/proxy_set_header Connection "";/);
    expect(conf).toMatch(/location = \/health \{[^}]*return 200 "healthy\\n";/);
  });

  it('trusts X-Forwarded-For only from the given proxies', () => {
    expect(nginxConf(stackOf())).not.toMatch(/set_real_ip_from/);
    const conf = nginxConf(stackOf({ nginx: { trustedProxies: ['10.0.0.0/8', '2001:db8::/32'] } }));
    expect(conf).toMatch(
      /set_real_ip_from 10\.0\.0\.0\/8;\n\s+set_real_ip_from 2001:db8::\/32;\n\s+real_ip_header X-Forwarded-For;\n\s+real_ip_recursive on;/,
    );
    expect(() => nginxConf(stackOf({ nginx: { trustedProxies: ['10.0.0.0/8; evil'] } }))).toThrow(
      /spec\.nginx\.trustedProxies\[0\]/,
    );
  });

  it('adds a TLS server only when a secret is named', () => {
    expect(nginxConf(stackOf())).not.toMatch(/ssl/);
    const conf = nginxConf(stackOf({ nginx: { tls: { secretName: 't' } } }));
    expect(conf).toMatch(/listen 8443 ssl/);
    expect(conf).toMatch(/ssl_certificate \/etc\/flashsale-nginx-tls\/tls\.crt;/);
  });
});

describe('renderNginx', () => {
  it('runs unprivileged on a read-only root with writable /tmp and cache, probes on /health', () => {
    const objs = renderNginx(stackOf({ nginx: { tls: { secretName: 'shop-tls' } } }), inputs());
    const d = find(objs, 'Deployment', 'shop-nginx');
    const [c] = containers(d);
    expect(c!.image).toMatch(/^nginxinc\/nginx-unprivileged:/);
    expect(c!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect((c!.readinessProbe as { httpGet: { path: string } }).httpGet.path).toBe('/health');
    const mounts = (c!.volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
    expect(mounts).toEqual(
      expect.arrayContaining([
        '/tmp',
        '/var/cache/nginx',
        '/etc/flashsale-nginx',
        '/etc/flashsale-nginx-tls',
      ]),
    );
    const ports = (c!.ports as { containerPort: number }[]).map((p) => p.containerPort);
    expect(ports).toEqual([8080, 8443]);
  });

  it('exposes a LoadBalancer with externalTrafficPolicy Local by default (client IP survives)', () => {
    const svc = find(renderNginx(stackOf(), inputs()), 'Service', 'shop-nginx');
    expect(svc.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    const cip = find(
      renderNginx(stackOf({ nginx: { serviceType: 'ClusterIP' } }), inputs()),
      'Service',
      'shop-nginx',
    );
    expect(cip.spec).not.toHaveProperty('externalTrafficPolicy');
  });

  it('rolls pods when the config changes, and has a PDB', () => {
    const sum = (rps: number) =>
      (
        find(
          renderNginx(stackOf({ nginx: { rateLimit: { requestsPerSecond: rps } } }), inputs()),
          'Deployment',
          'shop-nginx',
        ).spec as {
          template: { metadata: { annotations: Record<string, string> } };
        }
      ).template.metadata.annotations['flashsale.dev/config-checksum'];
    expect(sum(10)).not.toBe(sum(20));
    expect(find(renderNginx(stackOf(), inputs()), 'PodDisruptionBudget', 'shop-nginx').spec).toMatchObject({
      maxUnavailable: 1,
    });
  });
});
