/** Input validation. Every failure names the field and what a valid value looks like. */
import { HttpError } from './http.js';

const ID_RE = /^[A-Za-z0-9_.:@-]{1,128}$/;
const SALE_ID_RE = /^[1-9][0-9]{0,17}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export const MAX_STOCK = 100_000_000;

function bad(message: string): HttpError {
  return new HttpError(400, 'invalid_request', message);
}

export function isSaleId(s: string): boolean {
  return SALE_ID_RE.test(s);
}

export function isOrderId(s: string): boolean {
  return UUID_RE.test(s);
}

function obj(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw bad('request body must be a JSON object');
  return body as Record<string, unknown>;
}

function ident(v: unknown, field: string): string {
  if (typeof v !== 'string' || !ID_RE.test(v)) {
    throw bad(`${field} must be a string of 1-128 characters from A-Z a-z 0-9 _ . : @ -`);
  }
  return v;
}

function date(v: unknown, field: string): Date {
  if (typeof v !== 'string' || !ISO_RE.test(v) || Number.isNaN(Date.parse(v))) {
    throw bad(`${field} must be an ISO-8601 date-time with a time zone, e.g. 2025-11-11T00:00:00Z`);
  }
  return new Date(v);
}

export function parseOrderBody(body: unknown): { userId: string } {
  return { userId: ident(obj(body).userId, 'userId') };
}

export interface NewSale {
  /** The caller's id of the sale (the operator's FlashSale); a create with a taken one returns that sale. */
  externalId?: string;
  productId: string;
  name: string | null;
  stock: number;
  startsAt: Date;
  endsAt: Date;
}

export function parseSaleBody(body: unknown): NewSale {
  const o = obj(body);
  const externalId =
    o.externalId === undefined || o.externalId === null ? undefined : parseExternalId(o.externalId);
  const productId = ident(o.productId, 'productId');
  let name: string | null = null;
  if (o.name !== undefined && o.name !== null) {
    if (typeof o.name !== 'string' || o.name.length > 200)
      throw bad('name must be a string of at most 200 characters');
    name = o.name;
  }
  const stock = o.stock;
  if (typeof stock !== 'number' || !Number.isInteger(stock) || stock < 1 || stock > MAX_STOCK) {
    throw bad(`stock must be an integer between 1 and ${MAX_STOCK}`);
  }
  const startsAt = date(o.startsAt, 'startsAt');
  const endsAt = date(o.endsAt, 'endsAt');
  if (endsAt.getTime() <= startsAt.getTime()) throw bad('endsAt must be later than startsAt');
  return { ...(externalId !== undefined ? { externalId } : {}), productId, name, stock, startsAt, endsAt };
}

const EXTERNAL_ID_RE = /^[A-Za-z0-9._/-]{1,253}$/;

/** externalId: 1-253 of `A-Za-z0-9._/-`, room for `<namespace>/<name>/<uid>` of a FlashSale. */
export function parseExternalId(v: unknown): string {
  if (typeof v !== 'string' || !EXTERNAL_ID_RE.test(v)) {
    throw bad(
      'externalId must be a string of 1-253 characters from A-Z a-z 0-9 . _ / -, e.g. shop/sale-1/<uid>',
    );
  }
  return v;
}

/** PATCH /api/sales/{id}: only `endsAt` may change (stock and start are fixed once a sale exists). */
export function parseSalePatch(body: unknown): { endsAt: Date } {
  const o = obj(body);
  const other = Object.keys(o).filter((k) => k !== 'endsAt');
  if (other.length > 0) {
    throw bad(`only endsAt can be changed on an existing sale; remove ${other.join(', ')} from the request`);
  }
  if (o.endsAt === undefined) throw bad('endsAt is required, e.g. {"endsAt":"2025-11-11T01:00:00Z"}');
  return { endsAt: date(o.endsAt, 'endsAt') };
}

/** Idempotency-Key: 1-255 visible ASCII characters. */
export function parseIdempotencyKey(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v) || !/^[\x21-\x7e]{1,255}$/.test(v)) {
    throw bad('Idempotency-Key must be 1-255 visible ASCII characters');
  }
  return v;
}
