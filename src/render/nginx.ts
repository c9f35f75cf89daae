/**
 * Nginx in front of the API: Deployment (nginx-unprivileged, read-only root), Service, ConfigMap with a
 * complete `nginx.conf`, PodDisruptionBudget.
 *
 * Fixes the seed's config (DESIGN §5.5): `limit_req_zone` is only valid in `http {}`; behind a load balancer
 * `$binary_remote_addr` is the balancer's address unless the real client IP is restored from
 * X-Forwarded-For of trusted proxies (`spec.nginx.trustedProxies`).
 *
 * Upstream: the API's ClusterIP Service FQDN. Nginx resolves an upstream `server` name once, at start; that is
 * enough here because a ClusterIP is stable for the Service's life and kube-proxy spreads connections over the
 * ready API pods (so readiness, not nginx, takes a failing pod out). `least_conn`/`max_fails` still apply to
 * that one address and protect against a briefly unreachable Service. Pure.
 */
import { PORTS } from '../api/images.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import { serviceFqdn } from './api.js';
import {
  CONFIG_CHECKSUM_ANNOTATION,
  childName,
  configChecksum,
  labels,
  objectMeta,
  preStopDelay,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  type KubeObject,
  type RenderInputs,
} from './common.js';
import { containerResources } from './resources.js';
import { serviceAccountName } from './serviceaccounts.js';
import { withFloor } from '../sales/capacity.js';

/** uid/gid of the `nginx` user in nginxinc/nginx-unprivileged. */
export const NGINX_UID = 101;
/** Where the ConfigMap is mounted; nginx is started with `-c` pointing here. */
export const NGINX_CONF_DIR = '/etc/flashsale-nginx';
export const NGINX_TLS_DIR = '/etc/flashsale-nginx-tls';
/** Name of the shared-memory zone of the per-client rate limit. */
export const RATE_LIMIT_ZONE = 'flashsale_per_client';

/** Paths nginx writes to; all under emptyDir mounts so the root filesystem stays read-only. */
export interface NginxPaths {
  pid: string;
  /** Directory for client_body/proxy/fastcgi/uwsgi/scgi temp files. */
  temp: string;
  confDir: string;
  tlsDir: string;
  /** JSON access log; /dev/stdout in the container (a FIFO there), a file in tests. */
  accessLog: string;
}

export const NGINX_PATHS: NginxPaths = {
  pid: '/tmp/nginx.pid',
  temp: '/var/cache/nginx',
  confDir: NGINX_CONF_DIR,
  tlsDir: NGINX_TLS_DIR,
  accessLog: '/dev/stdout',
};

export interface NginxConfOptions {
  /** `host:port` of the API; defaults to the API Service FQDN. Tests map it to a local address. */
  upstream?: string;
  paths?: NginxPaths;
  listenPort?: number;
  tlsListenPort?: number;
}

/** A valid nginx time value (spec timeouts are validated as such; reject anything that could inject). */
function nginxTime(value: string, path: string): string {
  if (!/^\d+(ms|s|m|h|d)?$/.test(value)) {
    throw new Error(`${path}: '${value}' is not an nginx time (use e.g. 500ms, 5s, 1m)`);
  }
  return value;
}

function cidr(value: string, path: string): string {
  if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(value)) {
    throw new Error(`${path}: '${value}' is not an IP address or CIDR (e.g. 10.0.0.0/8)`);
  }
  return value;
}

/** The complete nginx.conf for a stack. */
export function nginxConf(stack: ResolvedFlashSaleStack, options: NginxConfOptions = {}): string {
  const n = stack.spec.nginx;
  const paths = options.paths ?? NGINX_PATHS;
  const listen = options.listenPort ?? PORTS.nginx;
  const tlsListen = options.tlsListenPort ?? PORTS.nginxTls;
  const upstream = options.upstream ?? `${serviceFqdn(stack, childName(stack, 'api'))}:${PORTS.api}`;
  const t = n.timeouts;
  const rl = n.rateLimit;
  const L: string[] = [];
  L.push(
    `# nginx.conf for FlashSaleStack ${stack.metadata.namespace}/${stack.metadata.name}; written by flash-sale-operator.`,
    'worker_processes auto;',
    'worker_rlimit_nofile 65535;',
    `pid ${paths.pid};`,
    'error_log stderr warn;',
    '',
    'events {',
    '    worker_connections 8192;',
    '    multi_accept on;',
    '}',
    '',
    'http {',
    '    default_type application/octet-stream;',
    '    server_tokens off;',
    '    sendfile on;',
    '    tcp_nopush on;',
    '    keepalive_timeout 65s;',
    '    client_max_body_size 64k;',
    `    client_body_temp_path ${paths.temp}/client_temp;`,
    `    proxy_temp_path ${paths.temp}/proxy_temp;`,
    `    fastcgi_temp_path ${paths.temp}/fastcgi_temp;`,
    `    uwsgi_temp_path ${paths.temp}/uwsgi_temp;`,
    `    scgi_temp_path ${paths.temp}/scgi_temp;`,
    '',
  );
  if (n.trustedProxies.length > 0) {
    L.push('    # Real client IP: trust X-Forwarded-For only from these proxies / load balancers.');
    n.trustedProxies.forEach((p, i) =>
      L.push(`    set_real_ip_from ${cidr(p, `spec.nginx.trustedProxies[${i}]`)};`),
    );
    L.push('    real_ip_header X-Forwarded-For;', '    real_ip_recursive on;', '');
  }
  L.push(
    '    log_format flashsale_json escape=json \'{"time":"$time_iso8601","remote_addr":"$remote_addr",' +
      '"method":"$request_method","uri":"$request_uri","status":$status,"bytes_sent":$body_bytes_sent,' +
      '"request_time":$request_time,"upstream_addr":"$upstream_addr","upstream_status":"$upstream_status",' +
      '"upstream_response_time":"$upstream_response_time","request_id":"$request_id",' +
      '"user_agent":"$http_user_agent"}\';',
    `    access_log ${paths.accessLog} flashsale_json;`,
    '',
    '    # Per-client rate limit. limit_req_zone is only valid here, in http {} (the seed put it in server {}).',
    `    limit_req_zone $binary_remote_addr zone=${RATE_LIMIT_ZONE}:10m rate=${rl.requestsPerSecond}r/s;`,
    '    limit_req_status 429;',
    '    limit_req_log_level warn;',
    '',
    '    upstream flashsale_api {',
    '        least_conn;',
    `        server ${upstream} max_fails=${n.upstream.maxFails} fail_timeout=${nginxTime(n.upstream.failTimeout, 'spec.nginx.upstream.failTimeout')};`,
    '        keepalive 64;',
    '        keepalive_requests 10000;',
    '        keepalive_timeout 60s;',
    '    }',
    '',
  );
  const server = (listenLine: string[]): void => {
    L.push('    server {', ...listenLine.map((l) => `        ${l}`), '        server_name _;', '');
    L.push(
      '        # Answered by nginx itself: liveness of the proxy, not of the API.',
      '        location = /health {',
      '            access_log off;',
      '            default_type text/plain;',
      '            return 200 "healthy\\n";',
      '        }',
      '',
      '        # The API serves Prometheus metrics on its own port; never expose them to buyers.',
      '        location = /metrics {',
      '            return 404;',
      '        }',
      '',
      '        location / {',
      `            limit_req zone=${RATE_LIMIT_ZONE} burst=${rl.burst}${rl.nodelay ? ' nodelay' : ''};`,
      '            proxy_pass http://flashsale_api;',
      '            proxy_http_version 1.1;',
      '            proxy_set_header Connection "";',
      '            proxy_set_header Host $host;',
      '            proxy_set_header X-Real-IP $remote_addr;',
      '            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
      '            proxy_set_header X-Forwarded-Proto $scheme;',
      '            proxy_set_header X-Request-Id $request_id;',
      `            proxy_connect_timeout ${nginxTime(t.connect, 'spec.nginx.timeouts.connect')};`,
      `            proxy_send_timeout ${nginxTime(t.send, 'spec.nginx.timeouts.send')};`,
      `            proxy_read_timeout ${nginxTime(t.read, 'spec.nginx.timeouts.read')};`,
      // Non-idempotent requests (POST orders) are never retried on another upstream (nginx default).
      '            proxy_next_upstream error timeout;',
      '        }',
      '    }',
      '',
    );
  };
  server([`listen ${listen} reuseport;`]);
  if (n.tls) {
    server([
      `listen ${tlsListen} ssl reuseport;`,
      `ssl_certificate ${paths.tlsDir}/tls.crt;`,
      `ssl_certificate_key ${paths.tlsDir}/tls.key;`,
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_prefer_server_ciphers off;',
      'ssl_session_cache shared:flashsale_tls:10m;',
      'ssl_session_timeout 1h;',
    ]);
  }
  L.push('}', '');
  return L.join('\n');
}

export function renderNginx(stack: ResolvedFlashSaleStack, inputs: RenderInputs): KubeObject[] {
  const n = stack.spec.nginx;
  const name = childName(stack, 'nginx');
  const sel = selectorLabels(stack, 'nginx');
  const conf = nginxConf(stack);
  const configMap: KubeObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(stack, 'nginx', name),
    data: { 'nginx.conf': conf },
  };
  const ports: Record<string, unknown>[] = [{ name: 'http', containerPort: PORTS.nginx, protocol: 'TCP' }];
  if (n.tls) ports.push({ name: 'https', containerPort: PORTS.nginxTls, protocol: 'TCP' });
  const volumes: Record<string, unknown>[] = [
    { name: 'config', configMap: { name, items: [{ key: 'nginx.conf', path: 'nginx.conf' }] } },
    { name: 'tmp', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'cache', emptyDir: { sizeLimit: '256Mi' } },
  ];
  const mounts: Record<string, unknown>[] = [
    { name: 'config', mountPath: NGINX_CONF_DIR, readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'cache', mountPath: NGINX_PATHS.temp },
  ];
  if (n.tls) {
    volumes.push({ name: 'tls', secret: { secretName: n.tls.secretName } });
    mounts.push({ name: 'tls', mountPath: NGINX_TLS_DIR, readOnly: true });
  }
  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(stack, 'nginx', name),
    spec: {
      replicas: withFloor(n.replicas, inputs.capacityFloor?.nginxReplicas),
      revisionHistoryLimit: 5,
      selector: { matchLabels: sel },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: labels(stack, 'nginx'),
          // Only the config drives this checksum: the TLS Secret is the user's (e.g. cert-manager's) and not an
          // input of render, so nginx serves a renewed certificate after its next restart or rollout.
          annotations: { [CONFIG_CHECKSUM_ANNOTATION]: configChecksum(configMap.data) },
        },
        spec: {
          serviceAccountName: serviceAccountName(stack, 'nginx'),
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurityContext(NGINX_UID),
          terminationGracePeriodSeconds: 30,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: sel },
            },
          ],
          containers: [
            {
              name: 'nginx',
              image: n.image,
              imagePullPolicy: 'IfNotPresent',
              command: ['nginx'],
              args: ['-c', `${NGINX_CONF_DIR}/nginx.conf`, '-g', 'daemon off;'],
              ports,
              resources: containerResources(n.resources),
              securityContext: restrictedContainerSecurityContext(),
              livenessProbe: {
                httpGet: { path: '/health', port: 'http' },
                periodSeconds: 10,
                timeoutSeconds: 2,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: '/health', port: 'http' },
                periodSeconds: 5,
                timeoutSeconds: 2,
              },
              // Let the load balancer stop sending before nginx stops accepting.
              lifecycle: preStopDelay(5, inputs),
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
  const svcPorts: Record<string, unknown>[] = [
    { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
  ];
  if (n.tls) svcPorts.push({ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' });
  const service: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(stack, 'nginx', name),
    spec: {
      type: n.serviceType,
      selector: sel,
      ports: svcPorts,
      // Local keeps the client's source IP (no SNAT to another node), which the per-client limit needs.
      ...(n.serviceType === 'LoadBalancer' ? { externalTrafficPolicy: 'Local' } : {}),
    },
  };
  const pdb: KubeObject = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(stack, 'nginx', name),
    spec: { maxUnavailable: 1, selector: { matchLabels: sel } },
  };
  return [configMap, service, deployment, pdb];
}
