/**
 * A rate-limited work queue with client-go's semantics:
 * - a key is queued at most once (dedupe while waiting);
 * - a key being processed is never handed to a second worker; an add during processing re-queues it once
 *   after `done`;
 * - failures back off exponentially per key (base × 2^failures, capped); `forget` resets on success.
 * Beyond client-go: `addIfNotRecent` for periodic resyncs, which re-check only keys nobody looked at lately,
 * and only when no other work waits (a resync key is handed out after every key added by `add`).
 */
export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Clock for `addIfNotRecent` (ms); tests may pass their own. */
  now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /**
   * Resync re-checks, handed out only when `queue` is empty. A re-check of an unchanged stack costs a render
   * and a comparison of every object (CPU, no writes) while a new stack's first reconcile is a long chain of
   * requests; in one FIFO, once a pass over every stack took longer than the resync period, re-checks filled
   * the queue without end and the last-created stacks waited behind them for minutes without a status.
   */
  private readonly resyncQueue: string[] = [];
  /** Keys waiting in resyncQueue (an `add` moves a key from there into `queue`). */
  private readonly resyncWaiting = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** When each key was last done (for addIfNotRecent). */
  private readonly lastDone = new Map<string, number>();
  private readonly now: () => number;
  private waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 200;
    this.maxDelayMs = opts.maxDelayMs ?? 5 * 60_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Keys waiting to be processed (for the queue-depth metric). */
  get length(): number {
    return this.queue.length + this.resyncWaiting.size;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.resyncWaiting.delete(key)) {
      // Waiting as a resync re-check: it is real work now (its stale entry in resyncQueue is skipped).
      this.queue.push(key);
      return;
    }
    if (this.dirty.has(key)) return;
    this.enqueue(key, this.queue);
  }

  private enqueue(key: string, lane: string[]): void {
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      lane.push(key);
      if (lane === this.resyncQueue) this.resyncWaiting.add(key);
    }
  }

  /**
   * A periodic resync: adds `key` unless it is waiting, being processed, waiting out a delay, or was done less
   * than `withinMs` ago. A resync that re-added every key would pile a full round of work onto a backlog
   * each period (a queue that takes longer than one period to drain then never drains: work grows with the
   * square of the number of keys); this one re-checks only what nothing else has checked lately.
   */
  addIfNotRecent(key: string, withinMs: number): void {
    if (this.shuttingDown) return;
    if (this.dirty.has(key) || this.processing.has(key) || this.timers.has(key)) return;
    const done = this.lastDone.get(key);
    if (done !== undefined && this.now() - done < withinMs) return;
    this.enqueue(key, this.resyncQueue);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Re-queues after this key's exponential backoff; returns the delay used. */
  addRateLimited(key: string, minDelayMs = 0): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.max(minDelayMs, Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n));
    this.addAfter(key, delay);
    return delay;
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Drops everything kept about a key that is gone (its backoff and when it was last done). */
  remove(key: string): void {
    this.failures.delete(key);
    this.lastDone.delete(key);
  }

  /** Waits for the next key; undefined once the queue is shut down and empty. */
  get(): Promise<string | undefined> {
    const key = this.next();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next waiting key: added work first, then resync re-checks (skipping those promoted by `add`). */
  private next(): string | undefined {
    const key = this.queue.shift();
    if (key !== undefined) return key;
    for (;;) {
      const recheck = this.resyncQueue.shift();
      if (recheck === undefined || this.resyncWaiting.delete(recheck)) return recheck;
    }
  }

  done(key: string): void {
    this.processing.delete(key);
    this.lastDone.set(key, this.now());
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Stops handing out new keys; pending delayed adds are dropped; waiting workers get undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.resyncQueue.length = 0;
    this.resyncWaiting.clear();
    this.dirty.clear();
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }
}
