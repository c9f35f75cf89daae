#!/usr/bin/env node
/**
 * flash-sale-api: migrate | serve | consume | rebuild-stock. Configuration comes from the environment
 * (see src/service/config.ts and docs/api-service.md).
 */
import cluster from 'node:cluster';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type ServiceConfig } from './config.js';
import { startConsumer } from './consumer.js';
import { createPool, migrate, waitForRestoreMarker } from './db.js';
import { Keys } from './keys.js';
import { createApiMetrics, registerWorkerRegistry, serveAggregatedMetricsFromPrimary } from './metrics.js';
import { rebuildStock } from './rebuild.js';
import { startServer } from './server.js';

const USAGE = `usage: flash-sale-api <command>

commands:
  migrate        create or upgrade the PostgreSQL schema (idempotent)
  serve          run the HTTP API (WORKERS processes, default: CPU count)
  consume        run the order consumer (RabbitMQ -> PostgreSQL)
  rebuild-stock  recompute Redis stock and purchase markers from PostgreSQL

configuration: DATABASE_URL, REDIS_URL, AMQP_URL, PORT (8001), ADMIN_TOKEN, and the tuning
variables documented in docs/api-service.md.
`;

const log = (s: string): void => {
  process.stderr.write(`flash-sale-api: ${s}\n`);
};

function onSignals(fn: () => void): void {
  process.once('SIGTERM', fn);
  process.once('SIGINT', fn);
}

async function serve(cfg: ServiceConfig): Promise<number> {
  if (cfg.workers > 1 && cluster.isPrimary) {
    serveAggregatedMetricsFromPrimary();
    let stopping = false;
    for (let i = 0; i < cfg.workers; i++) cluster.fork();
    cluster.on('exit', (w, code) => {
      if (!stopping) {
        log(`worker ${w.process.pid} exited (${code}); starting another`);
        cluster.fork();
      }
    });
    return new Promise<number>((resolve) => {
      onSignals(() => {
        stopping = true;
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
        const check = setInterval(() => {
          if (Object.keys(cluster.workers ?? {}).length === 0) {
            clearInterval(check);
            resolve(0);
          }
        }, 50);
      });
    });
  }
  const metrics = createApiMetrics();
  if (cluster.isWorker) registerWorkerRegistry(metrics.registry);
  const s = await startServer(cfg, { metrics });
  log(`serving on ${cfg.host}:${s.port}${cluster.isWorker ? ` (worker ${process.pid})` : ''}`);
  return new Promise<number>((resolve) => {
    onSignals(() => {
      s.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    });
  });
}

async function consume(cfg: ServiceConfig): Promise<number> {
  const c = await startConsumer(cfg, log);
  log(`consuming ${cfg.orderQueue} (prefetch ${cfg.consumerPrefetch}, batch ${cfg.consumerBatchSize})`);
  return new Promise<number>((resolve) => {
    onSignals(() => {
      log('draining');
      c.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    });
    c.lost.then(() => {
      log('broker connection lost; exiting so the supervisor restarts the consumer');
      resolve(1);
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  let cfg: ServiceConfig;
  try {
    cfg = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      log(e.message);
      return 2;
    }
    throw e;
  }
  switch (cmd) {
    case 'migrate': {
      if (cfg.migrateWaitForRestore) {
        try {
          const marker = await waitForRestoreMarker(
            cfg.databaseUrl,
            cfg.migrateRestoreTimeoutSec * 1000,
            log,
          );
          log(`restore marker found (${marker}); migrating`);
        } catch (e) {
          log(e instanceof Error ? e.message : String(e));
          return 1;
        }
      }
      const pool = createPool(cfg.databaseUrl, 1);
      try {
        const applied = await migrate(pool);
        log(applied.length ? `applied migrations ${applied.join(', ')}` : 'schema is up to date');
        return 0;
      } finally {
        await pool.end();
      }
    }
    case 'serve':
      return serve(cfg);
    case 'consume':
      return consume(cfg);
    case 'rebuild-stock': {
      const pool = createPool(cfg.databaseUrl, 2);
      const redis = new Redis(cfg.redisUrl, { maxRetriesPerRequest: 2 });
      try {
        const r = await rebuildStock(pool, redis, new Keys(cfg.redisKeyPrefix));
        log(`rebuilt ${r.sales} sales, ${r.markers} purchase markers`);
        return 0;
      } finally {
        redis.disconnect();
        await pool.end();
      }
    }
    default:
      process.stderr.write(`flash-sale-api: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
      return 2;
  }
}

function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exit(code);
    },
    (err: unknown) => {
      log(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
