/**
 * PgBouncer: Deployment, Service, ConfigMap `pgbouncer.ini`, Secret `<stack>-pgbouncer-auth`
 * (`userlist.txt`, `admin-password`), PodDisruptionBudget, optional pgbouncer-exporter sidecar.
 *
 * Authentication design. PostgreSQL stores scram-sha-256 verifiers (password_encryption = scram-sha-256 and
 * pg_hba requires scram-sha-256). PgBouncer (1.18+) with `auth_type = scram-sha-256` and a userlist.txt that
 * holds the PLAIN password can (a) verify clients with SCRAM and (b) answer the server's SCRAM challenge
 * itself. A SCRAM verifier in userlist.txt would only work for (b) when it is byte-identical to the server's
 * (same salt and iterations), which render cannot know: the server salts at CREATE ROLE / initdb time. So the
 * plain password goes into userlist.txt, which lives only in a Secret (never the ConfigMap) and is mounted
 * read-only with mode 0440. The admin user (for the health probe and the exporter, listed in admin_users and
 * stats_users) exists only in userlist.txt: the admin console never reaches PostgreSQL.
 *
 * When `spec.postgres.credentialsSecret` names a user Secret, the controller passes that Secret's password as
 * `inputs.secrets.postgresPassword` (render stays pure) and its username must be POSTGRES_USERNAME.
 */
import { DEFAULT_IMAGES, PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
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
  postgresServiceHost,
  scrapeAnnotations,
  secretEnv,
} from './resources.js';
import { serviceAccountName } from './serviceaccounts.js';

/** PgBouncer admin-console user (admin_users + stats_users); exists only in userlist.txt. */
export const PGBOUNCER_ADMIN_USER = 'pgbouncer_admin';
/** uid/gid the PgBouncer container runs as (the `postgres` user of the CloudNativePG pgbouncer image). */
export const PGBOUNCER_UID = 998;
/** uid of the pgbouncer-exporter image (`nobody`). */
export const PGBOUNCER_EXPORTER_UID = 65534;
export const PGBOUNCER_CONFIG_DIR = '/etc/pgbouncer';
export const PGBOUNCER_AUTH_DIR = '/etc/pgbouncer-auth';

export function pgbouncerSecretName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'pgbouncer', 'auth');
}

/** userlist.txt line: `"user" "password"`, double quotes inside doubled (PgBouncer's quoting). */
function userlistLine(user: string, password: string): string {
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  return `${q(user)} ${q(password)}`;
}

export function pgbouncerUserlist(postgresPassword: string, adminPassword: string): string {
  return `${userlistLine(POSTGRES_USERNAME, postgresPassword)}\n${userlistLine(PGBOUNCER_ADMIN_USER, adminPassword)}\n`;
}

/** The rendered pgbouncer.ini (no secrets in it). */
export function pgbouncerIni(stack: ResolvedFlashSaleStack): string {
  const pgb = stack.spec.pgbouncer;
  const lines = [
    '; Rendered by flash-sale-operator; edit the FlashSaleStack, not this file.',
    '[databases]',
    // Fallback entry: any database name is forwarded to the PostgreSQL Service under the same name.
    `* = host=${postgresServiceHost(stack)} port=${PORTS.postgres}`,
    '',
    '[pgbouncer]',
    'listen_addr = *',
    `listen_port = ${PORTS.pgbouncer}`,
    // No unix socket: the root filesystem is read-only and nothing in the pod needs it.
    'unix_socket_dir =',
    'pidfile =',
    '',
    'auth_type = scram-sha-256',
    `auth_file = ${PGBOUNCER_AUTH_DIR}/userlist.txt`,
    `admin_users = ${PGBOUNCER_ADMIN_USER}`,
    `stats_users = ${PGBOUNCER_ADMIN_USER}`,
    '',
    `pool_mode = ${pgb.poolMode}`,
    `max_client_conn = ${pgb.maxClientConn}`,
    `default_pool_size = ${pgb.defaultPoolSize}`,
    `reserve_pool_size = ${pgb.reservePoolSize}`,
    'reserve_pool_timeout = 3',
    'min_pool_size = 0',
    // Hard cap per replica = the share of PostgreSQL max_connections the budget gives this replica
    // (budgets.ts: replicas × (default + reserve)), so no pool can push PostgreSQL past max_connections.
    `max_db_connections = ${pgb.defaultPoolSize + pgb.reservePoolSize}`,
    '',
    // Used between clients in session mode; in transaction/statement mode PgBouncer does not run it (unless
    // server_reset_query_always), since a transaction-pooled client must not rely on session state anyway.
    'server_reset_query = DISCARD ALL',
    'server_reset_query_always = 0',
    'server_check_query = select 1',
    'server_check_delay = 30',
    'server_lifetime = 3600',
    'server_idle_timeout = 600',
    'server_connect_timeout = 5',
    'server_login_retry = 5',
    'query_wait_timeout = 30',
    'client_idle_timeout = 0',
    'client_login_timeout = 30',
    // JDBC and others send these startup parameters; PgBouncer would reject the connection otherwise.
    'ignore_startup_parameters = extra_float_digits',
    '',
    'tcp_keepalive = 1',
    'log_connections = 0',
    'log_disconnections = 0',
    'log_pooler_errors = 1',
    'stats_period = 60',
    '',
  ];
  return lines.join('\n');
}

export function renderPgBouncer(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const pgb = stack.spec.pgbouncer;
  if (!pgb.enabled) return [];
  const name = childName(stack, 'pgbouncer');
  const secretName = pgbouncerSecretName(stack);
  const monitoring = stack.spec.monitoring.enabled;

  const configData = { 'pgbouncer.ini': pgbouncerIni(stack) };
  const secretData = {
    'userlist.txt': pgbouncerUserlist(inputs.secrets.postgresPassword, inputs.secrets.pgbouncerAdminPassword),
    'admin-password': inputs.secrets.pgbouncerAdminPassword,
  };

  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(stack, 'pgbouncer', name),
    data: configData,
  };
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(stack, 'pgbouncer', secretName),
    type: 'Opaque',
    stringData: secretData,
  };

  const ports: Record<string, unknown>[] = [
    { name: 'pgbouncer', port: PORTS.pgbouncer, targetPort: 'pgbouncer', protocol: 'TCP' },
  ];
  if (monitoring)
    ports.push({ name: 'metrics', port: PORTS.pgbouncerExporter, targetPort: 'metrics', protocol: 'TCP' });
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...objectMeta(stack, 'pgbouncer', name),
      labels: { ...labels(stack, 'pgbouncer'), ...(monitoring ? { [METRICS_LABEL]: 'true' } : {}) },
    },
    spec: { type: 'ClusterIP', selector: selectorLabels(stack, 'pgbouncer'), ports },
  };

  const containers: Record<string, unknown>[] = [
    {
      name: 'pgbouncer',
      image: pgb.image,
      imagePullPolicy: 'IfNotPresent',
      command: ['/usr/bin/pgbouncer', `${PGBOUNCER_CONFIG_DIR}/pgbouncer.ini`],
      ports: [{ name: 'pgbouncer', containerPort: PORTS.pgbouncer, protocol: 'TCP' }],
      resources: containerResources(pgb.resources),
      securityContext: restrictedContainerSecurityContext(true),
      readinessProbe: {
        tcpSocket: { port: 'pgbouncer' },
        initialDelaySeconds: 2,
        periodSeconds: 5,
        timeoutSeconds: 3,
      },
      livenessProbe: {
        tcpSocket: { port: 'pgbouncer' },
        initialDelaySeconds: 10,
        periodSeconds: 10,
        timeoutSeconds: 5,
      },
      // Let in-flight transactions finish: the Service drops the pod first, then PgBouncer gets SIGTERM
      // (1.18: SIGTERM = immediate shutdown, so delay it; SIGINT would be a safe shutdown).
      // An exec sleep, not `preStop.sleep`: that field exists only from Kubernetes 1.29 (on by default from 1.30),
      // and a 1.28 server refuses the whole Deployment.
      lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
      volumeMounts: [
        { name: 'config', mountPath: PGBOUNCER_CONFIG_DIR, readOnly: true },
        { name: 'auth', mountPath: PGBOUNCER_AUTH_DIR, readOnly: true },
      ],
    },
  ];
  if (monitoring) {
    containers.push({
      name: 'pgbouncer-exporter',
      image: DEFAULT_IMAGES.pgbouncerExporter,
      imagePullPolicy: 'IfNotPresent',
      args: [`--web.listen-address=:${PORTS.pgbouncerExporter}`],
      ports: [{ name: 'metrics', containerPort: PORTS.pgbouncerExporter, protocol: 'TCP' }],
      env: [
        secretEnv('PGBOUNCER_ADMIN_PASSWORD', secretName, 'admin-password'),
        {
          name: 'PGBOUNCER_EXPORTER_CONNECTION_STRING',
          // Kubernetes expands $(VAR) from the env defined above; the password is never in the pod spec.
          value: `postgres://${PGBOUNCER_ADMIN_USER}:$(PGBOUNCER_ADMIN_PASSWORD)@127.0.0.1:${PORTS.pgbouncer}/pgbouncer?sslmode=disable`,
        },
      ],
      resources: containerResources(EXPORTER_RESOURCES),
      securityContext: {
        ...restrictedContainerSecurityContext(true),
        runAsUser: PGBOUNCER_EXPORTER_UID,
        runAsGroup: PGBOUNCER_EXPORTER_UID,
      },
      readinessProbe: { tcpSocket: { port: 'metrics' }, periodSeconds: 10, timeoutSeconds: 3 },
      livenessProbe: { tcpSocket: { port: 'metrics' }, periodSeconds: 30, timeoutSeconds: 5 },
    });
  }

  const podLabels = labels(stack, 'pgbouncer');
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(stack, 'pgbouncer', name),
    spec: {
      replicas: pgb.replicas,
      selector: { matchLabels: selectorLabels(stack, 'pgbouncer') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(configData, secretData),
            ...(monitoring ? scrapeAnnotations(PORTS.pgbouncerExporter) : {}),
          },
        },
        spec: {
          serviceAccountName: serviceAccountName(stack, 'pgbouncer'),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(PGBOUNCER_UID),
          terminationGracePeriodSeconds: 30,
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: 'kubernetes.io/hostname',
                    labelSelector: { matchLabels: selectorLabels(stack, 'pgbouncer') },
                  },
                },
              ],
            },
          },
          containers,
          volumes: [
            { name: 'config', configMap: { name, items: [{ key: 'pgbouncer.ini', path: 'pgbouncer.ini' }] } },
            {
              name: 'auth',
              secret: {
                secretName,
                defaultMode: 0o440,
                items: [{ key: 'userlist.txt', path: 'userlist.txt' }],
              },
            },
          ],
        },
      },
    },
  };

  const pdb: KubeObject = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(stack, 'pgbouncer', name),
    spec: {
      // With one replica a minAvailable would block every drain; allow one pod down at a time.
      ...(pgb.replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 }),
      selector: { matchLabels: selectorLabels(stack, 'pgbouncer') },
    },
  };

  return [configMap, secret, service, deployment, pdb];
}
