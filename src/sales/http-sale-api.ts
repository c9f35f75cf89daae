/**
 * SaleApi over HTTP: the API service's admin endpoints (docs/api-service.md), with the bearer ADMIN_TOKEN, a
 * timeout per call, and every failure as a SaleApiError — the service's own `{error, message}` when it
 * answered, `unreachable` / `timeout` (status 0) when it did not. The token never appears in an error.
 */
import {
  type ApiSale,
  type ApiSaleCounters,
  type ApiSaleReconciliation,
  type NewApiSale,
  type SaleApi,
  SaleApiError,
} from './sale-api.js';

export interface HttpSaleApiOptions {
  /** The API service's base URL, e.g. http://shop-api.shop.svc:8080 */
  baseUrl: string;
  /** The stack's ADMIN_TOKEN. */
  token: string;
  /** Bound on one call: connect, headers and body (default 5000 ms). */
  timeoutMs?: number;
}

interface Answer {
  status: number;
  body: unknown;
}

export class HttpSaleApi implements SaleApi {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: HttpSaleApiOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  async createSale(sale: NewApiSale): Promise<{ sale: ApiSale; created: boolean }> {
    const a = await this.call('POST', '/api/sales', sale, [200, 201]);
    return { sale: a.body as ApiSale, created: a.status === 201 };
  }

  getSale(id: string): Promise<ApiSale> {
    return this.json<ApiSale>('GET', this.sale(id));
  }

  extendSale(id: string, endsAt: string): Promise<ApiSale> {
    return this.json<ApiSale>('PATCH', this.sale(id), { endsAt });
  }

  suspendSale(id: string): Promise<ApiSale> {
    return this.json<ApiSale>('POST', `${this.sale(id)}/suspend`);
  }

  resumeSale(id: string): Promise<ApiSale> {
    return this.json<ApiSale>('POST', `${this.sale(id)}/resume`);
  }

  closeSale(id: string): Promise<ApiSale> {
    return this.json<ApiSale>('POST', `${this.sale(id)}/close`);
  }

  async counters(id: string): Promise<ApiSaleCounters> {
    const c = await this.json<ApiSaleCounters & { inventory?: unknown }>('GET', `${this.sale(id)}/counters`);
    const { inventory: _inventory, ...counters } = c;
    return counters;
  }

  reconciliation(id: string): Promise<ApiSaleReconciliation> {
    return this.json<ApiSaleReconciliation>('GET', `${this.sale(id)}/reconciliation`);
  }

  private sale(id: string): string {
    return `/api/sales/${encodeURIComponent(id)}`;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.call(method, path, body, [200])).body as T;
  }

  private async call(method: string, path: string, body: unknown, ok: number[]): Promise<Answer> {
    const what = `${method} ${path}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.base + path, {
        method,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      text = await res.text();
    } catch (e) {
      throw this.transportError(what, e);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      parsed = undefined;
    }
    if (ok.includes(res.status) && parsed !== undefined) return { status: res.status, body: parsed };
    const e = (parsed ?? {}) as { error?: unknown; message?: unknown };
    const code = typeof e.error === 'string' ? e.error : `http_${res.status}`;
    const message =
      typeof e.message === 'string' ? e.message : `unexpected answer ${res.status} (${text.slice(0, 200)})`;
    throw new SaleApiError(res.status, code, this.scrub(`${what}: ${message}`));
  }

  private transportError(what: string, e: unknown): SaleApiError {
    if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
      return new SaleApiError(0, 'timeout', `${what}: no answer within ${this.timeoutMs} ms`);
    }
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    const msg = e instanceof Error ? e.message : String(e);
    return new SaleApiError(
      0,
      'unreachable',
      this.scrub(`${what}: ${this.base} is unreachable (${msg}${cause})`),
    );
  }

  /** The base URL as errors show it: without user info. */
  private shown(): string {
    try {
      const u = new URL(this.base);
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/+$/, '');
    } catch {
      return '(invalid base URL)';
    }
  }

  /** Errors of fetch may quote the URL; the token (and the base's user info) never leave this client. */
  private scrub(s: string): string {
    let out = s.split(this.base).join(this.shown());
    if (this.opts.token !== '') out = out.split(this.opts.token).join('***');
    return out;
  }
}
