import type { ApiHealth, NginxHealth, ProbeOptions } from './types.js';
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

async function get(url: string, timeoutMs: number): Promise<{ status: number; body: string; ms: number }> {
  const t0 = process.hrtime.bigint();
  // The signal bounds connect, headers and body; an aborted fetch closes its socket.
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
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

/** API probe: `/readyz`, then the request rate from `/metrics` (seed §10 "QPS check": http_requests_total). */
export async function probeApi(
  baseUrl: string,
  opts: ProbeOptions,
  previous?: ApiHealth,
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
    const m = await get(join(baseUrl, '/metrics'), opts.timeoutMs);
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
  const rate = r.requestRate !== undefined ? `, ${r.requestRate} req/s` : '';
  r.message = r.healthy
    ? `API ready in ${ready.ms} ms${rate}${metricsNote}`
    : `API /readyz answered ${ready.status}: ${ready.body.slice(0, 200).trim()}${metricsNote}`;
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
