/**
 * One reconcile of one FlashSaleStack: validate → render → apply (src/controller/apply.ts) → prune → judge
 * status (src/controller/status/) → write `.status` once → Events on transitions.
 *
 * This file applies; it does not judge. Everything the reconcile needs from the rest of the operator comes in
 * through `ReconcilerDeps`, so the pure parts (validation, render, backup and health status) stay where they
 * are and this file stays IO glue.
 */
import type { Problem } from '../api/problems.js';
import type {
  BackupRecord,
  BaseBackupRecord,
  ComponentHealth,
  ComponentName,
  FlashSaleStack,
  FlashSaleStackStatus,
  ResolvedFlashSaleStack,
} from '../api/types.js';
import { API_VERSION, KIND } from '../api/types.js';
import type { KubernetesVersion } from '../kubernetes/version.js';
import type { ApiServerEndpoints, KubeObject, RenderInputs, StackSecrets } from '../render/common.js';
import type { RenderResult } from '../render/index.js';
import { STACK_LABEL } from '../render/common.js';
import { POSTGRES_USERNAME } from '../render/resources.js';
import { applyDesired, normalizeForApply, type ApplyDecision, type ApplyOutcome } from './apply.js';
import type { ConditionInput } from './conditions.js';
import { findCondition } from './conditions.js';
import type { EventRecorder, EventType } from './events.js';
import { objectRef } from './dependencies.js';
import { keepsExistingJob } from './jobs.js';
import type { ApiObject, KubeClient } from './kube-client.js';
import { isConflict, isNotFound } from './kube-client.js';
import type { Logger } from './logger.js';
import { prepareAutoscaledWorkload } from './replicas-handover.js';
import { postgresVolumeSize, prepareVolumes, type VolumeMemory } from './volumes.js';
import { resourceTypeByKind, resourceTypeFor } from './resources.js';
import {
  decodeSecretData,
  encodeSecretData,
  generatedSecretName,
  generateStackSecrets,
  secretRedactor,
  stackSecretsFrom,
} from './secrets.js';
import { stackComponents } from './status/components.js';
import { statusEvents } from './status/events.js';
import {
  pausedStatus,
  refusedStatus,
  stackStatus,
  waitingStatus,
  type HealthView,
  type LiveWorkloads,
} from './status/index.js';
import { mergePatchBetween, statusEqual } from './status/patch.js';
import { failureLine } from './status/progressing.js';

export { APPLIED_HASH_ANNOTATION, normalizeForApply } from './apply.js';
export { mergePatchBetween } from './status/patch.js';

export const FINALIZER = 'flashsale.dev/finalizer';
export const BACKUP_NOW_ANNOTATION = 'flashsale.dev/backup-now';
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=flash-sale-operator';

/** Read access to the informer caches of owned kinds. */
export interface ObjectCache {
  get(kind: string, namespace: string, name: string): ApiObject | undefined;
  /** Cached objects of `kind` in `namespace` carrying the stack label for `stack`. */
  listForStack(kind: string, namespace: string, stack: string): ApiObject[];
  /** Kinds the cache holds (and so the kinds that can be pruned). */
  kinds(): readonly string[];
}

/** Jobs whose results feed BackupHealthy: dumps, and the base backups of spec.backup.pitr. */
const BACKUP_JOB_COMPONENTS = new Set(['backup', 'basebackup']);

function backupsJudged(stack: ResolvedFlashSaleStack): boolean {
  return stack.spec.backup.enabled || stack.spec.backup.pitr.enabled;
}

export interface BackupStatusResult {
  lastBackup?: BackupRecord;
  lastSuccessfulBackup?: BackupRecord;
  lastBaseBackup?: BaseBackupRecord;
  lastSuccessfulBaseBackup?: BaseBackupRecord;
  condition: ConditionInput;
}

export interface HealthSnapshot {
  health: Partial<Record<ComponentName, ComponentHealth>>;
  conditions: ConditionInput[];
}

export interface ReconcilerDeps {
  client: KubeClient;
  cache: ObjectCache;
  events: EventRecorder;
  log: Logger;
  validate(doc: unknown): Problem[];
  applyDefaults(stack: FlashSaleStack): ResolvedFlashSaleStack;
  render(stack: ResolvedFlashSaleStack, inputs: RenderInputs): RenderResult;
  /** The on-demand backup Job for a `flashsale.dev/backup-now` value (and the final backup on delete). */
  renderBackupNowJob?(stack: ResolvedFlashSaleStack, inputs: RenderInputs, value: string): KubeObject;
  /** Backup status from the stack's backup Jobs and, for finished ones, their pods' termination messages. */
  backupStatus?(
    jobs: ApiObject[],
    stack: ResolvedFlashSaleStack,
    now: Date,
    pods?: ApiObject[],
  ): BackupStatusResult;
  /** The latest material health result for a stack, if the probe loop has one. */
  health?(key: string): HealthSnapshot | undefined;
  /**
   * Called when an apply changed the PostgreSQL ConfigMap of a running stack: parameters that need no restart
   * are applied live (pg_reload_conf), the pod template checksum only covers those that do.
   */
  postgresConfigChanged?(
    stack: ResolvedFlashSaleStack,
    secrets: StackSecrets,
    before: ApiObject,
    after: KubeObject,
    /** Records an Event on the stack (e.g. ParametersReloaded, ReloadFailed). */
    record: (type: EventType, reason: string, message: string) => Promise<void>,
  ): void;
  /** Tell the probe loop about the stack (start/refresh probing) or that it is gone. */
  trackHealth?(stack: ResolvedFlashSaleStack, secrets: StackSecrets): void;
  untrackHealth?(key: string): void;
  /** Whether probes run at all (false with --no-health): without them health is Unknown, not healthy. */
  healthProbes: boolean;
  prometheusOperatorAvailable(): boolean;
  /** The API server's version, read at start (render emits only fields this server has). */
  kubernetesVersion(): KubernetesVersion;
  /** Where the API server listens (the `kubernetes` EndpointSlice), read at start and on every resync. */
  kubernetesApiServer?(): ApiServerEndpoints | undefined;
  operatorNamespace: string;
  now(): Date;
  /** The capacity floor FlashSales hold on the stack (src/sales/capacity.ts); undefined: none. */
  capacityFloor?(namespace: string, stack: string): RenderInputs['capacityFloor'];
}

export interface ReconcileResult {
  /** Re-run after this many ms even without events (waiting on a Job, a missing Secret...). */
  requeueAfterMs?: number;
  /** Set when the API server refused part of the spec: the stack is retried with exponential backoff. */
  failed?: string;
  writes: number;
  /** The status this reconcile settled on (for metrics). */
  status?: FlashSaleStackStatus;
}

type NamedStack = FlashSaleStack & { metadata: { name: string; namespace: string } };

export class Reconciler {
  /**
   * Pods of finished backup Jobs, by Job uid. A finished Job never changes, so its pods (whose termination
   * message carries the dump's file name and size) are read once, not on every reconcile.
   */
  private readonly finishedJobPods = new Map<string, ApiObject[]>();
  /** Volume growth steps already taken (see VolumeMemory), shared by every reconcile of this operator. */
  private readonly volumeMemory: VolumeMemory = { deletedSets: new Set(), requestedClaims: new Map() };

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(stack: NamedStack): Promise<ReconcileResult> {
    const key = `${stack.metadata.namespace}/${stack.metadata.name}`;
    const log = this.deps.log.child({ stack: key });
    const counter = { writes: 0 };
    const obj = stack as unknown as ApiObject;

    if (stack.metadata.deletionTimestamp) {
      return this.finalize(stack, obj, log, counter);
    }

    const problems = this.deps.validate(stack);
    if (problems.length > 0) {
      await this.settle(obj, stack, refusedStatus(stack, 'InvalidSpec', problems, this.deps.now()), counter);
      return { writes: counter.writes };
    }
    const resolved = this.deps.applyDefaults(stack);

    if (resolved.spec.paused) {
      await this.settle(obj, stack, pausedStatus(stack, this.deps.now()), counter);
      return { writes: counter.writes };
    }

    if (!(stack.metadata.finalizers ?? []).includes(FINALIZER)) {
      await this.deps.client.jsonPatch(
        resourceTypeByKind(KIND),
        stack.metadata.namespace,
        stack.metadata.name,
        [
          { op: 'test', path: '/metadata/resourceVersion', value: stack.metadata.resourceVersion },
          stack.metadata.finalizers
            ? { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }
            : { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
        ],
      );
      counter.writes++;
    }

    const secretsResult = await this.stackSecrets(resolved, counter);
    if ('missing' in secretsResult) {
      const waiting = waitingStatus(
        stack,
        'CredentialsSecretMissing',
        secretsResult.missing,
        this.deps.now(),
      );
      await this.settle(obj, stack, waiting, counter);
      return { writes: counter.writes, requeueAfterMs: 30_000 };
    }
    const inputs: RenderInputs = {
      ...this.renderInputs(secretsResult.secrets),
      postgresVolumeSize: postgresVolumeSize(this.deps.cache, resolved),
      ...floorInput(this.deps.capacityFloor?.(stack.metadata.namespace, stack.metadata.name)),
    };

    const rendered = this.deps.render(resolved, inputs);
    const desired = [...rendered.objects];
    const backupNow = stack.metadata.annotations?.[BACKUP_NOW_ANNOTATION];
    if (backupNow && resolved.spec.backup.enabled && this.deps.renderBackupNowJob) {
      desired.push(this.deps.renderBackupNowJob(resolved, inputs, backupNow));
    }

    const volumes = await prepareVolumes(resolved, desired, {
      client: this.deps.client,
      cache: this.deps.cache,
      memory: this.volumeMemory,
      log,
      record: (type, reason, message) => this.deps.events.record(obj, type, reason, message),
    });
    counter.writes += volumes.writes;
    if (volumes.refused) {
      const { reason, problems: refusals } = volumes.refused;
      await this.settle(obj, stack, refusedStatus(stack, reason, refusals, this.deps.now()), counter);
      return { writes: counter.writes };
    }

    const outcome = await this.apply(desired, secretsResult.secrets, volumes.hold, log);
    counter.writes += outcome.writes;
    this.configChanged(resolved, secretsResult.secrets, obj, desired, outcome);
    const pruned = await this.prune(stack, desired, log, counter);
    this.deps.trackHealth?.(resolved, secretsResult.secrets);

    const backupPods = await this.backupJobPods(resolved);
    const status = stackStatus({
      stack,
      resolved,
      live: this.liveWorkloads(resolved),
      warnings: rendered.warnings,
      notices: rendered.notices,
      failed: outcome.failed,
      heldBack: outcome.heldBack,
      fullyApplied: volumes.hold.size === 0,
      activity: volumes.activity,
      backup: this.backupResult(resolved, backupPods),
      health: this.healthView(key),
      now: this.deps.now(),
    });
    await this.recordChanges(obj, outcome, pruned);
    await this.settle(obj, stack, status, counter);

    const ready = findCondition(status.conditions, 'Ready')?.status === 'True';
    return {
      writes: counter.writes,
      requeueAfterMs: ready ? undefined : 15_000,
      status,
      ...(outcome.failed.length > 0 ? { failed: outcome.failed.map(failureLine).join('; ') } : {}),
    };
  }

  private renderInputs(secrets: StackSecrets): RenderInputs {
    return {
      secrets,
      prometheusOperatorAvailable: this.deps.prometheusOperatorAvailable(),
      operatorNamespace: this.deps.operatorNamespace,
      kubernetesVersion: this.deps.kubernetesVersion(),
      kubernetesApiServer: this.deps.kubernetesApiServer?.(),
    };
  }

  // --- apply ---------------------------------------------------------------------------------------------

  private apply(
    desired: KubeObject[],
    secrets: StackSecrets,
    hold: ReadonlySet<string>,
    log: Logger,
  ): Promise<ApplyOutcome> {
    return applyDesired(desired, {
      client: this.deps.client,
      cached: (kind, ns, name) => this.deps.cache.get(kind, ns, name),
      log,
      redact: secretRedactor(secrets),
      beforeApply: (obj, cached) => this.beforeApply(desired, obj, cached, hold, log),
    });
  }

  /** The per-kind rules an object goes through right before it is applied. */
  private async beforeApply(
    desired: readonly KubeObject[],
    obj: KubeObject,
    cached: ApiObject | undefined,
    hold: ReadonlySet<string>,
    log: Logger,
  ): Promise<ApplyDecision> {
    if (hold.has(objectRef(obj))) return { action: 'keep' };
    if (keepsExistingJob(obj, cached)) {
      log.debug('Job template changed; the existing Job is kept as the record of what ran', {
        name: obj.metadata.name,
      });
      return { action: 'keep' };
    }
    if (obj.kind === 'Deployment') return prepareAutoscaledWorkload(this.deps.client, desired, obj, cached);
    return { action: 'apply', object: obj };
  }

  /** Hands a changed PostgreSQL ConfigMap to the live-reload logic (reload vs restart). */
  private configChanged(
    resolved: ResolvedFlashSaleStack,
    secrets: StackSecrets,
    obj: ApiObject,
    desired: readonly KubeObject[],
    outcome: ApplyOutcome,
  ): void {
    const pgConfigName = `${resolved.metadata.name}-postgres`;
    const pgBefore = outcome.previous.get(`ConfigMap/${pgConfigName}`);
    const pgAfter = desired.find((o) => o.kind === 'ConfigMap' && o.metadata.name === pgConfigName);
    if (pgBefore && pgAfter && this.deps.postgresConfigChanged) {
      this.deps.postgresConfigChanged(resolved, secrets, pgBefore, pgAfter, (type, reason, message) =>
        this.deps.events.record(obj, type, reason, message),
      );
    }
  }

  // --- secrets -------------------------------------------------------------------------------------------

  private async stackSecrets(
    stack: ResolvedFlashSaleStack,
    counter: { writes: number },
  ): Promise<{ secrets: StackSecrets } | { missing: string }> {
    const ns = stack.metadata.namespace;
    const name = generatedSecretName(stack.metadata.name);
    const cached = this.deps.cache.get('Secret', ns, name);
    let secrets = cached ? stackSecretsFrom(decodeSecretData(cached.data)) : undefined;
    if (!secrets) {
      const secretType = resourceTypeByKind('Secret');
      const live = cached ?? (await this.deps.client.getOrNull(secretType, ns, name));
      const existing = live ? decodeSecretData(live.data) : {};
      secrets = live ? stackSecretsFrom(existing) : undefined;
      if (!secrets) {
        // Keep every value that exists (never rotate a password behind a running database); fill the rest.
        const merged = { ...generateStackSecrets(), ...existing } as unknown as StackSecrets;
        const body: ApiObject = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name,
            namespace: ns,
            labels: {
              'app.kubernetes.io/managed-by': 'flash-sale-operator',
              'app.kubernetes.io/part-of': 'flash-sale-stack',
              'app.kubernetes.io/instance': stack.metadata.name,
              [STACK_LABEL]: stack.metadata.name,
            },
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: KIND,
                name: stack.metadata.name,
                uid: stack.metadata.uid ?? '',
                controller: true,
              },
            ],
          },
          type: 'Opaque',
          data: encodeSecretData(merged as unknown as Record<string, string>),
        };
        try {
          // A merge patch that names the resourceVersion it read: a concurrent writer makes it a 409, as an
          // update would, and the operator needs no `update` on every Secret for it.
          if (live)
            await this.deps.client.mergePatch(secretType, ns, name, {
              metadata: {
                ...pickRv(live),
                labels: body.metadata.labels,
                ownerReferences: body.metadata.ownerReferences,
              },
              data: body.data,
            });
          else await this.deps.client.create(body);
          counter.writes++;
          secrets = merged;
        } catch (err) {
          if (!isConflict(err)) throw err;
          // Someone (another reconcile before a leader change) created it first: use theirs.
          const again = await this.deps.client.get(secretType, ns, name);
          secrets = stackSecretsFrom(decodeSecretData(again.data));
          if (!secrets) throw err;
        }
      }
    }
    const userSecret = stack.spec.postgres.credentialsSecret;
    if (userSecret) {
      const live = await this.deps.client.getOrNull(resourceTypeByKind('Secret'), ns, userSecret);
      const data = live ? decodeSecretData(live.data) : {};
      if (!live || !data.password) {
        return {
          missing: `Secret ${ns}/${userSecret} named by spec.postgres.credentialsSecret ${
            live ? 'has no key "password"' : 'does not exist'
          }; create it with keys "username" and "password".`,
        };
      }
      if (data.username !== undefined && data.username !== POSTGRES_USERNAME) {
        // PgBouncer's userlist, the exporter, backups and the API all log in as this user (see render).
        return {
          missing: `Secret ${ns}/${userSecret} named by spec.postgres.credentialsSecret has username "${data.username}"; the stack's database user is "${POSTGRES_USERNAME}": set username to "${POSTGRES_USERNAME}" (or leave it out).`,
        };
      }
      secrets = { ...secrets, postgresPassword: data.password };
    }
    return { secrets };
  }

  // --- prune ---------------------------------------------------------------------------------------------

  private async prune(
    stack: NamedStack,
    desired: KubeObject[],
    log: Logger,
    counter: { writes: number },
  ): Promise<string[]> {
    const want = new Set(desired.map((o) => `${o.kind}/${o.metadata.name}`));
    want.add(`Secret/${generatedSecretName(stack.metadata.name)}`);
    const pruned: string[] = [];
    for (const kind of this.deps.cache.kinds()) {
      if (kind === KIND) continue;
      for (const obj of this.deps.cache.listForStack(kind, stack.metadata.namespace, stack.metadata.name)) {
        const ownedByStack = (obj.metadata.ownerReferences ?? []).some(
          (r) => r.controller && r.uid === stack.metadata.uid,
        );
        if (!ownedByStack || want.has(`${kind}/${obj.metadata.name}`)) continue;
        // Jobs from backup-now and the final backup are records, not desired state: keep them.
        if (kind === 'Job' && obj.metadata.annotations?.[BACKUP_NOW_ANNOTATION] !== undefined) continue;
        await this.deps.client.delete(resourceTypeByKind(kind), obj.metadata.namespace, obj.metadata.name);
        counter.writes++;
        pruned.push(`${kind}/${obj.metadata.name}`);
        log.info('pruned object no longer rendered', { kind, name: obj.metadata.name });
      }
    }
    return pruned;
  }

  // --- status --------------------------------------------------------------------------------------------

  private liveWorkloads(stack: ResolvedFlashSaleStack): LiveWorkloads {
    const out: LiveWorkloads = {};
    for (const { component, kind } of stackComponents(stack)) {
      const w = this.deps.cache
        .listForStack(kind, stack.metadata.namespace, stack.metadata.name)
        .find((o) => o.metadata.labels?.['app.kubernetes.io/component'] === component);
      if (w) out[component] = w;
    }
    return out;
  }

  private healthView(key: string): HealthView {
    if (!this.deps.healthProbes) return { state: 'disabled' };
    const snapshot = this.deps.health?.(key);
    return snapshot ? { state: 'measured', snapshot } : { state: 'pending' };
  }

  private backupResult(stack: ResolvedFlashSaleStack, pods: ApiObject[]): BackupStatusResult | undefined {
    if (!backupsJudged(stack) || !this.deps.backupStatus) return undefined;
    return this.deps.backupStatus(this.backupJobs(stack), stack, this.deps.now(), pods);
  }

  private backupJobs(stack: ResolvedFlashSaleStack): ApiObject[] {
    return this.deps.cache
      .listForStack('Job', stack.metadata.namespace, stack.metadata.name)
      .filter((j) => BACKUP_JOB_COMPONENTS.has(j.metadata.labels?.['app.kubernetes.io/component'] ?? ''));
  }

  private async backupJobPods(stack: ResolvedFlashSaleStack): Promise<ApiObject[]> {
    if (!backupsJudged(stack) || !this.deps.backupStatus) return [];
    const jobs = this.backupJobs(stack);
    const live = new Set(jobs.map((j) => j.metadata.uid ?? ''));
    for (const uid of [...this.finishedJobPods.keys()]) if (!live.has(uid)) this.finishedJobPods.delete(uid);
    const pods: ApiObject[] = [];
    for (const job of jobs) {
      const uid = job.metadata.uid ?? '';
      const conds =
        ((job.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions ?? [];
      const finished = conds.some(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      if (!finished) continue;
      let found = this.finishedJobPods.get(uid);
      if (!found) {
        const list = await this.deps.client.list(resourceTypeByKind('Pod'), job.metadata.namespace, {
          labelSelector: `job-name=${job.metadata.name}`,
        });
        found = list.items;
        this.finishedJobPods.set(uid, found);
      }
      pods.push(...found);
    }
    return pods;
  }

  /** Writes `status` (when it changed) and the Events its transitions call for. */
  private async settle(
    obj: ApiObject,
    stack: FlashSaleStack,
    status: FlashSaleStackStatus,
    counter: { writes: number },
  ): Promise<void> {
    const old = stack.status ?? {};
    if (statusEqual(old, status)) return;
    await this.deps.client.mergePatch(
      resourceTypeByKind(KIND),
      obj.metadata.namespace,
      obj.metadata.name,
      { status: mergePatchBetween(old, status) },
      'status',
    );
    counter.writes++;
    for (const e of statusEvents(stack.status, status)) {
      await this.deps.events.record(obj, e.type, e.reason, e.message);
    }
  }

  private async recordChanges(obj: ApiObject, outcome: ApplyOutcome, pruned: string[]): Promise<void> {
    const ev = this.deps.events;
    if (outcome.created.length > 0)
      await ev.record(obj, 'Normal', 'Created', summarize('Created', outcome.created));
    if (outcome.updated.length > 0)
      await ev.record(obj, 'Normal', 'Updated', summarize('Updated', outcome.updated));
    if (pruned.length > 0) await ev.record(obj, 'Normal', 'Pruned', summarize('Deleted', pruned));
  }

  // --- deletion ------------------------------------------------------------------------------------------

  private async finalize(
    stack: NamedStack,
    obj: ApiObject,
    log: Logger,
    counter: { writes: number },
  ): Promise<ReconcileResult> {
    const key = `${stack.metadata.namespace}/${stack.metadata.name}`;
    this.deps.untrackHealth?.(key);
    const finalizers = stack.metadata.finalizers ?? [];
    if (!finalizers.includes(FINALIZER)) return { writes: 0 };

    const valid = this.deps.validate(stack).length === 0;
    const resolved = valid ? this.deps.applyDefaults(stack) : undefined;
    if (
      resolved &&
      resolved.spec.backup.enabled &&
      resolved.spec.backup.onDelete &&
      this.deps.renderBackupNowJob
    ) {
      const secrets = await this.stackSecrets(resolved, counter);
      if ('secrets' in secrets) {
        const inputs: RenderInputs = {
          ...this.renderInputs(secrets.secrets),
          prometheusOperatorAvailable: false,
        };
        const job = normalizeForApply(
          this.deps.renderBackupNowJob(resolved, inputs, `final-${stack.metadata.uid}`),
        );
        // The final backup must outlive the stack: no owner reference, or GC would delete it with the stack.
        delete job.metadata.ownerReferences;
        const jobType = resourceTypeFor(job.apiVersion, job.kind);
        const live = await this.deps.client.getOrNull(jobType, job.metadata.namespace, job.metadata.name);
        if (!live) {
          await this.deps.client.apply(job as ApiObject, true);
          counter.writes++;
          await this.deps.events.record(
            obj,
            'Normal',
            'FinalBackupStarted',
            `Job ${job.metadata.name} takes a last backup before deletion.`,
          );
          return { writes: counter.writes, requeueAfterMs: 5_000 };
        }
        const st = (live.status ?? {}) as {
          succeeded?: number;
          failed?: number;
          conditions?: { type: string; status: string }[];
        };
        const failed = st.conditions?.some((c) => c.type === 'Failed' && c.status === 'True');
        const complete = st.conditions?.some((c) => c.type === 'Complete' && c.status === 'True');
        if (!failed && !complete) return { writes: counter.writes, requeueAfterMs: 5_000 };
        if (failed) {
          await this.deps.events.record(
            obj,
            'Warning',
            'FinalBackupFailed',
            `Job ${job.metadata.name} failed; deleting anyway (data volumes follow spec.pvcRetentionPolicy).`,
          );
        }
      }
    }
    if (resolved?.spec.pvcRetentionPolicy === 'Delete') {
      const pvcType = resourceTypeByKind('PersistentVolumeClaim');
      const pvcs = await this.deps.client.list(pvcType, stack.metadata.namespace, {
        labelSelector: `${STACK_LABEL}=${stack.metadata.name}`,
      });
      for (const pvc of pvcs.items) {
        await this.deps.client.delete(pvcType, pvc.metadata.namespace, pvc.metadata.name);
        counter.writes++;
      }
    }
    try {
      await this.deps.client.jsonPatch(
        resourceTypeByKind(KIND),
        stack.metadata.namespace,
        stack.metadata.name,
        [
          { op: 'test', path: '/metadata/finalizers', value: finalizers },
          { op: 'replace', path: '/metadata/finalizers', value: finalizers.filter((f) => f !== FINALIZER) },
        ],
      );
      counter.writes++;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    log.info('finalizer released; owned objects are garbage-collected');
    return { writes: counter.writes };
  }
}

// --- helpers -------------------------------------------------------------------------------------------------

function pickRv(live: ApiObject): { resourceVersion?: string } {
  return live.metadata.resourceVersion ? { resourceVersion: live.metadata.resourceVersion } : {};
}

function summarize(verb: string, items: string[]): string {
  const shown = items.slice(0, 12).join(', ');
  return `${verb} ${items.length} object${items.length === 1 ? '' : 's'}: ${shown}${items.length > 12 ? ', ...' : ''}`;
}

function floorInput(floor: RenderInputs['capacityFloor']): Pick<RenderInputs, 'capacityFloor'> {
  return floor ? { capacityFloor: floor } : {};
}
