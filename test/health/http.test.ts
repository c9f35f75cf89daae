import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumCounter } from '../../src/health/http.js';
import { StackProbeSession } from '../../src/health/session.js';
import { DEFAULT_THRESHOLDS } from '../../src/health/types.js';

/** A small real HTTP server shaped like the flash-sale API and Nginx health endpoints. */
describe('API and Nginx probes', () => {
  let server: http.Server;
  let base: string;
  let ready = true;
  let requests = 100;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/readyz') {
        res.writeHead(ready ? 200 : 503).end(ready ? 'ok' : 'redis unavailable');
      } else if (req.url === '/metrics') {
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end(
            [
              '# HELP http_requests_total Requests',
              '# TYPE http_requests_total counter',
              `http_requests_total{method="GET",route="/api/stock",status="200"} ${requests}`,
              `http_requests_total{method="POST",route="/api/orders",status="201"} ${requests / 2}`,
              'http_requests_total_created 1700000000',
              '',
            ].join('\n'),
          );
      } else if (req.url === '/health') {
        res.writeHead(200).end('healthy\n');
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('reports readiness, the request rate between rounds, and NotReady on 503', async () => {
    const session = new StackProbeSession(2000);
    let t = Date.parse('2026-01-01T00:00:00Z');
    const now = () => new Date(t);
    const targets = { apiUrl: `${base}/`, nginxUrl: base };
    const r1 = await session.probe(targets, DEFAULT_THRESHOLDS, undefined, now);
    expect(r1.components.api).toMatchObject({
      healthy: true,
      reason: 'Healthy',
      statusCode: 200,
      requestsTotal: 150,
    });
    expect(r1.components.api!.requestRate).toBeUndefined();
    expect(r1.components.nginx).toMatchObject({ healthy: true, reason: 'Healthy', statusCode: 200 });

    requests = 700; // +900 requests in total over 30 s
    t += 30_000;
    const r2 = await session.probe(targets, DEFAULT_THRESHOLDS, r1, now);
    expect(r2.components.api).toMatchObject({ requestsTotal: 1050, requestRate: 30 });
    expect(r2.components.api!.message).toContain('30 req/s');

    ready = false;
    const r3 = await session.probe(targets, DEFAULT_THRESHOLDS, r2, now);
    expect(r3.components.api).toMatchObject({ healthy: false, reason: 'NotReady', statusCode: 503 });
    expect(r3.components.api!.message).toContain('redis unavailable');
    ready = true;
    await session.close();
  });

  it('sumCounter adds every label set and ignores other series', () => {
    expect(
      sumCounter('a_total 3\nhttp_requests_total{x="1"} 2\nhttp_requests_total 5\n', 'http_requests_total'),
    ).toBe(7);
    expect(sumCounter('other 1\n', 'http_requests_total')).toBeUndefined();
  });
});
