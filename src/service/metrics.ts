/**
 * Prometheus metrics with the seed's series names. Each process has its own registry; under node:cluster
 * the primary aggregates the workers' registries (prom-client AggregatorRegistry) and a worker answering
 * GET /metrics asks the primary for the aggregate over IPC.
 */
import cluster from 'node:cluster';
import { createServer, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';

export interface ApiMetrics {
  registry: client.Registry;
  httpRequests: client.Counter<'method' | 'route' | 'status'>;
  orderCreateDuration: client.Histogram<'result'>;
  stockDecrement: client.Counter<'sale_id'>;
  redisHits: client.Counter<'cache'>;
  redisRequests: client.Counter<'cache'>;
  publishFailures: client.Counter<'reason'>;
  compensations: client.Counter;
  cancelled: client.Counter;
  inventoryFenced: client.Gauge;
  recoveries: client.Counter<'reason'>;
  recoverySeconds: client.Histogram;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    orderCreateDuration: new client.Histogram({
      name: 'order_create_duration_ms',
      help: 'POST /api/sales/{id}/orders latency in milliseconds, by result',
      labelNames: ['result'],
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000, 5000],
      registers: [registry],
    }),
    stockDecrement: new client.Counter({
      name: 'stock_decrement_total',
      help: 'Units of stock taken by accepted orders',
      labelNames: ['sale_id'],
      registers: [registry],
    }),
    redisHits: new client.Counter({
      name: 'redis_hits_total',
      help: 'Cache lookups answered from Redis',
      labelNames: ['cache'],
      registers: [registry],
    }),
    redisRequests: new client.Counter({
      name: 'redis_requests_total',
      help: 'Cache lookups sent to Redis',
      labelNames: ['cache'],
      registers: [registry],
    }),
    publishFailures: new client.Counter({
      name: 'order_publish_failures_total',
      help: 'Order messages the broker did not confirm (answered 503, stock given back)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    compensations: new client.Counter({
      name: 'order_compensations_total',
      help: 'Purchases rolled back in Redis after a failed publish',
      registers: [registry],
    }),
    cancelled: new client.Counter({
      name: 'orders_cancelled_total',
      help: 'Orders whose publish was not confirmed, settled as cancelled in PostgreSQL (answered 503)',
      registers: [registry],
    }),
    inventoryFenced: new client.Gauge({
      name: 'inventory_fenced',
      help: '1 while the inventory fence is up (Redis may hold less than it acknowledged; orders answer 503)',
      aggregator: 'max',
      registers: [registry],
    }),
    recoveries: new client.Counter({
      name: 'inventory_recoveries_total',
      help: 'Inventory recoveries this process ran to the lift, by the reason the fence went up',
      labelNames: ['reason'],
      registers: [registry],
    }),
    recoverySeconds: new client.Histogram({
      name: 'inventory_recovery_seconds',
      help: 'Duration of the inventory recoveries this process ran (claim to lift)',
      buckets: [0.5, 1, 2, 5, 10, 20, 60, 300],
      registers: [registry],
    }),
  };
}

export interface ConsumerMetrics {
  registry: client.Registry;
  consumed: client.Counter<'result'>;
  batchSize: client.Histogram;
  lagMessages: client.Gauge;
  lagSeconds: client.Gauge;
  deadLettered: client.Counter;
  rejected: client.Counter<'reason'>;
}

export function createConsumerMetrics(): ConsumerMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    consumed: new client.Counter({
      name: 'order_consumer_messages_total',
      help: 'Order messages handled by the consumer, by result (inserted, duplicate, rejected, dead_lettered)',
      labelNames: ['result'],
      registers: [registry],
    }),
    batchSize: new client.Histogram({
      name: 'order_consumer_batch_size',
      help: 'Orders per PostgreSQL transaction',
      buckets: [1, 5, 10, 25, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    lagMessages: new client.Gauge({
      name: 'order_consumer_lag_messages',
      help: 'Messages ready in the order queue (not yet delivered to a consumer)',
      registers: [registry],
    }),
    lagSeconds: new client.Gauge({
      name: 'order_consumer_lag_seconds',
      help: 'Age of the most recently persisted order when it was committed (accept -> commit)',
      registers: [registry],
    }),
    deadLettered: new client.Counter({
      name: 'order_consumer_dead_lettered_total',
      help: 'Messages sent to the dead-letter queue',
      registers: [registry],
    }),
    rejected: new client.Counter({
      name: 'orders_rejected_total',
      help: 'Accepted orders the database refused (recorded rejected with a reason), by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

const METRICS_REQ = 'flash-sale-api:metrics-req';
const METRICS_RES = 'flash-sale-api:metrics-res';

interface MetricsMessage {
  type: string;
  id: number;
  text?: string;
  error?: string;
}

function isMetricsMessage(m: unknown): m is MetricsMessage {
  return typeof m === 'object' && m !== null && 'type' in m && 'id' in m;
}

/** In the cluster primary: aggregate workers' registries on request. */
export function serveAggregatedMetricsFromPrimary(): void {
  const agg = new client.AggregatorRegistry();
  cluster.on('message', (worker, msg: unknown) => {
    if (!isMetricsMessage(msg) || msg.type !== METRICS_REQ) return;
    agg.clusterMetrics().then(
      (text) => worker.send({ type: METRICS_RES, id: msg.id, text }),
      (err: unknown) => worker.send({ type: METRICS_RES, id: msg.id, error: String(err) }),
    );
  });
}

let nextId = 1;
const pending = new Map<number, (m: MetricsMessage) => void>();
let workerListening = false;

/** In a cluster worker: make this registry visible to the primary's aggregation. */
export function registerWorkerRegistry(registry: client.Registry): void {
  client.AggregatorRegistry.setRegistries([registry]);
  // Constructing one installs prom-client's worker-side listener.
  new client.AggregatorRegistry();
  if (!workerListening) {
    workerListening = true;
    process.on('message', (msg: unknown) => {
      if (!isMetricsMessage(msg) || msg.type !== METRICS_RES) return;
      pending.get(msg.id)?.(msg);
      pending.delete(msg.id);
    });
  }
}

/** Metrics text for GET /metrics: the cluster aggregate in a worker, the local registry otherwise. */
export async function metricsText(registry: client.Registry): Promise<string> {
  if (!cluster.isWorker || !process.send) return registry.metrics();
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error('metrics aggregation timed out'));
    }, 5000);
    pending.set(id, (m) => {
      clearTimeout(timer);
      if (m.error || m.text === undefined) reject(new Error(m.error ?? 'no metrics'));
      else resolve(m.text);
    });
    process.send!({ type: METRICS_REQ, id });
  });
}

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

export interface MetricsListenOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  registry: client.Registry;
  /** The scrape body; the registry's own text unless given (the API passes the cluster aggregate). */
  text?: () => Promise<string>;
  /** Also answer GET /healthz (the consumer's kubelet probes use this port). */
  healthz?: boolean;
  serverOptions?: ServerOptions;
}

/**
 * The metrics port of the API and of the consumer: GET /metrics (and /healthz when asked), 404 for anything
 * else, so a NetworkPolicy that admits Prometheus to this port admits it to nothing but metrics.
 */
export async function listenMetrics(opts: MetricsListenOptions): Promise<MetricsListener> {
  const text = opts.text ?? (() => opts.registry.metrics());
  const server = createServer(opts.serverOptions ?? {}, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (get && path === '/metrics') {
      text().then(
        (body) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics unavailable: ${e instanceof Error ? e.message : String(e)}\n`);
        },
      );
    } else if (get && path === '/healthz' && opts.healthz) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('this port serves GET /metrics only\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
