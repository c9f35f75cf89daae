/**
 * What the operator's informer cache keeps of an owned object, and how desired objects are compared with it.
 *
 * Memory is the limit when one operator serves hundreds of stacks, and most of an owned object's bytes are
 * config payloads (postgresql.conf, nginx.conf, the Grafana dashboard...) the operator only ever compares.
 * So the cache keeps `sha256:<hex>` digests of ConfigMap and Secret values, drops `managedFields` (which the
 * operator never reads, as client-go's informers drop it), and a desired object goes through the same
 * `comparable()` before the "already applied?" check, so the comparison stays exact.
 * Kept whole: the generated-secrets Secret (the operator reads its values back) and the PostgreSQL ConfigMap
 * (its previous postgresql.conf is diffed to decide between a live reload and a restart).
 *
 * `upToDate` is the "already applied?" check. A real API server does not hand back exactly what was applied:
 * it adds defaults, drops empty `omitempty` lists and strings, and stores quantities canonically. The check
 * allows exactly those differences and nothing else, so an unchanged stack costs no writes and an edit made
 * to a live object is still seen as drift.
 */
import { canonicalQuantity } from '../api/quantity.js';
import { sha256, STACK_LABEL } from '../render/common.js';
import type { ApiObject } from './kube-client.js';
import { generatedSecretName } from './secrets.js';

const DIGESTED_KINDS = new Set(['ConfigMap', 'Secret']);

function digestValues(data: unknown): Record<string, string> | undefined {
  if (!data || typeof data !== 'object') return undefined;
  return Object.fromEntries(
    Object.entries(data as Record<string, unknown>).map(([k, v]) => [k, `sha256:${sha256(String(v))}`]),
  );
}

function keepsValues(obj: ApiObject): boolean {
  const stack = obj.metadata.labels?.[STACK_LABEL];
  if (stack === undefined) return false;
  if (obj.kind === 'Secret') return obj.metadata.name === generatedSecretName(stack);
  return obj.metadata.name === `${stack}-postgres`; // childName(stack, 'postgres')
}

/** The cached form of a live object (also applied to desired objects before comparing). */
export function comparable(obj: ApiObject): ApiObject {
  let out = obj;
  if (out.metadata?.managedFields) {
    const { managedFields: _dropped, ...metadata } = out.metadata;
    out = { ...out, metadata };
  }
  if (DIGESTED_KINDS.has(out.kind) && !keepsValues(out)) {
    const data = digestValues(out.data);
    const binaryData = digestValues(out.binaryData);
    out = { ...out, ...(data ? { data } : {}), ...(binaryData ? { binaryData } : {}) };
  }
  return out;
}

/** Quantity fields of the kinds render emits, by their last path segments (`*` matches any key). */
const QUANTITY_PATHS: readonly (readonly string[])[] = [
  ['resources', 'requests', '*'],
  ['resources', 'limits', '*'],
  ['emptyDir', 'sizeLimit'],
  ['target', 'value'],
  ['target', 'averageValue'],
];

function isQuantityPath(path: readonly string[]): boolean {
  return QUANTITY_PATHS.some(
    (tail) =>
      path.length >= tail.length &&
      tail.every((seg, i) => seg === '*' || seg === path[path.length - tail.length + i]),
  );
}

/**
 * Whether every field of `want` has that value in `have`, as a real API server stores it: extra fields in
 * `have` (server defaults, other managers' fields) are fine; an empty list or string that `have` lacks was
 * dropped by the server (omitempty); quantities compare in canonical form (`0.5` = `500m`). Empty objects
 * are compared strictly: the server keeps them (`namespaceSelector: {}`, `emptyDir: {}` mean something).
 */
export function isAppliedIn(want: unknown, have: unknown, path: readonly string[] = []): boolean {
  if (want === have || want === undefined) return true;
  if (have === undefined && (want === '' || (Array.isArray(want) && want.length === 0))) return true;
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return false;
    return want.every((w, i) => isAppliedIn(w, have[i], path));
  }
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want as Record<string, unknown>).every(([k, v]) =>
      isAppliedIn(v, (have as Record<string, unknown>)[k], [...path, k]),
    );
  }
  if (typeof want === 'string' && typeof have === 'string' && isQuantityPath(path)) {
    const canonical = canonicalQuantity(want);
    return canonical !== undefined && canonical === canonicalQuantity(have);
  }
  // Numbers, booleans and other strings are stored as given (a port 8080 never comes back as "8080").
  return false;
}

/** Whether applying `desired` would change nothing in `cached` (an informer-cached object, see comparable). */
export function upToDate(desired: ApiObject, cached: ApiObject): boolean {
  return isAppliedIn(comparable(desired), cached);
}
