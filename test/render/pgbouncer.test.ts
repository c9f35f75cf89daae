import { describe, expect, it } from 'vitest';
import { renderPgBouncer } from '../../src/render/pgbouncer.js';
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

describe('renderPgBouncer', () => {
  const objs = renderPgBouncer(stack(), inputs());

  it('renders the objects with owner refs', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-pgbouncer',
      'Deployment/shop-pgbouncer',
      'PodDisruptionBudget/shop-pgbouncer',
      'Secret/shop-pgbouncer-auth',
      'Service/shop-pgbouncer',
    ]);
    for (const o of objs) expect(o.metadata.ownerReferences?.[0]?.name).toBe('shop');
  });

  it('renders nothing when disabled', () => {
    expect(renderPgBouncer(stack({ pgbouncer: { enabled: false } }), inputs())).toEqual([]);
  });

  it('pgbouncer.ini carries pool settings, scram auth and the Service DNS of PostgreSQL', () => {
    const ini = configData(
      renderPgBouncer(
        stack({
          pgbouncer: { poolMode: 'session', defaultPoolSize: 40, reservePoolSize: 7, maxClientConn: 3000 },
        }),
        inputs(),
      ),
    )['pgbouncer.ini']!;
    expect(ini).toMatch(/^pool_mode = session$/m);
    expect(ini).toMatch(/^default_pool_size = 40$/m);
    expect(ini).toMatch(/^reserve_pool_size = 7$/m);
    expect(ini).toMatch(/^max_db_connections = 47$/m);
    expect(ini).toMatch(/^max_client_conn = 3000$/m);
    expect(ini).toMatch(/^listen_port = 6432$/m);
    expect(ini).toMatch(/^auth_type = scram-sha-256$/m);
    expect(ini).toMatch(/^\* = host=shop-postgres\.sales\.svc port=5432$/m);
    expect(ini).toMatch(/^admin_users = pgbouncer_admin$/m);
    expect(ini).toMatch(/^ignore_startup_parameters = extra_float_digits$/m);
  });

  it('keeps passwords in the Secret only', () => {
    const cm = JSON.stringify(find(objs, 'ConfigMap'));
    for (const s of ALL_SECRETS) expect(cm).not.toContain(s);
    expect(JSON.stringify(find(objs, 'Deployment'))).not.toContain('bouncerAdm1n-Secret');
    const sec = secretData(objs);
    expect(sec['userlist.txt']).toBe(
      '"postgres" "pgPassw0rd-Secret"\n"pgbouncer_admin" "bouncerAdm1n-Secret"\n',
    );
    expect(sec['admin-password']).toBe('bouncerAdm1n-Secret');
    const quoted = secretData(renderPgBouncer(stack(), inputs({ postgresPassword: 'a"b' })));
    expect(quoted['userlist.txt']).toContain('"postgres" "a""b"');
  });

  it('pod is restricted with tcp probes on 6432 and the exporter on metrics', () => {
    const dep = find(objs, 'Deployment') as any;
    const spec = podSpec(dep);
    expect(restrictedProblems(spec)).toEqual([]);
    expect(dep.spec.replicas).toBe(2);
    expect(spec.containers[0].readinessProbe.tcpSocket.port).toBe('pgbouncer');
    expect(spec.containers[1].ports[0]).toMatchObject({ name: 'metrics', containerPort: 9127 });
    expect(find(objs, 'Service').metadata.labels?.['flashsale.dev/metrics']).toBe('true');
    expect((find(objs, 'PodDisruptionBudget') as any).spec.minAvailable).toBe(1);
  });

  it('checksum follows pgbouncer config and the userlist only', () => {
    const base = checksum(find(objs, 'Deployment'));
    expect(
      checksum(find(renderPgBouncer(stack({ pgbouncer: { defaultPoolSize: 30 } }), inputs()), 'Deployment')),
    ).not.toBe(base);
    expect(
      checksum(find(renderPgBouncer(stack(), inputs({ postgresPassword: 'x' })), 'Deployment')),
    ).not.toBe(base);
    expect(
      checksum(find(renderPgBouncer(stack({ redis: { appendonly: false } }), inputs()), 'Deployment')),
    ).toBe(base);
  });
});
