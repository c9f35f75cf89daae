/**
 * One reconcile of one FlashSaleStack: validate → render → apply (server-side apply, skipping objects whose
 * cached copy already matches) → prune → read child status → write `.status` once → Events on transitions.
 *
 * Everything the reconcile needs from the rest of the operator comes in through `ReconcilerDeps`, so the
 * pure parts (validation, render, backup and health status) stay where they are and this file stays IO glue.
 */
import type { Problem } from '../api/problems.js';
import { formatProblem } from '../api/problems.js';
import type {
  BackupRecord,
  ComponentHealth,
  ComponentName,
  ComponentStatus,
  Condition,
  FlashSaleStack,
  FlashSaleStackStatus,
  Phase,
  ResolvedFlashSaleStack,
} from '../api/types.js';
import { API_VERSION, KIND } from '../api/types.js';
import type { KubernetesVersion } from '../kubernetes/version.js';
import type { KubeObject, RenderInputs, StackSecrets } from '../render/common.js';
import { canonicalJson, sha256, STACK_LABEL } from '../render/common.js';
import { POSTGRES_USERNAME } from '../render/resources.js';
import type { ConditionInput } from './conditions.js';
import { conditionsEqual, findCondition, mergeConditions } from './conditions.js';
import type { EventRecorder, EventType } from './events.js';
import type { ApiObject, KubeClient } from './kube-client.js';
import { isConflict, isNotFound } from './kube-client.js';
import { upToDate } from './cache-shape.js';
import type { Logger } from './logger.js';
import { resourceTypeByKind, resourceTypeFor } from './resources.js';
import {
  decodeSecretData,
  encodeSecretData,
  generatedSecretName,
  generateStackSecrets,
  stackSecretsFrom,
} from './secrets.js';

export const FINALIZER = 'flashsale.dev/finalizer';
export const APPLIED_HASH_ANNOTATION = 'flashsale.dev/applied-hash';
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

export interface BackupStatusResult {
  lastBackup?: BackupRecord;
  lastSuccessfulBackup?: BackupRecord;
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
  render(stack: ResolvedFlashSaleStack, inputs: RenderInputs): { objects: KubeObject[]; warnings: Problem[] };
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
  prometheusOperatorAvailable(): boolean;
  operatorNamespace: string;
  /** The API server's version; render emits only fields it serves. */
  kubernetesVersion: KubernetesVersion;
  now(): Date;
}

export interface ReconcileResult {
  /** Re-run after this many ms even without events (waiting on a Job, a missing Secret...). */
  requeueAfterMs?: number;
  writes: number;
  /** The status this reconcile settled on (for metrics). */
  status?: FlashSaleStackStatus;
}

const WORKLOAD_COMPONENTS: readonly { component: ComponentName; kind: 'Deployment' | 'StatefulSet' }[] = [
  { component: 'postgres', kind: 'StatefulSet' },
  { component: 'pgbouncer', kind: 'Deployment' },
  { component: 'redis', kind: 'StatefulSet' },
  { component: 'rabbitmq', kind: 'StatefulSet' },
  { component: 'api', kind: 'Deployment' },
  { component: 'consumer', kind: 'Deployment' },
  { component: 'nginx', kind: 'Deployment' },
];

const COMPONENT_CONDITION: Record<ComponentName, string> = {
  postgres: 'PostgresReady',
  pgbouncer: 'PgBouncerReady',
  redis: 'RedisReady',
  rabbitmq: 'RabbitMQReady',
  api: 'ApiReady',
  consumer: 'ConsumerReady',
  nginx: 'NginxReady',
};

export class Reconciler {
  /**
   * Pods of finished backup Jobs, by Job uid. A finished Job never changes, so its pods (whose termination
   * message carries the dump's file name and size) are read once, not on every reconcile.
   */
  private readonly finishedJobPods = new Map<string, ApiObject[]>();

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(
    stack: FlashSaleStack & { metadata: { name: string; namespace: string } },
  ): Promise<ReconcileResult> {
    const key = `${stack.metadata.namespace}/${stack.metadata.name}`;
    const log = this.deps.log.child({ stack: key });
    const counter = { writes: 0 };
    const obj = stack as unknown as ApiObject;

    if (stack.metadata.deletionTimestamp) {
      return this.finalize(stack, obj, log, counter);
    }

    const problems = this.deps.validate(stack);
    if (problems.length > 0) {
      await this.writeInvalid(stack, obj, problems, counter);
      return { writes: counter.writes };
    }
    const resolved = this.deps.applyDefaults(stack);

    if (resolved.spec.paused) {
      await this.writeStatus(obj, stack, this.pausedStatus(stack), counter);
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
      await this.writeStatus(
        obj,
        stack,
        this.progressStatus(stack, [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'CredentialsSecretMissing',
            message: secretsResult.missing,
          },
        ]),
        counter,
      );
      return { writes: counter.writes, requeueAfterMs: 30_000 };
    }
    const inputs: RenderInputs = {
      secrets: secretsResult.secrets,
      prometheusOperatorAvailable: this.deps.prometheusOperatorAvailable(),
      operatorNamespace: this.deps.operatorNamespace,
      kubernetesVersion: this.deps.kubernetesVersion,
    };

    const rendered = this.deps.render(resolved, inputs);
    const desired = [...rendered.objects];
    const backupNow = stack.metadata.annotations?.[BACKUP_NOW_ANNOTATION];
    if (backupNow && resolved.spec.backup.enabled && this.deps.renderBackupNowJob) {
      desired.push(this.deps.renderBackupNowJob(resolved, inputs, backupNow));
    }

    const { created, updated, previous } = await this.applyAll(desired, log, counter);
    const pgConfigName = `${resolved.metadata.name}-postgres`;
    const pgBefore = previous.get(`ConfigMap/${pgConfigName}`);
    const pgAfter = desired.find((o) => o.kind === 'ConfigMap' && o.metadata.name === pgConfigName);
    if (pgBefore && pgAfter && this.deps.postgresConfigChanged) {
      this.deps.postgresConfigChanged(
        resolved,
        secretsResult.secrets,
        pgBefore,
        pgAfter,
        (type, reason, message) => this.deps.events.record(obj, type, reason, message),
      );
    }
    const pruned = await this.prune(stack, desired, log, counter);
    this.deps.trackHealth?.(resolved, secretsResult.secrets);

    const backupPods = await this.backupJobPods(resolved);
    const status = this.computeStatus(stack, resolved, rendered.warnings, backupPods);
    const before = stack.status;
    await this.writeStatus(obj, stack, status, counter);
    await this.emitTransitionEvents(obj, before, status, created, updated, pruned);

    const ready = findCondition(status.conditions, 'Ready')?.status === 'True';
    return { writes: counter.writes, requeueAfterMs: ready ? undefined : 15_000, status };
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
          if (live)
            await this.deps.client.update({ ...body, metadata: { ...body.metadata, ...pickRv(live) } });
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

  // --- apply and prune -----------------------------------------------------------------------------------

  private async applyAll(
    desired: KubeObject[],
    log: Logger,
    counter: { writes: number },
  ): Promise<{ created: string[]; updated: string[]; previous: Map<string, ApiObject> }> {
    const created: string[] = [];
    const updated: string[] = [];
    /** The cached copy of every object this round changed, keyed `Kind/name`. */
    const previous = new Map<string, ApiObject>();
    for (const raw of desired) {
      const obj = normalizeForApply(raw);
      const hash = sha256(canonicalJson(obj));
      const ns = obj.metadata.namespace ?? '';
      const cached = this.deps.cache.get(obj.kind, ns, obj.metadata.name);
      if (
        cached &&
        cached.metadata.annotations?.[APPLIED_HASH_ANNOTATION] === hash &&
        upToDate(obj as ApiObject, cached)
      ) {
        continue;
      }
      obj.metadata.annotations = { ...obj.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash };
      await this.deps.client.apply(obj as ApiObject, true);
      counter.writes++;
      (cached ? updated : created).push(`${obj.kind}/${obj.metadata.name}`);
      if (cached) previous.set(`${obj.kind}/${obj.metadata.name}`, cached);
      log.debug(cached ? 'updated object' : 'created object', { kind: obj.kind, name: obj.metadata.name });
    }
    return { created, updated, previous };
  }

  private async prune(
    stack: FlashSaleStack & { metadata: { name: string; namespace: string } },
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

  private componentStatuses(
    stack: ResolvedFlashSaleStack,
  ): Partial<Record<ComponentName, ComponentStatus>> & Record<string, ComponentStatus> {
    const out: Record<string, ComponentStatus> = {};
    const ns = stack.metadata.namespace;
    for (const { component, kind } of WORKLOAD_COMPONENTS) {
      if (component === 'pgbouncer' && !stack.spec.pgbouncer.enabled) continue;
      const workloads = this.deps.cache
        .listForStack(kind, ns, stack.metadata.name)
        .filter((w) => w.metadata.labels?.['app.kubernetes.io/component'] === component);
      const w = workloads[0];
      if (!w) {
        out[component] = { ready: false, replicas: 0, readyReplicas: 0, message: `${kind} not created yet` };
        continue;
      }
      const spec = (w.spec ?? {}) as { replicas?: number };
      const st = (w.status ?? {}) as {
        replicas?: number;
        readyReplicas?: number;
        observedGeneration?: number;
      };
      const desiredReplicas = spec.replicas ?? st.replicas ?? 1;
      const readyReplicas = st.readyReplicas ?? 0;
      const current = (st.observedGeneration ?? 0) >= (w.metadata.generation ?? 0);
      const ready = current && readyReplicas >= desiredReplicas && desiredReplicas > 0;
      const service = `${stack.metadata.name}-${component === 'consumer' ? 'api' : component}`;
      out[component] = {
        ready,
        replicas: desiredReplicas,
        readyReplicas,
        ...(component === 'consumer' ? {} : { endpoint: `${service}.${ns}.svc` }),
        ...(ready
          ? {}
          : {
              message: current ? `${readyReplicas}/${desiredReplicas} replicas ready` : 'rollout in progress',
            }),
      };
    }
    return out;
  }

  private backupJobs(stack: ResolvedFlashSaleStack): ApiObject[] {
    return this.deps.cache
      .listForStack('Job', stack.metadata.namespace, stack.metadata.name)
      .filter((j) => j.metadata.labels?.['app.kubernetes.io/component'] === 'backup');
  }

  private async backupJobPods(stack: ResolvedFlashSaleStack): Promise<ApiObject[]> {
    if (!stack.spec.backup.enabled || !this.deps.backupStatus) return [];
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

  private computeStatus(
    stack: FlashSaleStack,
    resolved: ResolvedFlashSaleStack,
    warnings: Problem[],
    backupPods: ApiObject[],
  ): FlashSaleStackStatus {
    const components = this.componentStatuses(resolved);
    const names = Object.keys(components) as ComponentName[];
    const readyCount = names.filter((n) => components[n]?.ready).length;
    const allReady = readyCount === names.length;
    const conds: ConditionInput[] = [
      {
        type: 'ConfigValid',
        status: 'True',
        reason: warnings.length > 0 ? 'ValidWithWarnings' : 'Valid',
        message:
          warnings.length > 0
            ? `Spec is valid; budget warnings: ${warnings.map(formatProblem).join('; ')}`
            : 'Spec is valid.',
      },
    ];
    for (const n of names) {
      const c = components[n]!;
      conds.push({
        type: COMPONENT_CONDITION[n],
        status: c.ready ? 'True' : 'False',
        reason: c.ready ? 'Available' : 'NotReady',
        message: c.ready ? `${c.readyReplicas}/${c.replicas} replicas ready` : (c.message ?? 'not ready'),
      });
    }
    const notReady = names.filter((n) => !components[n]?.ready);
    conds.push({
      type: 'Progressing',
      status: allReady ? 'False' : 'True',
      reason: allReady ? 'Converged' : 'RollingOut',
      message: allReady ? 'All components are at the desired state.' : `Waiting for: ${notReady.join(', ')}.`,
    });

    let lastBackup: BackupRecord | undefined;
    let lastSuccessfulBackup: BackupRecord | undefined;
    if (resolved.spec.backup.enabled && this.deps.backupStatus) {
      const b = this.deps.backupStatus(this.backupJobs(resolved), resolved, this.deps.now(), backupPods);
      lastBackup = b.lastBackup;
      lastSuccessfulBackup = b.lastSuccessfulBackup;
      conds.push(b.condition);
    }

    const key = `${resolved.metadata.namespace}/${resolved.metadata.name}`;
    const health = this.deps.health?.(key);
    let degradedReasons: string[] = [];
    if (health) {
      conds.push(...health.conditions.filter((c) => c.type !== 'Degraded'));
    }
    // While workloads roll out, probes failing is expected: Degraded speaks about a stack that is up.
    if (health && allReady) {
      degradedReasons = health.conditions
        .filter((c) => c.type.endsWith('Healthy') && c.status === 'False')
        .map((c) => `${c.type}: ${c.reason}`);
    }
    const backupBad = conds.find((c) => c.type === 'BackupHealthy' && c.status === 'False');
    if (backupBad) degradedReasons.push(`BackupHealthy: ${backupBad.reason}`);
    conds.push({
      type: 'Degraded',
      status: degradedReasons.length > 0 ? 'True' : 'False',
      reason: degradedReasons.length > 0 ? 'ComponentsUnhealthy' : 'AllHealthy',
      message:
        degradedReasons.length > 0 ? degradedReasons.join('; ') : 'No component reports a health problem.',
    });
    const degraded = degradedReasons.length > 0;
    conds.unshift({
      type: 'Ready',
      status: allReady ? 'True' : 'False',
      reason: allReady ? (degraded ? 'ReadyButDegraded' : 'AllComponentsReady') : 'ComponentsNotReady',
      message: allReady
        ? `All ${names.length} components are ready${degraded ? ' (see Degraded)' : ''}.`
        : `${readyCount}/${names.length} components ready; waiting for ${notReady.join(', ')}.`,
    });

    const phase: Phase = !allReady ? 'Progressing' : degraded ? 'Degraded' : 'Ready';
    const nginx = components.nginx;
    return {
      phase,
      observedGeneration: stack.metadata.generation,
      conditions: mergeConditions(
        stack.status?.conditions?.filter((c) => conds.some((n) => n.type === c.type)),
        conds,
        stack.metadata.generation,
        this.deps.now().toISOString(),
      ),
      components,
      ...(health ? { health: health.health } : {}),
      ...(lastBackup ? { lastBackup } : {}),
      ...(lastSuccessfulBackup ? { lastSuccessfulBackup } : {}),
      ...(nginx?.endpoint
        ? {
            endpoints: {
              http: `http://${nginx.endpoint}`,
              ...(resolved.spec.nginx.tls ? { https: `https://${nginx.endpoint}` } : {}),
            },
          }
        : {}),
      readyComponents: `${readyCount}/${names.length}`,
    };
  }

  private pausedStatus(stack: FlashSaleStack): FlashSaleStackStatus {
    return {
      ...stack.status,
      phase: 'Paused',
      observedGeneration: stack.metadata.generation,
      conditions: mergeConditions(
        stack.status?.conditions,
        [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'Paused',
            message: 'spec.paused is true: the operator changes nothing until it is set to false.',
          },
        ],
        stack.metadata.generation,
        this.deps.now().toISOString(),
      ),
    };
  }

  private progressStatus(stack: FlashSaleStack, conds: ConditionInput[]): FlashSaleStackStatus {
    return {
      ...stack.status,
      phase: 'Progressing',
      observedGeneration: stack.metadata.generation,
      conditions: mergeConditions(
        stack.status?.conditions,
        conds,
        stack.metadata.generation,
        this.deps.now().toISOString(),
      ),
    };
  }

  private async writeInvalid(
    stack: FlashSaleStack,
    obj: ApiObject,
    problems: Problem[],
    counter: { writes: number },
  ): Promise<void> {
    const message = problems.map(formatProblem).join('; ');
    const before = findCondition(stack.status?.conditions, 'ConfigValid');
    const status: FlashSaleStackStatus = {
      ...stack.status,
      phase: 'Failed',
      observedGeneration: stack.metadata.generation,
      conditions: mergeConditions(
        stack.status?.conditions,
        [
          { type: 'ConfigValid', status: 'False', reason: 'InvalidSpec', message },
          {
            type: 'Ready',
            status: 'False',
            reason: 'InvalidSpec',
            message: 'The spec is invalid; nothing was changed. See ConfigValid.',
          },
        ],
        stack.metadata.generation,
        this.deps.now().toISOString(),
      ),
    };
    await this.writeStatus(obj, stack, status, counter);
    if (before?.status !== 'False' || before.message !== message) {
      await this.deps.events.record(obj, 'Warning', 'InvalidSpec', message);
    }
  }

  private async writeStatus(
    obj: ApiObject,
    stack: FlashSaleStack,
    status: FlashSaleStackStatus,
    counter: { writes: number },
  ): Promise<void> {
    const old = stack.status ?? {};
    if (statusEqual(old, status)) return;
    const patch = mergePatchBetween(old, status);
    await this.deps.client.mergePatch(
      resourceTypeByKind(KIND),
      obj.metadata.namespace,
      obj.metadata.name,
      { status: patch },
      'status',
    );
    counter.writes++;
  }

  private async emitTransitionEvents(
    obj: ApiObject,
    before: FlashSaleStackStatus | undefined,
    after: FlashSaleStackStatus,
    created: string[],
    updated: string[],
    pruned: string[],
  ): Promise<void> {
    const ev = this.deps.events;
    if (created.length > 0) await ev.record(obj, 'Normal', 'Created', summarize('Created', created));
    if (updated.length > 0) await ev.record(obj, 'Normal', 'Updated', summarize('Updated', updated));
    if (pruned.length > 0) await ev.record(obj, 'Normal', 'Pruned', summarize('Deleted', pruned));
    const was = (t: string) => findCondition(before?.conditions, t);
    const now = (t: string) => findCondition(after.conditions, t);
    if (now('Ready')?.status === 'True' && was('Ready')?.status !== 'True') {
      await ev.record(obj, 'Normal', 'Ready', now('Ready')!.message);
    }
    if (now('ConfigValid')?.status === 'True' && was('ConfigValid')?.status === 'False') {
      await ev.record(obj, 'Normal', 'SpecValid', 'The spec is valid again; reconciling.');
    }
    const degraded = now('Degraded');
    if (
      degraded?.status === 'True' &&
      (was('Degraded')?.status !== 'True' || was('Degraded')?.message !== degraded.message)
    ) {
      await ev.record(obj, 'Warning', 'Degraded', degraded.message);
    }
    if (degraded?.status === 'False' && was('Degraded')?.status === 'True') {
      await ev.record(obj, 'Normal', 'Recovered', degraded.message);
    }
    const backup = now('BackupHealthy');
    if (
      backup?.status === 'False' &&
      (was('BackupHealthy')?.status !== 'False' || was('BackupHealthy')?.reason !== backup.reason)
    ) {
      await ev.record(obj, 'Warning', backup.reason, backup.message);
    }
    if (backup?.status === 'True' && was('BackupHealthy')?.status === 'False') {
      await ev.record(obj, 'Normal', 'BackupHealthy', backup.message);
    }
  }

  // --- deletion ------------------------------------------------------------------------------------------

  private async finalize(
    stack: FlashSaleStack & { metadata: { name: string; namespace: string } },
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
          secrets: secrets.secrets,
          prometheusOperatorAvailable: false,
          operatorNamespace: this.deps.operatorNamespace,
          kubernetesVersion: this.deps.kubernetesVersion,
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

/**
 * A copy ready to apply: Secrets carry base64 `data` (the API server stores no `stringData`). Only the top
 * level and `metadata` are copied (the reconciler sets annotations); the rest is shared with `obj`, so the
 * result must not be changed below that.
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

/**
 * An RFC 7386 merge patch turning `from` into `to`: removed keys (at any depth) become null, so fields that
 * disappear from status (a component's message once it is ready) really disappear. Arrays are replaced whole.
 */
export function mergePatchBetween(from: unknown, to: unknown): unknown {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(from) || !isObj(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    patch[k] = k in from ? mergePatchBetween(from[k], v) : v;
  }
  for (const k of Object.keys(from)) if (!(k in to) || to[k] === undefined) patch[k] = null;
  return patch;
}

function statusEqual(a: FlashSaleStackStatus, b: FlashSaleStackStatus): boolean {
  const { conditions: ca, ...ra } = a;
  const { conditions: cb, ...rb } = b;
  return canonicalJson(ra) === canonicalJson(rb) && conditionsEqual(ca, cb) && sameTransitions(ca, cb);
}

function sameTransitions(a: Condition[] | undefined, b: Condition[] | undefined): boolean {
  return (
    canonicalJson((a ?? []).map((c) => c.lastTransitionTime)) ===
    canonicalJson((b ?? []).map((c) => c.lastTransitionTime))
  );
}
