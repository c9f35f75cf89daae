/**
 * What one client can do to the API service, measured on a real server (real PostgreSQL, Redis, RabbitMQ)
 * with its bounds set low through the environment: refused input is a 400 naming the field (never a 503),
 * an aborted request is not a 5xx, slow headers and slow bodies are cut off at their timeouts, a connection
 * cap holds, and an answer given before the body was read closes the connection without reading the body.
 * The figures printed with `[measured]` are the ones docs/security.md quotes.
 */
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseOutage } from '../../src/service/db.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import { ADMIN_TOKEN, call, createSale, createTestEnv, PG_ADMIN, type TestEnv, waitFor } from './support.js';
import { freePort } from '../support/processes.js';

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
const KEEP_ALIVE_TIMEOUT_MS = 500;
/** Upper bound of every wait for a cut-off: the timeout, Node's check interval (timeout / 4) and slack. */
const CUT_OFF_BOUND_MS = 10_000;

interface Probe {
  socket: Socket;
  received: string;
  written: number;
  openedAt: number;
  closedAt?: number;
  closed: Promise<void>;
}

function open(port: number): Probe {
  const socket = connect(port, '127.0.0.1');
  const p = { socket, received: '', written: 0, openedAt: performance.now() } as Probe;
  socket.on('data', (b: Buffer) => (p.received += b.toString('latin1')));
  socket.on('error', () => undefined);
  p.closed = new Promise((resolve) =>
    socket.once('close', () => {
      p.closedAt = performance.now();
      resolve();
    }),
  );
  return p;
}

function write(p: Probe, data: string | Buffer): boolean {
  if (p.socket.destroyed || p.closedAt !== undefined) return false;
  p.socket.write(data);
  p.written += data.length;
  return true;
}

/** Writes `text` one byte every `everyMs` until the socket is closed. */
function trickle(p: Probe, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (!write(p, text[i % text.length]!)) clearInterval(timer);
    i++;
  }, everyMs);
  void p.closed.then(() => clearInterval(timer));
}

async function allClosed(probes: Probe[], boundMs = CUT_OFF_BOUND_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(probes.map((p) => p.closed)),
    new Promise((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`${probes.filter((p) => p.closedAt === undefined).length} sockets still open`)),
        boundMs,
      );
    }),
  ]);
  clearTimeout(timer);
}

const maxHeld = (probes: Probe[]) => Math.max(...probes.map((p) => p.closedAt! - p.openedAt));

async function requestCounts(srv: RunningServer): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await srv.deps.metrics.httpRequests.get()).values) {
    const k = String(v.labels.status);
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

describe('hostile clients against the API service', () => {
  let t: TestEnv;
  let srv: RunningServer;
  const logged: string[] = [];
  let port: number;

  beforeAll(async () => {
    t = await createTestEnv({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    });
    srv = await startServer(t.cfg, { log: (s) => logged.push(s) });
    port = srv.port;
  });
  afterAll(async () => {
    await srv?.close();
    await t?.cleanup();
  });

  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const sale = {
    productId: 'p',
    name: 'ok',
    stock: 3,
    startsAt: '2030-01-01T00:00:00Z',
    endsAt: '2030-01-02T00:00:00Z',
  };

  it('input PostgreSQL would refuse is a 400 naming the field, decided before the database', async () => {
    const rows = async () =>
      (await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM flash_sales')).rows[0]!.n;
    const before = await rows();
    logged.length = 0;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...sale, name: 'nul\u0000byte' }, /^name must be .*without control characters/],
      [{ ...sale, name: 'lone \ud800 surrogate' }, /^name must be .*unpaired surrogates/],
      [{ ...sale, startsAt: '2025-02-30T00:00:00Z' }, /^startsAt: 2025-02-30 does not exist/],
      [{ ...sale, startsAt: '0000-01-01T00:00:00Z' }, /^startsAt: year 0000 is out of range/],
      [{ ...sale, endsAt: '275760-09-13T00:00:00Z' }, /^endsAt: .* is not a date-time/],
      [{ ...sale, stock: 3_000_000_000 }, /^stock must be an integer between 1 and/],
    ];
    for (const [body, message] of cases) {
      const r = await call(srv.url, 'POST', '/api/sales', body, auth);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error).toBe('invalid_request');
      expect(r.body.message).toMatch(message);
    }
    expect(await rows()).toBe(before);
    expect((await call(srv.url, 'POST', '/api/sales', sale, auth)).status).toBe(201);
    expect(logged).toEqual([]);
  });

  it('tells a database outage (503) from a statement the database refused (500, a bug)', async () => {
    const c = new pg.Client({ connectionString: t.env.DATABASE_URL });
    await c.connect();
    const refused = await c.query('SELECT $1::text', ['a\u0000b']).catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toBe('22021');
    expect(isDatabaseOutage(refused)).toBe(false);
    const outOfRange = await c.query('SELECT $1::int', ['3000000000']).catch((e: unknown) => e);
    expect(isDatabaseOutage(outOfRange)).toBe(false);
    // An administrator terminating the session (57P01), then the dead connection, are outages.
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    c.on('error', () => undefined);
    const terminated = c.query('SELECT pg_sleep(5)').catch((e: unknown) => e);
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await admin.end();
    expect(isDatabaseOutage(await terminated)).toBe(true);
    const closedPort = await freePort();
    const down = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${closedPort}/x` });
    expect(isDatabaseOutage(await down.connect().catch((e: unknown) => e))).toBe(true);
  });

  it('200 uploads aborted mid-body count as status="aborted", never 500, and log nothing', async () => {
    const saleId = await createSale(srv.url, 5);
    const before = await requestCounts(srv);
    logged.length = 0;
    const probes = Array.from({ length: 200 }, () => open(port));
    await Promise.all(probes.map((p) => new Promise((r) => p.socket.once('connect', r))));
    for (const p of probes) {
      write(p, `POST /api/sales/${saleId}/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`);
      write(p, 'Content-Length: 100\r\n\r\n{"userId":');
    }
    await waitFor('handlers reading the bodies', async () => {
      await new Promise((r) => setTimeout(r, 100));
      return true;
    });
    for (const p of probes) p.socket.destroy();
    await waitFor(
      '200 aborted requests counted',
      async () => {
        const now = await requestCounts(srv);
        return (now.aborted ?? 0) - (before.aborted ?? 0) === 200;
      },
      10_000,
    );
    const after = await requestCounts(srv);
    expect((after['500'] ?? 0) - (before['500'] ?? 0)).toBe(0);
    expect(logged).toEqual([]);
    expect(await t.redis.hget(srv.deps.keys.inventory(saleId), 'stock')).toBe('5');
  });

  it('slowloris: 300 sockets sending headers byte by byte are answered 408 and closed at the headers timeout', async () => {
    const probes = Array.from({ length: 300 }, () => open(port));
    for (const p of probes)
      trickle(p, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa', 50);
    await allClosed(probes);
    for (const p of probes) expect(p.received).toMatch(/^HTTP\/1\.1 408 /);
    console.log(
      `[measured] slowloris: ${probes.length} sockets, all closed, longest held ${Math.round(maxHeld(probes))} ms (HTTP_HEADERS_TIMEOUT_MS=${HEADERS_TIMEOUT_MS})`,
    );
    expect((await call(srv.url, 'GET', '/healthz')).status).toBe(200);
  });

  it('trickle upload: 50 bodies sent a byte at a time are cut off at the request timeout, counted aborted', async () => {
    const saleId = await createSale(srv.url, 5);
    const before = await requestCounts(srv);
    const probes = Array.from({ length: 50 }, () => open(port));
    for (const p of probes) {
      write(p, `POST /api/sales/${saleId}/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`);
      trickle(p, '{"userId":"slow"       ', 100);
    }
    await allClosed(probes);
    console.log(
      `[measured] trickle upload: ${probes.length} sockets, all closed, longest held ${Math.round(maxHeld(probes))} ms (HTTP_REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS}), at most ${Math.max(...probes.map((p) => p.written))} bytes sent each`,
    );
    await waitFor(
      '50 aborted',
      async () => ((await requestCounts(srv)).aborted ?? 0) - (before.aborted ?? 0) === 50,
      5000,
    );
    expect(((await requestCounts(srv))['500'] ?? 0) - (before['500'] ?? 0)).toBe(0);
  });

  it('a keep-alive connection serves several requests, then is closed once idle for the keep-alive timeout', async () => {
    const p = open(port);
    for (let i = 1; i <= 3; i++) {
      write(p, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(`answer ${i}`, async () => p.received.split('HTTP/1.1 200 ').length - 1 === i, 5000);
    }
    const idleFrom = performance.now();
    await allClosed([p]);
    expect(p.received).not.toMatch(/connection: close/i);
    console.log(
      `[measured] idle keep-alive connection closed ${Math.round(p.closedAt! - idleFrom)} ms after its last answer (HTTP_KEEP_ALIVE_TIMEOUT_MS=${KEEP_ALIVE_TIMEOUT_MS})`,
    );
  });

  /** Streams up to 100 MB at the server as fast as it takes it; returns what it managed to send. */
  async function flood(p: Probe, chunked: boolean): Promise<void> {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const framed = chunked
      ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
      : chunk;
    while (p.written < 100 * 1024 * 1024 && p.closedAt === undefined && !p.socket.destroyed) {
      if (!p.socket.write(framed)) {
        await Promise.race([new Promise((r) => p.socket.once('drain', r)), p.closed]);
      }
      p.written += framed.length;
    }
  }

  it.each([
    ['a declared 100 MB Content-Length', false],
    ['a chunked 100 MB body', true],
  ])('413 for %s: Connection: close, and the body is not read to its end', async (_what, chunked) => {
    const saleId = await createSale(srv.url, 5);
    const p = open(port);
    await new Promise((r) => p.socket.once('connect', r));
    write(
      p,
      `POST /api/sales/${saleId}/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${100 * 1024 * 1024}\r\n\r\n`),
    );
    await flood(p, chunked);
    await allClosed([p]);
    expect(p.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(p.received.toLowerCase()).toContain('connection: close');
    console.log(
      `[measured] 413 with ${chunked ? 'a chunked' : 'a declared'} 100 MB body: closed after ${(p.written / 1024 / 1024).toFixed(1)} MB sent`,
    );
    expect(p.written).toBeLessThan(32 * 1024 * 1024);
  });

  it('401 decided on the headers closes the connection instead of reading the upload', async () => {
    const p = open(port);
    await new Promise((r) => p.socket.once('connect', r));
    write(p, `POST /api/sales HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    await flood(p, false);
    await allClosed([p]);
    expect(p.received).toMatch(/^HTTP\/1\.1 401 /);
    expect(p.received.toLowerCase()).toContain('connection: close');
    expect(p.written).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('the connection cap', () => {
  let t: TestEnv;
  let srv: RunningServer;

  beforeAll(async () => {
    t = await createTestEnv({
      HTTP_MAX_CONNECTIONS: '50',
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    srv = await startServer(t.cfg, { log: () => undefined });
  });
  afterAll(async () => {
    await srv?.close();
    await t?.cleanup();
  });

  it('holds at most HTTP_MAX_CONNECTIONS of 300 slowloris sockets; the rest are dropped at once', async () => {
    const probes = Array.from({ length: 300 }, () => open(srv.port));
    for (const p of probes)
      trickle(p, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa', 50);
    await allClosed(probes);
    const held = probes.filter((p) => /^HTTP\/1\.1 408 /.test(p.received)).length;
    const dropped = probes.filter((p) => p.received === '').length;
    console.log(
      `[measured] connection cap 50: ${held} of 300 sockets held until the 408, ${dropped} dropped at once`,
    );
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(50);
    expect(held + dropped).toBe(300);
    await waitFor(
      'serving again',
      async () => (await call(srv.url, 'GET', '/healthz').catch(() => ({ status: 0 }))).status === 200,
      5000,
    );
  });
});
