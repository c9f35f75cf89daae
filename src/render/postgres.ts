/**
 * PostgreSQL: StatefulSet (1 replica, PVC template), Service (+ `metrics` port), headless Service, ConfigMap
 * (`postgresql.conf`, `pg_hba.conf`, first-init SQL), Secret `<stack>-postgres-credentials` (unless the user
 * named `spec.postgres.credentialsSecret`), PodDisruptionBudget, postgres-exporter sidecar, pg_isready probes.
 *
 * postgresql.conf = tunePostgres (tuned defaults + validated user overrides, src/tuning/) + the settings the
 * operator owns: listen_addresses, port, hba_file, unix_socket_directories and password_encryption =
 * scram-sha-256 (pg_hba requires scram for every connection, and PgBouncer authenticates with SCRAM).
 * The data directory is the official image's: PGDATA is a subdirectory of the volume mount (initdb refuses a
 * mount point that contains lost+found).
 */
import { DEFAULT_IMAGES, PORTS } from '../api/images.js';
import type { Problem } from '../api/problems.js';
import type { PostgresMajorVersion, ResolvedFlashSaleStack } from '../api/types.js';
import {
  formatPostgresqlConf,
  parameterContext,
  tunePostgres,
  type ParameterContext,
} from '../tuning/index.js';
import { postgresTuneInput } from './budgets.js';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  childName,
  configChecksum,
  labels,
  objectMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  type KubeObject,
  type RenderInputs,
} from './common.js';
import {
  EXPORTER_RESOURCES,
  METRICS_LABEL,
  POSTGRES_USERNAME,
  containerResources,
  dataVolumeClaimTemplate,
  pvcRetention,
  scrapeAnnotations,
  secretEnv,
} from './resources.js';
import { serviceAccountName } from './serviceaccounts.js';
import { archiveWalScript, pitrRestoreScript } from '../backup/pitr-scripts.js';
import {
  ARCHIVE_SCRIPT,
  PITR_MOUNT,
  PITR_RESTORE_SCRIPT,
  RESTORE_SOURCE_MOUNT,
  pitrBootstrap,
  pitrClaimName,
  pitrEnabled,
  walArchivingSettings,
} from './pitr.js';

export { POSTGRES_USERNAME, postgresServiceHost } from './resources.js';

/** uid/gid of the `postgres` user in the official (Debian) postgres image. */
export const POSTGRES_UID = 999;
/** uid of the postgres-exporter image (`nobody`). */
export const POSTGRES_EXPORTER_UID = 65534;
export const POSTGRES_CONFIG_DIR = '/etc/postgresql';
export const POSTGRES_SOCKET_DIR = '/var/run/postgresql';
export const POSTGRES_INITDB_DIR = '/docker-entrypoint-initdb.d';

/**
 * Where the volume is mounted and where PGDATA lives. PostgreSQL 18+ images moved the default PGDATA to
 * /var/lib/postgresql/<major>/docker (volume at /var/lib/postgresql, and they refuse to start when something is
 * mounted at the old /var/lib/postgresql/data); older images use /var/lib/postgresql/data, where we use the
 * `pgdata` subdirectory so the mount point itself (lost+found) is not the data directory.
 */
export function postgresDataPaths(version: PostgresMajorVersion): { mountPath: string; pgdata: string } {
  return version >= 18
    ? { mountPath: '/var/lib/postgresql', pgdata: `/var/lib/postgresql/${version}/docker` }
    : { mountPath: '/var/lib/postgresql/data', pgdata: '/var/lib/postgresql/data/pgdata' };
}

/** Name of the Secret with `username`/`password`: the user's, or the one the operator generates. */
export function postgresSecretName(stack: ResolvedFlashSaleStack): string {
  return stack.spec.postgres.credentialsSecret ?? childName(stack, 'postgres', 'credentials');
}

export function postgresHeadlessName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'postgres', 'headless');
}

/** Settings render owns (users may not set them; see OPERATOR_OWNED_PARAMETERS in src/tuning). */
export function operatorOwnedPostgresSettings(): Record<string, string> {
  return {
    listen_addresses: '*',
    port: String(PORTS.postgres),
    hba_file: `${POSTGRES_CONFIG_DIR}/pg_hba.conf`,
    unix_socket_directories: POSTGRES_SOCKET_DIR,
    password_encryption: 'scram-sha-256',
  };
}

/**
 * pg_hba.conf: every connection, local or network, authenticates with scram-sha-256; with `replication`, so
 * do replication connections (pg_basebackup of spec.backup.pitr), which `all` does not match.
 */
export function pgHbaConf(replication = false): string {
  const lines = [
    '# Rendered by flash-sale-operator. TYPE DATABASE USER ADDRESS METHOD',
    'local all all scram-sha-256',
    'host all all 127.0.0.1/32 scram-sha-256',
    'host all all ::1/128 scram-sha-256',
    'host all all 0.0.0.0/0 scram-sha-256',
    'host all all ::/0 scram-sha-256',
  ];
  if (replication)
    lines.push('host replication all 0.0.0.0/0 scram-sha-256', 'host replication all ::/0 scram-sha-256');
  return [...lines, ''].join('\n');
}

export const PG_HBA_CONF = pgHbaConf();

export const PG_STAT_STATEMENTS_INIT_SQL = 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements;\n';

/**
 * Contexts whose parameters take effect without restarting the server: `sighup`, `superuser` and `user` on
 * `pg_reload_conf()`; `backend` and `superuser-backend` for connections opened after the reload. Everything
 * else (`postmaster`, `internal`, and names the catalog does not know) needs a restart.
 */
export const RELOADABLE_CONTEXTS: ReadonlySet<ParameterContext> = new Set<ParameterContext>([
  'sighup',
  'superuser',
  'user',
  'backend',
  'superuser-backend',
]);

/** Whether a change of `name` on this major version can be applied with a reload (no restart). */
export function isReloadableParameter(version: PostgresMajorVersion, name: string): boolean {
  const context = parameterContext(version, name);
  return context !== undefined && RELOADABLE_CONTEXTS.has(context);
}

/**
 * The parameters a change of which needs a restart (postmaster/internal context or unknown). The pod template
 * checksum covers only these, so a reloadable change updates the ConfigMap without rolling the pod.
 */
export function restartParameters(
  version: PostgresMajorVersion,
  parameters: Record<string, string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(parameters).sort()) {
    if (!isReloadableParameter(version, name)) out[name] = parameters[name]!;
  }
  return out;
}

export interface PostgresConfig {
  'postgresql.conf': string;
  parameters: Record<string, string>;
  warnings: Problem[];
}

/**
 * The full postgresql.conf: tuned parameters (throws InvalidPostgresParametersError for invalid user
 * parameters: validate first) with the operator-owned settings on top.
 */
export function postgresConfig(stack: ResolvedFlashSaleStack, volumeSize?: string): PostgresConfig {
  const tuned = tunePostgres(postgresTuneInput(stack, volumeSize));
  const warnings = [...tuned.warnings];
  const owned = { ...walArchivingSettings(stack, POSTGRES_CONFIG_DIR), ...operatorOwnedPostgresSettings() };
  for (const [name, value] of Object.entries(owned)) {
    const user = tuned.parameters[name];
    if (user !== undefined && user !== value) {
      warnings.push({
        path: `spec.postgres.parameters.${name}`,
        message: `the operator sets ${name} = '${value}' (PgBouncer, pg_hba.conf or spec.backup.pitr rely on it); '${user}' is ignored, remove it`,
      });
    }
  }
  const parameters = { ...tuned.parameters, ...owned };
  return { 'postgresql.conf': formatPostgresqlConf(parameters), parameters, warnings };
}

/**
 * Bootstrap by point-in-time recovery: on an empty data directory, copy the newest base backup that ended
 * before the target and set up recovery (pitr-restore.sh); on every later start it finds PGDATA and does nothing.
 */
function pitrRestoreContainer(
  image: string,
  paths: { mountPath: string; pgdata: string },
  restore: { targetTime?: string; targetLSN?: string },
): Record<string, unknown> {
  return {
    name: 'pitr-restore',
    image,
    imagePullPolicy: 'IfNotPresent',
    command: ['bash', `${POSTGRES_CONFIG_DIR}/${PITR_RESTORE_SCRIPT}`],
    env: [
      { name: 'PGDATA', value: paths.pgdata },
      { name: 'PITR_DIR', value: RESTORE_SOURCE_MOUNT },
      ...(restore.targetTime !== undefined ? [{ name: 'TARGET_TIME', value: restore.targetTime }] : []),
      ...(restore.targetLSN !== undefined ? [{ name: 'TARGET_LSN', value: restore.targetLSN }] : []),
      { name: 'TMPDIR', value: '/tmp' },
    ],
    resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    securityContext: restrictedContainerSecurityContext(true),
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    volumeMounts: [
      { name: 'data', mountPath: paths.mountPath },
      { name: 'config', mountPath: POSTGRES_CONFIG_DIR, readOnly: true },
      { name: 'restore-source', mountPath: RESTORE_SOURCE_MOUNT, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ],
  };
}

export function renderPostgres(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const pg = stack.spec.postgres;
  const name = childName(stack, 'postgres');
  const headless = postgresHeadlessName(stack);
  const secretName = postgresSecretName(stack);
  const generatedSecret = pg.credentialsSecret === undefined;
  const monitoring = stack.spec.monitoring.enabled;
  const paths = postgresDataPaths(pg.version);

  const config = postgresConfig(stack, inputs.postgresVolumeSize);
  const pitr = pitrEnabled(stack);
  const restore = pitrBootstrap(stack);
  const configData: Record<string, string> = {
    'postgresql.conf': config['postgresql.conf'],
    'pg_hba.conf': pgHbaConf(pitr),
  };
  if (monitoring) configData['00-pg-stat-statements.sql'] = PG_STAT_STATEMENTS_INIT_SQL;
  if (pitr) configData[ARCHIVE_SCRIPT] = archiveWalScript();
  if (restore) configData[PITR_RESTORE_SCRIPT] = pitrRestoreScript();
  const secretData = { username: POSTGRES_USERNAME, password: inputs.secrets.postgresPassword };

  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: objectMeta(stack, 'postgres', name), data: configData },
  ];
  if (generatedSecret) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: objectMeta(stack, 'postgres', secretName),
      type: 'Opaque',
      stringData: secretData,
    });
  }

  const ports: Record<string, unknown>[] = [
    { name: 'postgres', port: PORTS.postgres, targetPort: 'postgres', protocol: 'TCP' },
  ];
  if (monitoring)
    ports.push({ name: 'metrics', port: PORTS.postgresExporter, targetPort: 'metrics', protocol: 'TCP' });
  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...objectMeta(stack, 'postgres', name),
      labels: { ...labels(stack, 'postgres'), ...(monitoring ? { [METRICS_LABEL]: 'true' } : {}) },
    },
    spec: { type: 'ClusterIP', selector: selectorLabels(stack, 'postgres'), ports },
  });
  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(stack, 'postgres', headless),
    spec: {
      clusterIP: 'None',
      selector: selectorLabels(stack, 'postgres'),
      ports: [{ name: 'postgres', port: PORTS.postgres, targetPort: 'postgres', protocol: 'TCP' }],
    },
  });

  const isReady = [
    'pg_isready',
    '-h',
    '127.0.0.1',
    '-p',
    String(PORTS.postgres),
    '-d',
    pg.database,
    '-U',
    POSTGRES_USERNAME,
  ];
  const containers: Record<string, unknown>[] = [
    {
      name: 'postgres',
      image: pg.image,
      imagePullPolicy: 'IfNotPresent',
      // The image's docker-entrypoint.sh runs initdb (first start) and the initdb scripts, then execs this.
      args: ['postgres', '-c', `config_file=${POSTGRES_CONFIG_DIR}/postgresql.conf`],
      ports: [{ name: 'postgres', containerPort: PORTS.postgres, protocol: 'TCP' }],
      env: [
        secretEnv('POSTGRES_USER', secretName, 'username'),
        secretEnv('POSTGRES_PASSWORD', secretName, 'password'),
        { name: 'POSTGRES_DB', value: pg.database },
        { name: 'PGDATA', value: paths.pgdata },
        {
          name: 'POSTGRES_INITDB_ARGS',
          value: '-E UTF8 --locale=C --auth-local=scram-sha-256 --auth-host=scram-sha-256',
        },
      ],
      resources: containerResources(pg.resources),
      securityContext: restrictedContainerSecurityContext(true),
      // Crash recovery after an unclean stop can take long: the startup probe allows up to an hour before
      // liveness starts counting.
      startupProbe: {
        exec: { command: isReady },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 360,
      },
      readinessProbe: {
        exec: { command: isReady },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 3,
      },
      livenessProbe: {
        exec: { command: isReady },
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 6,
      },
      volumeMounts: [
        { name: 'data', mountPath: paths.mountPath },
        { name: 'config', mountPath: POSTGRES_CONFIG_DIR, readOnly: true },
        { name: 'run', mountPath: POSTGRES_SOCKET_DIR },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'shm', mountPath: '/dev/shm' },
        ...(monitoring ? [{ name: 'initdb', mountPath: POSTGRES_INITDB_DIR, readOnly: true }] : []),
        ...(pitr ? [{ name: 'pitr', mountPath: PITR_MOUNT }] : []),
        ...(restore ? [{ name: 'restore-source', mountPath: RESTORE_SOURCE_MOUNT, readOnly: true }] : []),
      ],
    },
  ];
  if (monitoring) {
    containers.push({
      name: 'postgres-exporter',
      image: DEFAULT_IMAGES.postgresExporter,
      imagePullPolicy: 'IfNotPresent',
      ports: [{ name: 'metrics', containerPort: PORTS.postgresExporter, protocol: 'TCP' }],
      env: [
        { name: 'DATA_SOURCE_URI', value: `127.0.0.1:${PORTS.postgres}/${pg.database}?sslmode=disable` },
        secretEnv('DATA_SOURCE_USER', secretName, 'username'),
        secretEnv('DATA_SOURCE_PASS', secretName, 'password'),
      ],
      resources: containerResources(EXPORTER_RESOURCES),
      securityContext: {
        ...restrictedContainerSecurityContext(true),
        runAsUser: POSTGRES_EXPORTER_UID,
        runAsGroup: POSTGRES_EXPORTER_UID,
      },
      readinessProbe: { httpGet: { path: '/', port: 'metrics' }, periodSeconds: 10, timeoutSeconds: 3 },
      livenessProbe: { httpGet: { path: '/', port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 5 },
    });
  }

  const podLabels = labels(stack, 'postgres');
  const volumes: Record<string, unknown>[] = [
    {
      name: 'config',
      configMap: {
        name,
        items: ['postgresql.conf', 'pg_hba.conf', ARCHIVE_SCRIPT, PITR_RESTORE_SCRIPT]
          .filter((key) => key in configData)
          .map((key) => ({ key, path: key })),
      },
    },
    { name: 'run', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
    // Parallel query uses POSIX shared memory; the container runtime's default /dev/shm is 64Mi.
    { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
  ];
  if (pitr) volumes.push({ name: 'pitr', persistentVolumeClaim: { claimName: pitrClaimName(stack) } });
  if (restore) {
    volumes.push({
      name: 'restore-source',
      persistentVolumeClaim: { claimName: restore.claimName, readOnly: true },
    });
  }
  if (monitoring) {
    volumes.push({
      name: 'initdb',
      configMap: { name, items: [{ key: '00-pg-stat-statements.sql', path: '00-pg-stat-statements.sql' }] },
    });
  }

  objects.push({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(stack, 'postgres', name),
    spec: {
      serviceName: headless,
      replicas: 1,
      selector: { matchLabels: selectorLabels(stack, 'postgres') },
      persistentVolumeClaimRetentionPolicy: pvcRetention(stack.spec.pvcRetentionPolicy),
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            // What needs a restart: the ConfigMap with postgresql.conf reduced to its restart-only parameters
            // (reloadable ones are applied live by the operator, src/controller/postgres-reload.ts), plus the
            // credentials (env from the Secret). With a user-named Secret render cannot see it; the password
            // input (which the controller reads from that Secret) stands in for it.
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(
              { ...configData, 'postgresql.conf': restartParameters(pg.version, config.parameters) },
              secretData,
            ),
            ...(monitoring ? scrapeAnnotations(PORTS.postgresExporter) : {}),
          },
        },
        spec: {
          serviceAccountName: serviceAccountName(stack, 'postgres'),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(POSTGRES_UID),
          // Time for a fast shutdown (checkpoint) before SIGKILL.
          terminationGracePeriodSeconds: 120,
          ...(restore ? { initContainers: [pitrRestoreContainer(pg.image, paths, restore)] } : {}),
          containers,
          volumes,
        },
      },
      volumeClaimTemplates: [dataVolumeClaimTemplate(pg.storage, podLabels)],
    },
  });

  objects.push({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(stack, 'postgres', name),
    spec: {
      // A single primary: voluntary evictions (node drains) wait until someone decides to take the database
      // down (delete this PDB, or pause the stack), instead of an automatic eviction in the middle of a sale.
      minAvailable: 1,
      selector: { matchLabels: selectorLabels(stack, 'postgres') },
    },
  });

  return objects;
}
