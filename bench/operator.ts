/**
 * npm run bench:operator — how the operator scales with the number of stacks.
 *
 * For N = 10, 100, 500 (override: BENCH_SIZES=10,50): start the in-memory API server (with the simulated
 * kubelet) and the built operator binary, each as its own process, create N stacks, and measure: time until
 * every stack is Ready, API requests per stack to converge, reconcile p50/p99 (from the operator's histogram),
 * operator RSS, the CPU each process used (from /proc/<pid>/stat: the operator's own apart from the API
 * server's), and writes during a steady-state resync of unchanged stacks.
 * A connection the API server resets is retried (and counted), never fatal; a stack that is not Ready in
 * time is. BENCH_RESET_AT_S=<s>: the API server drops every connection (and refuses new ones) for 2 s that
 * long into each run, to check that the harness and the operator ride it out. Profiles: BENCH_CPU_PROF=<dir>
 * runs the operator with --cpu-prof into <dir>, BENCH_STANDIN_CPU_PROF the API server.
 * Prints a table and ends with `RESULT n=<N> ready_s=<x> operator_cpu_s=<c> standin_cpu_s=<d> rss_mb=<y>
 * steady_writes=<z>` for the largest N.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { Informer } from '../src/controller/informer.js';
import { KubeClient, type ApiObject } from '../src/controller/kube-client.js';
import { silentLogger } from '../src/controller/logger.js';
import { resourceTypeByKind } from '../src/controller/resources.js';
import type { RequestRecord } from '../test/support/faults.js';
import type { FakeApiServerOptions } from '../test/support/server.js';
import { request } from '../test/support/tls.js';

// Compiled to dist/bench/operator.js: the repository root is two levels up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRD = `${ROOT}crds/flashsale.dev_flashsalestacks.yaml`;
const STACKS = resourceTypeByKind('FlashSaleStack');
const RESYNC_S = 5;
const OPERATOR_LOG = process.env.BENCH_OPERATOR_LOG ?? join(tmpdir(), `bench-operator-${process.pid}.log`);
// The operator runs with the heap cap of its shipped Deployment, so RSS is measured as it would be deployed.
const NODE_OPTIONS =
  process.env.BENCH_NODE_OPTIONS ??
  /name: NODE_OPTIONS\s+value: (.+)/.exec(
    readFileSync(`${ROOT}manifests/operator/deployment.yaml`, 'utf8'),
  )?.[1] ??
  '';

interface Row {
  n: number;
  readyS: number;
  requestsPerStack: number;
  writesPerStack: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
  /** CPU seconds until every stack was Ready: the operator process, the API server process. */
  operatorCpuS: number;
  standinCpuS: number;
  /** CPU seconds during the steady-state resync. */
  steadyOperatorCpuS: number;
  steadyStandinCpuS: number;
  steadyWrites: number;
  /** Reconciles until every stack was Ready, per stack. */
  reconcilesPerStack: number;
  /** Harness requests retried after a reset connection or a 5xx/429. */
  retries: number;
  /** Largest V8 heap in use the operator reported while converging (sampled once a second), MB. */
  peakHeapMb: number;
  /** Seconds until a quarter, half, three quarters of the stacks were Ready (linear growth: 1 : 2 : 3 : 4). */
  readyQuartilesS: number[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const TICK_S = 1 / 100; // USER_HZ is 100 on Linux

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN off Linux. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_S;
  } catch {
    return NaN;
  }
}

let retries = 0;

/**
 * Errors worth retrying: the connection failed, was reset or refused (KubeClient reports those as code 0,
 * plain fetch as "fetch failed" with the socket error as its cause), or the server was briefly unhappy.
 */
function transient(err: unknown): boolean {
  const e = err as { code?: number | string; cause?: { code?: string }; message?: string };
  if (typeof e.code === 'number') return e.code === 0 || e.code === 429 || e.code >= 500;
  const code = e.cause?.code ?? e.code;
  if (code && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'ETIMEDOUT'].includes(code))
    return true;
  return /fetch failed|socket hang up|other side closed|ECONNRESET|ECONNREFUSED/.test(e.message ?? '');
}

/** `fn`, retried with backoff while it fails transiently (counted in `retries`); other errors propagate. */
async function retrying<T>(what: string, fn: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!transient(err) || attempt >= attempts) {
        throw new Error(`${what} failed after ${attempt} attempt(s): ${(err as Error).message}`, {
          cause: err,
        });
      }
      retries++;
      process.stderr.write(`bench:operator: ${what}: ${(err as Error).message}; retrying\n`);
      await sleep(Math.min(2000, 100 * 2 ** attempt));
    }
  }
}

/** Waits for a child's first stdout line matching `re`; rejects if it exits first. */
function firstLine(
  proc: ChildProcess,
  stream: NodeJS.ReadableStream,
  re: RegExp,
  what: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    let seen = '';
    const onExit = (code: number | null) => reject(new Error(`${what} exited with ${code}: ${seen}`));
    lines.on('line', (line) => {
      if (seen.length < 4000) seen += `${line}\n`;
      const m = re.exec(line);
      if (m) {
        proc.off('exit', onExit);
        resolve(m[1] ?? line);
      }
    });
    proc.once('exit', onExit);
  });
}

interface StandIn {
  proc: ChildProcess;
  url: string;
  /** The cluster admin's (the harness acts as it). */
  kubeconfigPath: string;
  adminToken: string;
  /** The operator's ServiceAccount, bound to the generated RBAC. */
  operatorKubeconfigPath: string;
}

async function startStandIn(options: FakeApiServerOptions): Promise<StandIn> {
  const profile = process.env.BENCH_STANDIN_CPU_PROF;
  const proc = spawn(
    process.execPath,
    [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      `${ROOT}dist/bench/standin.js`,
      JSON.stringify(options),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await firstLine(proc, proc.stdout!, /^(\{.*\})$/, 'API server');
  proc.stdout!.resume();
  return { proc, ...(JSON.parse(line) as Omit<StandIn, 'proc'>) };
}

/** The last lines of a log file (what a crashed process printed last). */
function tail(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Rejects as soon as `proc` exits. A run must fail the moment the operator dies (e.g. out of heap under the
 * shipped --max-old-space-size): otherwise the stacks it had not reached yet just stay without a status until
 * the run times out, which looks like lost events.
 */
function exitOf(proc: ChildProcess, what: string, log: string): Promise<never> {
  return new Promise((_, reject) => {
    proc.once('exit', (code, signal) =>
      reject(
        new Error(
          `${what} exited (${signal ?? `code ${code}`}) during the run; its log (${log}) ends:\n${tail(log)}`,
        ),
      ),
    );
  });
}

async function startOperator(kubeconfig: string): Promise<{ proc: ChildProcess; metricsUrl: string }> {
  const profile = process.env.BENCH_CPU_PROF;
  const proc = spawn(
    process.execPath,
    [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      `${ROOT}dist/src/cli/main.js`,
      'run',
      '--kubeconfig',
      kubeconfig,
      '--metrics-addr',
      '127.0.0.1:0',
      '--no-health',
      '--concurrency',
      '8',
      '--resync',
      `${RESYNC_S}s`,
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS } },
  );
  // The operator's log goes to a file (the pipe is read to the end, so it never fills); warnings are counted.
  const log = createWriteStream(OPERATOR_LOG);
  proc.stderr!.pipe(log);
  const port = await firstLine(proc, proc.stderr!, /"metricsPort":(\d+)/, 'operator');
  return { proc, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

async function metric(url: string): Promise<string> {
  return retrying('read operator metrics', async () => (await fetch(url)).text());
}

function value(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Quantile from a Prometheus histogram's cumulative buckets (linear interpolation inside a bucket). */
function histogramQuantile(text: string, name: string, q: number): number {
  const buckets = [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} ([0-9.e+-]+)$`, 'gm'))].map(
    (m) => ({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: Number(m[2]) }),
  );
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / Math.max(1, b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

/** A call to the API server's /debug endpoints (HTTPS with the test CA, as the cluster admin). */
async function debug(srv: StandIn, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await request(`${srv.url}/debug/${path}`, {
    method,
    headers: { authorization: `Bearer ${srv.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status !== 200) throw new Error(`${method} /debug/${path}: ${res.status} ${res.body.toString()}`);
  return JSON.parse(res.body.toString('utf8')) as unknown;
}

/** The operator's requests in the API server's log since the last reset, and how many were writes. */
async function operatorRequests(srv: StandIn): Promise<{ total: number; writes: number }> {
  const { requests } = (await retrying('read the request log', () => debug(srv, 'GET', 'requests'))) as {
    requests: RequestRecord[];
  };
  const mine = requests.filter((r) => r.userAgent?.startsWith('flash-sale-operator'));
  const writes = mine.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
  return { total: mine.length, writes };
}

async function resetRequests(srv: StandIn): Promise<void> {
  await retrying('reset the request log', () => debug(srv, 'DELETE', 'requests'));
}

const isReady = (s: ApiObject): boolean =>
  ((s.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

async function runSize(n: number): Promise<Row> {
  // Nothing is deleted during a run, so the stand-in's owner-reference GC may run rarely (each pass scans
  // every object; after every write, as by default, it would dominate the stand-in's CPU at 500 stacks).
  const srv = await startStandIn({
    crdFiles: [CRD],
    kubelet: { delayMs: 100 },
    watchHistory: 200_000,
    gcDelayMs: 5_000,
  });
  let operator: ChildProcess | undefined;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(srv.kubeconfigPath);
    const client = new KubeClient(kc, 60_000, 'bench');
    const started = await startOperator(srv.operatorKubeconfigPath);
    operator = started.proc;
    const { metricsUrl } = started;
    const died = Promise.race([
      exitOf(operator, 'the operator', OPERATOR_LOG),
      exitOf(srv.proc, 'the API server', 'its stderr, above'),
    ]);
    died.catch(() => undefined); // observed through alive() below
    // Every harness wait goes through alive(), so a crashed process ends the run at once with its last words.
    const alive = <T>(p: Promise<T>): Promise<T> => Promise.race([p, died]);
    let peakHeapMb = 0;
    // The harness follows the stacks through a watch (the operator's own informer, which resumes after a reset
    // connection): polling the full list every second cost the API server O(stacks) per second.
    const readyAt = new Map<string, number>();
    let t0 = Date.now();
    const stacks = new Informer(
      client,
      STACKS,
      { namespace: 'default' },
      (_event, obj) => {
        if (isReady(obj) && !readyAt.has(obj.metadata.name)) readyAt.set(obj.metadata.name, Date.now() - t0);
      },
      silentLogger,
    );
    stacks.start();
    await alive(stacks.waitForSync());
    await resetRequests(srv);
    const cpu0 = { op: cpuSeconds(operator.pid), api: cpuSeconds(srv.proc.pid) };
    t0 = Date.now();
    const resetAt = Number(process.env.BENCH_RESET_AT_S);
    if (resetAt > 0) {
      setTimeout(() => {
        process.stderr.write(`bench:operator: the API server drops all connections for 2 s\n`);
        void debug(srv, 'POST', 'down', { seconds: 2 });
      }, resetAt * 1000).unref();
    }
    const names = Array.from({ length: n }, (_, i) => `shop-${i}`);
    for (let i = 0; i < names.length; i += 25) {
      await alive(
        Promise.all(
          names.slice(i, i + 25).map((name) =>
            retrying(`create stack ${name}`, async () => {
              try {
                return await client.create({
                  apiVersion: 'flashsale.dev/v1alpha1',
                  kind: 'FlashSaleStack',
                  metadata: { name, namespace: 'default' },
                  spec: {},
                });
              } catch (err) {
                // A create whose response was lost to a reset connection may have landed: that is fine.
                if ((err as { code?: number }).code === 409) return undefined;
                throw err;
              }
            }),
          ),
        ),
      );
    }
    for (;;) {
      const heap = value(await alive(metric(metricsUrl)), 'nodejs_heap_size_used_bytes') / 1024 / 1024;
      if (heap > peakHeapMb) peakHeapMb = heap;
      if (readyAt.size === n) break;
      if (Date.now() - t0 > 600_000) {
        const ready = readyAt.size;
        const stuck = stacks
          .list()
          .filter((st) => !isReady(st))
          .slice(0, 5)
          .map((st) => `${st.metadata.name}: ${JSON.stringify(st.status ?? {})}`);
        // What the operator knows: stacks in its cache (fewer than n: watch events lost) and its queue.
        const m = await metric(metricsUrl);
        const seen = `operator: ${value(m, 'flashsale_operator_stacks')} stacks cached, ${value(m, 'flashsale_operator_workqueue_depth')} queued`;
        throw new Error(
          `only ${ready}/${n} Ready after 600 s (${seen}); the operator's log is ${OPERATOR_LOG}; not ready:\n${stuck.join('\n')}`,
        );
      }
      await alive(sleep(1_000)); // ready times come from the watch; this loop samples the heap
    }
    const readyS = Math.max(...readyAt.values()) / 1000;
    const times = [...readyAt.values()].sort((a, b) => a - b);
    const readyQuartilesS = [0.25, 0.5, 0.75].map((q) => times[Math.ceil(q * n) - 1]! / 1000);
    await stacks.stop();
    const cpu1 = { op: cpuSeconds(operator.pid), api: cpuSeconds(srv.proc.pid) };
    await sleep(1_000); // let the last status writes land
    const converge = await operatorRequests(srv);
    const text = await metric(metricsUrl);
    const reconcilesAtReady = ['success', 'requeue', 'error']
      .map((r) => value(text, `flashsale_operator_reconcile_total\\{result="${r}"\\}`))
      .filter(Number.isFinite)
      .reduce((a, b) => a + b, 0);
    const p50 = histogramQuantile(text, 'flashsale_operator_reconcile_duration_seconds', 0.5) * 1000;
    const p99 = histogramQuantile(text, 'flashsale_operator_reconcile_duration_seconds', 0.99) * 1000;

    // Steady state: unchanged stacks through at least one full resync of every stack.
    await resetRequests(srv);
    const cpu2 = { op: cpuSeconds(operator.pid), api: cpuSeconds(srv.proc.pid) };
    const reconciles = async () =>
      value(await metric(metricsUrl), 'flashsale_operator_reconcile_total\\{result="success"\\}');
    const before = await reconciles();
    let after = before;
    const deadline = Date.now() + (RESYNC_S * 3 + 30) * 1000;
    while (after - before < n && Date.now() < deadline) {
      await alive(sleep(500));
      after = await alive(reconciles());
    }
    const cpu3 = { op: cpuSeconds(operator.pid), api: cpuSeconds(srv.proc.pid) };
    const steady = await operatorRequests(srv);
    const rssMb = value(await metric(metricsUrl), 'process_resident_memory_bytes') / 1024 / 1024;
    return {
      n,
      readyS,
      requestsPerStack: converge.total / n,
      writesPerStack: converge.writes / n,
      p50Ms: p50,
      p99Ms: p99,
      rssMb,
      operatorCpuS: cpu1.op - cpu0.op,
      standinCpuS: cpu1.api - cpu0.api,
      steadyOperatorCpuS: cpu3.op - cpu2.op,
      steadyStandinCpuS: cpu3.api - cpu2.api,
      steadyWrites: steady.writes,
      reconcilesPerStack: reconcilesAtReady / n,
      retries,
      peakHeapMb,
      readyQuartilesS,
    };
  } finally {
    if (operator) await stop(operator);
    await stop(srv.proc);
  }
}

const sizes = (process.env.BENCH_SIZES ?? '10,100,500').split(',').map(Number);
const rows: Row[] = [];
for (const n of sizes) {
  process.stderr.write(`bench:operator n=${n}...\n`);
  const row = await runSize(n);
  rows.push(row);
  // Each size as soon as it is measured, so a later size that fails does not lose it.
  process.stderr.write(`bench:operator ${JSON.stringify(row)}\n`);
}
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
console.log('');
console.log(
  '| stacks | ready (s) | ¼ / ½ / ¾ Ready (s) | s/stack | reconciles/stack | requests/stack | writes/stack | reconcile p50 (ms) | p99 (ms) | operator CPU (s) | API server CPU (s) | operator RSS (MB) | peak heap (MB) | steady-state writes | steady CPU operator / API server (s) |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.n} | ${fmt(r.readyS)} | ${r.readyQuartilesS.map((x) => fmt(x)).join(' / ')} | ${fmt(r.readyS / r.n, 3)} | ${fmt(r.reconcilesPerStack)} | ${fmt(r.requestsPerStack)} | ${fmt(r.writesPerStack)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.operatorCpuS)} | ${fmt(r.standinCpuS)} | ${fmt(r.rssMb, 0)} | ${fmt(r.peakHeapMb, 0)} | ${r.steadyWrites} | ${fmt(r.steadyOperatorCpuS)} / ${fmt(r.steadyStandinCpuS)} |`,
  );
}
const last = rows.at(-1)!;
console.log('');
console.log(`harness requests retried after a reset connection or a 5xx/429: ${last.retries}`);
const warnings = readFileSync(OPERATOR_LOG, 'utf8').match(/"level":"(warn|error)"/g)?.length ?? 0;
console.log(`operator warnings/errors logged in the last run: ${warnings} (${OPERATOR_LOG})`);
console.log(
  `RESULT n=${last.n} ready_s=${fmt(last.readyS)} operator_cpu_s=${fmt(last.operatorCpuS)} standin_cpu_s=${fmt(last.standinCpuS)} rss_mb=${fmt(last.rssMb, 0)} peak_heap_mb=${fmt(last.peakHeapMb, 0)} steady_writes=${last.steadyWrites}`,
);
