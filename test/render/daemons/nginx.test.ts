/**
 * The rendered nginx.conf against the real nginx: `nginx -t` accepts it (upstream mapped to 127.0.0.1, paths to
 * a temp dir), and a live nginx in front of a small local node:http upstream answers /health itself, rejects
 * requests beyond rate + burst with 429, and restores the client IP from X-Forwarded-For of trusted proxies.
 * Loopback only; bounded request counts; no wall-clock assertions.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlashSaleStackSpec } from '../../../src/api/types.js';
import { nginxConf, renderNginx } from '../../../src/render/nginx.js';
import { inputs, stackOf } from '../../golden/fixtures.js';
import { freePort } from '../../support/processes.js';

const NGINX = '/usr/sbin/nginx';

interface Prepared {
  dir: string;
  conf: string;
  port: number;
  tlsPort: number;
}

/** Writes the stack's nginx.conf with local paths/ports; running as root needs a `user` line. */
async function prepare(spec: FlashSaleStackSpec, upstreamPort: number, root: string): Promise<Prepared> {
  const dir = mkdtempSync(join(root, 'nginx-'));
  for (const d of ['cache', 'tls', 'logs']) mkdirSync(join(dir, d));
  const port = await freePort();
  const tlsPort = await freePort();
  let text = nginxConf(stackOf(spec), {
    upstream: `127.0.0.1:${upstreamPort}`,
    paths: {
      pid: join(dir, 'nginx.pid'),
      temp: join(dir, 'cache'),
      confDir: dir,
      tlsDir: join(dir, 'tls'),
      accessLog: join(dir, 'logs', 'access.log'),
    },
    listenPort: port,
    tlsListenPort: tlsPort,
  });
  if (process.getuid?.() === 0) text = `user root root;\n${text}`;
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, text);
  if (spec.nginx?.tls) {
    const r = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(dir, 'tls', 'tls.key'),
      '-out',
      join(dir, 'tls', 'tls.crt'),
    ]);
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  }
  return { dir, conf, port, tlsPort };
}

function nginxTest(p: Prepared): { status: number | null; output: string } {
  const r = spawnSync(NGINX, ['-t', '-p', p.dir, '-c', p.conf, '-e', join(p.dir, 'logs', 'error.log')], {
    encoding: 'utf8',
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let root: string;
let upstream: Server;
let upstreamPort: number;
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fss-nginx-'));
  upstream = createHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url, realIp: req.headers['x-real-ip'] ?? null }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const addr = upstream.address();
  upstreamPort = typeof addr === 'object' && addr ? addr.port : 0;
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)),
  );
  await new Promise((r) => upstream.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('nginx -t accepts the rendered nginx.conf', () => {
  const cases: [string, FlashSaleStackSpec][] = [
    ['defaults', {}],
    [
      'trusted proxies, no nodelay, custom timeouts',
      {
        nginx: {
          trustedProxies: ['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8'],
          rateLimit: { requestsPerSecond: 50, burst: 10, nodelay: false },
          timeouts: { connect: '2s', send: '30s', read: '1m' },
          upstream: { maxFails: 5, failTimeout: '10s' },
        },
      },
    ],
    ['TLS', { nginx: { tls: { secretName: 'shop-tls' } } }],
  ];
  it.each(cases)('%s', async (_label, spec) => {
    const p = await prepare(spec, upstreamPort, root);
    const r = nginxTest(p);
    expect(r.output).toMatch(/syntax is ok/);
    expect(r.output).toMatch(/test is successful/);
    expect(r.status).toBe(0);
  });

  it('the ConfigMap carries the same nginx.conf, with limit_req_zone in http {} and the Service FQDN upstream', () => {
    const [cm] = renderNginx(stackOf(), inputs());
    const text = (cm!.data as Record<string, string>)['nginx.conf']!;
    expect(text).toBe(nginxConf(stackOf()));
    expect(text.indexOf('limit_req_zone')).toBeLessThan(text.indexOf('server {'));
    expect(text).toMatch(/server shop-api\.prod\.svc\.cluster\.local:8001 max_fails=3 fail_timeout=30s;/);
    expect(text).toMatch(/limit_req zone=\S+ burst=200 nodelay;/);
  });
});

describe('a live nginx with the rendered config', () => {
  let p: Prepared;
  const RATE = 1;
  const BURST = 4;

  beforeAll(async () => {
    p = await prepare(
      {
        nginx: {
          rateLimit: { requestsPerSecond: RATE, burst: BURST, nodelay: true },
          trustedProxies: ['127.0.0.1/32'],
        },
      },
      upstreamPort,
      root,
    );
    const child = spawn(
      NGINX,
      ['-p', p.dir, '-c', p.conf, '-e', join(p.dir, 'logs', 'error.log'), '-g', 'daemon off;'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      try {
        if ((await get(p.port, '/health')).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nginx did not start: ${stderr}`);
  });

  it('answers /health itself', async () => {
    const r = await get(p.port, '/health');
    expect(r.status).toBe(200);
    expect(r.body).toBe('healthy\n');
  });

  it('proxies to the upstream, but never exposes /metrics', async () => {
    const r = await get(p.port, '/api/sales/1', { 'X-Forwarded-For': '198.51.100.9' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ path: '/api/sales/1' });
    expect((await get(p.port, '/metrics', { 'X-Forwarded-For': '198.51.100.10' })).status).toBe(404);
  });

  it('rejects requests beyond rate + burst with 429, per real client IP', async () => {
    const N = 30;
    const results = await Promise.all(
      Array.from({ length: N }, () => get(p.port, '/api/sales/1', { 'X-Forwarded-For': '203.0.113.1' })),
    );
    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429).length;
    expect(ok + limited).toBe(N);
    expect(limited).toBeGreaterThan(0);
    expect(ok).toBeGreaterThanOrEqual(BURST); // the burst itself is never refused
    expect(ok).toBeLessThan(N);
    // The bucket is per client (X-Forwarded-For from a trusted proxy), so another buyer still gets through,
    // and the upstream sees the buyer's address.
    const other = await get(p.port, '/api/sales/1', { 'X-Forwarded-For': '203.0.113.2' });
    expect(other.status).toBe(200);
    expect(JSON.parse(other.body).realIp).toBe('203.0.113.2');
    // /health is not rate limited.
    const health = await Promise.all(Array.from({ length: 10 }, () => get(p.port, '/health')));
    expect(health.every((h) => h.status === 200)).toBe(true);
    // The JSON access log records the restored client address and the 429s.
    const entries = readFileSync(join(p.dir, 'logs', 'access.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { remote_addr: string; status: number; uri: string });
    const limitedLogged = entries.filter((e) => e.status === 429);
    expect(limitedLogged).toHaveLength(limited);
    expect(limitedLogged.every((e) => e.remote_addr === '203.0.113.1')).toBe(true);
  });
});
