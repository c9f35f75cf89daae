/**
 * A simulated kubelet + workload controllers: after a short delay it writes the status a healthy
 * Deployment / StatefulSet / Job would reach, and binds PersistentVolumeClaims (phase Bound, capacity =
 * request). No Pods, ReplicaSets or PersistentVolumes are created. `fail()` makes one
 * workload not ready (Deployment/StatefulSet) or failed (Job) until `heal()`.
 */
import type { Registry } from './rest.js';
import type { StoreEvent } from './store.js';
import { clone, deepEqual, nowIso, type KObj } from './util.js';

const KINDS: Record<string, string> = {
  'apps/deployments': 'Deployment',
  'apps/statefulsets': 'StatefulSet',
  '/persistentvolumeclaims': 'PersistentVolumeClaim',
  'batch/jobs': 'Job',
};

export interface KubeletControl {
  /** Make a workload fail: Deployment/StatefulSet not ready, Job Failed, PVC Pending. kind is Deployment|StatefulSet|Job|PersistentVolumeClaim. */
  fail(kind: string, namespace: string, name: string, message?: string): void;
  /** Undo fail(); the workload becomes ready/complete again after the delay. */
  heal(kind: string, namespace: string, name: string): void;
  /** Enabled? (Also toggled by the `--kubelet` option.) */
  enabled: boolean;
  delayMs: number;
}

export class Kubelet implements KubeletControl {
  enabled: boolean;
  delayMs: number;
  private readonly failing = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private unsubscribe: () => void;

  constructor(
    private readonly reg: Registry,
    enabled: boolean,
    delayMs: number,
  ) {
    this.enabled = enabled;
    this.delayMs = delayMs;
    this.unsubscribe = reg.store.onEvent((e) => this.onEvent(e));
  }

  stop(): void {
    this.unsubscribe();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private key(gr: string, ns: string | undefined, name: string) {
    return `${gr}|${ns ?? ''}|${name}`;
  }

  private onEvent(e: StoreEvent): void {
    if (!this.enabled || !KINDS[e.gr] || e.type === 'DELETED') return;
    if (e.obj.metadata.deletionTimestamp) return;
    const desired = this.desiredStatus(e.gr, e.obj);
    if (deepEqual(stripTimes(desired), stripTimes(e.obj.status))) return;
    this.schedule(e.gr, e.obj.metadata.namespace, e.obj.metadata.name!);
  }

  private schedule(gr: string, ns: string | undefined, name: string): void {
    const k = this.key(gr, ns, name);
    if (this.timers.has(k)) return;
    this.timers.set(
      k,
      setTimeout(() => {
        this.timers.delete(k);
        const cur = this.reg.store.get(gr, ns, name);
        if (!cur || cur.metadata.deletionTimestamp || !this.enabled) return;
        const status = this.desiredStatus(gr, cur);
        if (deepEqual(stripTimes(status), stripTimes(cur.status))) return;
        const next = clone(cur);
        next.status = status;
        this.reg.systemUpdate(gr, next);
      }, this.delayMs),
    );
  }

  fail(kind: string, namespace: string, name: string, message = 'simulated failure'): void {
    const gr = Object.keys(KINDS).find((k) => KINDS[k] === kind);
    if (!gr)
      throw new Error(
        `kubelet.fail: kind must be Deployment, StatefulSet, Job or PersistentVolumeClaim, got ${kind}`,
      );
    this.failing.set(this.key(gr, namespace, name), message);
    this.schedule(gr, namespace, name);
  }

  heal(kind: string, namespace: string, name: string): void {
    const gr = Object.keys(KINDS).find((k) => KINDS[k] === kind);
    if (!gr)
      throw new Error(
        `kubelet.heal: kind must be Deployment, StatefulSet, Job or PersistentVolumeClaim, got ${kind}`,
      );
    this.failing.delete(this.key(gr, namespace, name));
    this.schedule(gr, namespace, name);
  }

  private cond(
    prev: any[] | undefined,
    type: string,
    status: string,
    reason: string,
    message: string,
  ): Record<string, string> {
    const old = (prev ?? []).find((c) => c.type === type);
    const now = nowIso();
    return {
      type,
      status,
      reason,
      message,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
      lastUpdateTime:
        old && old.status === status && old.reason === reason ? (old.lastUpdateTime ?? now) : now,
    };
  }

  desiredStatus(gr: string, o: KObj): Record<string, any> {
    const failMsg = this.failing.get(this.key(gr, o.metadata.namespace, o.metadata.name!));
    const prev = o.status?.conditions;
    const gen = o.metadata.generation;
    if (gr === '/persistentvolumeclaims') {
      if (failMsg !== undefined) return { phase: 'Pending' };
      const storage = o.spec?.resources?.requests?.storage;
      return {
        phase: 'Bound',
        accessModes: o.spec?.accessModes ?? ['ReadWriteOnce'],
        ...(storage ? { capacity: { storage } } : {}),
      };
    }
    if (gr === 'batch/jobs') {
      const completions = o.spec?.completions ?? 1;
      if (failMsg !== undefined) {
        return {
          failed: (o.spec?.backoffLimit ?? 6) + 1,
          startTime: o.status?.startTime ?? nowIso(),
          conditions: [
            { ...this.cond(prev, 'FailureTarget', 'True', 'BackoffLimitExceeded', failMsg) },
            { ...this.cond(prev, 'Failed', 'True', 'BackoffLimitExceeded', failMsg) },
          ].map(({ lastUpdateTime: _u, ...c }) => ({ ...c, lastProbeTime: c.lastTransitionTime })),
        };
      }
      const start = o.status?.startTime ?? nowIso();
      return {
        succeeded: completions,
        startTime: start,
        completionTime: o.status?.completionTime ?? nowIso(),
        ready: 0,
        terminating: 0,
        uncountedTerminatedPods: {},
        conditions: [
          this.cond(
            prev,
            'SuccessCriteriaMet',
            'True',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
          ),
          this.cond(
            prev,
            'Complete',
            'True',
            'CompletionsReached',
            'Reached expected number of succeeded pods',
          ),
        ].map(({ lastUpdateTime: _u, ...c }) => ({ ...c, lastProbeTime: c.lastTransitionTime })),
      };
    }
    const replicas = o.spec?.replicas ?? 1;
    const ready = failMsg !== undefined ? 0 : replicas;
    if (gr === 'apps/statefulsets') {
      const rev = `${o.metadata.name}-${String(gen ?? 1)}`;
      return {
        observedGeneration: gen,
        replicas,
        readyReplicas: ready,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: ready,
        currentRevision: rev,
        updateRevision: rev,
        collisionCount: 0,
      };
    }
    const available = failMsg === undefined;
    return {
      observedGeneration: gen,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(available ? {} : { unavailableReplicas: replicas }),
      conditions: [
        available
          ? this.cond(
              prev,
              'Available',
              'True',
              'MinimumReplicasAvailable',
              'Deployment has minimum availability.',
            )
          : this.cond(
              prev,
              'Available',
              'False',
              'MinimumReplicasUnavailable',
              `Deployment does not have minimum availability. ${failMsg}`,
            ),
        available
          ? this.cond(
              prev,
              'Progressing',
              'True',
              'NewReplicaSetAvailable',
              `ReplicaSet "${o.metadata.name}" has successfully progressed.`,
            )
          : this.cond(
              prev,
              'Progressing',
              'False',
              'ProgressDeadlineExceeded',
              `ReplicaSet "${o.metadata.name}" has timed out progressing. ${failMsg}`,
            ),
      ],
    };
  }
}

function stripTimes(s: any): any {
  if (s === undefined) return undefined;
  const c = clone(s);
  delete c.startTime;
  delete c.completionTime;
  if (Array.isArray(c.conditions))
    c.conditions = c.conditions.map(
      ({ lastTransitionTime: _a, lastUpdateTime: _b, lastProbeTime: _c, ...r }: any) => r,
    );
  return c;
}
