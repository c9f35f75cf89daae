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
 */
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
