import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSaleApi } from '../../src/sales/http-sale-api.js';
import { type NewApiSale, SaleApiError } from '../../src/sales/sale-api.js';
import { startConsumer, type RunningConsumer } from '../../src/service/consumer.js';
import { startServer, type RunningServer } from '../../src/service/server.js';
import { ADMIN_TOKEN, call, createTestEnv, orderCount, type TestEnv, waitFor } from '../service/support.js';

async function failure(p: Promise<unknown>): Promise<SaleApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SaleApiError) return e;
    throw e;
  }
  throw new Error('expected a SaleApiError');
}

describe('HttpSaleApi against the real API service (PostgreSQL, Redis, RabbitMQ)', () => {
  let t: TestEnv;
  let srv: RunningServer;
  let consumer: RunningConsumer;
  let api: HttpSaleApi;

  beforeAll(async () => {
    t = await createTestEnv({ PUBLISH_TIMEOUT_MS: '1000', GUARD_CHECK_INTERVAL_MS: '200' });
    srv = await startServer(t.cfg);
    consumer = await startConsumer(t.cfg);
    api = new HttpSaleApi({ baseUrl: `${srv.url}/`, token: ADMIN_TOKEN, timeoutMs: 5000 });
  });
  afterAll(async () => {
    await consumer?.close();
    await srv?.close();
    await t?.cleanup();
  });

  const sale = (externalId: string): NewApiSale => ({
    externalId,
    productId: 'sku-42',
    name: 'launch',
    stock: 3,
    startsAt: new Date(Date.now() - 60_000).toISOString(),
    endsAt: '2099-01-01T00:00:00.000Z',
  });

  it('creates once (created true, then false with the same sale) and reads it back with externalId and gate', async () => {
    const s = sale('shop/launch/11111111-2222');
    const first = await api.createSale(s);
    expect(first.created).toBe(true);
    expect(first.sale).toMatchObject({
      externalId: s.externalId,
      productId: 'sku-42',
      stock: 3,
      gate: 'open',
    });
    const again = await api.createSale(s);
    expect(again).toEqual({ sale: first.sale, created: false });
    expect(await api.getSale(first.sale.id)).toEqual(first.sale);
  });

  it('drives the gate and the end, and reads counters and reconciliation', async () => {
    const { sale: s } = await api.createSale(sale('shop/gate/33333333'));
    expect((await api.suspendSale(s.id)).gate).toBe('suspended');
    const refused = await call(srv.url, 'POST', `/api/sales/${s.id}/orders`, { userId: 'u1' });
    expect(refused.body.error).toBe('sale_suspended');
    expect((await api.resumeSale(s.id)).gate).toBe('open');
    expect((await call(srv.url, 'POST', `/api/sales/${s.id}/orders`, { userId: 'u1' })).status).toBe(202);
    expect((await api.extendSale(s.id, '2099-02-01T00:00:00.000Z')).endsAt).toBe('2099-02-01T00:00:00.000Z');
    await waitFor('the order row', async () => (await orderCount(t.pool, s.id)) === 1);
    expect(await api.counters(s.id)).toEqual({
      saleId: s.id,
      stock: 3,
      remaining: 2,
      accepted: 1,
      persisted: 1,
      rejected: 0,
      cancelled: 0,
      pending: 0,
    });
    expect(await api.reconciliation(s.id)).toMatchObject({
      soldInRedis: 1,
      ordersInDatabase: 1,
      consistent: true,
    });
    expect((await api.closeSale(s.id)).gate).toBe('closed');
    const e = await failure(api.resumeSale(s.id));
    expect(e).toMatchObject({ status: 409, code: 'sale_closed' });
  });

  it("maps the service's errors to SaleApiError with its status, code and message", async () => {
    const s = sale('shop/conflict/44444444');
    await api.createSale(s);
    const conflict = await failure(api.createSale({ ...s, stock: 4 }));
    expect(conflict).toMatchObject({ status: 409, code: 'external_id_conflict' });
    expect(conflict.message).toMatch(/stock/);
    expect(await failure(api.getSale('999999'))).toMatchObject({ status: 404, code: 'sale_not_found' });
    const { sale: created } = await api.createSale(sale('shop/extend/55555555'));
    const earlier = await failure(api.extendSale(created.id, '2098-01-01T00:00:00Z'));
    expect(earlier).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(earlier.message).toMatch(/endsAt/);
  });

  it('a wrong token is 401 unauthorized, and no error ever carries the token', async () => {
    const secret = 'not-the-admin-token-s3cr3t';
    const wrong = new HttpSaleApi({ baseUrl: srv.url, token: secret });
    const e = await failure(wrong.createSale(sale('shop/token/66666666')));
    expect(e).toMatchObject({ status: 401, code: 'unauthorized' });
    const down = new HttpSaleApi({ baseUrl: `http://${secret}@127.0.0.1:1`, token: secret, timeoutMs: 2000 });
    const u = await failure(down.getSale('1'));
    expect(u).toMatchObject({ status: 0, code: 'unreachable' });
    for (const err of [e, u]) expect(`${err.message} ${err.stack}`).not.toContain(secret);
  });

  it('a service that accepts the connection but never answers is a timeout error, bounded by timeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const slow = new HttpSaleApi({
        baseUrl: `http://127.0.0.1:${port}`,
        token: ADMIN_TOKEN,
        timeoutMs: 300,
      });
      const e = await failure(slow.suspendSale('1'));
      expect(e).toMatchObject({ status: 0, code: 'timeout' });
      expect(e.message).toMatch(/no answer within 300 ms/);
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });
});
