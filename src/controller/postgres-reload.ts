/**
 * Applies PostgreSQL parameter changes that need no restart, live.
 *
 * Render puts the full postgresql.conf into the `<stack>-postgres` ConfigMap, but the pod template checksum only
 * covers the parameters whose change needs a restart (postmaster/internal context, see restartParameters in
 * src/render/postgres.ts). So when a reconcile rewrites that ConfigMap and only reloadable parameters
 * (sighup/superuser/user/backend/superuser-backend) changed, no pod rolls, and this module applies them:
 *
 * - The kubelet refreshes a mounted ConfigMap only after a delay (its sync period plus cache TTL, typically up
 *   to 1–2 minutes), so a single `pg_reload_conf()` right away would re-read the old file. We retry: each
 *   attempt connects to the stack's PostgreSQL Service, calls `pg_reload_conf()` and compares every changed
 *   value with pg_settings; until all match, retry every `retryIntervalMs` up to `timeoutMs`.
 * - Then a Normal Event `ParametersReloaded` names the parameters; on timeout a Warning `ReloadPending` names
 *   those still not live; a value PostgreSQL reports `pending_restart` gives a Warning `ParametersPendingRestart`.
 * - A newer change for the same stack supersedes an older pending one (the names still unverified carry over,
 *   with the newer values). A change that also touches a restart parameter cancels the pending reload: the
 *   checksum rolls the pod and the new pod reads the whole file.
 * - Never inside a reconcile: the hook only schedules. `stop()` cancels every pending reload.
 *
 * `backend`/`superuser-backend` parameters (e.g. log_connections) apply to connections opened after the reload;
 * the verifying connection is new, so it sees them.
 */
import pg from 'pg';
import type { PostgresMajorVersion, ResolvedFlashSaleStack } from '../api/types.js';
import { reloadPostgresParameters, type ReloadResult } from '../health/postgres-reload.js';
import type { PgTarget } from '../health/types.js';
import type { KubeObject, StackSecrets } from '../render/common.js';
import { isReloadableParameter } from '../render/postgres.js';
import { parsePostgresqlConf } from '../tuning/index.js';
import type { EventType } from './events.js';
import { stackProbeTargets, type EndpointMapper } from './health-integration.js';
import type { ApiObject } from './kube-client.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';

export const POSTGRES_CONF_KEY = 'postgresql.conf';

export interface PostgresReloadOptions {
  /** Where to dial the stack's PostgreSQL Service (default: in-cluster DNS). */
  endpoints?: EndpointMapper;
  /** Replace the connection target entirely. */
  target?: (stack: ResolvedFlashSaleStack, secrets: StackSecrets) => PgTarget;
  /** Time between attempts while the kubelet has not synced the ConfigMap yet (default 10 s). */
  retryIntervalMs?: number;
  /** Give up (Warning ReloadPending) after this long (default 3 min). */
  timeoutMs?: number;
  /** Connect/statement timeout of one attempt (default 5 s). */
  attemptTimeoutMs?: number;
  log?: Logger;
}

export type RecordEvent = (type: EventType, reason: string, message: string) => Promise<void>;

export interface ParameterDiff {
  /** Reloadable parameters whose value changed or that were added: name → new value. */
  reload: Record<string, string>;
  /** Reloadable parameters removed from the file (PostgreSQL resets them to the built-in default on reload). */
  removed: string[];
  /** Parameters that changed and need a restart (postmaster/internal context or unknown names). */
  restart: string[];
}

/** Differences between two rendered postgresql.conf files, split by whether a reload applies them. */
export function diffPostgresqlConf(
  version: PostgresMajorVersion,
  beforeText: string,
  afterText: string,
): ParameterDiff {
  const before = parsePostgresqlConf(beforeText);
  const after = parsePostgresqlConf(afterText);
  const diff: ParameterDiff = { reload: {}, removed: [], restart: [] };
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (before[name] === after[name]) continue;
    if (!isReloadableParameter(version, name)) diff.restart.push(name);
    else if (name in after) diff.reload[name] = after[name]!;
    else diff.removed.push(name);
  }
  return diff;
}

interface Pending {
  reload: Record<string, string>;
  removed: Set<string>;
  abort: AbortController;
  done: Promise<void>;
}

/** A short list of names for an Event message. */
function nameList(names: string[], max = 8): string {
  return names.length <= max
    ? names.join(', ')
    : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class PostgresReloader {
  private readonly pending = new Map<string, Pending>();
  private readonly retryIntervalMs: number;
  private readonly timeoutMs: number;
  private readonly attemptTimeoutMs: number;
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: PostgresReloadOptions = {}) {
    this.retryIntervalMs = opts.retryIntervalMs ?? 10_000;
    this.timeoutMs = opts.timeoutMs ?? 180_000;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 5_000;
    this.log = opts.log ?? silentLogger;
  }

  /** The ReconcilerDeps.postgresConfigChanged hook: schedules a reload when one applies; never blocks. */
  readonly configChanged = (
    stack: ResolvedFlashSaleStack,
    secrets: StackSecrets,
    before: ApiObject,
    after: KubeObject,
    record: RecordEvent,
  ): void => {
    if (this.stopped) return;
    const key = `${stack.metadata.namespace}/${stack.metadata.name}`;
    const log = this.log.child({ stack: key });
    const beforeConf = (before.data as Record<string, string> | undefined)?.[POSTGRES_CONF_KEY];
    const afterConf = (after.data as Record<string, string> | undefined)?.[POSTGRES_CONF_KEY];
    if (beforeConf === undefined || afterConf === undefined || beforeConf === afterConf) {
      log.debug('postgresql.conf unchanged; nothing to reload');
      return;
    }
    let diff: ParameterDiff;
    try {
      diff = diffPostgresqlConf(stack.spec.postgres.version, beforeConf, afterConf);
    } catch (err) {
      // The old ConfigMap may have been edited by hand; the pod checksum decides about a restart then.
      log.warn('cannot compare postgresql.conf versions; not reloading', { error: String(err) });
      return;
    }
    const previous = this.pending.get(key);
    if (diff.restart.length > 0) {
      // The pod template checksum changed: the new pod reads the whole new file.
      if (previous) previous.abort.abort();
      log.info('postgresql.conf changed parameters that need a restart; the pod rolls', {
        parameters: diff.restart,
      });
      return;
    }
    const reload: Record<string, string> = {};
    const removed = new Set<string>(diff.removed);
    if (previous) {
      // Names the older change has not verified yet carry over, with the values of the newer file.
      previous.abort.abort();
      const now = parsePostgresqlConf(afterConf);
      for (const name of [...Object.keys(previous.reload), ...previous.removed]) {
        if (name in now) reload[name] = now[name]!;
        else removed.add(name);
      }
    }
    Object.assign(reload, diff.reload);
    for (const name of Object.keys(reload)) removed.delete(name);
    if (Object.keys(reload).length === 0 && removed.size === 0) {
      log.debug('postgresql.conf changed no parameter; nothing to reload');
      return;
    }
    log.info('scheduling a reload of postgres parameters', {
      parameters: [...Object.keys(reload), ...removed].sort(),
    });

    const abort = new AbortController();
    const entry: Pending = { reload, removed, abort, done: Promise.resolve() };
    let target: PgTarget | undefined;
    try {
      target = this.opts.target
        ? this.opts.target(stack, secrets)
        : stackProbeTargets(stack, secrets, this.opts.endpoints).postgres;
    } catch (err) {
      log.error('cannot resolve the PostgreSQL endpoint; not reloading', { error: String(err) });
    }
    if (!target) return;
    entry.done = this.run(target, entry, record, log)
      .catch((err: unknown) => log.error('postgres reload failed', { error: String(err) }))
      .finally(() => {
        if (this.pending.get(key) === entry) this.pending.delete(key);
      });
    this.pending.set(key, entry);
  };

  /** Whether a reload for `namespace/name` is still being verified. */
  isPending(key: string): boolean {
    return this.pending.has(key);
  }

  /** Resolves when every reload scheduled so far has finished (verified, timed out or cancelled). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending.values()].map((p) => p.done));
  }

  /** Cancels pending reloads and waits for in-flight attempts to end. No new reloads are scheduled. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pending.values()) p.abort.abort();
    await this.idle();
  }

  private async run(target: PgTarget, entry: Pending, record: RecordEvent, log: Logger): Promise<void> {
    const signal = entry.abort.signal;
    const names = [...Object.keys(entry.reload), ...entry.removed].sort();
    const deadline = Date.now() + this.timeoutMs;
    let lastProblem = 'no attempt finished';
    let warnedUnknown = false;
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        const { result, stillFromFile } = await this.attempt(target, entry);
        if (signal.aborted) return;
        if (result.unknown.length > 0 && !warnedUnknown) {
          warnedUnknown = true;
          await record(
            'Warning',
            'ReloadFailed',
            `PostgreSQL does not know ${nameList(result.unknown)}; check spec.postgres.parameters`,
          );
        }
        if (result.pendingRestart.length > 0) {
          log.warn('postgres reports parameters pending a restart', { parameters: result.pendingRestart });
          await record(
            'Warning',
            'ParametersPendingRestart',
            `PostgreSQL needs a restart to apply ${nameList(result.pendingRestart)}`,
          );
          return;
        }
        const waiting = [...result.notApplied.map((p) => p.name), ...stillFromFile];
        if (waiting.length === 0) {
          const applied = names.filter((n) => !result.unknown.includes(n));
          if (applied.length > 0) {
            log.info('postgres parameters reloaded', { parameters: applied, attempts: attempt });
            await record('Normal', 'ParametersReloaded', `applied without restart: ${nameList(applied)}`);
          }
          return;
        }
        lastProblem = `not live yet: ${nameList(waiting)}`;
        log.debug('postgres parameters not live yet; the ConfigMap volume may not have synced', {
          parameters: waiting,
          attempt,
        });
      } catch (err) {
        lastProblem = err instanceof Error ? err.message : String(err);
        log.debug('postgres reload attempt failed', { error: lastProblem, attempt });
      }
      if (Date.now() + this.retryIntervalMs > deadline) break;
      await abortableSleep(this.retryIntervalMs, signal);
    }
    if (signal.aborted) return;
    log.warn('postgres parameters not applied in time', { parameters: names, problem: lastProblem });
    await record(
      'Warning',
      'ReloadPending',
      `${nameList(names)} not applied within ${formatMs(this.timeoutMs)} (${lastProblem.slice(0, 200)}); ` +
        'they apply at the next reload or restart',
    );
  }

  /**
   * One attempt on a fresh connection (so `backend` parameters show their reloaded value): reload, compare.
   * The session sets no parameters of its own (a startup `statement_timeout` would hide the file's value in
   * pg_settings); the attempt is bounded client-side instead.
   */
  private async attempt(
    target: PgTarget,
    entry: Pending,
  ): Promise<{ result: ReloadResult; stillFromFile: string[] }> {
    const client = new pg.Client({
      ...target,
      connectionTimeoutMillis: this.attemptTimeoutMs,
      query_timeout: this.attemptTimeoutMs,
    });
    client.on('error', () => undefined);
    try {
      try {
        await client.connect();
      } catch (err) {
        throw new Error(`cannot connect to PostgreSQL to reload parameters: ${errorText(err)}`);
      }
      const result = await reloadPostgresParameters(client, entry.reload, {
        timeoutMs: this.attemptTimeoutMs,
      });
      let stillFromFile: string[] = [];
      if (entry.removed.size > 0) {
        // Removed from the file: applied once PostgreSQL no longer takes them from the configuration file.
        const rows = await client.query<{ name: string }>(
          "SELECT name FROM pg_settings WHERE name = ANY($1) AND source = 'configuration file'",
          [[...entry.removed]],
        );
        stillFromFile = rows.rows.map((r) => r.name);
      }
      return { result, stillFromFile };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function errorText(err: unknown): string {
  const e = err as { message?: string; code?: string } | undefined;
  return e?.message || e?.code || String(err);
}
