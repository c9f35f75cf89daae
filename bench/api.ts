/**
 * npm run bench:api — how close the real order path gets to its two ceilings, on this machine.
 *   (a) a bare node:http server answering a fixed 202 JSON (the HTTP ceiling)
 *   (b) the purchase Lua script via EVALSHA through the service's PurchaseBatcher, from a Node client loop with
 *       as many buyers in flight as HTTP connections (the Redis ceiling); (b1) the same, one purchase per call
 *   (c) the real POST /api/sales/{id}/orders (built CLI `serve`, WORKERS processes) with a huge stock and
 *       random users, publisher confirms on, the consumer running
 *   (d) PostgreSQL alone writing orders as the consumer does (its CPU per order is a floor under (c))
 * (a) and (c) use the same load tool (autocannon), requests, connection count and worker count, each after a
 * warm-up. Then (c), and (a) for comparison, at half of (c)'s maximum rate from an open-loop paced generator
 * for the p99. Prints the floors that bound c/a and c/b here, and ends with
 * `RESULT c/a=<x> c/b=<y> p99_ms=<z>`.
 * (e) the purchase loop of (b) against private redis-servers with no AOF, appendfsync everysec (rendered) and
 * appendfsync always, interleaved, as ratios (BENCH_ONLY=persistence runs only this).
 * Knobs: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (200), BENCH_WORKERS (cores - 1),
 * BENCH_PERSISTENCE_ROUNDS (2),
 * PURCHASE_BATCH_MAX, CONSUMER_BATCH_SIZE, plus the services' URLs (BENCH_PG_ADMIN_URL, REDIS_URL, AMQP_URL).
 * Runs with Node's type stripping on the built dist/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import amqp from 'amqplib';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
// A flash sale is many buyers at once; Nginx opens as many upstream connections as there are requests in flight.
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 200);
// The API gets all cores but one: the load generator, Redis, RabbitMQ, PostgreSQL and the consumer share this
// machine (on 2 cores, 1 worker measured 7.2k orders/s against 6.1k with 2).
const WORKERS = Number(process.env.BENCH_WORKERS ?? Math.max(1, availableParallelism() - 1));
const PURCHASE_BATCH_MAX = Number(process.env.PURCHASE_BATCH_MAX ?? 100);
const CONSUMER_BATCH_SIZE = Number(process.env.CONSUMER_BATCH_SIZE ?? 200);
const PG_ADMIN = process.env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MAIN = 'dist/src/service/main.js';

const BARE_SERVER = `
const cluster = require('node:cluster');
const http = require('node:http');
const n = Number(process.env.WORKERS);
if (cluster.isPrimary && n > 1) { for (let i = 0; i < n; i++) cluster.fork(); }
else {
  const body = JSON.stringify({ orderId: '00000000-0000-5000-8000-000000000000', status: 'pending' });
  http.createServer({ keepAliveTimeout: 65000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  }).listen(Number(process.env.PORT), '127.0.0.1');
}`;

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  non2xx?: number;
  /** CPU microseconds per request by component (Linux /proc), when measured. */
  cpu?: Record<string, number>;
  /** Machine during the run: busy cores (all processes, ours and everyone else's) and CPU pressure. */
  machine?: { busyCores: number; otherCores: number; stealCores: number; stalledPct: number };
}

/** /proc/stat busy ticks (all CPUs) and PSI cpu "some" stall time (µs); undefined off Linux. */
function machineSnapshot(): { busy: number; steal: number; stallUs: number; at: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    const busy = f.slice(0, 8).reduce((x, y) => x + y, 0) - idle;
    let stallUs = 0;
    try {
      const m = /some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
      stallUs = Number(m?.[1] ?? 0);
    } catch {
      // no PSI
    }
    return { busy, steal: f[7] ?? 0, stallUs, at: performance.now() };
  } catch {
    return undefined;
  }
}

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

interface ProcSample {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

/** utime+stime of every process (Linux); empty elsewhere. */
function procSnapshot(): ProcSample[] {
  const out: ProcSample[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = st.lastIndexOf(')');
      const comm = st.slice(st.indexOf('(') + 1, close);
      const f = st.slice(close + 2).split(' ');
      out.push({ pid: Number(d), ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // process went away
    }
  }
  return out;
}

/**
 * Where the CPU went during one load run, in µs per request: the API processes (the `serve` primary and its
 * workers), the consumer, RabbitMQ, Redis, PostgreSQL and this process (autocannon, the load generator).
 */
function cpuBreakdown(
  before: ProcSample[],
  after: ProcSample[],
  selfUs: number,
  requests: number,
  roots: Record<string, number>,
  selfName = 'load generator (autocannon, this process)',
): Record<string, number> {
  const prev = new Map(before.map((p) => [p.pid, p.ticks]));
  const byPid = new Map(after.map((p) => [p.pid, p]));
  const owner = (p: ProcSample): string | undefined => {
    for (let q: ProcSample | undefined = p, depth = 0; q && depth < 4; q = byPid.get(q.ppid), depth++) {
      for (const [name, pid] of Object.entries(roots)) if (q.pid === pid) return name;
    }
    if (p.comm === 'beam.smp') return 'rabbitmq';
    if (p.comm.startsWith('redis-server')) return 'redis';
    if (p.comm === 'postgres') return 'postgresql';
    return undefined;
  };
  const us: Record<string, number> = {};
  for (const p of after) {
    const d = p.ticks - (prev.get(p.pid) ?? 0);
    const who = d > 0 ? owner(p) : undefined;
    if (who) us[who] = (us[who] ?? 0) + d * TICK_US;
  }
  us[selfName] = selfUs;
  const per: Record<string, number> = {};
  for (const [k, v] of Object.entries(us)) per[k] = requests > 0 ? v / requests : 0;
  return per;
}

const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function start(args: string[], env: Record<string, string>): ChildProcess {
  const p = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(p);
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

async function waitHttp(url: string): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/**
 * Runs one load and measures around it: per-process CPU per request (see cpuBreakdown) and how busy the machine
 * was. `run` returns how many requests were answered plus its own latency figures.
 */
async function measured(
  roots: Record<string, number>,
  selfName: string,
  run: () => Promise<{ total: number; rps: number; p50: number; p99: number; non2xx?: number }>,
): Promise<Measure> {
  const before = procSnapshot();
  const m0 = machineSnapshot();
  const self0 = process.cpuUsage();
  const r = await run();
  const self = process.cpuUsage(self0);
  const m1 = machineSnapshot();
  const cpu = cpuBreakdown(before, procSnapshot(), self.user + self.system, r.total, roots, selfName);
  let machine: Measure['machine'];
  if (m0 && m1) {
    const wallUs = (m1.at - m0.at) * 1000;
    const busyCores = ((m1.busy - m0.busy) * TICK_US) / wallUs;
    const oursCores = (Object.values(cpu).reduce((x, y) => x + y, 0) * r.total) / wallUs;
    machine = {
      busyCores,
      otherCores: Math.max(0, busyCores - oursCores),
      stealCores: ((m1.steal - m0.steal) * TICK_US) / wallUs,
      stalledPct: (100 * (m1.stallUs - m0.stallUs)) / wallUs,
    };
  }
  return { machine, rps: r.rps, p50: r.p50, p99: r.p99, non2xx: r.non2xx, cpu };
}

/** Median and 99th percentile of latencies in ms (sorts `lat`). */
function p50p99(lat: number[]): { p50: number; p99: number } {
  lat.sort((x, y) => x - y);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  return { p50: q(0.5), p99: q(0.99) };
}

const orderBody = (): string => JSON.stringify({ userId: randomUUID() });

function autocannonRun(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    // (a) and (c) send the same requests: a new random user each (autocannon builds each request anew).
    requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: orderBody() }) }],
  });
}

/**
 * Closed loop at maximum rate, after an unmeasured warm-up of WARMUP_SECONDS: without it the first run of the
 * benchmark ((a)) paid for compiling the load generator, and (c) for compiling the freshly started API.
 */
async function load(url: string, roots: Record<string, number> = {}): Promise<Measure> {
  await autocannonRun(url, WARMUP_SECONDS);
  return measured(roots, 'load generator (autocannon, this process)', async () => {
    const result = await autocannonRun(url, SECONDS);
    return {
      total: result.requests.total,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx,
    };
  });
}

/**
 * Open loop at a fixed rate, for the latency target: request i is due at start + i/rate, whatever happened to
 * the earlier ones, and its latency counts from when it was due (a slow answer cannot hide the requests that
 * should have been sent meanwhile: no coordinated omission). Due requests wait for one of CONNECTIONS keep-alive
 * connections. Plain sockets and prebuilt request text keep the generator about as cheap as autocannon.
 * autocannon's own rate limit is not used for this: it sends each second's quota as fast as it can at the start
 * of the second, so its "half rate" is full rate half of the time.
 */
function paced(url: string, rate: number, roots: Record<string, number>): Promise<Measure> {
  return measured(roots, 'load generator (paced, this process)', async () => {
    const u = new URL(url);
    const head = `POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\ncontent-length: `;
    const lat: number[] = [];
    let non2xx = 0;
    const waiting: number[] = []; // due times of requests not yet sent
    let nextWaiting = 0;
    const idle: Socket[] = [];
    const sockets: Socket[] = [];
    const send = (sock: Socket & { due?: number }): void => {
      if (nextWaiting >= waiting.length) {
        idle.push(sock);
        return;
      }
      sock.due = waiting[nextWaiting++]!;
      const body = orderBody();
      sock.write(`${head}${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        const sock = connect(Number(u.port), u.hostname) as Socket & { due?: number };
        sock.setNoDelay(true);
        await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
        let buf = '';
        sock.setEncoding('latin1');
        sock.on('data', (chunk: string) => {
          buf += chunk;
          for (;;) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const m = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end));
            if (!m) throw new Error('paced load: response without content-length');
            const size = end + 4 + Number(m[1]);
            if (buf.length < size) return;
            const status = Number(buf.slice(9, 12));
            buf = buf.slice(size);
            if (status >= 200 && status < 300) lat.push(performance.now() - sock.due!);
            else non2xx++;
            send(sock);
          }
        });
        sockets.push(sock);
        idle.push(sock);
      }),
    );
    const total = Math.floor(rate * SECONDS);
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      let queued = 0;
      const tick = setInterval(() => {
        // request i is due at t0 + i/rate, so by time t the first floor(t·rate) + 1 are due
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
        for (; queued < due; queued++) waiting.push(t0 + (queued * 1000) / rate);
        while (idle.length > 0 && nextWaiting < waiting.length) send(idle.pop()!);
        if (queued >= total && lat.length + non2xx >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 1);
    });
    const secs = (performance.now() - t0) / 1000;
    for (const s of sockets) s.destroy();
    return { total, rps: total / secs, ...p50p99(lat), non2xx };
  });
}

async function deletePrefix(r: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 10000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
}

/**
 * (b): CONNECTIONS buyers in a loop, each awaiting one purchase at a time, through the service's own batcher
 * (one EVALSHA per event-loop turn, at most `batchMax` purchases each; 1 = one purchase per call).
 */
async function luaLoop(prefix: string, batchMax: number, redisUrl = REDIS_URL): Promise<Measure> {
  const dist = (m: string): string => new URL(`../dist/src/service/${m}.js`, import.meta.url).href;
  const { PurchaseBatcher } = (await import(dist('purchase'))) as typeof import('../src/service/purchase.ts');
  const { Keys } = (await import(dist('keys'))) as typeof import('../src/service/keys.ts');
  const clients = Array.from({ length: WORKERS }, () => new Redis(redisUrl, { enableAutoPipelining: true }));
  // Its own sale under its own prefix, deleted afterwards, so (c) starts on the keyspace it would have had.
  const keys = new Keys(prefix);
  const saleId = '1';
  const now = Date.now();
  await clients[0]!.hset(keys.inventory(saleId), {
    stock: 1e9,
    startsAt: now - 60_000,
    endsAt: now + 3_600_000,
  });
  const { InventoryGuard } = (await import(
    dist('inventory-guard')
  )) as typeof import('../src/service/inventory-guard.ts');
  // The inventory counts as verified in this Redis process (what a recovery's lift records).
  const runId = /run_id:(\w+)/.exec(await clients[0]!.info('server'))![1]!;
  await clients[0]!.hset(keys.guard(), { state: 'ok', epoch: 1, runId, reason: '', recovery: '' });
  const batchers = await Promise.all(
    clients.map(async (c) => {
      const guard = new InventoryGuard(c, keys, async () => undefined);
      await guard.check();
      return new PurchaseBatcher(c, keys, guard, 600, batchMax);
    }),
  );
  const lat: number[] = [];
  let ops = 0;
  const end = Date.now() + SECONDS * 1000;
  const loop = async (b: InstanceType<typeof PurchaseBatcher>): Promise<void> => {
    while (Date.now() < end) {
      const u = randomUUID();
      const t0 = performance.now();
      const { code } = await b.purchase(saleId, u, u);
      if (code < 0) throw new Error(`purchase refused with code ${code}`);
      lat.push(performance.now() - t0);
      ops++;
    }
  };
  const before = procSnapshot();
  const self0 = process.cpuUsage();
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => loop(batchers[i % batchers.length]!)));
  const secs = (Date.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpu = cpuBreakdown(
    before,
    procSnapshot(),
    self.user + self.system,
    ops,
    {},
    'client loop (this process)',
  );
  await deletePrefix(clients[0]!, prefix);
  for (const c of clients) c.disconnect();
  return { rps: ops / secs, ...p50p99(lat), cpu };
}

/**
 * (d) PostgreSQL alone: the consumer's write (insertOrders, batches of CONSUMER_BATCH_SIZE, one transaction each)
 * straight from this process; the backend's CPU per order is a floor under what (c) costs per order.
 */
async function pgWritePath(databaseUrl: string, saleId: string): Promise<number> {
  const db = (await import(
    new URL('../dist/src/service/db.js', import.meta.url).href
  )) as typeof import('../src/service/db.ts');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const pid = (await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
  const ticks = (): number => procSnapshot().find((x) => x.pid === pid)?.ticks ?? 0;
  const batches = 100;
  const t0 = ticks();
  for (let i = 0; i < batches; i++) {
    const batch = Array.from({ length: CONSUMER_BATCH_SIZE }, () => {
      const id = randomUUID();
      return { orderId: id, saleId, userId: id, acceptedAt: new Date().toISOString(), attempt: 1 };
    });
    await client.query('BEGIN');
    await db.insertOrders(client as unknown as pg.PoolClient, batch);
    await client.query('COMMIT');
  }
  const us = ((ticks() - t0) * TICK_US) / (batches * CONSUMER_BATCH_SIZE);
  await client.end();
  return us;
}

function show(name: string, m: Measure): void {
  const extra = m.non2xx ? ` (non-2xx: ${m.non2xx})` : '';
  console.log(
    `${name.padEnd(44)} ${m.rps.toFixed(0).padStart(8)} req/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms${extra}`,
  );
  if (m.cpu && Object.keys(m.cpu).length > 1) {
    const total = Object.values(m.cpu).reduce((x, y) => x + y, 0);
    const parts = Object.entries(m.cpu)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ');
    console.log(`    CPU µs/request: ${total.toFixed(0)} total = ${parts}`);
  }
  if (m.machine) {
    console.log(
      `    machine: ${m.machine.busyCores.toFixed(2)} of ${availableParallelism()} cores busy ` +
        `(${m.machine.otherCores.toFixed(2)} by processes outside this benchmark, ` +
        `${m.machine.stealCores.toFixed(2)} taken by the hypervisor), ` +
        `runnable tasks waiting for a CPU ${m.machine.stalledPct.toFixed(0)}% of the time (PSI cpu some)`,
    );
  }
}

/**
 * (e) The cost of inventory Redis' persistence settings: the (b) loop against private redis-servers that differ
 * only in persistence — no AOF, `appendfsync everysec` (what the stack renders), `appendfsync always` —
 * interleaved over BENCH_PERSISTENCE_ROUNDS rounds so the machine's load drifts over all of them alike.
 */
async function persistenceCost(): Promise<void> {
  const modes: Record<string, string[]> = {
    'no AOF': ['--appendonly', 'no'],
    'AOF, appendfsync everysec (rendered)': ['--appendonly', 'yes', '--appendfsync', 'everysec'],
    'AOF, appendfsync always': ['--appendonly', 'yes', '--appendfsync', 'always'],
  };
  const rounds = Number(process.env.BENCH_PERSISTENCE_ROUNDS ?? 2);
  const results: Record<string, Measure[]> = {};
  console.log(
    `# (e) persistence: ${rounds} interleaved rounds, load average before ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (let round = 0; round < rounds; round++) {
    for (const [name, args] of Object.entries(modes)) {
      const dir = mkdtempSync(join(tmpdir(), 'fs-bench-redis-'));
      const port = await freePort();
      const redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args],
        {
          stdio: 'ignore',
        },
      );
      children.push(redis);
      const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => null });
      probe.on('error', () => undefined);
      for (let i = 0; i < 100; i++) {
        try {
          await probe.connect();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      probe.disconnect();
      const m = await luaLoop(`fsbench:persist:${round}:`, PURCHASE_BATCH_MAX, `redis://127.0.0.1:${port}`);
      (results[name] ??= []).push(m);
      await stop(redis);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const base = results['no AOF']!;
  const mean = (ms: Measure[]): number => ms.reduce((x, m) => x + m.rps, 0) / ms.length;
  for (const [name, ms] of Object.entries(results)) {
    const p99 = Math.max(...ms.map((m) => m.p99));
    console.log(
      `(e) ${name.padEnd(40)} ${mean(ms).toFixed(0).padStart(8)} purchases/s (rounds: ${ms.map((m) => m.rps.toFixed(0)).join(', ')})  worst p99 ${p99.toFixed(2)} ms  ratio to no AOF ${(mean(ms) / mean(base)).toFixed(2)}`,
    );
  }
  console.log(
    `# load average after ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY === 'persistence') return persistenceCost();
  const id = randomBytes(4).toString('hex');
  const db = `fs_bench_${id}`;
  const prefix = `fsbench:${id}:`;
  const queue = `fs_bench_${id}_orders`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${db}`);
  const env = {
    DATABASE_URL: PG_ADMIN.replace(/\/[^/]*$/, `/${db}`),
    REDIS_URL,
    AMQP_URL,
    ADMIN_TOKEN: 'bench',
    REDIS_KEY_PREFIX: prefix,
    ORDER_QUEUE: queue,
    WORKERS: String(WORKERS),
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONSUMER_METRICS_PORT: '0',
  };
  console.log(
    `# ${WORKERS} workers, ${CONNECTIONS} connections, ${SECONDS}s per run, node ${process.version}`,
  );
  try {
    // (a)
    const portA = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'fs-bench-'));
    const bareFile = join(dir, 'bare-server.cjs');
    writeFileSync(bareFile, BARE_SERVER);
    const bare = start([bareFile], { PORT: String(portA), WORKERS: String(WORKERS) });
    await waitHttp(`http://127.0.0.1:${portA}/`);
    const bareUrl = `http://127.0.0.1:${portA}/api/sales/1/orders`;
    const a = await load(bareUrl, { 'bare server': bare.pid! });
    show('(a) bare node:http 202', a);

    // (c) setup
    const migrate = start([MAIN, 'migrate'], env);
    await new Promise((r) => migrate.once('exit', r));
    const portC = await freePort();
    const serve = start([MAIN, 'serve'], { ...env, PORT: String(portC) });
    const consume = start([MAIN, 'consume'], env);
    const base = `http://127.0.0.1:${portC}`;
    await waitHttp(`${base}/readyz`);
    const sale = await fetch(`${base}/api/sales`, {
      method: 'POST',
      headers: { authorization: 'Bearer bench', 'content-type': 'application/json' },
      body: JSON.stringify({
        productId: 'bench',
        stock: 100_000_000,
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: new Date(Date.now() + 86_400_000).toISOString(),
      }),
    }).then((r) => r.json() as Promise<{ id: string }>);

    // (b), and for reference the same script with one purchase per call
    const b = await luaLoop(`${prefix}b:`, PURCHASE_BATCH_MAX);
    show('(b) EVALSHA purchase script (ioredis loop)', b);
    const b1 = await luaLoop(`${prefix}b1:`, 1);
    show('    same, one purchase per EVALSHA', b1);

    const ordersUrl = `${base}/api/sales/${sale.id}/orders`;
    const roots = { 'api (serve)': serve.pid!, consumer: consume.pid! };
    const c = await load(ordersUrl, roots);
    show('(c) POST /api/sales/{id}/orders', c);
    const halfRate = Math.max(1, Math.floor(c.rps / 2));
    const half = await paced(ordersUrl, halfRate, roots);
    show(`(c) at half rate, paced (${halfRate} req/s)`, half);
    await stop(serve);
    await stop(consume);
    // The same paced load against (a): the latency the load generator and plain HTTP add on their own.
    show(`(a) at the same paced rate`, await paced(bareUrl, halfRate, { 'bare server': bare.pid! }));
    await stop(bare);
    rmSync(dir, { recursive: true, force: true });
    const pgUs = await pgWritePath(env.DATABASE_URL, sale.id);
    console.log(
      `(d) PostgreSQL writing orders alone (insertOrders, ${CONSUMER_BATCH_SIZE} per transaction): ${pgUs.toFixed(0)} µs backend CPU per order`,
    );

    const ca = c.rps / a.rps;
    const cb = c.rps / b.rps;
    const total = (m: Measure): number => Object.values(m.cpu ?? {}).reduce((x, y) => x + y, 0);
    console.log(
      `floors on this machine: (c) does all of (a)'s work (${total(a).toFixed(0)} µs/request) plus PostgreSQL's ` +
        `(${pgUs.toFixed(0)} µs/order) on the same cores, so c/a <= ${(total(a) / (total(a) + pgUs)).toFixed(2)} ` +
        `before Redis, RabbitMQ, the consumer and the API's own work; and c <= a, so c/b <= a/b = ${(a.rps / b.rps).toFixed(2)}`,
    );
    console.log(`c/a = ${ca.toFixed(2)}  c/b = ${cb.toFixed(2)}  c/b1 = ${(c.rps / b1.rps).toFixed(2)}`);
    await persistenceCost();
    console.log(`RESULT c/a=${ca.toFixed(2)} c/b=${cb.toFixed(2)} p99_ms=${half.p99.toFixed(2)}`);
  } finally {
    for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    const r = new Redis(REDIS_URL);
    await deletePrefix(r, prefix);
    r.disconnect();
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteQueue(`${queue}.dead`);
    await ch.deleteExchange(`${queue}.dlx`);
    await conn.close();
    await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
