/**
 * The operator's own Prometheus metrics and its /metrics, /healthz, /readyz endpoint.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({
    name: 'flashsale_operator_reconcile_total',
    help: 'Reconciles by result (success, error, requeue).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'flashsale_operator_reconcile_errors_total',
    help: 'Reconciles that failed and were retried with backoff.',
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'flashsale_operator_reconcile_duration_seconds',
    help: 'Time spent in one reconcile.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'flashsale_operator_workqueue_depth',
    help: 'Stack keys waiting to be reconciled.',
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'flashsale_operator_api_requests_total',
    help: 'Kubernetes API requests by verb, resource and HTTP code (0 = connection failed).',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });
  readonly objectWrites = new Counter({
    name: 'flashsale_operator_object_writes_total',
    help: 'Writes (apply, patch, create, delete) issued by reconciles.',
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: 'flashsale_operator_leader',
    help: '1 when this replica holds the leader lease (or runs without leader election).',
    registers: [this.registry],
  });
  readonly stacks = new Gauge({
    name: 'flashsale_operator_stacks',
    help: 'FlashSaleStacks in the informer cache.',
    registers: [this.registry],
  });

  readonly backupLastSuccess = new Gauge({
    name: 'flashsale_backup_last_success_timestamp_seconds',
    help: 'Completion time of the newest successful backup of a stack (absent until the first one).',
    labelNames: ['stack_namespace', 'stack'] as const,
    registers: [this.registry],
  });
  readonly backupLastFailure = new Gauge({
    name: 'flashsale_backup_last_failure_timestamp_seconds',
    help: 'Completion time of the newest failed backup of a stack (absent until one fails).',
    labelNames: ['stack_namespace', 'stack'] as const,
    registers: [this.registry],
  });
  readonly baseBackupLastSuccess = new Gauge({
    name: 'flashsale_basebackup_last_success_timestamp_seconds',
    help: 'Completion time of the newest successful PITR base backup of a stack (absent until the first one).',
    labelNames: ['stack_namespace', 'stack'] as const,
    registers: [this.registry],
  });
  readonly baseBackupLastFailure = new Gauge({
    name: 'flashsale_basebackup_last_failure_timestamp_seconds',
    help: 'Completion time of the newest failed PITR base backup of a stack (absent until one fails).',
    labelNames: ['stack_namespace', 'stack'] as const,
    registers: [this.registry],
  });

  constructor(defaultMetrics = true) {
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}

export interface HealthEndpoints {
  healthy(): boolean;
  ready(): boolean;
}

/** Serves /metrics, /healthz and /readyz on `addr` (":8080", "127.0.0.1:0"). Resolves with the bound port. */
export async function serveMetrics(
  addr: string,
  metrics: OperatorMetrics,
  health: HealthEndpoints,
): Promise<{ server: Server; port: number }> {
  const m = /^(.*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`--metrics-addr must look like ":8080" or "127.0.0.1:8080", got "${addr}"`);
  const host = m[1] === '' ? '0.0.0.0' : m[1]!;
  const port = Number(m[2]);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' ? health.healthy() : health.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return { server, port: typeof bound === 'object' && bound ? bound.port : port };
}
