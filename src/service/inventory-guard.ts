/**
 * The fence for inventory Redis lost: this process's view of the guard (KEYS `<p>inventory-guard`, GUARD_LUA).
 *
 * Redis' inventory is trusted only inside the Redis process (run id) in which a recovery verified it, and only
 * while the guard says `ok` in an epoch no older than the durable one in PostgreSQL (`inventory_guard`). The
 * purchase script refuses whenever the guard does not say `ok` in exactly the epoch this process trusts, and
 * it is loaded into Redis only after `check()` ran there, so a Redis that restarted, was restored from a
 * snapshot or failed over (all of which forget loaded scripts) cannot sell before the guard compared run ids.
 *
 * `check()` runs on start, every GUARD_CHECK_INTERVAL_MS, after every reconnect and whenever a purchase was
 * refused for the fence; the server hands a fenced view to the recovery (src/service/recovery.ts).
 */
import type { Redis } from 'ioredis';
import type { Keys } from './keys.js';
import { guardScript, purchaseScript, runScript } from './lua.js';

export type GuardState = 'ok' | 'recovering';

export interface GuardView {
  state: GuardState;
  epoch: string;
  /** Why the fence is up ('' when ok): redis_lost_data, redis_restarted, redis_rolled_back, order_rejected… */
  reason: string;
  /** When the fence went up (ms since the epoch, Redis clock); undefined when ok. */
  since?: number;
  /** The Redis process the guard was checked in. */
  runId: string;
}

export class InventoryGuard {
  private current: GuardView | undefined;
  private checking: Promise<GuardView> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onReady = (): void => void this.check().catch(() => undefined);

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** The durable epoch (PostgreSQL's `inventory_guard`, see durableEpoch in db.ts); undefined when none. */
    private readonly durable: () => Promise<string | undefined>,
  ) {}

  /** Called after every check with what it found (the server starts the recovery when the fence is up). */
  private onView: (view: GuardView) => void = () => undefined;

  watch(onView: (view: GuardView) => void): void {
    this.onView = onView;
  }

  /** The last view, undefined before the first check. */
  get view(): GuardView | undefined {
    return this.current;
  }

  /** The epoch purchases may sell in ('' while the fence is up or before the first check: nothing sells). */
  get epoch(): string {
    return this.current?.state === 'ok' ? this.current.epoch : '';
  }

  /**
   * Compares the guard with the live Redis process and the durable epoch (raising the fence when they
   * disagree, or with `reason` when given). Concurrent calls without a reason share one round trip.
   */
  check(reason = ''): Promise<GuardView> {
    if (reason === '' && this.checking) return this.checking;
    const run = this.runCheck(reason).finally(() => {
      if (this.checking === run) this.checking = undefined;
    });
    if (reason === '') this.checking = run;
    return run;
  }

  private async runCheck(reason: string): Promise<GuardView> {
    let durable = '';
    try {
      durable = (await this.durable()) ?? '';
    } catch {
      // PostgreSQL unreachable: the run-id and presence checks still hold; the epoch is compared next time.
    }
    const r = (await runScript(this.redis, guardScript, [this.keys.guard()], [durable, reason])) as string[];
    const view: GuardView = {
      state: r[0] === 'ok' ? 'ok' : 'recovering',
      epoch: String(r[1] ?? '0'),
      reason: String(r[2] ?? ''),
      runId: String(r[4] ?? ''),
    };
    if (view.state !== 'ok' && r[3]) view.since = Number(r[3]);
    this.current = view;
    this.onView(view);
    return view;
  }

  /** Loads the purchase script into this Redis process — only ever after a guard check there. */
  async loadPurchaseScript(): Promise<void> {
    await this.check();
    await this.redis.script('LOAD', purchaseScript.source);
  }

  start(intervalMs: number): void {
    this.timer = setInterval(this.onReady, intervalMs);
    this.timer.unref();
    this.redis.on('ready', this.onReady);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.redis.off('ready', this.onReady);
  }
}
