/**
 * flash-sale-api: migrate | serve | consume | rebuild-stock. Configuration comes from the environment
 * (see src/service/config.ts and docs/api-service.md). The binary's entry is main.ts.
 */
import cluster from 'node:cluster';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig, type ServiceConfig } from './config.js';
import { startConsumer } from './consumer.js';
import { createPool, migrate, waitForRestoreMarker } from './db.js';
import { Keys } from './keys.js';
import { createApiMetrics, registerWorkerRegistry, serveAggregatedMetricsFromPrimary } from './metrics.js';
import { Publisher } from './queue.js';
import { inventoryFence } from './recovery.js';
import { startServer } from './server.js';
import { redact, urlSecrets } from './urls.js';

const USAGE = `usage: flash-sale-api <command>

commands:
  migrate        create or upgrade the PostgreSQL schema (idempotent)
  serve          run the HTTP API (WORKERS processes, default: CPU count)
  consume        run the order consumer (RabbitMQ -> PostgreSQL)
  rebuild-stock  fence the inventory and recompute Redis stock and purchase markers from
                 PostgreSQL once every queued order is persisted (the API does this by itself
                 when Redis lost data; this forces it, e.g. after restoring the database)

configuration: DATABASE_URL, REDIS_URL, AMQP_URL, PORT (8001), ADMIN_TOKEN, and the tuning
variables documented in docs/api-service.md. 'flash-sale-api <command> --help' describes one command.
`;

const CONFIG = 'Configuration comes from the environment (docs/api-service.md lists every variable).';

/** `flash-sale-api <command> --help`: what the command does and the variables it reads. Prints only. */
const COMMAND_HELP: Record<string, string> = {
  migrate: `usage: flash-sale-api migrate

Creates or upgrades the PostgreSQL schema in DATABASE_URL; idempotent (an advisory lock and
schema_migrations), so every pod may run it. With MIGRATE_WAIT_FOR_RESTORE=1 it first waits up to
MIGRATE_RESTORE_TIMEOUT_SECONDS for the bootstrap restore's marker.
${CONFIG}
`,
  serve: `usage: flash-sale-api serve

Runs the HTTP API on HOST:PORT (default 0.0.0.0:8001) with WORKERS processes (default: CPU count), using
DATABASE_URL, REDIS_URL, AMQP_URL and ADMIN_TOKEN. GET /metrics (the aggregate of every worker) is served
on METRICS_PORT (default 9465) only, not on PORT. Stops gracefully on SIGTERM or SIGINT.
${CONFIG}
`,
  consume: `usage: flash-sale-api consume

Runs the order consumer: reads ORDER_QUEUE on AMQP_URL and writes the orders to DATABASE_URL idempotently,
acking after commit; /metrics and /healthz on CONSUMER_METRICS_PORT (default 9464, 0 = off). SIGTERM
drains what it holds, then exits; a lost broker connection exits 1.
${CONFIG}
`,
  'rebuild-stock': `usage: flash-sale-api rebuild-stock

Fences the inventory (purchases answer 503 inventory_recovering), waits until every order still in the
queue is persisted, then recomputes every sale's Redis stock and purchase markers (REDIS_URL,
REDIS_KEY_PREFIX) from PostgreSQL (DATABASE_URL) and lifts the fence. The API does this by itself when
Redis lost data; run it to force a recovery, e.g. after restoring the database.
${CONFIG}
`,
};

/** A usage error: the error line first, then where to look; exit status 2. */
function usageError(message: string, command?: string): number {
  const help = command === undefined ? 'flash-sale-api --help' : `flash-sale-api ${command} --help`;
  process.stderr.write(
    `flash-sale-api${command === undefined ? '' : ` ${command}`}: ${message}\nRun '${help}' for usage.\n`,
  );
  return 2;
}

/** The passwords of the configured URLs: blanked in every line this process prints (set once the config is read). */
let secrets: readonly string[] = [];

export const log = (s: string): void => {
  process.stderr.write(`flash-sale-api: ${redact(s, secrets)}\n`);
};

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

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
  let s;
  try {
    s = await startServer(cfg, { metrics, log });
  } catch (e) {
    log(`serve: could not start: ${errorText(e)}`);
    return 1;
  }
  log(
    `serving on ${cfg.host}:${s.port}, /metrics on ${cfg.host}:${s.metricsPort}${cluster.isWorker ? ` (worker ${process.pid})` : ''}`,
  );
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
  let c;
  try {
    c = await startConsumer(cfg, log);
  } catch (e) {
    log(`consume: could not start: ${errorText(e)}`);
    return 1;
  }
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
  const [cmd, ...rest] = argv;
  if (cmd === undefined) return usageError(`give a command: ${Object.keys(COMMAND_HELP).join(', ')}`);
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    const topic = cmd === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !COMMAND_HELP[topic])
      return usageError(`unknown command ${JSON.stringify(topic)}`);
    process.stdout.write(topic !== undefined ? (COMMAND_HELP[topic] ?? '') : USAGE);
    return 0;
  }
  const help = COMMAND_HELP[cmd];
  if (help === undefined) return usageError(`unknown command ${JSON.stringify(cmd)}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(help);
    return 0;
  }
  if (rest.length > 0) {
    return usageError(
      `unexpected argument ${JSON.stringify(rest[0])}; it takes none (configuration comes from the environment)`,
      cmd,
    );
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
  secrets = urlSecrets([cfg.databaseUrl, cfg.redisUrl, cfg.amqpUrl]);
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
      } catch (e) {
        log(`migrate: the database (${redact(cfg.databaseUrl)}) failed: ${errorText(e)}`);
        return 1;
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
      // Give up after a few connection attempts: a one-shot command must fail, not retry forever.
      const redis = new Redis(cfg.redisUrl, {
        maxRetriesPerRequest: 2,
        connectTimeout: 5000,
        retryStrategy: (n) => (n > 3 ? null : 200 * n),
      });
      let redisError = '';
      redis.on('error', (e: Error) => {
        if (e.message !== redisError) log(`Redis (${redact(cfg.redisUrl)}): ${e.message}`);
        redisError = e.message;
      });
      const publisher = new Publisher(cfg);
      const keys = new Keys(cfg.redisKeyPrefix);
      try {
        const { guard, recovery } = inventoryFence(cfg, redis, pool, keys, publisher, log);
        await guard.check('manual_rebuild');
        for (;;) {
          const r = await recovery.run();
          if (r) {
            log(`rebuilt ${r.sales} sales, ${r.markers} purchase markers (epoch ${r.epoch})`);
            return 0;
          }
          // Another process holds the recovery: wait for its lift.
          if ((await guard.check()).state === 'ok') {
            log('the inventory was recovered by another process');
            return 0;
          }
          await new Promise((res) => setTimeout(res, 500));
        }
      } catch (e) {
        log(`rebuild-stock failed: ${errorText(e)}`);
        return 1;
      } finally {
        await publisher.close();
        redis.disconnect();
        await pool.end();
      }
    }
    default:
      return usageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}
