/**
 * What the FlashSale acceptance tests run: the in-memory Kubernetes API server with both CRDs and the
 * simulated kubelet, the operator in-process as its ServiceAccount with a test clock, and the real API
 * service processes (`flash-sale-api serve` and `consume`, built in dist/) against the real PostgreSQL and
 * RabbitMQ here and a private redis-server with AOF on (the machine's shared Redis runs without persistence,
 * which SafeToStart rightly refuses). The stack's Service addresses are mapped to those processes, and the
 * stack's generated Secret carries the service's ADMIN_TOKEN, so the operator reaches the API exactly as in a
 * cluster: by the `<stack>-api` address with the token from the Secret.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { createHealthIntegration, type EndpointMapper } from '../../src/controller/health-integration.js';
import type { ApiObject, KubeClient } from '../../src/controller/kube-client.js';
import { createLogger, silentLogger } from '../../src/controller/logger.js';
import { Operator } from '../../src/controller/operator.js';
import { resourceTypeByKind } from '../../src/controller/resources.js';
import { generatedSecretName } from '../../src/controller/secrets.js';
import { createOperatorParts } from '../../src/controller/wiring.js';
import type { ProbeTargets } from '../../src/health/types.js';
import { startRedis, type Daemon } from '../health/daemons.js';
import {
  client,
  condition,
  eventually,
  getStack,
  operatorOptions,
  startServer,
} from '../controller/harness.js';
import { call, createTestEnv, type TestEnv } from '../service/support.js';
import { freePort } from '../support/processes.js';
import type { FakeApiServer } from '../support/server.js';

export const SALES = resourceTypeByKind('FlashSale');
export const DEPLOYMENTS = resourceTypeByKind('Deployment');
const MAIN = 'dist/src/service/main.js';

/** Real time plus an offset the test moves; listeners (the operator) look at every sale again when it moves. */
export class TestClock {
  offsetMs = 0;
  private readonly listeners: (() => void)[] = [];
  now = (): Date => new Date(Date.now() + this.offsetMs);
  onAdvance(listener: () => void): void {
    this.listeners.push(listener);
  }
  setOffset(ms: number): void {
    this.offsetMs = ms;
    for (const l of this.listeners) l();
  }
}

export interface SaleWorld {
  srv: FakeApiServer;
  kc: KubeConfig;
  c: KubeClient;
  op: Operator;
  clock: TestClock;
  t: TestEnv;
  apiUrl: string;
  /** Starts a fresh operator (after `op.stop()`), as a restarted operator pod would. */
  restartOperator(): Promise<Operator>;
  stopApi(): Promise<void>;
  close(): Promise<void>;
}

function exited(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve();
    else p.once('exit', () => resolve());
  });
}

export async function startSaleWorld(): Promise<SaleWorld> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  const redisDir = mkdtempSync(join(tmpdir(), 'fsale-redis-'));
  const redis: Daemon = await startRedis(['--appendonly', 'yes', '--dir', redisDir]);
  const t = await createTestEnv({
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    GUARD_CHECK_INTERVAL_MS: '200',
  });
  const port = await freePort();
  const env = { ...process.env, ...t.env, PORT: String(port) };
  const log = (name: string, p: ChildProcess) => {
    if (process.env.SALE_LOGS)
      p.stderr?.on('data', (d: Buffer) => process.stderr.write(`${name}: ${d.toString()}`));
    else p.stderr?.resume();
    p.stdout?.resume();
  };
  const serve = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  log('serve', serve);
  const consume = spawn(process.execPath, [MAIN, 'consume'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  log('consume', consume);
  const apiUrl = `http://127.0.0.1:${port}`;
  await eventually(
    async () => (await call(apiUrl, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200,
    'flash-sale-api serve ready',
    30_000,
  );

  const { srv, kc, operatorKc } = await startServer();
  const c = client(kc);
  // The stack's generated Secret holds the token the API service runs with (the operator keeps what exists).
  await c.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: generatedSecretName('shop'),
      namespace: 'default',
      labels: { 'app.kubernetes.io/managed-by': 'flash-sale-operator', 'flashsale.dev/stack': 'shop' },
    },
    stringData: { apiAdminToken: t.env.ADMIN_TOKEN! },
  });
  const clock = new TestClock();
  const endpoints: EndpointMapper = (service, namespace, p) =>
    service === 'shop-api' && namespace === 'default'
      ? { host: '127.0.0.1', port }
      : { host: '127.0.0.1', port: p };
  const db = new URL(t.env.DATABASE_URL!);
  const targets = (): ProbeTargets => ({
    postgres: { host: '127.0.0.1', port: 5432, user: 'postgres', database: db.pathname.slice(1) },
    redis: { host: '127.0.0.1', port: redis.port },
    rabbitmq: { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', vhost: '/' },
    queues: [t.cfg.orderQueue],
    apiUrl,
    apiToken: t.env.ADMIN_TOKEN!,
  });
  const start = async () => {
    const parts = {
      ...createOperatorParts({
        health: false,
        defaultProbeIntervalMs: 1_000,
        endpoints,
        postgresReload: false,
        sales: { clock, refreshMs: 300 },
        log: silentLogger,
      }),
      health: createHealthIntegration({ defaultIntervalMs: 500, targets }),
    };
    const op = new Operator(
      operatorKc,
      operatorOptions(),
      parts,
      process.env.OPERATOR_LOGS ? createLogger('debug') : silentLogger,
    );
    await op.start();
    return op;
  };
  const world: SaleWorld = {
    srv,
    kc,
    c,
    op: await start(),
    clock,
    t,
    apiUrl,
    async restartOperator() {
      world.op = await start();
      return world.op;
    },
    async stopApi() {
      for (const p of [serve, consume]) {
        p.kill('SIGTERM');
        await exited(p);
      }
    },
    async close() {
      await world.op.stop();
      await srv.stop();
      await world.stopApi();
      await t.cleanup();
      await redis.kill();
      rmSync(redisDir, { recursive: true, force: true });
    },
  };
  return world;
}

/** A stack whose probes can pass on this machine: no PgBouncer, thresholds that ignore other tests' load. */
export async function createHealthyStack(
  w: SaleWorld,
  api: Record<string, unknown> = {},
): Promise<ApiObject> {
  await w.c.create({
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSaleStack',
    metadata: { name: 'shop', namespace: 'default' },
    spec: {
      pgbouncer: { enabled: false },
      api,
      monitoring: {
        probeInterval: '1s',
        probeTimeout: '1s',
        thresholds: {
          redisHitRatioMin: 0,
          connectionsUsedPercentMax: 100,
          lockWaitsMax: 1000,
          oldestTransactionSecondsMax: 86_400,
          slowStatementMeanMs: 100_000,
        },
      },
    },
  });
  await w.c.mergePatch(resourceTypeByKind('FlashSaleStack'), 'default', 'shop', {
    metadata: { annotations: { 'flashsale.dev/backup-now': 'before-the-sale' } },
  });
  return eventually(
    async () => {
      const s = await getStack(w.c, 'shop');
      const st = s.status as {
        lastSuccessfulBackup?: unknown;
        health?: Record<string, { healthy: boolean }>;
      };
      const h = st?.health ?? {};
      return condition(s, 'Ready')?.status === 'True' &&
        st.lastSuccessfulBackup &&
        ['postgres', 'redis', 'rabbitmq', 'api'].every((k) => h[k]?.healthy)
        ? s
        : undefined;
    },
    'a Ready, healthy, backed-up stack',
    60_000,
  );
}

export function saleObject(name: string, spec: Record<string, unknown>): ApiObject {
  return {
    apiVersion: 'flashsale.dev/v1alpha1',
    kind: 'FlashSale',
    metadata: { name, namespace: 'default' },
    spec: { stackName: 'shop', productId: 'sku-42', leadTime: '1h', coolDown: '1h', ...spec },
  };
}

export async function getSale(w: SaleWorld, name: string): Promise<ApiObject & { status?: any }> {
  return w.c.get(SALES, 'default', name) as Promise<ApiObject & { status?: any }>;
}

export function waitPhase(
  w: SaleWorld,
  name: string,
  phase: string,
  timeoutMs = 30_000,
): Promise<ApiObject & { status?: any }> {
  return eventually(
    async () => {
      const s = await getSale(w, name);
      return s.status?.phase === phase ? s : undefined;
    },
    `${name} ${phase}`,
    timeoutMs,
  );
}

export async function replicas(w: SaleWorld, name: string): Promise<number | undefined> {
  const d = await w.c.get(DEPLOYMENTS, 'default', name);
  return (d.spec as { replicas?: number }).replicas;
}

export async function saleEvents(w: SaleWorld, name: string): Promise<string[]> {
  const events = (await w.c.list(resourceTypeByKind('Event'), 'default', {})).items as any[];
  return events
    .filter((e) => e.involvedObject?.kind === 'FlashSale' && e.involvedObject?.name === name)
    .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))
    .map((e) => e.reason as string);
}

/** API rows of sales created for the FlashSale `name` (by its externalId prefix). */
export async function apiSalesFor(
  w: SaleWorld,
  name: string,
): Promise<{ id: string; external_id: string }[]> {
  const r = await w.t.pool.query<{ id: string; external_id: string }>(
    'SELECT id::text, external_id FROM flash_sales WHERE external_id LIKE $1',
    [`default/${name}/%`],
  );
  return r.rows;
}

export interface Purchase {
  userId: string;
  sentAt: number;
  doneAt: number;
  status: number;
  error?: string;
}

/** Distinct buyers, `workers` at a time, one order each every `everyMs` per worker, until `untilMs` (real time). */
export async function buyers(
  apiUrl: string,
  saleId: () => string | undefined,
  untilMs: number,
  prefix: string,
  workers = 8,
  everyMs = 15,
): Promise<Purchase[]> {
  const out: Purchase[] = [];
  let n = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < untilMs) {
        const id = saleId();
        if (id) {
          const userId = `${prefix}-${n++}`;
          const sentAt = Date.now();
          const r = await call(apiUrl, 'POST', `/api/sales/${id}/orders`, { userId }).catch(() => ({
            status: 0,
            body: {},
          }));
          out.push({
            userId,
            sentAt,
            doneAt: Date.now(),
            status: r.status,
            error: (r.body as { error?: string })?.error,
          });
        }
        await new Promise((r) => setTimeout(r, everyMs));
      }
    }),
  );
  return out;
}
