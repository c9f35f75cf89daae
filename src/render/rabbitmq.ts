/**
 * RabbitMQ: StatefulSet (1 or 3 replicas, PVC), Service (amqp 5672, management 15672, metrics 15692), headless
 * Service (peer discovery / stable node names), ConfigMap (`rabbitmq.conf`, `enabled_plugins`,
 * `definitions.json`), Secret `<stack>-rabbitmq-credentials` (`username`, `password`, `erlang-cookie`,
 * `users.json`), PodDisruptionBudget, and for 3 replicas a ServiceAccount/Role/RoleBinding for the k8s peer
 * discovery plugin.
 *
 * Users and definitions. When `load_definitions` is configured, RabbitMQ does NOT seed its default user/vhost
 * (rabbit skips default data when definitions are configured to be imported at boot; the docker image's
 * RABBITMQ_DEFAULT_USER/PASS only set that default user, so they would be ignored). The broker would then start
 * without any user. So `load_definitions` points at a directory holding two files: `definitions.json`
 * (topology only, from the ConfigMap, reviewable, no secrets) and `users.json` (the application user with a
 * salted SHA-256 password hash + its permissions, from the Secret). Both are mounted with subPath so the
 * directory contains exactly those two files (a projected volume would add `..data` entries).
 * The hash salt is derived from the password, keeping render pure and deterministic.
 */
import { createHash } from 'node:crypto';
import { PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { rabbitmqWatermarkBytes } from './budgets.js';
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
  METRICS_LABEL,
  containerResources,
  dataVolumeClaimTemplate,
  pvcRetention,
  quantityBytes,
  scrapeAnnotations,
} from './resources.js';

/** uid/gid of the `rabbitmq` user in the official image. */
export const RABBITMQ_UID = 999;
/** Application user created from users.json (the Secret's `username`). */
export const RABBITMQ_USERNAME = 'flashsale';
/** Dead-letter exchange (fanout) every stack queue dead-letters to, and the queue bound to it. */
export const RABBITMQ_DLX = 'flashsale.dlx';
export const RABBITMQ_DLQ = 'flashsale.dead-letter';
/** Quorum queues: a message redelivered this many times is dead-lettered (poison message guard). */
export const RABBITMQ_DELIVERY_LIMIT = 10;
export const RABBITMQ_DEFINITIONS_DIR = '/etc/rabbitmq/definitions';
export const RABBITMQ_PLUGINS = ['rabbitmq_management', 'rabbitmq_prometheus', 'rabbitmq_peer_discovery_k8s'];

export function rabbitmqSecretName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'rabbitmq', 'credentials');
}

export function rabbitmqHeadlessName(stack: ResolvedFlashSaleStack): string {
  return childName(stack, 'rabbitmq', 'headless');
}

export type QueueType = 'quorum' | 'classic';

export function rabbitmqQueueType(stack: ResolvedFlashSaleStack): QueueType {
  return stack.spec.rabbitmq.replicas >= 3 ? 'quorum' : 'classic';
}

/**
 * Arguments of every stack queue (order_queue, payment_queue, spec.rabbitmq.queues). Clients that declare a
 * queue must pass exactly these (or declare passively), or RabbitMQ answers PRECONDITION_FAILED.
 */
export function rabbitmqQueueArguments(stack: ResolvedFlashSaleStack): Record<string, string | number> {
  const type = rabbitmqQueueType(stack);
  const args: Record<string, string | number> = {
    'x-queue-type': type,
    'x-dead-letter-exchange': RABBITMQ_DLX,
  };
  if (type === 'quorum') {
    args['x-delivery-limit'] = RABBITMQ_DELIVERY_LIMIT;
    args['x-quorum-initial-group-size'] = stack.spec.rabbitmq.replicas;
  }
  return args;
}

/** Stack queue names: the defaults first, then any extra from the spec, no duplicates. */
export function rabbitmqQueues(stack: ResolvedFlashSaleStack): string[] {
  return [...new Set(['order_queue', 'payment_queue', ...stack.spec.rabbitmq.queues])];
}

export interface RabbitDefinitions {
  vhosts: { name: string }[];
  exchanges: Record<string, unknown>[];
  queues: Record<string, unknown>[];
  bindings: Record<string, unknown>[];
  policies: Record<string, unknown>[];
}

/** Topology for vhost `/`; no users, no passwords. */
export function rabbitmqDefinitions(stack: ResolvedFlashSaleStack): RabbitDefinitions {
  const vhost = '/';
  const type = rabbitmqQueueType(stack);
  const queueArgs = rabbitmqQueueArguments(stack);
  const queue = (name: string, args: Record<string, unknown>): Record<string, unknown> => ({
    name,
    vhost,
    durable: true,
    auto_delete: false,
    arguments: args,
  });
  const dlqArgs: Record<string, unknown> = { 'x-queue-type': type };
  if (type === 'quorum') dlqArgs['x-quorum-initial-group-size'] = stack.spec.rabbitmq.replicas;
  return {
    vhosts: [{ name: vhost }],
    exchanges: [
      {
        name: RABBITMQ_DLX,
        vhost,
        type: 'fanout',
        durable: true,
        auto_delete: false,
        internal: false,
        arguments: {},
      },
    ],
    queues: [...rabbitmqQueues(stack).map((q) => queue(q, { ...queueArgs })), queue(RABBITMQ_DLQ, dlqArgs)],
    bindings: [
      {
        source: RABBITMQ_DLX,
        vhost,
        destination: RABBITMQ_DLQ,
        destination_type: 'queue',
        routing_key: '',
        arguments: {},
      },
    ],
    policies: [],
  };
}

/**
 * RabbitMQ's rabbit_password_hashing_sha256 format: base64(salt ‖ sha256(salt ‖ utf8(password))), 4-byte salt.
 * The salt is derived from the password (not random) so render is deterministic.
 */
export function rabbitmqPasswordHash(password: string): string {
  const salt = createHash('sha256')
    .update(`flash-sale-operator/rabbitmq-salt/${password}`)
    .digest()
    .subarray(0, 4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** users.json: the application user (administrator: the management UI and health probes use it). */
export function rabbitmqUsersDefinitions(
  username: string,
  password: string,
  vhost = '/',
): Record<string, unknown> {
  return {
    users: [
      {
        name: username,
        password_hash: rabbitmqPasswordHash(password),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: ['administrator'],
      },
    ],
    vhosts: [{ name: vhost }],
    permissions: [{ user: username, vhost, configure: '.*', write: '.*', read: '.*' }],
  };
}

function diskFreeLimitBytes(stack: ResolvedFlashSaleStack): number {
  const storage = quantityBytes(stack.spec.rabbitmq.storage.size, 'spec.rabbitmq.storage.size');
  // 10% of the volume, at least 50 MB (RabbitMQ's own default), at most 2 GiB.
  return Math.min(2 * 2 ** 30, Math.max(50_000_000, Math.floor(storage / 10)));
}

/** The rendered rabbitmq.conf (sysctl format; no secrets). */
export function rabbitmqConf(stack: ResolvedFlashSaleStack): string {
  const mq = stack.spec.rabbitmq;
  const lines = [
    '# Rendered by flash-sale-operator; edit the FlashSaleStack, not this file.',
    `listeners.tcp.default = ${PORTS.amqp}`,
    `management.tcp.port = ${PORTS.rabbitmqManagement}`,
    `prometheus.tcp.port = ${PORTS.rabbitmqPrometheus}`,
    '# Absolute watermark from the container memory limit (budgets.ts), not a fraction of the node RAM.',
    `vm_memory_high_watermark.absolute = ${rabbitmqWatermarkBytes(stack)}`,
    `disk_free_limit.absolute = ${diskFreeLimitBytes(stack)}`,
    `load_definitions = ${RABBITMQ_DEFINITIONS_DIR}`,
    'log.console = true',
    'log.console.level = info',
    'log.file = false',
  ];
  if (mq.replicas >= 3) {
    const headless = rabbitmqHeadlessName(stack);
    lines.push(
      'cluster_partition_handling = pause_minority',
      'cluster_formation.peer_discovery_backend = rabbit_peer_discovery_k8s',
      'cluster_formation.k8s.host = kubernetes.default.svc',
      'cluster_formation.k8s.address_type = hostname',
      `cluster_formation.k8s.service_name = ${headless}`,
      `cluster_formation.k8s.hostname_suffix = .${headless}.${stack.metadata.namespace}.svc.cluster.local`,
      'cluster_formation.node_cleanup.only_log_warning = true',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** enabled_plugins: an Erlang term list. */
export function rabbitmqEnabledPlugins(stack: ResolvedFlashSaleStack): string {
  const plugins = stack.spec.rabbitmq.replicas >= 3 ? RABBITMQ_PLUGINS : RABBITMQ_PLUGINS.slice(0, 2);
  return `[${plugins.join(',')}].\n`;
}

export function renderRabbitMQ(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const mq = stack.spec.rabbitmq;
  const name = childName(stack, 'rabbitmq');
  const headless = rabbitmqHeadlessName(stack);
  const secretName = rabbitmqSecretName(stack);
  const clustered = mq.replicas >= 3;

  const configData = {
    'rabbitmq.conf': rabbitmqConf(stack),
    enabled_plugins: rabbitmqEnabledPlugins(stack),
    'definitions.json': `${JSON.stringify(rabbitmqDefinitions(stack), null, 2)}\n`,
  };
  const secretData = {
    username: RABBITMQ_USERNAME,
    password: inputs.secrets.rabbitmqPassword,
    'erlang-cookie': inputs.secrets.erlangCookie,
    'users.json': `${JSON.stringify(rabbitmqUsersDefinitions(RABBITMQ_USERNAME, inputs.secrets.rabbitmqPassword), null, 2)}\n`,
  };

  const objects: KubeObject[] = [];
  objects.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(stack, 'rabbitmq', name),
    data: configData,
  });
  objects.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(stack, 'rabbitmq', secretName),
    type: 'Opaque',
    stringData: secretData,
  });

  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      ...objectMeta(stack, 'rabbitmq', name),
      labels: { ...labels(stack, 'rabbitmq'), [METRICS_LABEL]: 'true' },
    },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(stack, 'rabbitmq'),
      ports: [
        { name: 'amqp', port: PORTS.amqp, targetPort: 'amqp', protocol: 'TCP' },
        { name: 'management', port: PORTS.rabbitmqManagement, targetPort: 'management', protocol: 'TCP' },
        { name: 'metrics', port: PORTS.rabbitmqPrometheus, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  });
  objects.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(stack, 'rabbitmq', headless),
    spec: {
      clusterIP: 'None',
      // Peers must resolve each other before they are ready (cluster formation happens before readiness).
      publishNotReadyAddresses: true,
      selector: selectorLabels(stack, 'rabbitmq'),
      ports: [
        { name: 'epmd', port: PORTS.rabbitmqEpmd, targetPort: PORTS.rabbitmqEpmd, protocol: 'TCP' },
        { name: 'cluster-rpc', port: PORTS.rabbitmqDist, targetPort: PORTS.rabbitmqDist, protocol: 'TCP' },
        { name: 'amqp', port: PORTS.amqp, targetPort: PORTS.amqp, protocol: 'TCP' },
      ],
    },
  });

  if (clustered) {
    // rabbit_peer_discovery_k8s (3.x) lists the headless Service's endpoints through the Kubernetes API.
    // (The 4.1+ plugin derives peers from the StatefulSet ordinal and ignores the API, so this is harmless.)
    objects.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: objectMeta(stack, 'rabbitmq', name) });
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: objectMeta(stack, 'rabbitmq', name),
      rules: [{ apiGroups: [''], resources: ['endpoints'], verbs: ['get'] }],
    });
    objects.push({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: objectMeta(stack, 'rabbitmq', name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: stack.metadata.namespace }],
    });
  }

  const podLabels = labels(stack, 'rabbitmq');
  const configMount = (key: string, path: string): Record<string, unknown> => ({
    name: 'config',
    mountPath: path,
    subPath: key,
    readOnly: true,
  });
  const statefulSet: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: objectMeta(stack, 'rabbitmq', name),
    spec: {
      serviceName: headless,
      replicas: mq.replicas,
      // All nodes must be able to start together after a full-cluster restart (the last to stop waits for peers).
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selectorLabels(stack, 'rabbitmq') },
      persistentVolumeClaimRetentionPolicy: pvcRetention(stack.spec.pvcRetentionPolicy),
      template: {
        metadata: {
          labels: podLabels,
          annotations: {
            [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(configData, secretData),
            ...scrapeAnnotations(PORTS.rabbitmqPrometheus),
          },
        },
        spec: {
          ...(clustered ? { serviceAccountName: name } : {}),
          automountServiceAccountToken: clustered,
          securityContext: restrictedPodSecurityContext(RABBITMQ_UID),
          terminationGracePeriodSeconds: 120,
          initContainers: [
            {
              // Erlang insists the cookie file is owned by the node's user and private (0600); a Secret volume
              // is root-owned, so copy it onto the data volume.
              name: 'erlang-cookie',
              image: mq.image,
              imagePullPolicy: 'IfNotPresent',
              command: [
                'sh',
                '-c',
                'cp /tmp/erlang-cookie-secret/cookie /var/lib/rabbitmq/.erlang.cookie && chmod 600 /var/lib/rabbitmq/.erlang.cookie',
              ],
              resources: containerResources({
                requests: { cpu: '10m', memory: '16Mi' },
                limits: { cpu: '100m', memory: '64Mi' },
              }),
              securityContext: restrictedContainerSecurityContext(true),
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/rabbitmq' },
                { name: 'erlang-cookie', mountPath: '/tmp/erlang-cookie-secret', readOnly: true },
              ],
            },
          ],
          containers: [
            {
              name: 'rabbitmq',
              image: mq.image,
              imagePullPolicy: 'IfNotPresent',
              ports: [
                { name: 'amqp', containerPort: PORTS.amqp, protocol: 'TCP' },
                { name: 'management', containerPort: PORTS.rabbitmqManagement, protocol: 'TCP' },
                { name: 'metrics', containerPort: PORTS.rabbitmqPrometheus, protocol: 'TCP' },
                { name: 'epmd', containerPort: PORTS.rabbitmqEpmd, protocol: 'TCP' },
                { name: 'cluster-rpc', containerPort: PORTS.rabbitmqDist, protocol: 'TCP' },
              ],
              env: [
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'RABBITMQ_USE_LONGNAME', value: 'true' },
                {
                  name: 'RABBITMQ_NODENAME',
                  value: `rabbit@$(POD_NAME).${headless}.${stack.metadata.namespace}.svc.cluster.local`,
                },
                { name: 'RABBITMQ_ENABLED_PLUGINS_FILE', value: '/etc/rabbitmq/enabled_plugins' },
                { name: 'K8S_SERVICE_NAME', value: headless },
                {
                  name: 'K8S_HOSTNAME_SUFFIX',
                  value: `.${headless}.${stack.metadata.namespace}.svc.cluster.local`,
                },
              ],
              resources: containerResources(mq.resources),
              securityContext: restrictedContainerSecurityContext(true),
              readinessProbe: {
                tcpSocket: { port: 'amqp' },
                initialDelaySeconds: 10,
                periodSeconds: 10,
                timeoutSeconds: 5,
              },
              livenessProbe: {
                exec: { command: ['rabbitmq-diagnostics', '-q', 'ping'] },
                initialDelaySeconds: 60,
                periodSeconds: 60,
                timeoutSeconds: 30,
                failureThreshold: 3,
              },
              volumeMounts: [
                { name: 'data', mountPath: '/var/lib/rabbitmq' },
                configMount('rabbitmq.conf', '/etc/rabbitmq/rabbitmq.conf'),
                configMount('enabled_plugins', '/etc/rabbitmq/enabled_plugins'),
                configMount('definitions.json', `${RABBITMQ_DEFINITIONS_DIR}/definitions.json`),
                {
                  name: 'users',
                  mountPath: `${RABBITMQ_DEFINITIONS_DIR}/users.json`,
                  subPath: 'users.json',
                  readOnly: true,
                },
                // Writable scratch for the Erlang VM / CLI tools on a read-only root filesystem.
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'logs', mountPath: '/var/log/rabbitmq' },
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name } },
            {
              name: 'users',
              secret: { secretName, defaultMode: 0o440, items: [{ key: 'users.json', path: 'users.json' }] },
            },
            {
              name: 'erlang-cookie',
              secret: { secretName, defaultMode: 0o440, items: [{ key: 'erlang-cookie', path: 'cookie' }] },
            },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            { name: 'logs', emptyDir: { sizeLimit: '256Mi' } },
          ],
        },
      },
      volumeClaimTemplates: [dataVolumeClaimTemplate(mq.storage, podLabels)],
    },
  };
  objects.push(statefulSet);

  objects.push({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(stack, 'rabbitmq', name),
    spec: {
      // 3 nodes: one down at a time keeps the quorum (2 of 3); 1 node: a zero-disruption PDB would block
      // every node drain forever, so the single broker may be evicted (clients reconnect, messages persist).
      maxUnavailable: 1,
      selector: { matchLabels: selectorLabels(stack, 'rabbitmq') },
    },
  });

  return objects;
}
