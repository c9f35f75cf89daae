/**
 * npm run bench:operator — how the operator scales with the number of stacks.
 *
 * For N = 10, 100, 500 (override: BENCH_SIZES=10,50): start the in-memory API server with the simulated kubelet
 * in this process, start the built operator binary as its own process (so its RSS is its own), create N stacks,
 * and measure: time until every stack is Ready, API requests per stack to converge, reconcile p50/p99 (from the
 * operator's histogram), operator RSS, and writes per stack during a steady-state resync of unchanged stacks.
 * Prints a table and ends with `RESULT n=<N> ready_s=<x> rss_mb=<y> steady_writes=<z>` for the largest N.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, type ApiObject } from '../src/controller/kube-client.js';
import { resourceTypeByKind } from '../src/controller/resources.js';
import { startFakeApiServer, type FakeApiServer } from '../test/support/server.js';

// Compiled to dist/bench/operator.js: the repository root is two levels up.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CRD = `${ROOT}crds/flashsale.dev_flashsalestacks.yaml`;
const STACKS = resourceTypeByKind('FlashSaleStack');
const RESYNC_S = 5;
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
  steadyWrites: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function startOperator(kubeconfig: string): Promise<{ proc: ChildProcess; metricsUrl: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
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
    let buf = '';
    let found = false;
    proc.stderr!.on('data', (d: Buffer) => {
      if (found) return; // keep reading (so the pipe never fills) but stop buffering
      buf += d.toString();
      const m = /"metricsPort":(\d+)/.exec(buf);
      if (m) {
        found = true;
        resolve({ proc, metricsUrl: `http://127.0.0.1:${m[1]}/metrics` });
      }
    });
    proc.once('exit', (code) => reject(new Error(`operator exited with ${code}: ${buf}`)));
  });
}

async function metric(url: string): Promise<string> {
  return (await fetch(url)).text();
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

function operatorRequests(srv: FakeApiServer): { total: number; writes: number } {
  const mine = srv.requests().filter((r) => r.userAgent?.startsWith('flash-sale-operator'));
  const writes = mine.filter((r) => ['create', 'update', 'patch', 'delete'].includes(r.verb)).length;
  return { total: mine.length, writes };
}

async function runSize(n: number): Promise<Row> {
  const srv = await startFakeApiServer({ crdFiles: [CRD], kubelet: { delayMs: 100 }, watchHistory: 200_000 });
  const kc = new KubeConfig();
  kc.loadFromFile(srv.kubeconfigPath);
  const client = new KubeClient(kc, 60_000, 'bench');
  const { proc, metricsUrl } = await startOperator(srv.kubeconfigPath);
  try {
    srv.resetRequests();
    const t0 = Date.now();
    const names = Array.from({ length: n }, (_, i) => `shop-${i}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(
        names.slice(i, i + 25).map((name) =>
          client.create({
            apiVersion: 'flashsale.dev/v1alpha1',
            kind: 'FlashSaleStack',
            metadata: { name, namespace: 'default' },
            spec: {},
          }),
        ),
      );
    }
    let ready = 0;
    for (;;) {
      const list = await client.list(STACKS, 'default');
      ready = list.items.filter((s: ApiObject) =>
        ((s.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
      ).length;
      if (ready === n) break;
      if (Date.now() - t0 > 600_000) throw new Error(`only ${ready}/${n} Ready after 600 s`);
      await sleep(250);
    }
    const readyS = (Date.now() - t0) / 1000;
    await sleep(1_000); // let the last status writes land
    const converge = operatorRequests(srv);
    const text = await metric(metricsUrl);
    const p50 = histogramQuantile(text, 'flashsale_operator_reconcile_duration_seconds', 0.5) * 1000;
    const p99 = histogramQuantile(text, 'flashsale_operator_reconcile_duration_seconds', 0.99) * 1000;

    // Steady state: unchanged stacks through at least one full resync of every stack.
    srv.resetRequests();
    const before = value(
      await metric(metricsUrl),
      'flashsale_operator_reconcile_total\\{result="success"\\}',
    );
    let after = before;
    const deadline = Date.now() + (RESYNC_S * 3 + 30) * 1000;
    while (after - before < n && Date.now() < deadline) {
      await sleep(500);
      after = value(await metric(metricsUrl), 'flashsale_operator_reconcile_total\\{result="success"\\}');
    }
    const steady = operatorRequests(srv);
    const rssMb = value(await metric(metricsUrl), 'process_resident_memory_bytes') / 1024 / 1024;
    return {
      n,
      readyS,
      requestsPerStack: converge.total / n,
      writesPerStack: converge.writes / n,
      p50Ms: p50,
      p99Ms: p99,
      rssMb,
      steadyWrites: steady.writes,
    };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    await srv.stop();
  }
}

const sizes = (process.env.BENCH_SIZES ?? '10,100,500').split(',').map(Number);
const rows: Row[] = [];
for (const n of sizes) {
  process.stderr.write(`bench:operator n=${n}...\n`);
  rows.push(await runSize(n));
}
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
console.log('');
console.log(
  '| stacks | ready (s) | requests/stack | writes/stack | reconcile p50 (ms) | p99 (ms) | operator RSS (MB) | steady-state writes |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.n} | ${fmt(r.readyS)} | ${fmt(r.requestsPerStack)} | ${fmt(r.writesPerStack)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.rssMb, 0)} | ${r.steadyWrites} |`,
  );
}
const last = rows.at(-1)!;
console.log('');
console.log(
  `RESULT n=${last.n} ready_s=${fmt(last.readyS)} rss_mb=${fmt(last.rssMb, 0)} steady_writes=${last.steadyWrites}`,
);
