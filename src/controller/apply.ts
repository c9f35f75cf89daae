/**
 * Applying one stack's desired objects: server-side apply in render order, skipping objects whose cached copy
 * already carries the hash of what we would send. An object the API server refuses is recorded with the
 * server's message and holds back only the objects that depend on it (src/controller/dependencies.ts);
 * everything else is still applied.
 */
import type { KubeObject } from '../render/common.js';
import { canonicalJson, sha256 } from '../render/common.js';
import { upToDate } from './cache-shape.js';
import { dependenciesOf, objectRef } from './dependencies.js';
import type { ApiObject, KubeClient } from './kube-client.js';
import { KubeApiError } from './kube-client.js';
import type { Logger } from './logger.js';
import { encodeSecretData } from './secrets.js';

export const APPLIED_HASH_ANNOTATION = 'flashsale.dev/applied-hash';

/** An object the API server refused, with what it said. */
export interface ApplyFailure {
  /** `Kind/name` */
  object: string;
  /** HTTP status of the refusal. */
  code: number;
  reason: string;
  /** The API server's message, whole (secrets redacted). */
  message: string;
}

export interface ApplyOutcome {
  created: string[];
  updated: string[];
  /** The cached copy of every object this round changed, keyed `Kind/name`. */
  previous: Map<string, ApiObject>;
  failed: ApplyFailure[];
  /** Objects not applied because an object they depend on was refused (or was itself held back). */
  heldBack: { object: string; waitsFor: string }[];
  writes: number;
}

/**
 * What to do with one desired object right before it is applied: `apply` it (possibly changed, e.g. with a
 * starting replica count), or `keep` the live object as it is (an immutable Job, a StatefulSet being replaced).
 */
export type ApplyDecision = ({ action: 'apply'; object: KubeObject } | { action: 'keep' }) & {
  /** Writes the decision itself made (e.g. the hand-over apply). */
  writes?: number;
};

export interface ApplyContext {
  client: KubeClient;
  cached(kind: string, namespace: string, name: string): ApiObject | undefined;
  log: Logger;
  /** Last look at an object that differs from its cached copy (autoscaling hand-over, Jobs). */
  beforeApply?(desired: KubeObject, cached: ApiObject | undefined): Promise<ApplyDecision>;
  /** Removes secret values from a server message before it is stored or logged. */
  redact(message: string): string;
}

/**
 * A copy ready to apply: Secrets carry base64 `data` (the API server stores no `stringData`). Only the top
 * level and `metadata` are copied (the reconciler sets annotations); the rest is shared with `obj`, so the
 * result must not be changed below that (decisions build changed copies, see replicas-handover.ts).
 */
export function normalizeForApply(obj: KubeObject): KubeObject {
  const copy: KubeObject = { ...obj, metadata: { ...obj.metadata } };
  if (copy.kind === 'Secret' && copy.stringData && typeof copy.stringData === 'object') {
    copy.data = {
      ...(copy.data as Record<string, string> | undefined),
      ...encodeSecretData(copy.stringData as Record<string, string>),
    };
    delete copy.stringData;
  }
  return copy;
}

/** The hash the applied-hash annotation carries for a desired object. */
export function appliedHash(obj: KubeObject): string {
  return sha256(canonicalJson(obj));
}

function alreadyApplied(obj: KubeObject, hash: string, cached: ApiObject | undefined): boolean {
  return (
    cached !== undefined &&
    cached.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === hash &&
    upToDate(obj as ApiObject, cached)
  );
}

/**
 * Applies `desired` in order. Refusals by the API server (any answer with an HTTP status) are collected, not
 * thrown; a request that never got an answer (connection lost) is thrown, since nothing can be recorded then.
 */
export async function applyDesired(desired: readonly KubeObject[], ctx: ApplyContext): Promise<ApplyOutcome> {
  const outcome: ApplyOutcome = {
    created: [],
    updated: [],
    previous: new Map(),
    failed: [],
    heldBack: [],
    writes: 0,
  };
  const names = new Set(desired.map(objectRef));
  const notApplied = new Map<string, string>(); // Kind/name → the refused object it traces back to
  for (const raw of desired) {
    const ref = objectRef(raw);
    const blocker = dependenciesOf(raw, names).find((d) => notApplied.has(d));
    if (blocker) {
      const root = notApplied.get(blocker)!;
      notApplied.set(ref, root);
      outcome.heldBack.push({ object: ref, waitsFor: blocker });
      continue;
    }
    const obj = normalizeForApply(raw);
    const hash = appliedHash(obj);
    const ns = obj.metadata.namespace ?? '';
    const cached = ctx.cached(obj.kind, ns, obj.metadata.name);
    if (alreadyApplied(obj, hash, cached)) continue;
    try {
      const decision: ApplyDecision = ctx.beforeApply
        ? await ctx.beforeApply(obj, cached)
        : { action: 'apply', object: obj };
      outcome.writes += decision.writes ?? 0;
      if (decision.action === 'keep') continue;
      const body = decision.object;
      body.metadata.annotations = { ...body.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash };
      await ctx.client.apply(body as ApiObject, true);
      outcome.writes++;
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.code === 0) throw err;
      const failure: ApplyFailure = {
        object: ref,
        code: err.code,
        reason: err.reason,
        message: ctx.redact(err.serverMessage),
      };
      outcome.failed.push(failure);
      notApplied.set(ref, ref);
      ctx.log.warn('the API server refused an object', { ...failure });
      continue;
    }
    (cached ? outcome.updated : outcome.created).push(ref);
    if (cached) outcome.previous.set(ref, cached);
    ctx.log.debug(cached ? 'updated object' : 'created object', { kind: obj.kind, name: obj.metadata.name });
  }
  return outcome;
}
