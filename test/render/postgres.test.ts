import { describe, expect, it } from 'vitest';
import { POSTGRES_CONNECTION_RESERVE } from '../../src/render/budgets.js';
import {
  isReloadableParameter,
  postgresConfig,
  postgresDataPaths,
  renderPostgres,
  restartParameters,
} from '../../src/render/postgres.js';
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

describe('renderPostgres', () => {
  const objs = renderPostgres(stack(), inputs());

  it('renders the objects with owner refs and labels', () => {
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ConfigMap/shop-postgres',
      'PodDisruptionBudget/shop-postgres',
      'Secret/shop-postgres-credentials',
      'Service/shop-postgres',
      'Service/shop-postgres-headless',
      'StatefulSet/shop-postgres',
    ]);
    for (const o of objs) {
      expect(o.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'FlashSaleStack',
        name: 'shop',
        controller: true,
      });
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('flash-sale-operator');
    }
  });

  it('postgresql.conf: tuned, operator-owned settings, max_connections from the pool budget', () => {
    const conf = configData(objs)['postgresql.conf']!;
    expect(conf).toMatch(/^listen_addresses = '\*'$/m);
    expect(conf).toMatch(/^port = 5432$/m);
    expect(conf).toMatch(/^hba_file = '\/etc\/postgresql\/pg_hba\.conf'$/m);
    expect(conf).toMatch(/^password_encryption = 'scram-sha-256'$/m);
    expect(conf).toMatch(new RegExp(`^max_connections = ${2 * 30 + POSTGRES_CONNECTION_RESERVE}$`, 'm'));
    expect(conf).toMatch(/^shared_buffers = 1GB$/m);
    expect(conf).toMatch(/^shared_preload_libraries = pg_stat_statements$/m);
    expect(conf).not.toMatch(/^(pool_mode|io_direct)/m);
    expect(configData(objs)['pg_hba.conf']).toMatch(/^host all all 0\.0\.0\.0\/0 scram-sha-256$/m);
    expect(configData(objs)['pg_hba.conf']).not.toMatch(/trust|md5|password$/m);
    expect(configData(objs)['00-pg-stat-statements.sql']).toContain(
      'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
    );
  });

  it('user password_encryption is overridden with a warning', () => {
    const cfg = postgresConfig(stack({ postgres: { parameters: { password_encryption: 'md5' } } }));
    expect(cfg.parameters.password_encryption).toBe('scram-sha-256');
    expect(cfg.warnings.map((w) => w.path)).toContain('spec.postgres.parameters.password_encryption');
  });

  it('no password in the ConfigMap or the pod spec; the Secret has username/password', () => {
    const cm = JSON.stringify(find(objs, 'ConfigMap'));
    for (const s of ALL_SECRETS) expect(cm).not.toContain(s);
    expect(JSON.stringify(find(objs, 'StatefulSet'))).not.toContain('pgPassw0rd-Secret');
    expect(secretData(objs)).toEqual({ username: 'postgres', password: 'pgPassw0rd-Secret' });
  });

  it('a user-named credentials Secret is referenced, not rendered', () => {
    const own = renderPostgres(stack({ postgres: { credentialsSecret: 'my-db-creds' } }), inputs());
    expect(own.filter((o) => o.kind === 'Secret')).toEqual([]);
    const env = podSpec(find(own, 'StatefulSet')).containers[0].env;
    expect(env.find((e: any) => e.name === 'POSTGRES_PASSWORD').valueFrom.secretKeyRef.name).toBe(
      'my-db-creds',
    );
  });

  it('pod: restricted, pg_isready probes, PGDATA under the mount, exporter with DATA_SOURCE from the Secret', () => {
    const sts = find(objs, 'StatefulSet') as any;
    const spec = podSpec(sts);
    expect(restrictedProblems(spec)).toEqual([]);
    const pgc = spec.containers[0];
    expect(pgc.readinessProbe.exec.command[0]).toBe('pg_isready');
    expect(pgc.image).toBe('postgres:18.1-bookworm');
    const env = Object.fromEntries(pgc.env.map((e: any) => [e.name, e]));
    expect(env.PGDATA.value).toBe('/var/lib/postgresql/18/docker');
    expect(pgc.volumeMounts.find((m: any) => m.name === 'data').mountPath).toBe('/var/lib/postgresql');
    expect(postgresDataPaths(15)).toEqual({
      mountPath: '/var/lib/postgresql/data',
      pgdata: '/var/lib/postgresql/data/pgdata',
    });
    const exp = spec.containers[1];
    expect(exp.ports[0]).toMatchObject({ name: 'metrics', containerPort: 9187 });
    expect(exp.env.find((e: any) => e.name === 'DATA_SOURCE_PASS').valueFrom.secretKeyRef).toEqual({
      name: 'shop-postgres-credentials',
      key: 'password',
    });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('20Gi');
    expect(sts.spec.serviceName).toBe('shop-postgres-headless');
    expect(pgc.resources.limits).toEqual({ cpu: '2', memory: '4Gi' });
  });

  it('monitoring off: no exporter, no metrics port, no initdb script', () => {
    const off = renderPostgres(stack({ monitoring: { enabled: false } }), inputs());
    expect(podSpec(find(off, 'StatefulSet')).containers).toHaveLength(1);
    expect(configData(off)['00-pg-stat-statements.sql']).toBeUndefined();
    expect((find(off, 'Service', 'shop-postgres') as any).spec.ports).toHaveLength(1);
  });

  it('checksum follows restart-only postgres config: reloadable parameters change the ConfigMap only', () => {
    const base = checksum(find(objs, 'StatefulSet'));
    const baseConf = configData(objs)['postgresql.conf'];
    const variant = (spec: Parameters<typeof stack>[0]) => renderPostgres(stack(spec), inputs());
    // sighup (log_min_duration_statement) and user (work_mem) context: reload, no restart.
    for (const parameters of [{ log_min_duration_statement: '250ms' }, { work_mem: '8MB' }] as Record<
      string,
      string
    >[]) {
      const objsB = variant({ postgres: { parameters } });
      expect(configData(objsB)['postgresql.conf'], JSON.stringify(parameters)).not.toBe(baseConf);
      expect(checksum(find(objsB, 'StatefulSet')), JSON.stringify(parameters)).toBe(base);
    }
    // postmaster context: shared_buffers directly, max_connections through the PgBouncer pool budget.
    expect(
      checksum(find(variant({ postgres: { parameters: { shared_buffers: '512MB' } } }), 'StatefulSet')),
    ).not.toBe(base);
    const pooled = variant({ pgbouncer: { defaultPoolSize: 40 } });
    const maxConns = (conf: string | undefined) => /^max_connections = (\d+)$/m.exec(conf ?? '')?.[1];
    expect(maxConns(configData(pooled)['postgresql.conf'])).not.toBe(maxConns(baseConf));
    expect(checksum(find(pooled, 'StatefulSet'))).not.toBe(base);
    expect(checksum(find(variant({ redis: { appendonly: false } }), 'StatefulSet'))).toBe(base);
    // The Secret values still roll the pod (env), as do the pod's other config files.
    expect(
      checksum(find(renderPostgres(stack(), inputs({ postgresPassword: 'other-Passw0rd' })), 'StatefulSet')),
    ).not.toBe(base);
    expect(renderPostgres(stack(), inputs())).toEqual(objs);
  });

  it('reloadable vs restart parameters follow pg_settings.context', () => {
    expect(isReloadableParameter(15, 'log_min_duration_statement')).toBe(true); // sighup
    expect(isReloadableParameter(15, 'work_mem')).toBe(true); // user
    expect(isReloadableParameter(15, 'log_connections')).toBe(true); // superuser-backend
    expect(isReloadableParameter(15, 'shared_buffers')).toBe(false); // postmaster
    expect(isReloadableParameter(15, 'max_connections')).toBe(false);
    expect(isReloadableParameter(15, 'block_size')).toBe(false); // internal
    expect(isReloadableParameter(15, 'no_such_parameter')).toBe(false); // unknown: restart to be safe
    const restart = restartParameters(15, postgresConfig(stack()).parameters);
    expect(Object.keys(restart)).toContain('shared_buffers');
    expect(Object.keys(restart)).toContain('port');
    expect(Object.keys(restart)).not.toContain('work_mem');
  });

  it('the pod runs as its own ServiceAccount', () => {
    expect(podSpec(find(objs, 'StatefulSet')).serviceAccountName).toBe('shop-postgres');
    expect(podSpec(find(objs, 'StatefulSet')).automountServiceAccountToken).toBe(false);
  });
});
