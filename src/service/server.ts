/** The HTTP server: routing, error mapping, the metrics port, and the in-process entry point `startServer`. */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { ServiceConfig } from './config.js';
import { createPool, durableEpoch } from './db.js';
import {
  createOrder,
  createSale,
  type Deps,
  readAllCounters,
  readiness,
  readOrder,
  readSale,
  readSaleCounters,
} from './handlers.js';
import { HttpError, RequestAborted, sendError, sendJson } from './http.js';
import { Keys } from './keys.js';
import { type ApiMetrics, createApiMetrics, listenMetrics, metricsText } from './metrics.js';
import { PurchaseBatcher } from './purchase.js';
import { patchSale, readReconciliation, setGate } from './sale-admin.js';
import { Publisher } from './queue.js';
import { inventoryFence, noOrdersYet } from './recovery.js';
import { redact, urlSecrets } from './urls.js';
import { isOrderId, isSaleId } from './validate.js';

export interface RunningServer {
  url: string;
  port: number;
  /** Base URL of GET /metrics (cfg.metricsPort; the serving port answers 404 there). */
  metricsUrl: string;
  metricsPort: number;
  deps: Deps;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<string>;

function route(d: Deps, method: string, path: string): { name: string; handler: Handler } | undefined {
  const parts = path.split('/');
  // ['', 'api', 'sales', id, 'orders']
  if (parts[1] === 'api' && parts[2] === 'sales') {
    if (parts.length === 3 && method === 'POST')
      return { name: '/api/sales', handler: (q, s) => createSale(d, q, s) };
    const id = parts[3] ?? '';
    if (parts.length === 4 && method === 'GET') {
      return {
        name: '/api/sales/{id}',
        handler: (q, s) => (isSaleId(id) ? readSale(d, q, s, id) : notFound('sale')),
      };
    }
    if (parts.length === 4 && method === 'PATCH') {
      return {
        name: '/api/sales/{id}',
        handler: (q, s) => (isSaleId(id) ? patchSale(d, q, s, id) : notFound('sale')),
      };
    }
    const action = parts[4];
    if (
      parts.length === 5 &&
      method === 'POST' &&
      (action === 'suspend' || action === 'resume' || action === 'close')
    ) {
      return {
        name: `/api/sales/{id}/${action}`,
        handler: (q, s) => (isSaleId(id) ? setGate(d, q, s, id, action) : notFound('sale')),
      };
    }
    if (parts.length === 5 && parts[4] === 'reconciliation' && method === 'GET') {
      return {
        name: '/api/sales/{id}/reconciliation',
        handler: (q, s) => (isSaleId(id) ? readReconciliation(d, q, s, id) : notFound('sale')),
      };
    }
    if (parts.length === 5 && parts[4] === 'counters' && method === 'GET') {
      return {
        name: '/api/sales/{id}/counters',
        handler: (q, s) => (isSaleId(id) ? readSaleCounters(d, q, s, id) : notFound('sale')),
      };
    }
    if (parts.length === 5 && parts[4] === 'orders' && method === 'POST') {
      return {
        name: '/api/sales/{id}/orders',
        handler: (q, s) => (isSaleId(id) ? createOrder(d, q, s, id) : notFound('sale')),
      };
    }
  }
  if (parts.length === 4 && parts[1] === 'api' && parts[2] === 'orders' && method === 'GET') {
    const id = parts[3]!;
    return {
      name: '/api/orders/{id}',
      handler: (_q, s) => (isOrderId(id) ? readOrder(d, s, id) : notFound('order')),
    };
  }
  if (method === 'GET' && path === '/api/admin/counters') {
    return { name: '/api/admin/counters', handler: (q, s) => readAllCounters(d, q, s) };
  }
  if (method === 'GET' && path === '/healthz') {
    return {
      name: '/healthz',
      handler: async (_q, s) => {
        sendJson(s, 200, { status: 'ok' });
        return '200';
      },
    };
  }
  if (method === 'GET' && path === '/readyz') return { name: '/readyz', handler: (_q, s) => readiness(d, s) };
  return undefined;
}

function notFound(what: 'sale' | 'order'): Promise<string> {
  return Promise.reject(
    new HttpError(
      404,
      `${what}_not_found`,
      `no such ${what}; ids look like ${what === 'sale' ? '42' : 'a UUID'}`,
    ),
  );
}

export function createHandler(
  d: Deps,
  log: (s: string) => void = (s) => process.stderr.write(`flash-sale-api: ${s}\n`),
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const r = route(d, method, path);
    if (!r) {
      sendError(res, 404, 'not_found', `no route for ${method} ${path}`);
      d.metrics.httpRequests.inc({ method, route: 'unmatched', status: '404' });
      return;
    }
    r.handler(req, res).then(
      (status) => d.metrics.httpRequests.inc({ method, route: r.name, status }),
      (e: unknown) => {
        // The client left mid-request: nothing to answer, and not a server error (status="aborted").
        if (e instanceof RequestAborted) {
          d.metrics.httpRequests.inc({ method, route: r.name, status: 'aborted' });
          return;
        }
        let status = 500;
        if (e instanceof HttpError) {
          status = e.status;
          if (!res.headersSent) sendError(res, e.status, e.code, e.message);
        } else if (!res.headersSent) {
          sendError(res, 500, 'internal', 'internal error');
        }
        if (status === 500) log(`${method} ${r.name}: ${String(e)}`);
        d.metrics.httpRequests.inc({ method, route: r.name, status: String(status) });
      },
    );
  };
}

/**
 * What one client can hold (docs/api-service.md): the whole header block within HTTP_HEADERS_TIMEOUT_MS, the
 * whole request within HTTP_REQUEST_TIMEOUT_MS (both answered 408 and closed), an idle keep-alive connection
 * for HTTP_KEEP_ALIVE_TIMEOUT_MS. Node checks the first two on an interval, kept well below them.
 */
export function httpBounds(cfg: ServiceConfig): ServerOptions {
  return {
    headersTimeout: cfg.httpHeadersTimeoutMs,
    requestTimeout: cfg.httpRequestTimeoutMs,
    keepAliveTimeout: cfg.httpKeepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(cfg.httpHeadersTimeoutMs / 4))),
  };
}

export interface StartOptions {
  metrics?: ApiMetrics;
  log?: (s: string) => void;
}

/** Starts the API in this process (one worker). Connections are opened eagerly where possible. */
export async function startServer(cfg: ServiceConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const redis = new Redis(cfg.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
    connectTimeout: 2000,
    // Commands issued in the same tick (many concurrent orders) go out in one write.
    enableAutoPipelining: true,
  });
  // Later errors show in /readyz and as 503s; the first one, at start, says why the start failed.
  let redisError: Error | undefined;
  redis.on('error', (e: Error) => (redisError = e));
  await redis.connect().catch((e: unknown) => {
    const why = redisError?.message ?? (e instanceof Error ? e.message : String(e));
    throw new Error(`Redis (${redact(cfg.redisUrl)}) is unreachable: ${why}`);
  });
  const pool = createPool(cfg.databaseUrl, cfg.pgPoolMax);
  const publisher = new Publisher(cfg);
  await publisher.channel().catch(() => undefined); // not fatal: /readyz reports it, orders answer 503
  const keys = new Keys(cfg.redisKeyPrefix);
  const secrets = urlSecrets([cfg.databaseUrl, cfg.redisUrl, cfg.amqpUrl]);
  const log = opts.log ?? ((s: string) => process.stderr.write(`flash-sale-api: ${redact(s, secrets)}\n`));
  const metrics = opts.metrics ?? createApiMetrics();
  const { guard, recovery } = inventoryFence(cfg, redis, pool, keys, publisher, log, (reason, seconds) => {
    metrics.recoveries.inc({ reason: reason.split(':')[0]! });
    metrics.recoverySeconds.observe(seconds);
  });
  guard.watch((view) => {
    metrics.inventoryFenced.set(view.state === 'ok' ? 0 : 1);
    if (view.state === 'ok') return;
    recovery.run().catch((e: unknown) => {
      log(`inventory recovery failed (retried on the next check): ${String(e)}`);
    });
  });
  const deps: Deps = {
    cfg,
    redis,
    pool,
    publisher,
    metrics,
    keys,
    purchases: new PurchaseBatcher(redis, keys, guard, cfg.pendingOrderTtlSec, cfg.purchaseBatchMax),
    guard,
  };
  // A system that never verified its inventory recovers before serving (at once when it has no orders yet).
  const first = await guard.check();
  if (
    first.state !== 'ok' &&
    (await durableEpoch(pool, keys.prefix)) === undefined &&
    (await noOrdersYet(pool))
  ) {
    await recovery.run();
  }
  guard.start(cfg.guardCheckIntervalMs);
  const server: Server = createServer(httpBounds(cfg), createHandler(deps, log));
  server.maxConnections = cfg.httpMaxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // Under node:cluster the workers share this port too; whichever answers asks the primary for the aggregate.
  const metricsListener = await listenMetrics({
    port: cfg.metricsPort,
    host: cfg.host,
    registry: metrics.registry,
    text: () => metricsText(metrics.registry),
    serverOptions: httpBounds(cfg),
  }).catch(async (e: unknown) => {
    guard.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await publisher.close();
    redis.disconnect();
    await pool.end();
    throw new Error(`metrics port ${cfg.metricsPort}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const host = cfg.host === '0.0.0.0' || cfg.host === '::' ? '127.0.0.1' : cfg.host;
  return {
    url: `http://${host}:${port}`,
    port,
    metricsUrl: `http://${host}:${metricsListener.port}`,
    metricsPort: metricsListener.port,
    deps,
    async close() {
      guard.stop();
      await metricsListener.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await publisher.close();
      redis.disconnect();
      await pool.end();
    },
  };
}
