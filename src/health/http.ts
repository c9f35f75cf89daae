import type { ApiHealth, NginxHealth, OrderCounters, ProbeOptions } from './types.js';
import { elapsedMs, round, scrub, unreachable } from './util.js';

/** A base URL without user info, query or fragment (what results show). */
export function safeUrl(base: string): string {
  try {
    const u = new URL(base);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return scrub(base, []);
  }
}

function join(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

async function get(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; ms: number }> {
  const t0 = process.hrtime.bigint();
  // The signal bounds connect, headers and body; an aborted fetch closes its socket.
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual', headers });
  const body = await res.text();
  return { status: res.status, body, ms: elapsedMs(t0) };
}

function httpError(err: unknown, timeoutMs: number): Error {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return new Error(`no answer within ${timeoutMs} ms`);
  }
  if (err instanceof Error && err.cause instanceof Error) {
    return new Error(`${err.message}: ${err.cause.message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Sums every sample of a counter (all label sets) in Prometheus text format. */
export function sumCounter(text: string, name: string): number | undefined {
  let sum: number | undefined;
  const re = new RegExp(`^${name}(\\{[^}]*\\})?\\s+([^\\s]+)`, 'gm');
  for (const m of text.matchAll(re)) {
    const v = Number(m[2]);
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

interface CountersBody {
  inventory?: { state?: string; reason?: string; since?: string };
  totals?: Partial<OrderCounters>;
}

/** The order counters and fence state from `/api/admin/counters`; a note instead when they cannot be read. */
async function readCounters(
  baseUrl: string,
  token: string,
  timeoutMs: number,
): Promise<{ orders?: OrderCounters; inventory?: ApiHealth['inventory']; note: string }> {
  try {
    const c = await get(join(baseUrl, '/api/admin/counters'), timeoutMs, {
      authorization: `Bearer ${token}`,
    });
    if (c.status !== 200) return { note: ` (/api/admin/counters answered ${c.status})` };
    const body = JSON.parse(c.body) as CountersBody;
    const t = body.totals ?? {};
    const orders: OrderCounters = {
      accepted: Number(t.accepted ?? 0),
      persisted: Number(t.persisted ?? 0),
      rejected: Number(t.rejected ?? 0),
      cancelled: Number(t.cancelled ?? 0),
      pending: Number(t.pending ?? 0),
    };
    const inv = body.inventory;
    const inventory = inv?.state
      ? {
          state: inv.state,
          ...(inv.reason ? { reason: inv.reason } : {}),
          ...(inv.since ? { since: inv.since } : {}),
        }
      : undefined;
    return { orders, ...(inventory ? { inventory } : {}), note: '' };
  } catch (err) {
    return { note: ` (/api/admin/counters failed: ${httpError(err, timeoutMs).message})` };
  }
}

/**
 * API probe: `/readyz`, the request rate from `/metrics` on `metricsUrl` (the API's metrics port; seed §10 "QPS
 * check": http_requests_total) and, with the
 * admin token, the order counters (accepted vs persisted vs rejected). Unhealthy: not ready —
 * `InventoryRecovering` when the fence is why — or `OrdersRejected` when the database refused orders since the
 * previous round.
 */
export async function probeApi(
  baseUrl: string,
  opts: ProbeOptions,
  previous?: ApiHealth,
  token?: string,
  metricsUrl: string = baseUrl,
): Promise<ApiHealth> {
  const checkedAt = (opts.now?.() ?? new Date()).toISOString();
  const endpoint = safeUrl(baseUrl);
  let ready;
  try {
    ready = await get(join(baseUrl, '/readyz'), opts.timeoutMs);
  } catch (err) {
    return unreachable<ApiHealth>(endpoint, checkedAt, 'API', httpError(err, opts.timeoutMs), []);
  }
  const r: ApiHealth = {
    healthy: ready.status === 200,
    reason: ready.status === 200 ? 'Healthy' : 'NotReady',
    message: '',
    latencyMs: ready.ms,
    checkedAt,
    endpoint,
    statusCode: ready.status,
  };
  let metricsNote = '';
  try {
    const m = await get(join(metricsUrl, '/metrics'), opts.timeoutMs);
    const total = m.status === 200 ? sumCounter(m.body, 'http_requests_total') : undefined;
    if (total !== undefined) {
      r.requestsTotal = total;
      if (previous?.requestsTotal !== undefined && total >= previous.requestsTotal) {
        const secs = (Date.parse(checkedAt) - Date.parse(previous.checkedAt)) / 1000;
        if (secs > 0) r.requestRate = round((total - previous.requestsTotal) / secs, 2);
      }
    } else {
      metricsNote = ` (/metrics answered ${m.status} without http_requests_total)`;
    }
  } catch (err) {
    metricsNote = ` (/metrics failed: ${httpError(err, opts.timeoutMs).message})`;
  }
  let countersNote = '';
  if (token) {
    const c = await readCounters(baseUrl, token, opts.timeoutMs);
    countersNote = c.note;
    if (c.orders) r.orders = c.orders;
    if (c.inventory) r.inventory = c.inventory;
  }
  const rate = r.requestRate !== undefined ? `, ${r.requestRate} req/s` : '';
  const o = r.orders;
  const fates = o
    ? `; orders accepted ${o.accepted}, persisted ${o.persisted}, pending ${o.pending}, rejected ${o.rejected}, cancelled ${o.cancelled}`
    : '';
  const newlyRejected = o && previous?.orders ? o.rejected - previous.orders.rejected : 0;
  if (r.inventory?.state === 'recovering') {
    r.healthy = false;
    r.reason = 'InventoryRecovering';
  } else if (r.healthy && newlyRejected > 0) {
    r.healthy = false;
    r.reason = 'OrdersRejected';
  }
  r.message =
    r.reason === 'Healthy'
      ? `API ready in ${ready.ms} ms${rate}${fates}${metricsNote}${countersNote}`
      : r.reason === 'OrdersRejected'
        ? `${newlyRejected} accepted orders were rejected by the database since the last probe (GET /api/orders/{id} shows why)${fates}${countersNote}`
        : `API /readyz answered ${ready.status}: ${ready.body.slice(0, 200).trim()}${fates}${metricsNote}${countersNote}`;
  return r;
}

/** Nginx probe: `/health` answers 200. */
export async function probeNginx(baseUrl: string, opts: ProbeOptions): Promise<NginxHealth> {
  const checkedAt = (opts.now?.() ?? new Date()).toISOString();
  const endpoint = safeUrl(baseUrl);
  try {
    const res = await get(join(baseUrl, '/health'), opts.timeoutMs);
    const ok = res.status === 200;
    return {
      healthy: ok,
      reason: ok ? 'Healthy' : 'NotReady',
      message: ok ? `Nginx /health answered 200 in ${res.ms} ms` : `Nginx /health answered ${res.status}`,
      latencyMs: res.ms,
      checkedAt,
      endpoint,
      statusCode: res.status,
    };
  } catch (err) {
    return unreachable<NginxHealth>(endpoint, checkedAt, 'Nginx', httpError(err, opts.timeoutMs), []);
  }
}
