/**
 * The running operator: informers feed a work queue; workers reconcile one stack key at a time; a resync timer
 * re-enqueues every stack; optional leader election gates all of it; /metrics, /healthz, /readyz report on it.
 */
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FlashSale, FlashSaleStack, FlashSaleStackStatus } from '../api/types.js';
import { KIND, SALE_KIND } from '../api/types.js';
import { MIN_SUPPORTED, type KubernetesVersion } from '../kubernetes/version.js';
import { STACK_LABEL, type ApiServerEndpoints } from '../render/common.js';
import { KIND_ORDER } from '../render/index.js';
import { comparable } from './cache-shape.js';
import { KubeEventRecorder } from './events.js';
import { DecodedObjects, Informer, objectKey, sleep } from './informer.js';
import { KubeApiError, KubeClient, type ApiObject } from './kube-client.js';
import { readServerVersion } from './server-version.js';
import { readApiServerEndpoints } from './apiserver-endpoints.js';
import { LeaderElector } from './leader.js';
import type { Logger } from './logger.js';
import { OperatorMetrics, serveMetrics } from './metrics.js';
import type { Registry } from 'prom-client';
import { MANAGED_BY_SELECTOR, Reconciler, type ReconcilerDeps } from './reconciler.js';
import { RESOURCE_TYPES, resourceTypeByKind, type ResourceType } from './resources.js';
import { WorkQueue } from './workqueue.js';
import { stackFloor } from '../sales/capacity.js';
import { SaleController, type SaleControllerDeps } from '../sales/controller.js';
import { SaleMetrics } from '../sales/metrics.js';

export interface OperatorOptions {
  /** Namespaces to watch; empty = all namespaces. */
  namespaces: string[];
  metricsAddr: string;
  leaderElect: boolean;
  concurrency: number;
  resyncMs: number;
  operatorNamespace: string;
  /** The API server's version (from `/version` at start); the lowest supported when not given. */
  kubernetesVersion?: KubernetesVersion;
  identity?: string;
  leaseName?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Watchdog: restart a watch silent for this long. */
  watchIdleTimeoutMs?: number;
  watchTimeoutSeconds?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** The pure/business parts the reconcile uses; see src/controller/wiring.ts for the real ones. */
export type OperatorParts = Pick<
  ReconcilerDeps,
  'validate' | 'applyDefaults' | 'render' | 'renderBackupNowJob' | 'backupStatus' | 'postgresConfigChanged'
> & {
  health?: HealthIntegration;
  /** Background PostgreSQL reloads (src/controller/postgres-reload.ts), cancelled on stop. */
  postgresReloader?: { stop(): Promise<void> };
  /** The FlashSale controller's parts (src/sales); without them FlashSales are not managed. */
  sales?: SaleParts;
};

/** What the FlashSale controller needs beyond the cluster: its clock, the API service client, the refresh. */
export type SaleParts = Pick<
  SaleControllerDeps,
  'saleApi' | 'refreshMs' | 'drainStallMs' | 'validateStack' | 'applyDefaults'
> & {
  clock: SaleControllerDeps['clock'] & {
    /** A test clock calls this when it moves, so every sale is looked at again at the new time. */
    onAdvance?(listener: () => void): void;
  };
};

/** The probe loop as the operator sees it (src/health provides it). */
export interface HealthIntegration {
  start(onMaterialChange: (key: string) => void, registry: Registry): void;
  snapshot: ReconcilerDeps['health'];
  track: NonNullable<ReconcilerDeps['trackHealth']>;
  untrack: NonNullable<ReconcilerDeps['untrackHealth']>;
  stop(): Promise<void>;
}

const MONITORING_KINDS: readonly string[] = ['ServiceMonitor', 'PrometheusRule'];
/**
 * Kinds whose informers the operator runs (selected by our managed-by label): every kind render can emit, so
 * the "already applied?" check and pruning see all of them; monitoring kinds only when the cluster serves them.
 */
const OWNED_KINDS = KIND_ORDER.filter((k) => !MONITORING_KINDS.includes(k));
/**
 * Decoded cached objects kept across all owned kinds: a reconcile reads its stack's objects (about 75) a few
 * times, and `concurrency` reconciles run at once; everything else stays serialized.
 */
export const DECODED_PER_WORKER = 128;
/** A reconcile running longer than this is logged as a warning (it still runs on). */
const SLOW_RECONCILE_MS = 120_000;

export class Operator {
  readonly metrics = new OperatorMetrics();
  readonly client: KubeClient;
  private readonly queue: WorkQueue;
  /** FlashSale keys ("ns/name"); their own queue, so a slow API service never delays stack reconciles. */
  private readonly saleQueue: WorkQueue;
  private readonly sales: SaleController | undefined;
  private readonly saleMetrics: SaleMetrics | undefined;
  /** True once the cluster serves the FlashSale CRD and its informer runs. */
  private salesServed = false;
  private readonly informers = new Map<string, Informer[]>();
  /** One budget of decoded objects for every compact informer (see DecodedObjects). */
  private readonly decoded: DecodedObjects;
  private readonly reconciler: Reconciler;
  private readonly elector: LeaderElector | undefined;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** True once the cluster serves the monitoring kinds and their informers have synced. */
  private prometheusOperator = false;
  /** Set by preflight from the server's /version. */
  private kubernetesVersion: KubernetesVersion = MIN_SUPPORTED;
  /** Set by preflight and every resync from the `kubernetes` EndpointSlice. */
  private apiServer: ApiServerEndpoints | undefined;
  private apiServerProblem: string | undefined;
  private readonly serverUrl: string | undefined;
  private started = false;
  private workersDone: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private server: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  /** Writes issued by reconciles, for tests and the steady-state benchmark. */
  writes = 0;

  constructor(
    kc: KubeConfig,
    private readonly opts: OperatorOptions,
    private readonly parts: OperatorParts,
    private readonly log: Logger,
  ) {
    const identity = opts.identity ?? `${hostname()}-${process.pid}`;
    this.client = new KubeClient(kc, 30_000, `flash-sale-operator (${identity})`);
    this.serverUrl = kc.getCurrentCluster()?.server;
    this.client.observer = (verb, resource, code) =>
      this.metrics.apiRequests.inc({ verb, resource, code: String(code) });
    this.decoded = new DecodedObjects(DECODED_PER_WORKER * Math.max(1, opts.concurrency));
    this.queue = new WorkQueue({
      baseDelayMs: opts.backoffBaseMs ?? 200,
      maxDelayMs: opts.backoffMaxMs ?? 60_000,
    });
    this.saleQueue = new WorkQueue({
      baseDelayMs: opts.backoffBaseMs ?? 200,
      maxDelayMs: opts.backoffMaxMs ?? 60_000,
    });
    const events = new KubeEventRecorder(this.client, identity, log);
    if (parts.sales) {
      this.saleMetrics = new SaleMetrics(this.metrics.registry);
      this.sales = new SaleController({
        client: this.client,
        cache: {
          stack: (ns, name) => this.cached(KIND, ns, name) as unknown as FlashSaleStack | undefined,
          object: (kind, ns, name) => this.cached(kind, ns, name),
          sales: () => this.cachedSales(),
        },
        events,
        log: log.child({ controller: 'flashsale' }),
        clock: parts.sales.clock,
        validateStack: parts.sales.validateStack,
        applyDefaults: parts.sales.applyDefaults,
        saleApi: parts.sales.saleApi,
        refreshMs: parts.sales.refreshMs,
        drainStallMs: parts.sales.drainStallMs,
        metrics: this.saleMetrics,
      });
      parts.sales.clock.onAdvance?.(() => {
        for (const s of this.cachedSales()) this.saleQueue.add(objectKey(s as unknown as ApiObject));
      });
    }
    this.reconciler = new Reconciler({
      client: this.client,
      cache: {
        get: (kind, ns, name) => this.cached(kind, ns, name),
        listForStack: (kind, ns, stack) =>
          (this.informers.get(kind) ?? []).flatMap((i) => i.byIndex(`${ns}/${stack}`)),
        kinds: () => [...this.informers.keys()],
      },
      events,
      log,
      validate: parts.validate,
      applyDefaults: parts.applyDefaults,
      render: parts.render,
      renderBackupNowJob: parts.renderBackupNowJob,
      backupStatus: parts.backupStatus,
      postgresConfigChanged: parts.postgresConfigChanged,
      health: parts.health?.snapshot,
      trackHealth: parts.health?.track,
      untrackHealth: parts.health?.untrack,
      healthProbes: parts.health !== undefined,
      prometheusOperatorAvailable: () => this.prometheusOperator,
      kubernetesVersion: () => this.kubernetesVersion,
      kubernetesApiServer: () => this.apiServer,
      operatorNamespace: opts.operatorNamespace,
      now: () => new Date(),
      capacityFloor: (ns, name) => (this.salesServed ? stackFloor(this.cachedSales(), ns, name) : undefined),
    });
    this.elector = opts.leaderElect
      ? new LeaderElector(
          this.client,
          {
            namespace: opts.operatorNamespace,
            name: opts.leaseName ?? 'flash-sale-operator-leader',
            identity,
            leaseDurationMs: opts.leaseDurationMs ?? 15_000,
            renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
            retryPeriodMs: opts.retryPeriodMs ?? 2_000,
          },
          log,
        )
      : undefined;
  }

  /** The HTTP port of /metrics (after start). */
  get metricsPort(): number | undefined {
    return this.server?.port;
  }

  /** Objects in the informer caches, and how many of them are held decoded (tests and benchmarks). */
  cacheSize(): { objects: number; decoded: number } {
    const objects = [...this.informers.values()].flat().reduce((n, i) => n + i.size, 0);
    return { objects, decoded: this.decoded.size };
  }

  /** Fails fast, with a message that says what to do, when the cluster is unusable for us. */
  async preflight(): Promise<void> {
    const stackType = resourceTypeByKind(KIND);
    try {
      this.kubernetesVersion = await readServerVersion(this.client);
      await this.client.list(stackType, this.opts.namespaces[0], { limit: 1 });
      // A stop() during the checks above closed the client: the caller sees the abort and starts nothing.
      if (this.stopping.signal.aborted) return;
      await this.lookUpApiServer();
    } catch (err) {
      if (err instanceof KubeApiError && err.code === 404) {
        throw new Error(
          'the FlashSaleStack CRD is not installed in this cluster: run `kubectl apply -f crds/flashsale.dev_flashsalestacks.yaml` (or install the Helm chart) first',
        );
      }
      if (err instanceof KubeApiError && (err.code === 401 || err.code === 403)) {
        throw new Error(
          `the Kubernetes API refused our credentials (${err.code} ${err.reason}): check the kubeconfig/ServiceAccount and the operator's RBAC`,
        );
      }
      if (err instanceof KubeApiError && err.code === 0) {
        throw new Error(`cannot reach the Kubernetes API: ${err.message}`);
      }
      throw err;
    }
  }

  /** Starts the operator; a stop() while it starts wins: start then returns without starting more. */
  async start(): Promise<void> {
    const server = await serveMetrics(this.opts.metricsAddr, this.metrics, {
      healthy: () => !this.stopping.signal.aborted,
      ready: () => this.isReady(),
    });
    if (this.stopping.signal.aborted) {
      await new Promise<void>((resolve) => server.server.close(() => resolve()));
      return;
    }
    this.server = server;
    await this.preflight();
    if (this.stopping.signal.aborted) return;
    if (this.elector) {
      this.metrics.isLeader.set(0);
      const leading = await this.elector.run(() => {
        // client-go's advice: a replica that lost its lease stops at once; Kubernetes restarts it as a standby.
        this.log.error('leadership lost; shutting down so a fresh replica can campaign');
        void this.stop().then(() => process.exit(1));
      });
      if (!leading) return;
    }
    this.metrics.isLeader.set(1);
    await this.startControllers();
  }

  private isReady(): boolean {
    if (this.stopping.signal.aborted) return false;
    // A standby replica is ready (it serves metrics and waits for the lease); a leader once caches synced.
    if (this.elector && !this.elector.isLeader()) return true;
    return this.started && [...this.informers.values()].flat().every((i) => i.hasSynced());
  }

  private async startControllers(): Promise<void> {
    this.parts.health?.start((key) => this.queue.add(key), this.metrics.registry);
    const kinds: string[] = [KIND, ...OWNED_KINDS];
    for (const kind of kinds) this.startInformers(resourceTypeByKind(kind));
    await Promise.all([...this.informers.values()].flat().map((i) => i.waitForSync()));
    await this.followMonitoringKinds();
    await this.followSales();
    if (this.stopping.signal.aborted) return;
    this.started = true;
    for (let i = 0; i < this.opts.concurrency; i++) this.workersDone.push(this.worker());
    if (this.sales) this.workersDone.push(this.saleWorker());
    this.resyncTimer = setInterval(() => void this.resync(), this.opts.resyncMs);
    this.resyncTimer.unref();
    this.log.info('controllers started', {
      kinds: kinds.length,
      namespaces: this.opts.namespaces.length ? this.opts.namespaces : 'all',
      concurrency: this.opts.concurrency,
    });
  }

  private startInformers(type: ResourceType): void {
    const namespaces = this.opts.namespaces.length > 0 ? this.opts.namespaces : [undefined];
    const list: Informer[] = [];
    for (const namespace of namespaces) {
      const informer = new Informer(
        this.client,
        type,
        {
          namespace,
          labelSelector: isOurs(type.kind) ? undefined : MANAGED_BY_SELECTOR,
          indexBy: isOurs(type.kind) ? undefined : stackIndexKey,
          transform: isOurs(type.kind) ? undefined : comparable,
          compact: !isOurs(type.kind),
          decoded: this.decoded,
          idleTimeoutMs: this.opts.watchIdleTimeoutMs,
          watchTimeoutSeconds: this.opts.watchTimeoutSeconds,
        },
        (event, obj, old) => this.onEvent(type, event, obj, old),
        this.log.child({ informer: type.plural }),
      );
      informer.start();
      list.push(informer);
    }
    this.informers.set(type.kind, list);
  }

  private onEvent(type: ResourceType, event: string, obj: ApiObject, old?: ApiObject): void {
    if (type.kind === SALE_KIND) {
      this.onSaleEvent(event, obj as unknown as FlashSale, old as unknown as FlashSale | undefined);
      return;
    }
    if (type.kind === KIND) {
      // The sales of a stack judge SafeToStart from its status: let them look again.
      for (const s of this.salesOf(obj.metadata.namespace, obj.metadata.name))
        this.saleQueue.add(objectKey(s as unknown as ApiObject));
      this.metrics.stacks.set(this.informers.get(KIND)?.reduce((n, i) => n + i.size, 0) ?? 0);
      // Our own status writes come back as MODIFIED events; they change nothing we act on.
      if (event === 'MODIFIED' && old && !specOrMetaChanged(old, obj)) return;
      this.queue.add(objectKey(obj));
      return;
    }
    const stack = obj.metadata.labels?.[STACK_LABEL];
    if (stack && obj.metadata.namespace) this.queue.add(`${obj.metadata.namespace}/${stack}`);
    this.metrics.queueDepth.set(this.queue.length);
  }

  private onSaleEvent(event: string, sale: FlashSale, old: FlashSale | undefined): void {
    const key = objectKey(sale as unknown as ApiObject);
    if (event === 'DELETED')
      this.sales?.forget(sale.metadata.namespace, sale.metadata.name, sale.spec?.stackName);
    else this.saleQueue.add(key);
    // The stack's capacity floor follows the phases and floors its sales hold (see stackFloor).
    const holding = (s: FlashSale | undefined) =>
      s ? JSON.stringify([s.spec?.stackName, s.status?.phase, s.status?.capacity]) : '';
    if (event !== 'MODIFIED' || holding(old) !== holding(sale)) {
      for (const s of [old, sale]) {
        if (s?.spec?.stackName) this.queue.add(`${s.metadata.namespace}/${s.spec.stackName}`);
      }
    }
  }

  private cachedSales(): FlashSale[] {
    return (this.informers.get(SALE_KIND) ?? []).flatMap((i) => i.list()) as unknown as FlashSale[];
  }

  private salesOf(ns: string | undefined, stack: string): FlashSale[] {
    return this.cachedSales().filter((s) => s.metadata.namespace === ns && s.spec?.stackName === stack);
  }

  private async saleWorker(): Promise<void> {
    for (;;) {
      const key = await this.saleQueue.get();
      if (key === undefined) return;
      const work = this.processSale(key).finally(() => this.saleQueue.done(key));
      this.inFlight.add(work);
      await work;
      this.inFlight.delete(work);
    }
  }

  private async processSale(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const sale = this.cached(SALE_KIND, ns, name) as unknown as FlashSale | undefined;
    if (!sale || !this.sales) {
      this.saleQueue.remove(key);
      return;
    }
    try {
      const result = await this.sales.reconcile(sale);
      this.writes += result.writes;
      this.metrics.objectWrites.inc(result.writes);
      this.saleQueue.forget(key);
      if (result.requeueAfterMs !== undefined) this.saleQueue.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      const delay = this.saleQueue.addRateLimited(key);
      this.log.warn('sale reconcile failed; retrying with backoff', {
        sale: key,
        error: err instanceof Error ? err.message : String(err),
        retryInMs: delay,
      });
    }
  }

  /**
   * Starts the FlashSale informer when the cluster serves the FlashSale CRD (installed before or after the
   * operator started); without the CRD, or without sale parts, stacks work as before and sales are unmanaged.
   */
  private async followSales(): Promise<void> {
    if (!this.sales || this.salesServed) return;
    try {
      await this.client.list(resourceTypeByKind(SALE_KIND), this.opts.namespaces[0], { limit: 1 });
    } catch (err) {
      if (err instanceof KubeApiError && (err.code === 404 || err.code === 403)) return;
      throw err;
    }
    this.startInformers(resourceTypeByKind(SALE_KIND));
    await Promise.all((this.informers.get(SALE_KIND) ?? []).map((i) => i.waitForSync()));
    this.salesServed = true;
    // Stacks reconciled before the sales were known get their floor now.
    for (const s of this.cachedSales()) this.queue.add(`${s.metadata.namespace}/${s.spec.stackName}`);
    this.log.info('the cluster serves flashsale.dev/v1alpha1 FlashSale: sales are managed');
  }

  private cached(kind: string, ns: string, name: string): ApiObject | undefined {
    for (const informer of this.informers.get(kind) ?? []) {
      const found = informer.get(ns, name);
      if (found) return found;
    }
    return undefined;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      // A reconcile waits on nothing but API requests, each bounded by the client's timeout: one that runs
      // this long holds a worker for no visible reason, so say so where on-call looks.
      const slow = setTimeout(
        () => this.log.warn('reconcile still running', { stack: key, runningForS: SLOW_RECONCILE_MS / 1000 }),
        SLOW_RECONCILE_MS,
      );
      slow.unref();
      const work = this.process(key).finally(() => {
        clearTimeout(slow);
        this.queue.done(key);
      });
      this.inFlight.add(work);
      await work;
      this.inFlight.delete(work);
      this.metrics.queueDepth.set(this.queue.length);
    }
  }

  private async process(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const stack = this.cached(KIND, ns, name) as unknown as
      (FlashSaleStack & { metadata: { name: string; namespace: string } }) | undefined;
    if (!stack) {
      this.parts.health?.untrack(key);
      this.metrics.backupLastSuccess.remove({ stack_namespace: ns, stack: name });
      this.metrics.backupLastFailure.remove({ stack_namespace: ns, stack: name });
      this.queue.remove(key);
      return;
    }
    const end = this.metrics.reconcileDuration.startTimer();
    try {
      const result = await this.reconciler.reconcile(stack);
      this.writes += result.writes;
      this.recordBackupMetrics(ns, name, result.status);
      this.metrics.objectWrites.inc(result.writes);
      if (result.failed !== undefined) {
        this.metrics.reconcileTotal.inc({ result: 'error' });
        this.metrics.reconcileErrors.inc();
        const delay = this.queue.addRateLimited(key);
        this.log.warn('the API server refused part of the stack; retrying with backoff', {
          stack: key,
          error: result.failed,
          retryInMs: delay,
        });
        return;
      }
      this.queue.forget(key);
      if (result.requeueAfterMs !== undefined) {
        this.metrics.reconcileTotal.inc({ result: 'requeue' });
        this.queue.addAfter(key, result.requeueAfterMs);
      } else {
        this.metrics.reconcileTotal.inc({ result: 'success' });
      }
    } catch (err) {
      this.metrics.reconcileTotal.inc({ result: 'error' });
      this.metrics.reconcileErrors.inc();
      const retryAfterMs =
        err instanceof KubeApiError && err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : 0;
      const delay = this.queue.addRateLimited(key, retryAfterMs);
      this.log.warn('reconcile failed; retrying with backoff', {
        stack: key,
        error: err instanceof Error ? err.message : String(err),
        retryInMs: delay,
      });
    } finally {
      end();
    }
  }

  private recordBackupMetrics(ns: string, name: string, status: FlashSaleStackStatus | undefined): void {
    const labels = { stack_namespace: ns, stack: name };
    const at = (r: { completedAt?: string } | undefined) =>
      r?.completedAt ? Date.parse(r.completedAt) / 1000 : NaN;
    const ok = at(status?.lastSuccessfulBackup);
    // No sample before the first success: a 0 would make "backup too old" alerts fire on new stacks.
    if (Number.isFinite(ok)) this.metrics.backupLastSuccess.set(labels, ok);
    const last = status?.lastBackup;
    if (last?.succeeded === false && Number.isFinite(at(last)))
      this.metrics.backupLastFailure.set(labels, at(last));
    const baseOk = at(status?.lastSuccessfulBaseBackup);
    if (Number.isFinite(baseOk)) this.metrics.baseBackupLastSuccess.set(labels, baseOk);
    const base = status?.lastBaseBackup;
    if (base?.succeeded === false && Number.isFinite(at(base)))
      this.metrics.baseBackupLastFailure.set(labels, at(base));
  }

  /**
   * Starts informers for ServiceMonitor/PrometheusRule when the cluster begins to serve them (the Prometheus
   * Operator installed after we started) and stops them when it no longer does. Render emits those kinds only
   * once their informers have synced, so an object we applied is always found in the cache next time.
   */
  private async followMonitoringKinds(): Promise<void> {
    const served = await this.detectPrometheusOperator();
    const running = MONITORING_KINDS.every((k) => this.informers.has(k));
    if (served && !running) {
      for (const kind of MONITORING_KINDS) this.startInformers(resourceTypeByKind(kind));
      await Promise.all(
        MONITORING_KINDS.flatMap((k) => this.informers.get(k) ?? []).map((i) => i.waitForSync()),
      );
      this.log.info(
        'the cluster serves monitoring.coreos.com/v1: ServiceMonitors and PrometheusRules are managed',
      );
    } else if (!served && running) {
      this.prometheusOperator = false;
      const stopping = MONITORING_KINDS.flatMap((k) => this.informers.get(k) ?? []);
      for (const kind of MONITORING_KINDS) this.informers.delete(kind);
      await Promise.all(stopping.map((i) => i.stop()));
      this.log.info(
        'the cluster no longer serves monitoring.coreos.com/v1: monitoring objects are not managed',
      );
    }
    // Only once every monitoring informer has synced: a cache miss would mean a create on every reconcile.
    this.prometheusOperator =
      served &&
      MONITORING_KINDS.every((k) => (this.informers.get(k) ?? []).some(Boolean)) &&
      MONITORING_KINDS.flatMap((k) => this.informers.get(k) ?? []).every((i) => i.hasSynced());
  }

  /** Re-checks every stack not reconciled within the last period (all of them when the cluster changed). */
  private async resync(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const before = this.prometheusOperator;
    const apiServerBefore = JSON.stringify(this.apiServer);
    await this.followMonitoringKinds();
    try {
      await this.lookUpApiServer();
    } catch (err) {
      // Keep the addresses we have; the next resync tries again.
      this.log.warn('reading the API server addresses failed', { error: String(err) });
    }
    await this.followSales().catch((err: unknown) =>
      this.log.warn('could not check for the FlashSale CRD', {
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    const everyStack =
      before !== this.prometheusOperator || apiServerBefore !== JSON.stringify(this.apiServer);
    for (const informer of this.informers.get(KIND) ?? []) {
      for (const obj of informer.list()) {
        if (everyStack) this.queue.add(objectKey(obj));
        else this.queue.addIfNotRecent(objectKey(obj), this.opts.resyncMs);
      }
    }
  }

  /** The API server's addresses for render; a fallback is logged once per distinct reason. */
  private async lookUpApiServer(): Promise<void> {
    const found = await readApiServerEndpoints(this.client, this.serverUrl);
    if (found.problem && found.problem !== this.apiServerProblem) this.log.warn(found.problem);
    this.apiServerProblem = found.problem;
    this.apiServer = found.endpoints;
  }

  private async detectPrometheusOperator(): Promise<boolean> {
    try {
      await this.client.list(resourceTypeByKind('ServiceMonitor'), this.opts.namespaces[0], { limit: 1 });
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && (err.code === 404 || err.code === 403)) return false;
      return this.prometheusOperator;
    }
  }

  /** Reconciles every cached stack until the queue is idle (tests and benchmarks). */
  async waitIdle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.queue.length === 0 && this.queue.processingCount === 0) return;
      await sleep(20);
    }
    throw new Error('operator did not become idle');
  }

  /** Graceful stop: no new work, in-flight reconciles finish, informers stop, the lease is released. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    this.saleQueue.shutDown();
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled(this.workersDone);
    await this.parts.postgresReloader?.stop();
    await Promise.all([...this.informers.values()].flat().map((i) => i.stop()));
    await this.parts.health?.stop();
    await this.elector?.stop();
    await new Promise<void>((resolve) =>
      this.server ? this.server.server.close(() => resolve()) : resolve(),
    );
    this.server?.server.closeAllConnections();
    await this.client.close();
  }

  /** For tests: the resource types this operator can touch. */
  static readonly resourceTypes = RESOURCE_TYPES;
}

/** Our own kinds are cached whole and unfiltered; owned kinds by the managed-by label, in comparable form. */
function isOurs(kind: string): boolean {
  return kind === KIND || kind === SALE_KIND;
}

/** Owned objects are indexed by "<namespace>/<stack>" (the stack label), so a reconcile finds its own fast. */
function stackIndexKey(obj: ApiObject): string | undefined {
  const stack = obj.metadata.labels?.[STACK_LABEL];
  return stack && obj.metadata.namespace ? `${obj.metadata.namespace}/${stack}` : undefined;
}

function specOrMetaChanged(old: ApiObject, now: ApiObject): boolean {
  const m0 = old.metadata;
  const m1 = now.metadata;
  return (
    m0.generation !== m1.generation ||
    m0.deletionTimestamp !== m1.deletionTimestamp ||
    JSON.stringify(m0.annotations ?? {}) !== JSON.stringify(m1.annotations ?? {}) ||
    JSON.stringify(m0.labels ?? {}) !== JSON.stringify(m1.labels ?? {}) ||
    JSON.stringify(m0.finalizers ?? []) !== JSON.stringify(m1.finalizers ?? [])
  );
}
