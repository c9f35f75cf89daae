/**
 * Storage changes a plain apply cannot make. A StatefulSet's volumeClaimTemplates are immutable and the
 * claims it made are not updated from them, a PersistentVolumeClaim's storage class is immutable and its size
 * may only grow, and only when its StorageClass allows expansion. So before anything is applied:
 * - a class change or a shrink is refused (src/api/storage-transition.ts), and so is growth the StorageClass
 *   does not allow: nothing of that spec is applied, ConfigValid says which field and how to fix it;
 * - growth of a StatefulSet's volumes patches each claim it made, then deletes the StatefulSet with
 *   propagationPolicy Orphan: its pods keep running, and the StatefulSet the next reconcile creates (with the
 *   new template) adopts them;
 * - growth of the backup claim is applied as usual once the StorageClass allows it.
 */
import { pitrClaimName } from '../render/pitr.js';
import type { Problem } from '../api/problems.js';
import { parseQuantity } from '../api/quantity.js';
import {
  expansionRefused,
  grows,
  storageTransitionProblems,
  type ExistingVolume,
  type WantedVolume,
} from '../api/storage-transition.js';
import type { ResolvedFlashSaleStack } from '../api/types.js';
import type { KubeObject } from '../render/common.js';
import { objectRef } from './dependencies.js';
import type { EventType } from './events.js';
import type { ApiObject, KubeClient } from './kube-client.js';
import { KubeApiError } from './kube-client.js';
import type { Logger } from './logger.js';
import type { ObjectCache } from './reconciler.js';
import { resourceTypeByKind } from './resources.js';
import type { Activity } from './status/progressing.js';

/** The claim template name of every data volume render emits (src/render/resources.ts). */
const DATA_TEMPLATE = 'data';

/**
 * What this operator already did, by object uid, so a reconcile that runs before the informer cache caught up
 * does not repeat it (a second orphan delete, a second claim patch).
 */
export interface VolumeMemory {
  /** uids of StatefulSets deleted for replacement. */
  deletedSets: Set<string>;
  /** Claim uid → the size requested for it. */
  requestedClaims: Map<string, string>;
}

export interface VolumeDeps {
  client: KubeClient;
  cache: ObjectCache;
  memory: VolumeMemory;
  log: Logger;
  record(type: EventType, reason: string, message: string): Promise<void>;
}

export interface VolumeOutcome {
  /** The change cannot be made: apply nothing, and say why. */
  refused?: { reason: 'StorageChangeRefused' | 'VolumeExpansionNotSupported'; problems: Problem[] };
  /** StatefulSets (`Kind/name`) not to apply this round: they are being replaced. */
  hold: Set<string>;
  activity?: Activity;
  writes: number;
}

/** Anything with a `spec` (objects, claim templates). */
type Specced = { spec?: unknown; [field: string]: unknown };

interface ClaimSpec {
  storageClassName?: string;
  resources?: { requests?: { storage?: string } };
}

function claimSpec(o: Specced | undefined): ClaimSpec {
  return (o?.spec ?? {}) as ClaimSpec;
}

function requested(o: Specced | undefined): string | undefined {
  return claimSpec(o).resources?.requests?.storage;
}

function dataTemplate(sts: Specced | undefined): Specced | undefined {
  const templates = ((sts?.spec ?? {}) as { volumeClaimTemplates?: { metadata?: { name?: string } }[] })
    .volumeClaimTemplates;
  return templates?.find((t) => t.metadata?.name === DATA_TEMPLATE) as Specced | undefined;
}

function largest(sizes: (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const s of sizes) {
    if (s === undefined) continue;
    if (best === undefined || (parseQuantity(s) ?? 0) > (parseQuantity(best) ?? 0)) best = s;
  }
  return best;
}

/** The claims a StatefulSet made from its data template: `data-<set>-<ordinal>`. */
function claimsOf(cache: ObjectCache, stack: ResolvedFlashSaleStack, set: string): ApiObject[] {
  const prefix = `${DATA_TEMPLATE}-${set}-`;
  return cache
    .listForStack('PersistentVolumeClaim', stack.metadata.namespace, stack.metadata.name)
    .filter((c) => c.metadata.name.startsWith(prefix) && /^\d+$/.test(c.metadata.name.slice(prefix.length)));
}

/**
 * The capacity the PostgreSQL data volumes have (the smallest claim's `status.capacity`), once they exist:
 * render sizes max_wal_size from it, so that setting follows the disk only after the disk grew.
 */
export function postgresVolumeSize(cache: ObjectCache, stack: ResolvedFlashSaleStack): string | undefined {
  const capacities = claimsOf(cache, stack, `${stack.metadata.name}-postgres`).map(
    (c) => (c.status as { capacity?: { storage?: string } } | undefined)?.capacity?.storage,
  );
  if (capacities.length === 0 || capacities.some((c) => c === undefined)) return undefined;
  return capacities.reduce((a, b) => ((parseQuantity(a!) ?? 0) <= (parseQuantity(b!) ?? 0) ? a : b));
}

/** One volume set: what exists, what is wanted, and what growing it takes. */
interface VolumeChange {
  existing: ExistingVolume;
  wanted: WantedVolume;
  unsetClassKeepsLive: boolean;
  /** Claims to patch to the wanted size. */
  claims: ApiObject[];
  /** The StatefulSet to replace (its template is smaller than wanted). */
  replace?: ApiObject;
  /** The class whose allowVolumeExpansion decides growth. */
  className?: string;
  growing: boolean;
}

function beingReplaced(live: ApiObject | undefined, memory: VolumeMemory): boolean {
  return (
    live !== undefined &&
    (!!live.metadata.deletionTimestamp || memory.deletedSets.has(live.metadata.uid ?? ''))
  );
}

function statefulSetChange(
  cache: ObjectCache,
  memory: VolumeMemory,
  stack: ResolvedFlashSaleStack,
  desired: KubeObject,
): VolumeChange | undefined {
  const wantedTemplate = dataTemplate(desired);
  const size = requested(wantedTemplate);
  if (!wantedTemplate || size === undefined) return undefined;
  const component = desired.metadata.labels?.['app.kubernetes.io/component'] ?? desired.metadata.name;
  const live = cache.get('StatefulSet', stack.metadata.namespace, desired.metadata.name);
  const liveTemplate = dataTemplate(live);
  const claims = claimsOf(cache, stack, desired.metadata.name);
  if (!liveTemplate && claims.length === 0) return undefined;
  const wanted: WantedVolume = { size, storageClassName: claimSpec(wantedTemplate).storageClassName };
  const existingSize = largest([requested(liveTemplate), ...claims.map((c) => requested(c))]) ?? size;
  const smallClaims = claims.filter(
    (c) =>
      grows({ size: requested(c) ?? size }, wanted) &&
      memory.requestedClaims.get(c.metadata.uid ?? '') !== size,
  );
  const replace =
    live && !beingReplaced(live, memory) && grows({ size: requested(liveTemplate) ?? size }, wanted)
      ? live
      : undefined;
  return {
    existing: {
      path: `spec.${component}.storage`,
      storageClassName: liveTemplate
        ? claimSpec(liveTemplate).storageClassName
        : claimSpec(claims[0]).storageClassName,
      size: existingSize,
    },
    wanted,
    unsetClassKeepsLive: !liveTemplate,
    claims: smallClaims,
    replace,
    className:
      claimSpec(claims[0]).storageClassName ??
      wanted.storageClassName ??
      claimSpec(liveTemplate).storageClassName,
    growing: smallClaims.length > 0 || replace !== undefined,
  };
}

function claimChange(
  cache: ObjectCache,
  stack: ResolvedFlashSaleStack,
  desired: KubeObject,
): VolumeChange | undefined {
  const live = cache.get('PersistentVolumeClaim', stack.metadata.namespace, desired.metadata.name);
  const size = requested(desired);
  const liveSize = requested(live);
  if (!live || size === undefined || liveSize === undefined) return undefined;
  const wanted: WantedVolume = { size, storageClassName: claimSpec(desired).storageClassName };
  return {
    existing: {
      path:
        desired.metadata.name === pitrClaimName(stack) ? 'spec.backup.pitr.storage' : 'spec.backup.storage',
      storageClassName: claimSpec(live).storageClassName,
      size: liveSize,
    },
    wanted,
    unsetClassKeepsLive: true,
    claims: [],
    className: claimSpec(live).storageClassName ?? wanted.storageClassName,
    growing: grows({ size: liveSize }, wanted),
  };
}

/** Why the StorageClass does not let the volume grow, or undefined when it does. */
async function expansionBlocker(
  client: KubeClient,
  className: string | undefined,
): Promise<string | undefined> {
  if (className === undefined) {
    return 'the claims name no StorageClass, so expansion cannot be checked';
  }
  try {
    const sc = await client.get(resourceTypeByKind('StorageClass'), undefined, className);
    if ((sc as { allowVolumeExpansion?: boolean }).allowVolumeExpansion === true) return undefined;
    return `StorageClass "${className}" does not allow volume expansion (allowVolumeExpansion is not true)`;
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.code === 0) throw err;
    return err.code === 404
      ? `StorageClass "${className}" does not exist`
      : `StorageClass "${className}" cannot be read (${err.code} ${err.reason}: ${err.serverMessage})`;
  }
}

/**
 * Judges and performs the storage part of `desired` before it is applied (see the header). Refusals change
 * nothing; growth patches claims and replaces StatefulSets.
 */
export async function prepareVolumes(
  stack: ResolvedFlashSaleStack,
  desired: readonly KubeObject[],
  deps: VolumeDeps,
): Promise<VolumeOutcome> {
  const outcome: VolumeOutcome = { hold: new Set(), writes: 0 };
  const changes: VolumeChange[] = [];
  for (const obj of desired) {
    if (obj.kind === 'StatefulSet') {
      const live = deps.cache.get('StatefulSet', stack.metadata.namespace, obj.metadata.name);
      if (beingReplaced(live, deps.memory)) {
        outcome.hold.add(objectRef(obj));
        outcome.activity = {
          reason: 'ReplacingStatefulSet',
          message: `Waiting for the old ${objectRef(obj)} to be deleted (its pods keep running); the new one adopts them.`,
        };
      }
    }
    const change =
      obj.kind === 'StatefulSet'
        ? statefulSetChange(deps.cache, deps.memory, stack, obj)
        : obj.kind === 'PersistentVolumeClaim'
          ? claimChange(deps.cache, stack, obj)
          : undefined;
    if (change) changes.push(change);
  }

  const refusals = changes.flatMap((c) =>
    storageTransitionProblems(c.existing, c.wanted, c.unsetClassKeepsLive),
  );
  if (refusals.length > 0)
    return { ...outcome, refused: { reason: 'StorageChangeRefused', problems: refusals } };
  const blocked: Problem[] = [];
  for (const c of changes.filter((x) => x.growing)) {
    const why = await expansionBlocker(deps.client, c.className);
    if (why) blocked.push(expansionRefused(c.existing.path, c.wanted.size, why));
  }
  if (blocked.length > 0)
    return { ...outcome, refused: { reason: 'VolumeExpansionNotSupported', problems: blocked } };

  const pvcs = resourceTypeByKind('PersistentVolumeClaim');
  for (const c of changes.filter((x) => x.growing)) {
    if (c.claims.length > 0) {
      for (const claim of c.claims) {
        await deps.client.mergePatch(pvcs, claim.metadata.namespace, claim.metadata.name, {
          spec: { resources: { requests: { storage: c.wanted.size } } },
        });
        deps.memory.requestedClaims.set(claim.metadata.uid ?? '', c.wanted.size);
        outcome.writes++;
      }
      await deps.record(
        'Normal',
        'VolumeExpansion',
        `Requested ${c.wanted.size} for PersistentVolumeClaim ${c.claims.map((x) => x.metadata.name).join(', ')} (${c.existing.path}.size was ${c.existing.size}).`,
      );
    }
    if (c.replace) {
      const name = c.replace.metadata.name;
      await deps.client.delete(
        resourceTypeByKind('StatefulSet'),
        c.replace.metadata.namespace,
        name,
        'Orphan',
        c.replace.metadata.uid,
      );
      deps.memory.deletedSets.add(c.replace.metadata.uid ?? '');
      outcome.writes++;
      outcome.hold.add(`StatefulSet/${name}`);
      outcome.activity = {
        reason: 'ReplacingStatefulSet',
        message: `Replacing StatefulSet/${name} to grow its volumes to ${c.wanted.size}: deleted with propagationPolicy Orphan, so its pods keep running; the new StatefulSet adopts them.`,
      };
      await deps.record(
        'Normal',
        'StatefulSetReplaced',
        `Deleted StatefulSet ${name} with propagationPolicy Orphan to change its volumeClaimTemplates (${c.existing.path}.size ${c.existing.size} → ${c.wanted.size}); its pods keep running and the new StatefulSet adopts them.`,
      );
      deps.log.info('replacing a StatefulSet to grow its volumes', { name, size: c.wanted.size });
    }
  }
  return outcome;
}
