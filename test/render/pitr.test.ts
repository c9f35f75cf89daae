/**
 * Render of point-in-time recovery (spec.backup.pitr, spec.postgres.bootstrap.fromBackup.targetTime/targetLSN):
 * what PostgreSQL's pod, the base-backup CronJob and the volume get. The scripts themselves run for real in
 * test/backup/pitr.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { parsePostgresqlConf } from '../../src/tuning/index.js';
import { render } from '../../src/render/index.js';
import { inputs, podSpec, stackOf } from '../golden/fixtures.js';
import { validateObject } from '../support/kube-schemas.js';

type Obj = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: any };
const objects = (spec: Record<string, unknown>): Obj[] => render(stackOf(spec), inputs()).objects as Obj[];
const byName = (os: Obj[], kind: string, name: string): Obj | undefined =>
  os.find((o) => o.kind === kind && o.metadata.name === name);

describe('spec.backup.pitr', () => {
  it('is off by default: no archiving, no volume, no base-backup CronJob', () => {
    const os = objects({});
    const conf = parsePostgresqlConf(byName(os, 'ConfigMap', 'shop-postgres')!.data!['postgresql.conf']!);
    expect(conf.archive_mode).toBeUndefined();
    expect(byName(os, 'CronJob', 'shop-basebackup')).toBeUndefined();
    expect(
      os.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name.endsWith('pitr')),
    ).toBeUndefined();
  });

  it('archives WAL into the volume with archive-wal.sh, bounded by archive_timeout in whole seconds', () => {
    const os = objects({ backup: { pitr: { enabled: true, archiveTimeout: '1m30s' } } });
    const cm = byName(os, 'ConfigMap', 'shop-postgres')!;
    const conf = parsePostgresqlConf(cm.data!['postgresql.conf']!);
    expect(conf.archive_mode).toBe('on');
    expect(conf.archive_command).toBe('bash /etc/postgresql/archive-wal.sh "%p" "%f" /pitr');
    expect(conf.archive_timeout).toBe('90s');
    expect(cm.data!['archive-wal.sh']).toContain('refusing to overwrite');
    expect(cm.data!['pg_hba.conf']).toContain('host replication all 0.0.0.0/0 scram-sha-256');
    const sts = byName(os, 'StatefulSet', 'shop-postgres')!;
    const pod = podSpec(sts as never)!;
    const pg = (pod.containers as any[]).find((c) => c.name === 'postgres');
    expect(pg.volumeMounts).toContainEqual({ name: 'pitr', mountPath: '/pitr' });
    expect(pod.volumes).toContainEqual({
      name: 'pitr',
      persistentVolumeClaim: { claimName: 'shop-backup-pitr' },
    });
    const items = (pod.volumes as any[]).find((v) => v.name === 'config').configMap.items;
    expect(items).toContainEqual({ key: 'archive-wal.sh', path: 'archive-wal.sh' });
    const pvc = byName(os, 'PersistentVolumeClaim', 'shop-backup-pitr')!;
    expect(pvc.spec.resources.requests.storage).toBe('50Gi');
  });

  it("takes base backups on PostgreSQL's node with the retention settings", () => {
    const os = objects({ backup: { pitr: { enabled: true, retentionDays: 3, minBaseBackups: 4 } } });
    const cj = byName(os, 'CronJob', 'shop-basebackup')!;
    expect(cj.spec.schedule).toBe('30 1 * * *');
    const pod = cj.spec.jobTemplate.spec.template.spec;
    expect(pod.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe(
      'kubernetes.io/hostname',
    );
    const env = Object.fromEntries((pod.containers[0].env as any[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      PITR_DIR: '/pitr',
      RETENTION_DAYS: '3',
      MIN_BASE_BACKUPS: '4',
      STACK: 'shop',
    });
    expect(pod.containers[0].command).toEqual(['bash', '/scripts/basebackup.sh']);
    expect(byName(os, 'ConfigMap', 'shop-backup-scripts')!.data!['basebackup.sh']).toContain(
      'pg_archivecleanup',
    );
    // The base-backup pods may reach PostgreSQL.
    expect(JSON.stringify(byName(os, 'NetworkPolicy', 'shop-network-postgres-from-clients')!.spec)).toContain(
      '"app.kubernetes.io/name":"basebackup"',
    );
    expect(byName(os, 'NetworkPolicy', 'shop-network-basebackup-to-postgres')).toBeDefined();
  });

  it('restores to a point in time before first start: initContainer, source volume, no dump Job, no migrate wait', () => {
    const os = objects({
      postgres: { bootstrap: { fromBackup: { claimName: 'old-pitr', targetTime: '2025-11-11T00:00:05Z' } } },
    });
    const pod = podSpec(byName(os, 'StatefulSet', 'shop-postgres') as never)!;
    const init = (pod.initContainers as any[])[0];
    expect(init.name).toBe('pitr-restore');
    expect(init.command).toEqual(['bash', '/etc/postgresql/pitr-restore.sh']);
    const env = Object.fromEntries((init.env as any[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ PITR_DIR: '/restore-source', TARGET_TIME: '2025-11-11T00:00:05Z' });
    expect(pod.volumes).toContainEqual({
      name: 'restore-source',
      persistentVolumeClaim: { claimName: 'old-pitr', readOnly: true },
    });
    const pg = (pod.containers as any[]).find((c) => c.name === 'postgres');
    expect(pg.volumeMounts).toContainEqual({
      name: 'restore-source',
      mountPath: '/restore-source',
      readOnly: true,
    });
    expect(byName(os, 'Job', 'shop-bootstrap')).toBeUndefined();
    const api = byName(os, 'Deployment', 'shop-api')!;
    expect(JSON.stringify(api.spec)).not.toContain('MIGRATE_WAIT_FOR_RESTORE');
  });

  it('renders only what a Kubernetes 1.28 server accepts', () => {
    for (const spec of [
      { backup: { pitr: { enabled: true } } },
      {
        postgres: {
          bootstrap: { fromBackup: { claimName: 'old-pitr', targetTime: '2025-11-11T00:00:05Z' } },
        },
      },
    ]) {
      for (const o of objects(spec)) {
        expect(
          validateObject(o as never, { kubernetesVersion: '1.28' }),
          `${o.kind}/${o.metadata.name}`,
        ).toEqual([]);
      }
    }
  });

  it('targetLSN is passed as TARGET_LSN', () => {
    const os = objects({
      postgres: { bootstrap: { fromBackup: { claimName: 'old-pitr', targetLSN: '0/3000060' } } },
    });
    const init = (podSpec(byName(os, 'StatefulSet', 'shop-postgres') as never)!.initContainers as any[])[0];
    expect(init.env).toContainEqual({ name: 'TARGET_LSN', value: '0/3000060' });
  });
});
