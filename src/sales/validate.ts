/**
 * FlashSale validation in TypeScript: the schema's structure (src/api/schema.ts, the same source as the CRD)
 * plus what the CRD's CEL rules check, so a cluster with an older CRD and the controller agree. Changes that
 * need the previous object (stock or startsAt once Live) are refused at admission by the CRD's transition
 * rules; `checkLiveChange` is the controller's own guard for a server that did not enforce them.
 */
import { checkDuration } from '../api/formats.js';
import type { Problem } from '../api/problems.js';
import { saleRootSchema, type SchemaNode } from '../api/schema.js';
import type { FlashSale } from '../api/types.js';
import { API_VERSION, SALE_KIND } from '../api/types.js';
import { checkStructure } from '../api/validate.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function validateSale(doc: unknown): Problem[] {
  if (!isObject(doc)) return [{ path: '(document)', message: `must be a ${SALE_KIND} object` }];
  const out: Problem[] = [];
  if (doc.apiVersion !== API_VERSION) out.push({ path: 'apiVersion', message: `must be ${API_VERSION}` });
  if (doc.kind !== SALE_KIND) out.push({ path: 'kind', message: `must be ${SALE_KIND}` });
  const spec = doc.spec;
  if (!isObject(spec)) {
    out.push({
      path: 'spec',
      message: 'is required: stackName, productId, stock, startsAt, endsAt, expectedPeakOrdersPerSecond',
    });
    return out;
  }
  checkStructure(spec, saleRootSchema.properties?.spec as SchemaNode, 'spec', out);
  const when = (field: 'startsAt' | 'endsAt'): number | undefined => {
    const v = spec[field];
    if (typeof v !== 'string') return undefined;
    const ms = Date.parse(v);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(ms)) {
      out.push({
        path: `spec.${field}`,
        message: `"${v}" is not an RFC 3339 time; write e.g. 2026-12-24T20:00:00Z`,
      });
      return undefined;
    }
    return ms;
  };
  const startsAt = when('startsAt');
  const endsAt = when('endsAt');
  if (startsAt !== undefined && endsAt !== undefined && endsAt <= startsAt)
    out.push({ path: 'spec.endsAt', message: `must be after spec.startsAt (${String(spec.startsAt)})` });
  for (const field of ['leadTime', 'coolDown'] as const) {
    const v = spec[field];
    if (typeof v === 'string') {
      const why = checkDuration(v);
      if (why) out.push({ path: `spec.${field}`, message: why });
    }
  }
  const seen = new Set<string>();
  return out.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * What a Live (or later) sale cannot change, compared with what the API holds: stock and startsAt are fixed,
 * endsAt may only be extended. Empty when the change is fine.
 */
export function checkLiveChange(
  sale: FlashSale,
  api: { stock: number; startsAt: string; endsAt: string },
): Problem[] {
  const out: Problem[] = [];
  if (sale.spec.stock !== api.stock)
    out.push({
      path: 'spec.stock',
      message: `cannot change once the sale is Live (it was ${api.stock}); create another FlashSale`,
    });
  if (Date.parse(sale.spec.startsAt) !== Date.parse(api.startsAt))
    out.push({
      path: 'spec.startsAt',
      message: `cannot change once the sale is Live (it was ${api.startsAt})`,
    });
  if (Date.parse(sale.spec.endsAt) < Date.parse(api.endsAt))
    out.push({
      path: 'spec.endsAt',
      message: `may only be extended once the sale is Live (it ends at ${api.endsAt})`,
    });
  return out;
}
